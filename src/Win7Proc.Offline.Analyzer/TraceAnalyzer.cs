using Win7Proc.Offline.Analyzer.Windows7;
using Win7Proc.Offline.Pandalog;
using Win7Proc.Offline.Pandalog.Schema;
using Win7Proc.Offline.Trace;

namespace Win7Proc.Offline.Analyzer;

/// <summary>
/// The pipeline: trace reading → time-indexed guest memory → Windows 7 object readers → per-family syscall
/// handlers → entries. Errors: a missing or unreadable trace throws the usual IO exceptions; an invalid one throws
/// <see cref="TraceFormatException"/>; a truncated one is not an error (see <see cref="AnalysisReport.Truncation"/>);
/// cancellation throws <see cref="OperationCanceledException"/>.
/// </summary>
public static class TraceAnalyzer
{
    /// <summary>Set to 1 to analyse on one thread (as <see cref="AnalyzerOptions.SingleThreaded"/>): for comparisons.</summary>
    public const string SingleThreadedVariable = "WIN7PROC_SINGLE_THREADED";

    /// <summary>Records between progress reports.</summary>
    const int ProgressEvery = 4096;

    /// <summary>Analyses <paramref name="tracePath"/>, handing each entry to <paramref name="emit"/> in order.</summary>
    public static AnalysisReport Analyze(string tracePath, AnalyzerOptions options, Action<LogEntry> emit,
        IProgress<AnalysisProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(emit);
        using var reader = TraceReader.Open(tracePath, new TraceReaderOptions
        {
            DecodeAhead = !options.SingleThreaded && Environment.GetEnvironmentVariable(SingleThreadedVariable) != "1",
            BorrowPageData = true, // TraceGuestMemory.AddPage copies the bytes into its ring at once
        });
        using var memory = new TraceGuestMemory(reader.Header);
        var engine = new AnalysisEngine(new Win7KernelObjects(new Win7Objects(memory)), memory, options, emit)
        {
            MissingPageReadCounter = () => memory.MissingPageReads,
        };
        long records = 0, syscalls = 0, switches = 0, pages = 0;
        TraceEnd? end = null;
        foreach (var record in reader.Records())
        {
            records++;
            switch (record)
            {
                case TraceHeader header:
                    engine.OnHeader(header);
                    break;
                case PageRecord page:
                    pages++;
                    memory.AddPage(page);
                    break;
                case SyscallRecord syscall:
                    syscalls++;
                    memory.Apply(syscall);
                    engine.OnSyscall(syscall);
                    break;
                case ContextSwitchRecord contextSwitch:
                    switches++;
                    memory.Apply(contextSwitch);
                    engine.OnContextSwitch(contextSwitch);
                    break;
                case TraceEnd traceEnd:
                    end = traceEnd;
                    break;
            }
            if (records % ProgressEvery == 0)
            {
                ct.ThrowIfCancellationRequested();
                progress?.Report(new AnalysisProgress(reader.BytesRead, reader.Length, records, engine.EntriesWritten));
            }
        }
        ct.ThrowIfCancellationRequested();
        engine.Finish(end?.KnownTotalInstr);   // unknown (a real PANDA replay): the last instruction seen
        progress?.Report(new AnalysisProgress(reader.BytesRead, reader.Length, records, engine.EntriesWritten));
        return new AnalysisReport
        {
            Header = reader.Header,
            RecordsRead = records,
            SyscallRecords = syscalls,
            ContextSwitchRecords = switches,
            PageRecords = pages,
            UnmatchedReturns = engine.UnmatchedReturns,
            EntersWithoutReturn = engine.LostEnters,
            ReturnsInferred = engine.ReturnsInferred,
            ReturnsByHook = engine.ReturnsByHook,
            EntriesWithUnknownStatus = engine.EntriesWithUnknownStatus,
            EntriesWritten = engine.EntriesWritten,
            EntriesByKind = new Dictionary<string, long>(engine.EntriesByKind),
            ProcessesSeen = engine.ProcessesSeen,
            UnreadableByCallKind = new Dictionary<string, long>(engine.Misses),
            MissingPageReads = memory.MissingPageReads,
            DroppedPageMapEntries = memory.DroppedMapEntries,
            MissingPageReadsByCallKind = new Dictionary<string, long>(engine.MissingPagesByCall),
            Truncation = reader.Truncation,
            TotalInstr = end?.KnownTotalInstr ?? engine.LastInstr,
            EndReason = end?.Reason,
            HandlerErrors = engine.HandlerErrors,
            FirstHandlerError = engine.FirstHandlerError,
            ExtractedFiles = engine.Extractor?.FilesWritten ?? 0,
            ExtractedBytes = engine.Extractor?.BytesWritten ?? 0,
            ExtractionSkippedWrites = engine.Extractor?.SkippedWrites ?? 0,
        };
    }

    /// <summary>Analyses a trace into a pandalog at <paramref name="plogPath"/>. The file appears only when the analysis
    /// finished (a truncated trace still gives a complete, valid plog); on any exception nothing is left behind.</summary>
    public static AnalysisReport AnalyzeToPandalog(string tracePath, string plogPath, AnalyzerOptions options,
        IProgress<AnalysisProgress>? progress = null, CancellationToken ct = default)
    {
        var writerOptions = new PandalogWriterOptions { ZlibLevel = options.FastCompression ? 1 : 9 };
        if (options.ChunkSize > 0) writerOptions = writerOptions with { ChunkSize = options.ChunkSize };
        using var writer = PandalogWriter.Create(plogPath, writerOptions);
        var report = Analyze(tracePath, options, writer.Write, progress, ct);
        writer.Complete();
        return report;
    }
}
