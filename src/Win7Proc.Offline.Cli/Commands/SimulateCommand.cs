using System.CommandLine;

namespace Win7Proc.Offline.Cli.Commands;

public static class SimulateCommand
{
    public static Command Create()
    {
        var command = new Command("simulate", "(being built)");
        command.SetAction(_ => { Console.Error.WriteLine("simulate: not built yet"); return ExitCodes.InternalError; });
        return command;
    }
}
