using Win7Proc.Offline.Analyzer.Windows7;
using Win7Proc.Offline.Pandalog.Schema;
using Win7Proc.Offline.Trace;

namespace Win7Proc.Offline.Analyzer;

/// <summary>
/// Turns the trace's SYSCALL and CONTEXT_SWITCH records, in order, into pandalog entries. The caller keeps
/// <see cref="Memory"/> at the current record (it applies each record's page map before handing the record here);
/// this class pairs returns with enters by (cr3, thread, enter_instr) (unique even for nested calls of one thread and
/// for threads waiting in the same stub), keeps what was read at enter, runs the family handlers, tracks process
/// instances and writes <c>new_pid</c> whenever the current process changes. A call whose return was not seen (the
/// recorder inferred its end, or the trace stopped first) gets an entry with its status unset: unknown, never guessed.
/// </summary>
internal sealed class AnalysisEngine
{
    /// <summary>Data captured per buffer when the header does not say (FORMAT.md §3 data_cap).</summary>
    public const int DefaultDataCap = 64 * 1024;
    /// <summary>Upper bound on any data buffer we copy, whatever the header claims.</summary>
    public const int MaxDataCap = 1 << 20;
    /// <summary>Most calls kept waiting for their return. The recorder pairs calls in 8192 slots (recorder.c
    /// W7_PENDING_SLOTS), so beyond this the map holds enters whose return will never come (a thread that died inside
    /// a call, a process that terminated itself); when it fills, the older half is dropped as lost enters.</summary>
    public const int MaxPendingCalls = 16384;

    readonly AnalyzerOptions _options;
    readonly Action<LogEntry> _emit;
    readonly SyscallTable _table;
    readonly HandlerTable _handlers;
    readonly ProcessTracker _processes = new();
    readonly Dictionary<(uint Cr3, uint Thread, ulong EnterInstr), PendingCall> _pending = new();
    readonly SortedDictionary<string, long> _entriesByKind = new(StringComparer.Ordinal);
    readonly SortedDictionary<string, long> _misses = new(StringComparer.Ordinal);
    readonly SortedDictionary<string, long> _missingPagesByCall = new(StringComparer.Ordinal);
    /// <summary>Entries held back, in order, behind an entry that waits for its call's status (a cross-process
    /// NtTerminateProcess logged at its enter): the output stays in instruction order while other threads' calls run
    /// in between. Bounded by <see cref="MaxHeldEntries"/>.</summary>
    readonly Queue<HeldEntry> _held = new();
    public const int MaxHeldEntries = 65536;
    // The call whose enter is being handled: an entry deferred until its return is attached to it.
    PendingCall? _pendingForDeferral;
    uint? _lastPid;

    public AnalysisEngine(IKernelObjects objects, IGuestMemory memory, AnalyzerOptions options, Action<LogEntry> emit)
    {
        Objects = objects;
        Memory = memory;
        _options = options;
        _emit = emit;
        _table = SyscallTable.Windows7X86;
        _handlers = HandlerTable.Windows7(options);
        if (options.ExtractWritesDirectory is not null) Extractor = new WriteExtractor(options.ExtractWritesDirectory);
    }

    public IKernelObjects Objects { get; }
    public IGuestMemory Memory { get; }
    public HandleCache Handles { get; } = new();
    /// <summary>Files opened with FILE_DELETE_ON_CLOSE, until their last close (FileHandlers).</summary>
    public DeleteOnCloseFiles DeleteOnClose { get; } = new();
    public DosDeviceMap DosDevices { get; } = new();
    public WriteExtractor? Extractor { get; }
    public int DataCap { get; private set; } = DefaultDataCap;
    /// <summary>The guest memory's cumulative count of reads that hit a missing page (TraceGuestMemory.MissingPageReads);
    /// when given, each call's share is attributed to its kind.</summary>
    public Func<long>? MissingPageReadCounter { get; init; }
    /// <summary>Tests set this so a handler bug fails the test instead of being counted.</summary>
    public bool ThrowOnHandlerError { get; init; }

