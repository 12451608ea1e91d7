using System.CommandLine;

namespace Win7Proc.Offline.Cli.Commands;

public static class AnalyzeCommand
{
    public static void Configure(RootCommand root)
    {
        root.SetAction(_ => { Console.Error.WriteLine("analyze: not built yet"); return ExitCodes.InternalError; });
    }
}
