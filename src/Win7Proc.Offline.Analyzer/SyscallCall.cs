using Win7Proc.Offline.Analyzer.Windows7;
using Win7Proc.Offline.Pandalog.Schema;
using Win7Proc.Offline.Trace;

namespace Win7Proc.Offline.Analyzer;

/// <summary>
/// One system call as a handler sees it at one of its records: the raw arguments, the caller, reads at this
/// record's moment, and logging. Reads never throw for guest data; what cannot be read is counted as a miss for the
/// call's kind and the entry is written with what is known.
/// </summary>
internal sealed class SyscallCall
{
    readonly AnalysisEngine _engine;
    readonly bool _statusKnown;

    internal SyscallCall(AnalysisEngine engine, string name, SyscallRecord record, SyscallRecord? enter,
        SyscallRecord? @return, ThreadInfo? thread, ProcessInfo? caller, bool statusKnown = true)
    {
        _engine = engine;
        _statusKnown = statusKnown;
        Name = name;
        Record = record;
        EnterRecord = enter;
        ReturnRecord = @return;
        Thread = thread;
        CallerInfo = caller;
    }

    public string Name { get; }
    /// <summary>The record whose memory reads see now.</summary>
    public SyscallRecord Record { get; }
    public SyscallRecord? EnterRecord { get; }
    public SyscallRecord? ReturnRecord { get; }
    public ThreadInfo? Thread { get; }
    public ProcessInfo? CallerInfo { get; }

    public uint Cr3 => Record.Cr3;
    internal AnalysisEngine Engine => _engine;
    public IKernelObjects Objects => _engine.Objects;
    public IGuestMemory Memory => _engine.Memory;
    /// <summary>The capture cap for data buffers (NtWriteFile, NtSetValueKey): the header's data_cap, bounded.</summary>
    public int DataCap => _engine.DataCap;

    public uint Arg(int index) => index < Record.Args.Length ? Record.Args[index] : 0;

    /// <summary>The NTSTATUS, once the call has returned; null before, and when its return was not seen.</summary>
    public uint? Status => _statusKnown ? ReturnRecord?.Status : null;
    public bool Succeeded => Status is uint status && Win7Objects.IsSuccess(status);

    /// <summary>The caller as a pandalog Process (pid, name, instance, ...), or "unknown".</summary>
    public Process Caller => _engine.ProcessMessage(CallerInfo, Record.Instr);
    public uint CallerPid => CallerInfo?.Pid ?? 0;

    public Process ProcessMessage(ProcessInfo? info) => _engine.ProcessMessage(info, Record.Instr);

    /// <summary>Counts a structure this call needed but could not read.</summary>
    public void Miss() => _engine.CountMiss(Name);

    public uint? ReadU32(uint va)
    {
        if (va == 0) return null;
        if (Memory.TryReadU32(Cr3, va, out var value)) return value;
        Miss();
        return null;
    }

    public ulong? ReadU64(uint va)
    {
        if (va == 0) return null;
        if (Memory.TryReadU64(Cr3, va, out var value)) return value;
        Miss();
        return null;
    }

    /// <summary>Up to min(length, cap) bytes at va, as many as are readable (a short capture is still useful).</summary>
    public byte[] ReadBytes(uint va, uint length, int cap)
    {
        if (va == 0 || length == 0 || cap <= 0) return [];
        var buffer = new byte[(int)Math.Min(length, (uint)cap)];
        int read = Memory.Read(Cr3, va, buffer);
        if (read < buffer.Length) Miss();
        return read == buffer.Length ? buffer : buffer[..read];
    }

    /// <summary>(Status, Information) of an IO_STATUS_BLOCK at va (x86: two 4-byte fields).</summary>
    public (uint Status, uint Information)? ReadIoStatusBlock(uint va)
    {
        if (va == 0) return null;
        if (Memory.TryReadU32(Cr3, va, out var status) && Memory.TryReadU32(Cr3, va + 4, out var information))
            return (status, information);
        Miss();
        return null;
    }

    public string? ReadUnicodeString(uint va)
    {
        if (va == 0) return null;
        var text = Objects.ReadUnicodeString(Cr3, va);
        if (text is null) Miss();
        return text;
    }

