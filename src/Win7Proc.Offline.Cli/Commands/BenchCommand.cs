using System.CommandLine;
using Win7Proc.Offline.Pandalog;

namespace Win7Proc.Offline.Cli.Commands;

/// <summary><c>win7proc-offline bench</c>: pandalog write/read speed against plain zlib (the floor).</summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var entries = new Option<long>("--entries", "-n")
        {
            Description = "How many typical win7proc entries to write and read",
            DefaultValueFactory = _ => 2_000_000,
            CustomParser = CliValues.Number<long>,
        };
        var fast = new Option<bool>("--fast") { Description = "zlib level 1 instead of PANDA's 9" };
        var directory = new Option<string?>("--dir") { Description = "Where to write the temporary plog (default: the temp folder)" };
        var command = new Command("bench", "Time pandalog writing and reading against plain zlib level 9 on the same bytes");
        command.Options.Add(entries);
        command.Options.Add(fast);
        command.Options.Add(directory);
        command.SetAction(parse =>
        {
            long count = parse.GetValue(entries);
            if (count <= 0)
            {
                Console.Error.WriteLine("error: --entries must be positive");
                return ExitCodes.UsageError;
            }
            var dir = parse.GetValue(directory) ?? Path.GetTempPath();
            if (!Directory.Exists(dir))
            {
                Console.Error.WriteLine($"error: directory {dir} does not exist");
                return ExitCodes.IoError;
            }
            try
            {
                var options = parse.GetValue(fast) ? PandalogWriterOptions.Fast : new PandalogWriterOptions();
                PandalogBenchmark.Run(count, dir, Console.Out, options);
                return ExitCodes.Success;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.IoError;
            }
        });
        return command;
    }
}
