using System.CommandLine;
using Win7Proc.Offline.Simulator;

namespace Win7Proc.Offline.Cli.Commands;

/// <summary><c>win7proc-offline simulate scenario.json -o trace.lz4</c>: runs a scenario on the synthetic Windows 7
/// guest and records it with the real recorder core.</summary>
public static class SimulateCommand
{
    public static Command Create()
    {
        var scenarioArg = new Argument<string>("scenario") { Description = "The scenario file (JSON, samples/README.md)" };
        var output = new Option<string>("--output", "-o") { Description = "The trace to write", Required = true };
        var level = new Option<int>("--compression-level")
        {
            Description = "LZ4 compression level of the trace frames (0 fast ... 12 smallest); the samples use 9",
            DefaultValueFactory = _ => 0,
            CustomParser = CliValues.Number<int>,
        };
        var watchAll = new Option<bool>("--watch-all") { Description = "Capture the argument closure of every call, not just the watched ones" };
        var command = new Command("simulate", "Run a scenario on the synthetic Windows 7 guest and record it into a trace.lz4");
        command.Arguments.Add(scenarioArg);
        command.Options.Add(output);
        command.Options.Add(level);
        command.Options.Add(watchAll);
        command.SetAction(parse =>
        {
            // Checked here, not in a validator: a validator's GetValue throws on a value that did not parse (say "x").
            if (parse.GetValue(level) is < 0 or > 12)
            {
                Console.Error.WriteLine("error: --compression-level must be between 0 and 12");
                return ExitCodes.UsageError;
            }
            var path = parse.GetValue(scenarioArg)!;
            var tracePath = parse.GetValue(output)!;
            if ((CliPaths.InputProblem(path, "scenario") ?? CliPaths.OutputProblem(tracePath, "output")) is { } problem)
            {
                Console.Error.WriteLine($"error: {problem}");
                return ExitCodes.IoError;
            }
            Scenario scenario;
            try { scenario = Scenario.Load(path); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"error: cannot read {path}: {e.Message}");
                return ExitCodes.IoError;
            }
            catch (ScenarioException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.InvalidInput;
            }
            try
            {
                var result = Simulation.Run(scenario, tracePath, new SimulationOptions
                { CompressionLevel = parse.GetValue(level), WatchAll = parse.GetValue(watchAll) });
                Console.Error.WriteLine(
                    $"{tracePath}: {result.Counts.Events} events, {result.Counts.Syscalls} syscalls, {result.Counts.ContextSwitches} context switches, " +
                    $"{result.Recorder.PageRecords} pages, {new FileInfo(tracePath).Length} bytes");
                return ExitCodes.Success;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or DllNotFoundException)
            {
                Console.Error.WriteLine($"error: cannot write {tracePath}: {e.Message}");
                return ExitCodes.IoError;
            }
        });
        return command;
    }
}