    public ObjectAttributesInfo? ReadObjectAttributes(uint va)
    {
        if (va == 0) return null;
        var attributes = Objects.ReadObjectAttributes(Cr3, va);
        if (attributes is null) Miss();
        // A name pointer whose string cannot be read (a paged-out buffer) is a miss too: the name stays unknown.
        else if (attributes.ObjectName is null && Memory.TryReadU32(Cr3, va + Win7Layout.ObjectAttributesObjectName, out var name) && name != 0)
            Miss();
        return attributes;
    }

    /// <summary>The handle-table entry behind <paramref name="handle"/> in the caller's table, now.</summary>
    public HandleEntry? ResolveHandle(uint handle)
    {
        if (handle == 0 || CallerInfo is null) return null;
        var entry = Objects.ResolveHandle(Cr3, CallerInfo, handle, Thread);
        if (entry is null) Miss();
        return entry;
    }

    /// <summary>The full name of the object behind a handle: a file's device path, a key's registry path, else the
    /// object's own name. Falls back to the handle cache (names learned at create/open, dropped at close).</summary>
    public string? HandleObjectName(uint handle)
    {
        if (handle == 0) return null;
        var entry = ResolveHandle(handle);
        var name = entry is null ? null : NameOf(entry);
        return name ?? _engine.Handles.Lookup(Cr3, handle);
    }

    /// <summary>The name behind <paramref name="handle"/> in the table of <paramref name="process"/>, the process behind
    /// <paramref name="processHandle"/> (as <see cref="ResolveProcessHandle"/> gave it: the caller resolves it once).</summary>
    public string? HandleObjectNameInProcess(uint processHandle, ProcessInfo? process, uint handle)
    {
        if (processHandle == Win7Layout.CurrentProcessHandle) return HandleObjectName(handle);
        if (process is null || handle == 0) return null;
        // Handle tables and object bodies are kernel memory, the same from every address space.
        var entry = Objects.ResolveHandle(Cr3, process, handle, null);
        if (entry is null) { Miss(); return _engine.Handles.Lookup(process.DirectoryTableBase, handle); }
        return NameOf(entry);
    }

    public string? NameOf(HandleEntry entry) => entry.Type switch
    {
        Win7ObjectType.File => Objects.ReadFileObjectName(Cr3, entry.Body) ?? entry.ObjectName,
        Win7ObjectType.Key => Objects.ReadKeyPath(Cr3, entry.Body) ?? entry.ObjectName,
        _ => entry.ObjectName,
    };

    /// <summary>The process behind a process handle (-1 = the caller).</summary>
    public ProcessInfo? ResolveProcessHandle(uint handle)
    {
        if (handle == Win7Layout.CurrentProcessHandle) return CallerInfo;
        var entry = ResolveHandle(handle);
        if (entry is null) return null;
        if (entry.Type != Win7ObjectType.Process) { Miss(); return null; }
        var process = Objects.ReadProcess(Cr3, entry.Body);
        if (process is null) Miss();
        return process;
    }

    /// <summary>The name an OBJECT_ATTRIBUTES designates: ObjectName, joined to the RootDirectory's name when relative.</summary>
    public string? FullObjectName(ObjectAttributesInfo? attributes)
    {
        if (attributes is null) return null;
        if (attributes.RootDirectory == 0) return _engine.DosDevices.Translate(attributes.ObjectName);
        var root = HandleObjectName(attributes.RootDirectory);
        return NtPath.Join(root, attributes.ObjectName);
    }

    /// <summary>Records a name for a handle this call created (only on success), for the fallback cache.</summary>
    public void RememberHandle(uint handle, string? name)
    {
        if (Succeeded && handle != 0 && name is not null) _engine.Handles.Remember(Cr3, handle, name);
    }

    /// <summary>Writes an entry at this call's return (or at its enter for calls that log there).</summary>
    public void Emit(string kind, Action<LogEntry> fill, params uint[] relatedPids) =>
        _engine.Emit(this, kind, fill, relatedPids, deferUntilReturn: false, onSettled: null);

    /// <summary>Writes an entry at the enter, but waits for the return (if it comes before any other entry) to add
    /// the status. <paramref name="onWritten"/> gets the status, or null when the entry was written without it.</summary>
    public void EmitAwaitingStatus(string kind, Action<LogEntry> fill, Action<uint?> onWritten, params uint[] relatedPids) =>
        _engine.Emit(this, kind, fill, relatedPids, deferUntilReturn: true, onSettled: onWritten);
}