    public long EntriesWritten { get; private set; }
    /// <summary>Returns without a recorded enter: capture bit 1 (the enter predates the recording or was lost), or an
    /// enter this analysis no longer holds.</summary>
    public long UnmatchedReturns { get; private set; }
    /// <summary>Enters whose return never came: still pending at the end, or dropped from a full pending map.</summary>
    public long LostEnters { get; private set; }
    /// <summary>Return records with capture bit 2: the recorder inferred the call's end without seeing its return.</summary>
    public long ReturnsInferred { get; private set; }
    /// <summary>Return records with capture bit 3: recorded from the recorder's own return hook, not syscalls2.</summary>
    public long ReturnsByHook { get; private set; }
    /// <summary>Entries written with their status unset because the call's return was not seen.</summary>
    public long EntriesWithUnknownStatus { get; private set; }
    /// <summary>Calls whose enter was seen and whose return has not come yet (at most <see cref="MaxPendingCalls"/>).</summary>
    public int PendingCalls => _pending.Count;
    public long HandlerErrors { get; private set; }
    public string? FirstHandlerError { get; private set; }
    public ulong LastInstr { get; private set; }
    public int ProcessesSeen => _processes.InstancesSeen;
    public IReadOnlyDictionary<string, long> EntriesByKind => _entriesByKind;
    public IReadOnlyDictionary<string, long> Misses => _misses;
    public IReadOnlyDictionary<string, long> MissingPagesByCall => _missingPagesByCall;

    public void OnHeader(TraceHeader header)
    {
        foreach (var (key, value) in header.Settings)
            if (key == "data_cap" && int.TryParse(value, out var cap) && cap >= 0)
                DataCap = Math.Min(cap, MaxDataCap);
    }

    public void OnContextSwitch(ContextSwitchRecord record)
    {
        LastInstr = Math.Max(LastInstr, record.Instr);
        var thread = record.Thread == 0 ? null : Objects.ReadThread(record.NewCr3, record.Thread);
        var process = thread is null ? null : Objects.ReadProcess(record.NewCr3, thread.EProcess);
        if (process is null)
        {
            CountMiss("context_switch");
            return;
        }
        NoteCurrentProcess(process, thread, record.Instr, pc: 0, record.NewCr3);
    }

    public void OnSyscall(SyscallRecord record)
    {
        LastInstr = Math.Max(LastInstr, record.Instr);
        long missingBefore = MissingPageReadCounter?.Invoke() ?? 0;
        if (record.Phase == SyscallPhase.Enter) OnEnter(record);
        else OnReturn(record);
        long missed = (MissingPageReadCounter?.Invoke() ?? 0) - missingBefore;
        if (missed > 0)
        {
            var kind = _table.NameOf(record.CallNo);
            _missingPagesByCall[kind] = _missingPagesByCall.GetValueOrDefault(kind) + missed;
        }
    }

    void OnEnter(SyscallRecord record)
    {
        var name = _table.NameOf(record.CallNo);
        var handler = _handlers.For(record.CallNo);
        ThreadInfo? thread = null;
        ProcessInfo? caller = null;
        if (record.Watched)
        {
            (thread, caller) = ReadCaller(record);
            NoteCurrentProcess(caller, thread, record.Instr, record.Pc, record.Cr3);
        }

        // Several calls of one thread may be pending (nested calls): the enter instruction tells them apart.
        var key = (record.Cr3, record.Thread, record.Instr);
        if (_pending.Remove(key)) LostEnters++; // two enters at one instruction: only a hostile trace does that
        var pending = new PendingCall(record, thread, caller);
        var call = new SyscallCall(this, name, record, record, null, thread, caller);
        if (_options.AllSyscalls && IsLoggedAtEnter(name)) EmitAnySyscall(call);
        if (handler is not null && record.Watched)
        {
            _pendingForDeferral = pending;
            (pending.EnterHandled, pending.State) = Guarded(name, () => handler.AtEnter(call));
            if (handler.LogsAtEnter && pending.EnterHandled) Guarded(name, () => { handler.AtReturn(call, pending.State); return null; });
            _pendingForDeferral = null;
        }
        if (_pending.Count >= MaxPendingCalls) DropOlderPendingHalf();
        _pending[key] = pending;
    }

