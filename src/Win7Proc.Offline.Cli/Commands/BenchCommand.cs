using System.CommandLine;
using Win7Proc.Offline.Cli.Benchmarks;
using Win7Proc.Offline.Pandalog;

namespace Win7Proc.Offline.Cli.Commands;

/// <summary><c>win7proc-offline bench</c>: pandalog write/read speed against plain zlib (the floor); with
/// <c>--analysis</c>, recording and analysis speed on a synthetic workload.</summary>
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
        var analysis = new Option<bool>("--analysis")
        {
            Description = "Instead: record a synthetic workload through the recorder core (libw7rec.so) and time its analysis",
        };
        var calls = new Option<int>("--calls")
        {
            Description = "With --analysis: how many watched calls the workload makes",
            DefaultValueFactory = _ => 120_000,
            CustomParser = CliValues.Number<int>,
        };
        var directory = new Option<string?>("--dir") { Description = "Where to write the temporary plog (default: the temp folder)" };
        var command = new Command("bench",
            "Time pandalog writing and reading against plain zlib level 9 on the same bytes (or, with --analysis, trace analysis)");
        command.Options.Add(entries);
        command.Options.Add(fast);
        command.Options.Add(analysis);
        command.Options.Add(calls);
        command.Options.Add(directory);
        command.SetAction(parse =>
        {
            long count = parse.GetValue(entries);
            if (parse.GetValue(analysis) && parse.GetValue(calls) <= 0)
            {
                Console.Error.WriteLine("error: --calls must be positive");
                return ExitCodes.UsageError;
            }
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
                if (parse.GetValue(analysis))
                {
                    AnalysisBenchmark.Run(parse.GetValue(calls), dir, Console.Out);
                    return ExitCodes.Success;
                }
                var options = parse.GetValue(fast) ? PandalogWriterOptions.Fast : new PandalogWriterOptions();
                PandalogBenchmark.Run(count, dir, Console.Out, options);
                return ExitCodes.Success;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or DllNotFoundException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.IoError;
            }
        });
        return command;
    }
}
