using System.CommandLine;
using Win7Proc.Offline.Pandalog;
using Win7Proc.Offline.Simulator;
using Win7Proc.Offline.Simulator.Recording;

namespace Win7Proc.Offline.Cli.Commands;

/// <summary><c>win7proc-offline simulate scenario.json -o trace.lz4</c>: runs a scenario on the synthetic Windows 7
/// guest and records it with the real recorder core.</summary>
public static class SimulateCommand
{
    public static Command Create()
    {
        var scenarioArg = new Argument<string>("scenario") { Description = "The scenario file (JSON, samples/README.md)", HelpName = "SCENARIO.json" };
        var output = new Option<string>("--output", "-o")
        {
            Description = "The trace to write; - is stdout (a trace streams), a FIFO or device is written through, a symbolic link followed",
            Required = true,
            HelpName = "OUT.lz4",
        };
        var level = new Option<int>("--compression-level")
        {
            Description = "LZ4 compression level of the trace frames (0 fast ... 12 smallest); the samples use 9",
            DefaultValueFactory = _ => 0,
            CustomParser = CliValues.Number<int>,
            HelpName = "N",
        };
        var watchAll = new Option<bool>("--watch-all") { Description = "Capture the argument closure of every call, not just the watched ones" };
        var command = new Command("simulate",
            "Run a scenario on the synthetic Windows 7 guest and record it into a trace.lz4, through the real recorder core.\n" +
            "Needs libw7rec.so (the C recorder core, built beside the program when cmake and liblz4's headers are present, " +
            "shipped for linux-x64 in the tool package) and the system's liblz4.so.1 (Debian: liblz4-1); without them it " +
            $"exits {ExitCodes.RecorderUnavailable} saying what is missing.");
        command.Arguments.Add(scenarioArg);
        command.Options.Add(output);
        command.Options.Add(level);
        command.Options.Add(watchAll);
        command.SetAction(parse =>
        {
            // Checked here, not in a validator: a validator's GetValue throws on a value that did not parse (say "x").
            if (parse.GetValue(level) is < 0 or > 12)
            {
                parse.InvocationConfiguration.Error.WriteLine("error: --compression-level must be between 0 and 12");
                return ExitCodes.UsageError;
            }
            var path = parse.GetValue(scenarioArg)!;
            var tracePath = parse.GetValue(output)!;
            if ((CliPaths.InputProblem(path, "scenario") ?? (tracePath == "-" ? null : CliPaths.OutputProblem(tracePath, "output"))) is { } problem)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: {problem}");
                return ExitCodes.IoError;
            }
            Scenario scenario;
            try { scenario = Scenario.Load(path); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: cannot read {path}: {CliPaths.Reason(e)}");
                return ExitCodes.IoError;
            }
            catch (ScenarioException e)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.InvalidInput;
            }
            if (RecorderLibrary.Problem is { } missing)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: {missing}");
                return ExitCodes.RecorderUnavailable;
            }
            FileStream? device = null;
            try
            {
                // The recorder core fopen()s a path and, on failure, the simulation deletes it: give it a path whose
                // deletion can never remove a symlink, FIFO or device node of the user's (/proc/self/fd/N cannot be unlinked).
                string recorderPath;
                try { recorderPath = RecorderPath(tracePath, out device); }
                catch (IOException e)
                {
                    parse.InvocationConfiguration.Error.WriteLine($"error: {e.Message}");
                    return ExitCodes.IoError;
                }
                // The simulation cannot be cancelled midway: a signal ends the process after the grace period, and
                // then a half-written trace in a regular file must not stay behind.
                Action deleteTrace = () => { if (device is null && tracePath != "-") File.Delete(recorderPath); };
                SignalCancellation.ForcedExitCleanup += deleteTrace;
                SimulationResult result;
                try
                {
                    result = Simulation.Run(scenario, recorderPath, new SimulationOptions
                    { CompressionLevel = parse.GetValue(level), WatchAll = parse.GetValue(watchAll) });
                }
                finally { SignalCancellation.ForcedExitCleanup -= deleteTrace; }
                if (!parse.GetValue(AnalyzeCommand.QuietOption))
                    parse.InvocationConfiguration.Error.WriteLine(
                        $"{(tracePath == "-" ? "stdout" : tracePath)}: {result.Counts.Events} events, {result.Counts.Syscalls} syscalls, " +
                        $"{result.Counts.ContextSwitches} context switches, {result.Recorder.PageRecords} pages" +
                        (device is null && tracePath != "-" ? $", {new FileInfo(recorderPath).Length} bytes" : ""));
                return ExitCodes.Success;
            }
            catch (RecorderUnavailableException e)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.RecorderUnavailable;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: cannot write {tracePath}: {CliPaths.Reason(e)}");
                return ExitCodes.IoError;
            }
            finally
            {
                device?.Dispose();
            }
        });
        return command;
    }

    /// <summary>The path the recorder core writes: stdout for <c>-</c>, a symbolic link's final target, an open
    /// descriptor's /proc path for a FIFO or device, the path itself for a regular or new file.</summary>
    static string RecorderPath(string tracePath, out FileStream? device)
    {
        device = null;
        if (tracePath == "-") return "/proc/self/fd/1";
        var target = Path.GetFullPath(tracePath);
        if (OutputPath.KindOf(target, followLinks: false) == FileKind.SymbolicLink
            && File.ResolveLinkTarget(target, returnFinalTarget: true) is { } final)
            target = final.FullName;
        switch (OutputPath.KindOf(target))
        {
            case FileKind.Missing or FileKind.Regular or FileKind.Unknown:
                return target;
            case FileKind.Fifo or FileKind.CharacterDevice:
                device = new FileStream(target, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1);
                return $"/proc/self/fd/{device.SafeFileHandle.DangerousGetHandle()}";
            case var kind:
                throw new IOException($"cannot write {tracePath}: it is {OutputPath.Describe(kind)}");
        }
    }
}