    /// <summary>Bounds <see cref="_pending"/> (a guest whose threads die inside calls, or a hostile trace, would grow it
    /// without end): drops the half with the oldest enters. Amortised O(log n) per enter.</summary>
    void DropOlderPendingHalf()
    {
        var older = _pending.OrderBy(p => p.Value.Enter.Instr).Take(_pending.Count / 2).Select(p => p.Key).ToList();
        foreach (var key in older) _pending.Remove(key);
        LostEnters += older.Count;
    }

    /// <summary>Capture bit 2 of FORMAT.md 2.0 (SYSCALL): the return was not seen, the status is unknown.</summary>
    const byte CaptureReturnNotSeen = 4;

    void OnReturn(SyscallRecord record)
    {
        var name = _table.NameOf(record.CallNo);
        var handler = _handlers.For(record.CallNo);
        bool notSeen = record.ReturnNotSeen;
        if (notSeen) ReturnsInferred++;
        if (record.ReturnByHook) ReturnsByHook++;
        PendingCall? pending = null;
        if (record.UnmatchedReturn || !_pending.Remove((record.Cr3, record.Thread, record.EnterInstr), out pending))
            UnmatchedReturns++;
        // An inferred end without its enter says nothing usable about the call: counted only.
        if (notSeen && pending is null) return;
        if (notSeen) { CompleteUnseen(pending!, record.Instr, record.Pc); return; }
        if (pending?.Deferred is { } deferred) Settle(deferred, record.Status);

        ThreadInfo? thread = pending?.Thread;
        ProcessInfo? caller = pending?.Caller;
        if (record.Watched)
        {
            var (threadNow, callerNow) = ReadCaller(record);
            thread = threadNow ?? thread;
            caller = callerNow ?? caller;
            NoteCurrentProcess(callerNow, threadNow, record.Instr, record.Pc, record.Cr3);
        }

        var call = new SyscallCall(this, name, record, pending?.Enter, record, thread, caller);
        if (_options.AllSyscalls && !IsLoggedAtEnter(name)) EmitAnySyscall(call);
        if (handler is null || handler.LogsAtEnter || !record.Watched) return;
        var (entered, state) = pending is not null && pending.Enter.Watched
            ? (pending.EnterHandled, pending.State)
            : Guarded(name, () => handler.AtEnter(call)); // no usable enter: take the inputs from the return's own memory
        if (entered) Guarded(name, () => { handler.AtReturn(call, state); return null; }); // else already counted
    }

    /// <summary>A call whose return was not seen: its entry is written at <paramref name="at"/> (the record that
    /// told its end, or the trace's last record) from what was read at its enter, with the status unset. Nothing is
    /// read at that moment: it belongs to another thread or to no call at all.</summary>
    void CompleteUnseen(PendingCall pending, ulong atInstr, uint atPc)
    {
        var name = _table.NameOf(pending.Enter.CallNo);
        var handler = _handlers.For(pending.Enter.CallNo);
        if (pending.Deferred is { } deferred) Settle(deferred, status: null);
        var end = pending.Enter with { Instr = atInstr, Pc = atPc, Phase = SyscallPhase.Return, Capture = CaptureReturnNotSeen, Eax = 0, Pages = [] };
        var call = new SyscallCall(this, name, end, pending.Enter, end, pending.Thread, pending.Caller, statusKnown: false);
        if (_options.AllSyscalls && !IsLoggedAtEnter(name)) EmitAnySyscall(call);
        if (handler is null || handler.LogsAtEnter || !pending.Enter.Watched || !pending.EnterHandled) return;
        long before = EntriesWritten + _held.Count;
        Guarded(name, () => { handler.AtReturn(call, pending.State); return null; });
        EntriesWithUnknownStatus += EntriesWritten + _held.Count - before;
    }

