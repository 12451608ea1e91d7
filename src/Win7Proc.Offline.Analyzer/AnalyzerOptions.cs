using Win7Proc.Offline.Trace;

namespace Win7Proc.Offline.Analyzer;

/// <summary>The groups of system calls that <c>--only</c> selects (one handler file each).</summary>
public enum SyscallFamily
{
    /// <summary>Process creation, termination, opening, and the <c>new_pid</c> entries.</summary>
    Processes,
    Files,
    Registry,
    Sections,
    /// <summary>Legacy LPC port calls and the NtAlpc* calls.</summary>
    Ports,
    /// <summary>Cross-process NtReadVirtualMemory / NtWriteVirtualMemory.</summary>
    Memory,
}

/// <summary>What to analyse and how to write it. Immutable; the CLI builds it from the command line.</summary>
public sealed record AnalyzerOptions
{
    /// <summary>Also log <c>nt_any_syscall</c> + <c>syscall_name</c> for every system call (the original's unregistered callback).</summary>
    public bool AllSyscalls { get; init; }

    /// <summary>Only these families (null = all). <c>total_instr</c> is always written.</summary>
    public IReadOnlySet<SyscallFamily>? Only { get; init; }

    /// <summary>Only entries whose acting process, or the process they create / open / terminate / target, has one
    /// of these pids (null = all).</summary>
    public IReadOnlySet<uint>? Pids { get; init; }

    /// <summary>
    /// Log calls that failed (NT_SUCCESS false), marked <c>call_succeeded = false</c> with their <c>nt_status</c>.
    /// Default true: the original plugin logged failed calls too (it never checked the status), and failed attempts
    /// (access denied, name not found) are often what an analyst looks for. A failed call never creates a handle or
    /// a process in our state, whatever this says.
    /// </summary>
    public bool IncludeFailed { get; init; } = true;

    /// <summary>The original's grab_files: append the data of each successful NtWriteFile to a file per (process, file)
    /// in this directory. Null = off.</summary>
    public string? ExtractWritesDirectory { get; init; }

    /// <summary>Pandalog chunk size in bytes of uncompressed entries; 0 = the writer's default.</summary>
    public int ChunkSize { get; init; }

    /// <summary>Faster, larger output: zlib level 1 instead of 9.</summary>
    public bool FastCompression { get; init; }

    /// <summary>
    /// Set <c>asid</c> (the CR3) on every entry. Off by default: the original win7proc never set it (neither does modern
    /// PANDA's writer, which sets only pc and instr), and the original <c>procstory.py</c> parses the old text dump with
    /// regular expressions that expect the event name right after <c>pc=0x... :</c>, where the old reader printed
    /// <c>asid=...</c> when present; with asid set it finds no birth or death.
    /// </summary>
    public bool WriteAsid { get; init; }
    /// <summary>Decode the trace on the analysis thread instead of a second one (same output; for comparisons).
    /// The pandalog's own compression thread is not affected.</summary>
    public bool SingleThreaded { get; init; }

    public static AnalyzerOptions Default { get; } = new();

    internal bool Wants(SyscallFamily family) => Only is null || Only.Contains(family);
}

/// <summary>Where the analysis is: for progress bars. <see cref="Length"/> is -1 when unknown.</summary>
public readonly record struct AnalysisProgress(long BytesRead, long Length, long RecordsRead, long EntriesWritten);

/// <summary>What an analysis did: the run report printed at the end.</summary>
public sealed record AnalysisReport
{
    public required TraceHeader Header { get; init; }
    public long RecordsRead { get; init; }
    public long SyscallRecords { get; init; }
    public long ContextSwitchRecords { get; init; }
    public long PageRecords { get; init; }
    /// <summary>Returns whose enter was not recorded (capture bit 1) or is no longer held, handled from their own data.</summary>
    public long UnmatchedReturns { get; init; }
    /// <summary>Enters whose return never came (a thread that ended inside a call, a self-termination, a trace that
    /// stopped while calls were pending).</summary>
    public long EntersWithoutReturn { get; init; }
    /// <summary>Calls whose end the recorder inferred without seeing their return (capture bit 2): status unknown.</summary>
    public long ReturnsInferred { get; init; }
    /// <summary>Returns seen only by the recorder's own return hook (capture bit 3): PANDA's syscalls2 lost them.</summary>
    public long ReturnsByHook { get; init; }
    /// <summary>Entries written with nt_status and call_succeeded unset because the call's return was not seen.</summary>
    public long EntriesWithUnknownStatus { get; init; }
    public long EntriesWritten { get; init; }
    /// <summary>Entries written, by LogEntry field name (nt_create_file, new_pid, ...), sorted by name.</summary>
    public required IReadOnlyDictionary<string, long> EntriesByKind { get; init; }
    /// <summary>Distinct process instances (pid + creation) seen.</summary>
    public int ProcessesSeen { get; init; }
    /// <summary>Structures a call needed that could not be read (a missing or unreadable page), by system call name.</summary>
    public required IReadOnlyDictionary<string, long> UnreadableByCallKind { get; init; }
    /// <summary>Guest-memory reads that stopped at a missing page (all causes).</summary>
    public long MissingPageReads { get; init; }
    /// <summary>The same, attributed to the system call being handled (context switches are not included).</summary>
    public IReadOnlyDictionary<string, long> MissingPageReadsByCallKind { get; init; } = new Dictionary<string, long>();
    /// <summary>Page-map entries dropped at the map's cap (TraceGuestMemory.MaxMappedPages) while still valid: their pages
    /// read as missing afterwards. 0 on any trace of a real guest.</summary>
    public long DroppedPageMapEntries { get; init; }
    /// <summary>Non-null when the trace ended early (no END record): the output holds everything before that point.</summary>
    public TraceTruncation? Truncation { get; init; }
    /// <summary>From END, else the last instruction count seen.</summary>
    public ulong TotalInstr { get; init; }
    public string? EndReason { get; init; }
    /// <summary>Calls whose handler failed unexpectedly (a bug, reported; the run went on).</summary>
    public long HandlerErrors { get; init; }
    public string? FirstHandlerError { get; init; }
    /// <summary>With <see cref="AnalyzerOptions.ExtractWritesDirectory"/>: host files and bytes written.</summary>
    public int ExtractedFiles { get; init; }
    public long ExtractedBytes { get; init; }
    /// <summary>Writes not extracted because the extraction limits (files, bytes) were reached.</summary>
    public long ExtractionSkippedWrites { get; init; }
}
