using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Win7Proc.Offline.Analyzer;
using Win7Proc.Offline.Trace;

namespace Win7Proc.Offline.Cli.Commands;

/// <summary>
/// The root command: <c>win7proc-offline TRACE -o OUT.plog [options]</c> analyses a trace into a pandalog and
/// reports on stderr. Exit codes (ExitCodes.cs): 2 bad command line, 3 trace missing/unreadable or output not
/// writable, 4 not a valid trace, 5 truncated trace (the plog is still complete and valid), 130/143 interrupted.
/// <c>-</c> as TRACE reads the trace from stdin (it streams); <c>-o -</c> writes the plog to stdout (built in memory
/// first, see PandalogWriter).
/// </summary>
public static class AnalyzeCommand
{
    /// <summary>What one analysis run needs, as parsed and validated from the command line.</summary>
    public sealed record Invocation(string TracePath, string OutputPath, AnalyzerOptions Options, bool Quiet = false, bool Force = false);

    /// <summary>The root's <c>--quiet</c>, recursive: every command takes it.</summary>
    public static readonly Option<bool> QuietOption = new("--quiet", "-q")
    {
        Description = "No progress and no report: only errors and warnings",
        Recursive = true,
    };

    static readonly Dictionary<string, SyscallFamily> FamilyNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["files"] = SyscallFamily.Files,
        ["registry"] = SyscallFamily.Registry,
        ["processes"] = SyscallFamily.Processes,
        ["sections"] = SyscallFamily.Sections,
        ["ports"] = SyscallFamily.Ports,
        ["memory"] = SyscallFamily.Memory,
    };

    public static void Configure(RootCommand root)
    {
        // Every check is done by TryCreateInvocation, not by the parser, so that each mistake gets our exit code 2
        // and one clear line.
        root.Arguments.Add(new Argument<string?>("trace")
        {
            Description = "The trace to analyse (trace.lz4, written by win7rec or `simulate`); - reads it from stdin",
            Arity = ArgumentArity.ZeroOrOne,
            HelpName = "TRACE",
        });
        root.Options.Add(new Option<string?>("--output", "-o")
        {
            Description = "The pandalog to write (required). - is stdout; a FIFO or character device is written through; " +
                          $"those three are built in memory first (at most {Pandalog.PandalogWriter.MaxInMemoryBytes >> 20} MiB). A symbolic link is followed",
            HelpName = "OUT.plog",
        });
        root.Options.Add(new Option<bool>("--all-syscalls") { Description = "Also log nt_any_syscall + syscall_name for every system call" });
        root.Options.Add(new Option<string[]>("--only")
        {
            Description = "Only these families (repeatable or comma list): files, registry, processes, sections, ports, memory",
            AllowMultipleArgumentsPerToken = true,
            HelpName = "LIST",
        });
        root.Options.Add(new Option<string[]>("--pid")
        {
            Description = "Only entries by or about these pids (repeatable or comma list)",
            AllowMultipleArgumentsPerToken = true,
            HelpName = "LIST",
        });
        root.Options.Add(new Option<bool>("--include-failed") { Description = "Log failed calls, marked call_succeeded=false (the default)" });
        root.Options.Add(new Option<bool>("--no-failed") { Description = "Leave failed calls out" });
        root.Options.Add(new Option<string?>("--extract-writes")
        {
            Description = "Write the data of every successful NtWriteFile to DIR/<pid>_<process>_<file> (names made safe). " +
                          "DIR must be empty or new, unless --force",
            HelpName = "DIR",
        });
        root.Options.Add(new Option<bool>("--force") { Description = "With --extract-writes: use DIR even if it is not empty (files this run writes are replaced)" });
        root.Options.Add(new Option<int?>("--chunk-size")
        {
            CustomParser = r => CliValues.Number<int>(r),
            Description = "Pandalog chunk size in bytes (default 16777216, PANDA's; keep it for PANDA's C++ reader)",
            HelpName = "BYTES",
        });
        root.Options.Add(new Option<bool>("--fast") { Description = "Faster, larger pandalog (zlib level 1 instead of 9)" });
        root.Options.Add(new Option<bool>("--asid") { Description = "Set asid (CR3) on every entry (the original win7proc did not; its procstory.py cannot read text dumps with asid)" });
        root.Options.Add(QuietOption);
        root.SetAction(async (parse, ct) =>
        {
            if (!TryCreateInvocation(parse, out var invocation, out var error))
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: {error}");
                return ExitCodes.UsageError;
            }
            await Task.Yield();
            return Run(invocation, parse.InvocationConfiguration.Error, interactive: ReferenceEquals(parse.InvocationConfiguration.Error, Console.Error) && !Console.IsErrorRedirected, ct);
        });
    }

    /// <summary>Builds the run from a parse of the root command; false with a one-line message on a usage mistake.</summary>
    public static bool TryCreateInvocation(ParseResult parse, out Invocation invocation, out string error)
    {
        invocation = null!;
        error = "";
        var trace = parse.GetValue<string?>("trace");
        var output = parse.GetValue<string?>("--output");
        if (string.IsNullOrEmpty(trace))
        {
            error = "no trace given: win7proc-offline TRACE -o OUT.plog (see --help)";
            return false;
        }
        if (string.IsNullOrEmpty(output))
        {
            error = "no output given: add -o OUT.plog";
            return false;
        }
        if (trace != "-" && output != "-" && string.Equals(Path.GetFullPath(trace), Path.GetFullPath(output), StringComparison.Ordinal))
        {
            error = "the output would overwrite the trace: choose another -o";
            return false;
        }
        bool includeFailed = parse.GetValue<bool>("--include-failed"), noFailed = parse.GetValue<bool>("--no-failed");
        if (includeFailed && noFailed)
        {
            error = "--include-failed and --no-failed contradict each other";
            return false;
        }
        HashSet<SyscallFamily>? only = null;
        foreach (var name in SplitList(parse.GetValue<string[]>("--only")))
        {
            if (!FamilyNames.TryGetValue(name, out var family))
            {
                error = $"--only: unknown family '{name}' (expected {string.Join(", ", FamilyNames.Keys)})";
                return false;
            }
            (only ??= []).Add(family);
        }
        HashSet<uint>? pids = null;
        foreach (var text in SplitList(parse.GetValue<string[]>("--pid")))
        {
            if (!uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                error = $"--pid: '{text}' is not a process id (a number, e.g. --pid 1234 or --pid 4,1234)";
                return false;
            }
            (pids ??= []).Add(pid);
        }
        var chunkSize = parse.GetValue<int?>("--chunk-size");
        if (chunkSize is <= 0 or > (1 << 30))
        {
            error = $"--chunk-size: {chunkSize} is out of range (1 .. {1 << 30} bytes)";
            return false;
        }
        var extract = parse.GetValue<string?>("--extract-writes");
        if (extract is not null && extract.Length == 0)
        {
            error = "--extract-writes needs a directory";
            return false;
        }
        bool force = parse.GetValue<bool>("--force");
        if (force && extract is null)
        {
            error = "--force goes with --extract-writes DIR (it allows a non-empty DIR)";
            return false;
        }
        invocation = new Invocation(trace, output, new AnalyzerOptions
        {
            AllSyscalls = parse.GetValue<bool>("--all-syscalls"),
            Only = only,
            Pids = pids,
            IncludeFailed = !noFailed,
            ExtractWritesDirectory = extract,
            ChunkSize = chunkSize ?? 0,
            FastCompression = parse.GetValue<bool>("--fast"),
            WriteAsid = parse.GetValue<bool>("--asid"),
        }, parse.GetValue(QuietOption), force);
        return true;
    }

    static IEnumerable<string> SplitList(string[]? values) =>
        (values ?? []).SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));

    /// <summary>Runs the analysis and writes the report to <paramref name="stderr"/>; returns the exit code.</summary>
    public static int Run(Invocation invocation, TextWriter stderr, bool interactive, CancellationToken ct = default)
    {
        var tracePath = invocation.TracePath == "-" ? "/dev/stdin" : invocation.TracePath;
        var problem = (invocation.TracePath == "-" ? null : CliPaths.InputProblem(tracePath, "trace"))
            ?? (invocation.OutputPath == "-" ? null : CliPaths.OutputProblem(invocation.OutputPath, "output"))
            ?? ExtractDirectoryProblem(invocation.Options.ExtractWritesDirectory, invocation.Force);
        if (problem is not null)
        {
            stderr.WriteLine($"error: {problem}");
            return ExitCodes.IoError;
        }
        var progress = new StderrProgress(stderr, interactive && !invocation.Quiet, enabled: !invocation.Quiet);
        SignalCancellation.ForcedExitCleanup += progress.Clear;
        var clock = Stopwatch.StartNew();
        AnalysisReport report;
        try
        {
            report = TraceAnalyzer.AnalyzeToPandalog(tracePath, invocation.OutputPath, invocation.Options, progress, ct);
        }
        catch (OperationCanceledException)
        {
            progress.Clear();
            stderr.WriteLine("interrupted: no pandalog written");
            return ExitCodes.Interrupted;
        }
        catch (TraceFormatException e)
        {
            progress.Clear();
            stderr.WriteLine($"error: {invocation.TracePath} is not a valid trace: {e.Message}");
            return ExitCodes.InvalidInput;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            progress.Clear();
            // Our writers name the user's path ("cannot write OUT: ..."); anything else came from reading the trace.
            stderr.WriteLine(e.Message.StartsWith("cannot ", StringComparison.Ordinal)
                ? $"error: {e.Message}"
                : $"error: cannot read {invocation.TracePath}: {CliPaths.Reason(e)}");
            return ExitCodes.IoError;
        }
        finally
        {
            SignalCancellation.ForcedExitCleanup -= progress.Clear;
        }
        progress.Clear();
        if (!invocation.Quiet) WriteReport(stderr, invocation, report, clock.Elapsed);
        if (report.Truncation is { } truncation)
            stderr.WriteLine($"warning: the trace is truncated ({truncation.Reason}); the pandalog holds everything before that point");
        return report.Truncation is null ? ExitCodes.Success : ExitCodes.PartialInput;
    }

    /// <summary>--extract-writes DIR: a file, or a non-empty directory without --force, is refused before any work.</summary>
    static string? ExtractDirectoryProblem(string? directory, bool force)
    {
        if (directory is null) return null;
        if (File.Exists(directory)) return $"--extract-writes: {directory} is a file, not a directory";
        if (!force && Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
            return $"--extract-writes: {directory} is not empty (files of an earlier run?): empty it, choose a new DIR, or add --force";
        return null;
    }

    static void WriteReport(TextWriter stderr, Invocation invocation, AnalysisReport report, TimeSpan elapsed)
    {
        stderr.WriteLine($"records read: {report.RecordsRead} ({report.SyscallRecords} syscall, {report.ContextSwitchRecords} context switch, {report.PageRecords} page)");
        stderr.WriteLine($"entries written: {report.EntriesWritten} to {(invocation.OutputPath == "-" ? "stdout" : invocation.OutputPath)}");
        foreach (var (kind, count) in report.EntriesByKind.OrderBy(k => k.Key, StringComparer.Ordinal))
            stderr.WriteLine($"  {kind,-32} {count,9}");
        stderr.WriteLine($"processes seen: {report.ProcessesSeen}");
        if (report.UnreadableByCallKind.Count == 0 && report.MissingPageReads == 0)
            stderr.WriteLine("unreadable structures: none");
        else
        {
            // Structures a call needed but could not read, and the page reads that came up short, per call kind.
            stderr.WriteLine($"unreadable structures by call (structures, page reads; {report.MissingPageReads} page reads missed in all):");
            foreach (var kind in report.UnreadableByCallKind.Keys.Union(report.MissingPageReadsByCallKind.Keys).Order(StringComparer.Ordinal))
                stderr.WriteLine($"  {kind,-32} {report.UnreadableByCallKind.GetValueOrDefault(kind),9} {report.MissingPageReadsByCallKind.GetValueOrDefault(kind),9}");
        }
        // Calls not seen whole: each count says which half is missing (AnalysisReport; samples/README.md format 2).
        stderr.WriteLine($"calls not seen whole: {report.ReturnsInferred + report.EntersWithoutReturn} returns not seen "
            + $"({report.ReturnsInferred} inferred by the recorder, {report.EntersWithoutReturn} enters never returned, self-terminations included), "
            + $"{report.UnmatchedReturns} returns without enter, {report.ReturnsByHook} returns recorded from the recorder's own hook; "
            + $"{report.EntriesWithUnknownStatus} entries with status unknown");
        if (report.DroppedPageMapEntries > 0)
            stderr.WriteLine($"warning: {report.DroppedPageMapEntries} page-map entries dropped at the cap of {TraceGuestMemory.DefaultMaxMappedPages} (address space, page) pairs; reads of those pages count as missing");
        if (report.HandlerErrors > 0)
            stderr.WriteLine($"warning: {report.HandlerErrors} calls could not be analysed (a bug, please report): {report.FirstHandlerError}");
        if (invocation.Options.ExtractWritesDirectory is { } dir)
            stderr.WriteLine($"extracted writes: {report.ExtractedFiles} files, {report.ExtractedBytes} bytes in {dir}");
        if (report.ExtractionSkippedWrites > 0)
            stderr.WriteLine($"warning: {report.ExtractionSkippedWrites} writes not extracted: the limits of {WriteExtractor.DefaultMaxFiles} files / {WriteExtractor.DefaultMaxBytes >> 20} MiB were reached");
        stderr.WriteLine($"total instructions: {report.TotalInstr}");
        double seconds = Math.Max(elapsed.TotalSeconds, 1e-6);
        stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"time: {elapsed.TotalSeconds:F2} s, {report.RecordsRead / seconds:N0} records/s"));
    }

    /// <summary>A progress bar on a terminal (redrawn in place, cleared at the end); when stderr is redirected, a plain
    /// line at most every <see cref="RedirectedInterval"/> (none for a run shorter than that).</summary>
    sealed class StderrProgress(TextWriter stderr, bool interactive, bool enabled) : IProgress<AnalysisProgress>
    {
        public static readonly TimeSpan RedirectedInterval = TimeSpan.FromSeconds(5);
        const int BarWidth = 40;
        readonly Stopwatch _sinceLastLine = Stopwatch.StartNew();
        int _drawnLength;

        public void Report(AnalysisProgress value)
        {
            if (!enabled) return;
            double? fraction = value.Length > 0 ? Math.Clamp((double)value.BytesRead / value.Length, 0, 1) : null;
            if (interactive)
            {
                var line = fraction is { } f
                    ? string.Create(CultureInfo.InvariantCulture,
                        $"\r[{new string('#', (int)(f * BarWidth))}{new string('.', BarWidth - (int)(f * BarWidth))}] {f * 100,3:F0}% {value.RecordsRead} records, {value.EntriesWritten} entries ")
                    : $"\r{value.RecordsRead} records, {value.EntriesWritten} entries ";
                lock (this)
                {
                    stderr.Write(line);
                    _drawnLength = Math.Max(_drawnLength, line.Length);
                }
                return;
            }
            if (_sinceLastLine.Elapsed < RedirectedInterval) return;
            _sinceLastLine.Restart();
            stderr.WriteLine(fraction is { } g
                ? string.Create(CultureInfo.InvariantCulture, $"progress: {g * 100:F0}% ({value.RecordsRead} records, {value.EntriesWritten} entries)")
                : $"progress: {value.RecordsRead} records, {value.EntriesWritten} entries");
        }

        /// <summary>Erases the bar, leaving the cursor at the start of an empty line (also from a signal's forced exit).</summary>
        public void Clear()
        {
            lock (this)
            {
                if (_drawnLength == 0) return;
                stderr.Write("\r" + new string(' ', _drawnLength) + "\r");
                stderr.Flush();
                _drawnLength = 0;
            }
        }
    }
}