    /// <summary>Writes <c>total_instr</c> (from END, else the last instruction count seen), an unknown-status entry for
    /// every call still pending (the recording stopped first) and any entry still waiting for a status.</summary>
    public void Finish(ulong? totalInstr)
    {
        foreach (var pending in _pending.Values.OrderBy(p => p.Enter.Instr).ToList())
            CompleteUnseen(pending, LastInstr, atPc: 0);
        LostEnters += _pending.Count;
        _pending.Clear();
        while (_held.Count > 0) Settle(_held.Peek(), status: null);
        var total = totalInstr ?? LastInstr;
        Write(new LogEntry { Pc = 0, Instr = total, TotalInstr = total }, "total_instr");
    }

    // NtTerminateProcess is logged at its enter: a self-termination never returns (the simulator's timing contract).
    static bool IsLoggedAtEnter(string name) => name == "NtTerminateProcess";

    (ThreadInfo? Thread, ProcessInfo? Process) ReadCaller(SyscallRecord record)
    {
        var thread = Objects.ReadCurrentThread(record.Cr3, record.GdtBase);
        if (thread is null && record.Thread != 0) thread = Objects.ReadThread(record.Cr3, record.Thread);
        var process = thread is null ? null : Objects.ReadProcess(record.Cr3, thread.EProcess);
        if (process is null) CountMiss(_table.NameOf(record.CallNo));
        return (thread, process);
    }

    void NoteCurrentProcess(ProcessInfo? process, ThreadInfo? thread, ulong instr, uint pc, uint cr3)
    {
        if (process is null) return;
        var instance = _processes.Observe(process, instr);
        if (_lastPid == process.Pid) return;
        _lastPid = process.Pid;
        if (!_options.Wants(SyscallFamily.Processes) || !PassesPidFilter(process.Pid, [])) return;
        var entry = new LogEntry { Pc = pc, Instr = instr, NewPid = ProcessTracker.ToMessage(instance, withCommandLine: true) };
        if (_options.WriteAsid) entry.Asid = cr3;
        if (thread is not null) entry.Tid = thread.Tid;
        Write(entry, "new_pid");
    }

    void EmitAnySyscall(SyscallCall call) =>
        Emit(call, "nt_any_syscall", e =>
        {
            e.NtAnySyscall = call.Record.CallNo;
            e.SyscallName = call.Name;
        }, [], deferUntilReturn: false, onSettled: null);

    /// <summary>The Process message for a process read at <paramref name="instr"/>; "unknown" when unread.</summary>
    public Process ProcessMessage(ProcessInfo? info, ulong instr) =>
        info is null ? ProcessTracker.Unknown() : ProcessTracker.ToMessage(_processes.Observe(info, instr));

    public ProcessTracker Processes => _processes;

    public void CountMiss(string callKind) =>
        _misses[callKind] = _misses.GetValueOrDefault(callKind) + 1;

