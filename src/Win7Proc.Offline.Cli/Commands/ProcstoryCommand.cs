using System.CommandLine;

namespace Win7Proc.Offline.Cli.Commands;

public static class ProcstoryCommand
{
    public static Command Create()
    {
        var command = new Command("procstory", "(being built)");
        command.SetAction(_ => { Console.Error.WriteLine("procstory: not built yet"); return ExitCodes.InternalError; });
        return command;
    }
}
