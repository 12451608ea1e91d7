using System.CommandLine;
using Win7Proc.Offline.Cli.Commands;

namespace Win7Proc.Offline.Cli;

public static class Program
{
    public static int Main(string[] args) => BuildRootCommand().Parse(args).Invoke();

    /// <summary>The whole command line: the root command analyses a trace; subcommands show and simulate.</summary>
    public static RootCommand BuildRootCommand()
    {
        var root = new RootCommand(
            "Rebuild PANDA win7proc pandalogs from a win7rec trace, without re-running the replay.\n" +
            "  win7proc-offline trace.lz4 -o foo.plog     analyse a trace\n" +
            "  win7proc-offline dump foo.plog             print a pandalog\n" +
            "  win7proc-offline procstory foo.plog        process births and deaths as a chart");
        AnalyzeCommand.Configure(root);
        root.Subcommands.Add(DumpCommand.Create());
        root.Subcommands.Add(ProcstoryCommand.Create());
        root.Subcommands.Add(SimulateCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        return root;
    }
}