    public void Emit(SyscallCall call, string kind, Action<LogEntry> fill, uint[] relatedPids,
        bool deferUntilReturn, Action<uint?>? onSettled)
    {
        var at = call.ReturnRecord ?? call.Record;
        var entry = new LogEntry { Pc = at.Pc, Instr = at.Instr };
        if (_options.WriteAsid) entry.Asid = at.Cr3;
        if (call.Thread is not null) entry.Tid = call.Thread.Tid;
        fill(entry);
        bool wanted = PassesPidFilter(call.CallerPid, relatedPids);
        if (deferUntilReturn && _pendingForDeferral is { } pending)
        {
            var held = new HeldEntry(entry, kind, wanted, onSettled);
            pending.Deferred = held;
            _held.Enqueue(held);
            // A status that never comes (a thread that never returns) must not hold the output without bound.
            if (_held.Count > MaxHeldEntries) Settle(_held.Peek(), status: null);
            return;
        }
        if (call.Status is uint status) SetStatus(entry, status);
        onSettled?.Invoke(call.Status);
        if (wanted && (call.Status is not uint s || Win7Objects.IsSuccess(s) || _options.IncludeFailed)) Write(entry, kind);
    }

    /// <summary>Gives a held entry its status (null = unknown: left unset) and writes what is no longer held back.</summary>
    void Settle(HeldEntry held, uint? status)
    {
        if (held.Settled) return;
        held.Settled = true;
        if (status is uint s) SetStatus(held.Entry, s);
        held.OnSettled?.Invoke(status);
        held.Wanted &= status is not uint t || Win7Objects.IsSuccess(t) || _options.IncludeFailed;
        if (status is null) EntriesWithUnknownStatus += held.Wanted ? 1 : 0;
        while (_held.TryPeek(out var head) && head.Settled)
        {
            _held.Dequeue();
            if (head.Wanted) WriteNow(head.Entry, head.Kind);
        }
    }

    static void SetStatus(LogEntry entry, uint status)
    {
        entry.NtStatus = status;
        entry.CallSucceeded = Win7Objects.IsSuccess(status);
    }

    bool PassesPidFilter(uint actingPid, uint[] relatedPids)
    {
        if (_options.Pids is not { } pids) return true;
        if (pids.Contains(actingPid)) return true;
        foreach (var pid in relatedPids) if (pids.Contains(pid)) return true;
        return false;
    }

    /// <summary>Writes an entry, behind any entry still waiting for its status.</summary>
    void Write(LogEntry entry, string kind)
    {
        if (_held.Count > 0) { _held.Enqueue(new HeldEntry(entry, kind, Wanted: true, OnSettled: null) { Settled = true }); return; }
        WriteNow(entry, kind);
    }

    void WriteNow(LogEntry entry, string kind)
    {
        _emit(entry);
        EntriesWritten++;
        _entriesByKind[kind] = _entriesByKind.GetValueOrDefault(kind) + 1;
    }

    (bool Ok, object? Value) Guarded(string callKind, Func<object?> action)
    {
        if (ThrowOnHandlerError) return (true, action());
        try
        {
            return (true, action());
        }
        catch (Exception e) when (e is not OperationCanceledException and not TraceLimitException and not IOException)
        {
            // Per-item fault isolation: a handler bug on one odd call must not lose the rest of the trace.
            HandlerErrors++;
            FirstHandlerError ??= $"{callKind}: {e.GetType().Name}: {e.Message}";
            CountMiss(callKind);
            return (false, null);
        }
    }

    sealed class PendingCall(SyscallRecord enter, ThreadInfo? thread, ProcessInfo? caller)
    {
        public SyscallRecord Enter { get; } = enter;
        public ThreadInfo? Thread { get; } = thread;
        public ProcessInfo? Caller { get; } = caller;
        public object? State { get; set; }
        /// <summary>False when the enter handler failed: the return is then skipped (the failure is already counted).</summary>
        public bool EnterHandled { get; set; }
        public HeldEntry? Deferred { get; set; }
    }

    sealed class HeldEntry(LogEntry entry, string Kind, bool Wanted, Action<uint?>? OnSettled)
    {
        public LogEntry Entry { get; } = entry;
        public string Kind { get; } = Kind;
        public bool Wanted { get; set; } = Wanted;
        public Action<uint?>? OnSettled { get; } = OnSettled;
        public bool Settled { get; set; }
    }
}
