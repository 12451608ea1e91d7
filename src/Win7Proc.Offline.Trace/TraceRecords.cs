namespace Win7Proc.Offline.Trace;

// The records of tracefmt/FORMAT.md, as read. Field order follows the format.

/// <summary>(address space, virtual page) held <see cref="ContentId"/> at the record's moment; 0 = unreadable.
/// <see cref="Space"/> is the CR3 for user pages and 0 for kernel pages.</summary>
public readonly record struct PageRef(uint Space, uint Vpn, uint ContentId);

public enum SyscallPhase : byte { Enter = 0, Return = 1 }

public abstract record TraceRecord
{
    /// <summary>0-based index of the record in the record stream.</summary>
    public long Index { get; init; }
}

public sealed record TraceHeader(
    ushort Major, ushort Minor, uint PageSize, uint KernelBase,
    string GuestProfile, string RecorderName, string RecorderVersion, string ReplayName,
    IReadOnlyList<KeyValuePair<string, string>> Settings) : TraceRecord
{
    /// <summary>The content-id window (setting <c>dedup_window</c>, FORMAT.md §4): a page map names content c only
    /// while <c>newest - c &lt; DedupWindow</c>, so a reader keeps at most this many contents.</summary>
    public uint DedupWindow { get; init; }
    /// <summary>How the recorder observed returns (setting <c>returns</c>): <c>hooks+syscalls2</c>,
    /// <c>syscalls2</c>, <c>simulated</c>; null when the header does not say.</summary>
    public string? Returns { get; init; }
}

public sealed record PageRecord(uint ContentId, ulong Hash, ReadOnlyMemory<byte> Data) : TraceRecord;

public sealed record SyscallRecord(
    ulong Instr, uint Pc, uint Cr3, uint Thread, SyscallPhase Phase, byte Capture,
    uint CallNo, uint Eax, uint Edx, uint Esp, uint FsBase, uint GdtBase, ulong EnterInstr,
    uint[] Args, PageRef[] Pages) : TraceRecord
{
    public bool Watched => (Capture & 1) != 0;
    /// <summary>Capture bit 1: a return without a recorded enter (it predates the recording or was lost).</summary>
    public bool UnmatchedReturn => (Capture & 2) != 0;
    /// <summary>Capture bit 2: the recorder inferred that the paired call ended without seeing its return; the
    /// status (<see cref="Eax"/>) is unknown, the CPU fields are those of the event that showed it.</summary>
    public bool ReturnNotSeen => (Capture & 4) != 0;
    /// <summary>Capture bit 3 (informative): the recorder's own return-address hook saw this return.</summary>
    public bool ReturnByHook => (Capture & 8) != 0;
    /// <summary>At return: the NTSTATUS.</summary>
    public uint Status => Eax;
}

public sealed record ContextSwitchRecord(ulong Instr, uint OldCr3, uint NewCr3, uint Thread, PageRef[] Pages) : TraceRecord;

/// <summary>END (FORMAT.md §7). <see cref="TotalInstr"/> is the replay's total only when <see cref="TotalKnown"/>
/// (0 otherwise): a consumer then falls back to the last instruction count it saw (<see cref="KnownTotalInstr"/>
/// is null).</summary>
public sealed record TraceEnd(
    ulong TotalInstr, bool TotalKnown, ulong SyscallRecords, ulong SwitchRecords, ulong PageRecords, ulong PageRefs,
    ulong UnreadableRefs, ulong UnmatchedReturns, ulong ReturnsInferred, ulong ReturnsByHook, ulong EntersPending,
    string Reason) : TraceRecord
{
    /// <summary>The replay's total instruction count, or null when the recorder did not know it.</summary>
    public ulong? KnownTotalInstr => TotalKnown && TotalInstr != 0 ? TotalInstr : null;
}

/// <summary>A record of a type this reader does not know (skipped by consumers; kept for dump tools).</summary>
public sealed record UnknownRecord(ushort Type, int Length) : TraceRecord;
