using System.CommandLine;

namespace Win7Proc.Offline.Cli.Commands;

public static class DumpCommand
{
    public static Command Create()
    {
        var command = new Command("dump", "(being built)");
        command.SetAction(_ => { Console.Error.WriteLine("dump: not built yet"); return ExitCodes.InternalError; });
        return command;
    }
}
