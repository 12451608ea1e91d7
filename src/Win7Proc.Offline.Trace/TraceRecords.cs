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
    IReadOnlyList<KeyValuePair<string, string>> Settings) : TraceRecord;

public sealed record PageRecord(uint ContentId, ulong Hash, ReadOnlyMemory<byte> Data) : TraceRecord;

public sealed record SyscallRecord(
    ulong Instr, uint Pc, uint Cr3, uint Thread, SyscallPhase Phase, byte Capture,
    uint CallNo, uint Eax, uint Edx, uint Esp, uint FsBase, uint GdtBase, ulong EnterInstr,
    uint[] Args, PageRef[] Pages) : TraceRecord
{
    public bool Watched => (Capture & 1) != 0;
    public bool UnmatchedReturn => (Capture & 2) != 0;
    /// <summary>At return: the NTSTATUS.</summary>
    public uint Status => Eax;
}

public sealed record ContextSwitchRecord(ulong Instr, uint OldCr3, uint NewCr3, uint Thread, PageRef[] Pages) : TraceRecord;

public sealed record TraceEnd(
    ulong TotalInstr, ulong SyscallRecords, ulong SwitchRecords, ulong PageRecords, ulong PageRefs,
    ulong UnreadableRefs, ulong UnmatchedReturns, string Reason) : TraceRecord;

/// <summary>A record of a type this reader does not know (skipped by consumers; kept for dump tools).</summary>
public sealed record UnknownRecord(ushort Type, int Length) : TraceRecord;
