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
        var calls = new Option<string?>("--calls")
        {
            Description = "With --analysis: the workload sizes in calls, a comma list (default 100000,400000,2000000)",
        };
        var keep = new Option<bool>("--keep") { Description = "With --analysis: keep the traces and plogs in --dir (for profiling)" };
        var directory = new Option<string?>("--dir") { Description = "Where to write the temporary plog (default: the temp folder)" };
        var command = new Command("bench",
            "Time pandalog writing and reading against plain zlib level 9 on the same bytes (or, with --analysis, trace analysis)");
        command.Options.Add(entries);
        command.Options.Add(fast);
        command.Options.Add(analysis);
        command.Options.Add(calls);
        command.Options.Add(directory);
        command.Options.Add(keep);
        command.SetAction(parse =>
        {
            long count = parse.GetValue(entries);
            if (!TryParseCalls(parse.GetValue(calls), out var sizes, out var problem))
            {
                Console.Error.WriteLine($"error: --calls: {problem}");
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
                    AnalysisBenchmark.Run(sizes, dir, Console.Out, parse.GetValue(keep));
                    return ExitCodes.Success;
                }
                var options = parse.GetValue(fast) ? PandalogWriterOptions.Fast : new PandalogWriterOptions();
                PandalogBenchmark.Run(count, dir, Console.Out, options);
                return ExitCodes.Success;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or DllNotFoundException
                                          or System.ComponentModel.Win32Exception)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.IoError;
            }
        });
        return command;
    }

    /// <summary>Largest workload accepted by <c>--calls</c> (the scenario of one call is about 150 bytes of JSON).</summary>
    public const int MaxCalls = 10_000_000;

    /// <summary>"100000,400000" → sizes; null → the default sizes.</summary>
    public static bool TryParseCalls(string? text, out IReadOnlyList<int> sizes, out string problem)
    {
        sizes = AnalysisBenchmark.DefaultCalls;
        problem = "";
        if (text is null) return true;
        var list = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n)
                || n <= 0 || n > MaxCalls)
            {
                problem = $"'{part}' is not a number of calls from 1 to {MaxCalls} (e.g. --calls 100000,400000)";
                return false;
            }
            list.Add(n);
        }
        sizes = list;
        return true;
    }
}
