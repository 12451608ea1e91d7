using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using Win7Proc.Offline.Cli.Commands;

namespace Win7Proc.Offline.Cli;

public static class Program
{
    public static int Main(string[] args) => Run(args, Console.Error);

    /// <summary>Parses and runs; a command line that does not parse prints its errors and exits with
    /// <see cref="ExitCodes.UsageError"/> (System.CommandLine's own default would be 1).</summary>
    public static int Run(string[] args, TextWriter stderr)
    {
        var parseResult = BuildRootCommand().Parse(args);
        if (parseResult.Errors.Count > 0)
        {
            foreach (var error in parseResult.Errors)
                stderr.WriteLine($"error: {error.Message}");
            stderr.WriteLine("Run 'win7proc-offline --help' (or 'win7proc-offline COMMAND --help') for usage.");
            return ExitCodes.UsageError;
        }
        return parseResult.Invoke();
    }

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
        root.Subcommands.Add(ReportCommand.Create());
        root.Subcommands.Add(ExportCommand.Create());
        root.Subcommands.Add(SimulateCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        var help = root.Options.OfType<HelpOption>().Single();
        help.Action = new SubcommandHelpAction((SynchronousCommandLineAction)help.Action!, root.Arguments);
        return root;
    }

    /// <summary>The default help, except that a subcommand's help does not offer the root's own TRACE argument
    /// (System.CommandLine lists a parent's arguments in a subcommand's usage and arguments).</summary>
    sealed class SubcommandHelpAction(SynchronousCommandLineAction defaultHelp, IEnumerable<Argument> rootArguments)
        : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true; // as the default help: `dump --help` needs no plog

        public override int Invoke(ParseResult parseResult)
        {
            if (parseResult.CommandResult.Command is RootCommand) return defaultHelp.Invoke(parseResult);
            var shown = rootArguments.Where(a => !a.Hidden).ToList();
            shown.ForEach(a => a.Hidden = true);
            try { return defaultHelp.Invoke(parseResult); }
            finally { shown.ForEach(a => a.Hidden = false); }
        }
    }
}
