using System.CommandLine;

namespace Win7Proc.Offline.Cli.Commands;

public static class BenchCommand
{
    public static Command Create()
    {
        var command = new Command("bench", "(being built)");
        command.SetAction(_ => { Console.Error.WriteLine("bench: not built yet"); return ExitCodes.InternalError; });
        return command;
    }
}
