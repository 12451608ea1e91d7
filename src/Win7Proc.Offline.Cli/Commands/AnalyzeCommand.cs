using System.CommandLine;
using System.Globalization;
using Win7Proc.Offline.Analyzer;
using Win7Proc.Offline.Trace;

namespace Win7Proc.Offline.Cli.Commands;

/// <summary>
/// The root command: <c>win7proc-offline TRACE -o OUT.plog [options]</c> analyses a trace into a pandalog and
/// reports on stderr. Exit codes (ExitCodes.cs): 2 bad command line, 3 trace missing/unreadable or output not
/// writable, 4 not a valid trace, 5 truncated trace (the plog is still complete and valid), 130 interrupted.
/// </summary>
public static class AnalyzeCommand
{
    /// <summary>What one analysis run needs, as parsed and validated from the command line.</summary>
    public sealed record Invocation(string TracePath, string OutputPath, AnalyzerOptions Options);

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
            Description = "The trace to analyse (trace.lz4, written by win7rec or `simulate`)",
            Arity = ArgumentArity.ZeroOrOne,
        });
        root.Options.Add(new Option<string?>("--output", "-o") { Description = "The pandalog to write (required)" });
        root.Options.Add(new Option<bool>("--all-syscalls") { Description = "Also log nt_any_syscall + syscall_name for every system call" });
        root.Options.Add(new Option<string[]>("--only")
        {
            Description = "Only these families (repeatable or comma list): files, registry, processes, sections, ports, memory",
            AllowMultipleArgumentsPerToken = true,
        });
        root.Options.Add(new Option<string[]>("--pid")
        {
            Description = "Only entries by or about these pids (repeatable or comma list)",
            AllowMultipleArgumentsPerToken = true,
        });
        root.Options.Add(new Option<bool>("--include-failed") { Description = "Log failed calls, marked call_succeeded=false (the default)" });
        root.Options.Add(new Option<bool>("--no-failed") { Description = "Leave failed calls out" });
        root.Options.Add(new Option<string?>("--extract-writes")
        {
            Description = "Append the data of every successful NtWriteFile to DIR/<pid>_<process>_<file> (names made safe)",
        });
        root.Options.Add(new Option<int?>("--chunk-size") { CustomParser = r => CliValues.Number<int>(r), Description = "Pandalog chunk size in bytes (default 16777216, PANDA's; keep it for PANDA's C++ reader)" });
        root.Options.Add(new Option<bool>("--fast") { Description = "Faster, larger pandalog (zlib level 1 instead of 9)" });
        root.SetAction(async (parse, ct) =>
        {
            if (!TryCreateInvocation(parse, out var invocation, out var error))
            {
                Console.Error.WriteLine($"error: {error}");
                return ExitCodes.UsageError;
            }
            await Task.Yield();
            return Run(invocation, Console.Error, interactive: !Console.IsErrorRedirected, ct);
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
        if (string.Equals(Path.GetFullPath(trace), Path.GetFullPath(output), StringComparison.Ordinal))
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
        invocation = new Invocation(trace, output, new AnalyzerOptions
        {
            AllSyscalls = parse.GetValue<bool>("--all-syscalls"),
            Only = only,
            Pids = pids,
            IncludeFailed = !noFailed,
            ExtractWritesDirectory = extract,
            ChunkSize = chunkSize ?? 0,
            FastCompression = parse.GetValue<bool>("--fast"),
        });
        return true;
    }

    static IEnumerable<string> SplitList(string[]? values) =>
        (values ?? []).SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));

    /// <summary>Runs the analysis and writes the report to <paramref name="stderr"/>; returns the exit code.</summary>
    public static int Run(Invocation invocation, TextWriter stderr, bool interactive, CancellationToken ct = default)
    {
        var problem = CliPaths.InputProblem(invocation.TracePath, "trace") ?? CliPaths.OutputProblem(invocation.OutputPath, "output")
            ?? (invocation.Options.ExtractWritesDirectory is { } extract && File.Exists(extract)
                ? $"--extract-writes: {extract} is a file, not a directory" : null);
        if (problem is not null)
        {
            stderr.WriteLine($"error: {problem}");
            return ExitCodes.IoError;
        }
        var progress = new StderrProgress(stderr, interactive);
        AnalysisReport report;
        try
        {
            report = TraceAnalyzer.AnalyzeToPandalog(invocation.TracePath, invocation.OutputPath, invocation.Options, progress, ct);
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
            stderr.WriteLine($"error: {e.Message}");
            return ExitCodes.IoError;
        }
        progress.Clear();
        WriteReport(stderr, invocation, report);
        return report.Truncation is null ? ExitCodes.Success : ExitCodes.PartialInput;
    }

    static void WriteReport(TextWriter stderr, Invocation invocation, AnalysisReport report)
    {
        stderr.WriteLine($"records read: {report.RecordsRead} ({report.SyscallRecords} syscall, {report.ContextSwitchRecords} context switch, {report.PageRecords} page)");
        stderr.WriteLine($"entries written: {report.EntriesWritten} to {invocation.OutputPath}");
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
        if (report.DroppedPageMapEntries > 0)
            stderr.WriteLine($"warning: {report.DroppedPageMapEntries} page-map entries dropped at the cap of {TraceGuestMemory.DefaultMaxMappedPages} (address space, page) pairs; reads of those pages count as missing");
        if (report.UnmatchedReturns > 0) stderr.WriteLine($"returns without a recorded enter: {report.UnmatchedReturns}");
        if (report.HandlerErrors > 0)
            stderr.WriteLine($"warning: {report.HandlerErrors} calls could not be analysed (a bug, please report): {report.FirstHandlerError}");
        if (invocation.Options.ExtractWritesDirectory is { } dir)
            stderr.WriteLine($"extracted writes: {report.ExtractedFiles} files, {report.ExtractedBytes} bytes in {dir}");
            if (report.ExtractionSkippedWrites > 0)
                stderr.WriteLine($"warning: {report.ExtractionSkippedWrites} writes not extracted: the limits of {WriteExtractor.DefaultMaxFiles} files / {WriteExtractor.DefaultMaxBytes >> 20} MiB were reached");
        stderr.WriteLine($"total instructions: {report.TotalInstr}");
        if (report.Truncation is { } truncation)
            stderr.WriteLine($"warning: the trace is truncated ({truncation.Reason}); the pandalog holds everything before that point");
    }

    /// <summary>A progress bar on a terminal (redrawn in place); plain lines every 10% when stderr is redirected.</summary>
    sealed class StderrProgress(TextWriter stderr, bool interactive) : IProgress<AnalysisProgress>
    {
        const int BarWidth = 40;
        int _lastTenth = -1;
        bool _drawn;

        public void Report(AnalysisProgress value)
        {
            double fraction = value.Length > 0 ? Math.Clamp((double)value.BytesRead / value.Length, 0, 1) : 0;
            if (interactive)
            {
                int filled = (int)(fraction * BarWidth);
                stderr.Write(string.Create(CultureInfo.InvariantCulture,
                    $"\r[{new string('#', filled)}{new string('.', BarWidth - filled)}] {fraction * 100,3:F0}% {value.RecordsRead} records, {value.EntriesWritten} entries "));
                _drawn = true;
                return;
            }
            int tenth = (int)(fraction * 10);
            if (tenth <= _lastTenth || value.Length <= 0) return;
            _lastTenth = tenth;
            stderr.WriteLine($"progress: {tenth * 10}% ({value.RecordsRead} records, {value.EntriesWritten} entries)");
        }

        public void Clear()
        {
            if (!_drawn) return;
            stderr.Write("\r" + new string(' ', BarWidth + 60) + "\r");
            _drawn = false;
        }
    }
}
