using Win7Proc.Offline.Simulator.Calls;
using Win7Proc.Offline.Simulator.Guest;

namespace Win7Proc.Offline.Simulator;

/// <summary>Counts of what a run produced.</summary>
public sealed record SimulationCounts(int Events, int Syscalls, int Returns, int ContextSwitches, int ProcessesCreated, int ProcessesTerminated);

/// <summary>
/// Runs a scenario against the guest model, event by event, telling an <see cref="ISyscallSink"/> what the CPU does.
/// Timing contract (samples/README.md): an event at instr enters at instr−1 and returns at instr; terminate_process
/// enters at instr (and another process's termination returns at instr+1); a context switch to the acting thread
/// precedes at instr−2; <c>switch</c> events switch at instr. Format 2: a call with returns_at N stays in the kernel
/// until N (other events run meanwhile; its thread may make nested calls, whose frames lie below it); before its
/// return a switch to its thread comes at N−1 when another thread runs.
/// </summary>
public sealed class GuestSimulation
{
    public Scenario Scenario { get; }
    public GuestKernel Kernel { get; } = new();
    public FileModel Files { get; }
    public RegistryModel Registry { get; }
    public SectionModel Sections { get; }
    public PortModel Ports { get; }

    int _syscalls, _returns, _switches, _created, _terminated;
    int _eventsDone;
    uint _messageId = 0x100;

    public GuestSimulation(Scenario scenario)
    {
        Scenario = scenario;
        Files = new FileModel(Kernel);
        Registry = new RegistryModel(Kernel);
        Sections = new SectionModel(Kernel);
        Ports = new PortModel(Kernel);
        // Pre-existing processes: created before instruction 0, one minute apart in listing order.
        var n = scenario.Processes.Count;
        for (int i = 0; i < n; i++)
        {
            var p = scenario.Processes[i];
            Kernel.CreateProcess(p.Pid, p.ParentPid, p.Image, p.CommandLine, p.Tid ?? p.Pid + 4,
                GuestKernel.RecordingStartFileTime - (ulong)(n - i) * 600_000_000UL);
        }
        foreach (var p in scenario.Processes)
            foreach (var h in p.Handles) AddInitialHandle(Kernel.FindLive(p.Pid)!, h, $"{scenario.SourceName}: process {p.Pid} handle '{h.As}'");
    }

    void AddInitialHandle(GuestProcess proc, ScenarioHandle h, string where)
    {
        KernelObject obj;
        try
        {
            switch (h.Kind)
            {
                case "key": obj = Registry.NewKeyObject(Registry.GetKcb(h.Value), proc.Pid); break;
                case "file": obj = Files.Open(h.Value, null); break;
                case "section": obj = Sections.FindNamed(h.Value) ?? Sections.Create(h.Value, null, 0x10000); break;
                case "port": obj = Ports.FindConnectionPort(h.Value) ?? Ports.CreateConnectionPort(h.Value, proc, alpc: true); break;
                case "process":
                    obj = Kernel.FindLive(uint.Parse(h.Value, System.Globalization.CultureInfo.InvariantCulture))   // Scenario wrote the pid in decimal
                          ?? throw new ScenarioException($"no process with pid {h.Value}");
                    break;
                case "transaction":
                    obj = new TransactionObject { Header = Kernel.AllocateObject(TypeIndex.TmTx, 0x160, null, null), Type = TypeIndex.TmTx };
                    break;
                default: throw new ScenarioException($"unknown handle kind {h.Kind}");
            }
        }
        catch (ScenarioException e) { throw new ScenarioException($"{where}: {e.Message}"); }
        proc.HandleNames[h.As] = proc.Handles.Add(obj, 0x1f0003);
    }

    /// <summary>Runs every event; <paramref name="sink"/> null runs the model only (validation). Blocking calls still
    /// inside the kernel at total_instr never return: the recording stops while they are pending.</summary>
    public SimulationCounts Run(ISyscallSink? sink)
    {
        while (_eventsDone < Scenario.Events.Count) Step(sink);
        ReturnBlockingCallsBefore(Scenario.TotalInstr, sink);
        return Counts;
    }

    public SimulationCounts Counts => new(_eventsDone, _syscalls, _returns, _switches, _created, _terminated);

    /// <summary>Blocking calls entered and not returned (yet): still inside the kernel.</summary>
    public int CallsInKernel => _inKernel.Count;

    /// <summary>Runs the next event, after the returns of blocking calls that come before it. Returns false when
    /// none is left.</summary>
    public bool Step(ISyscallSink? sink)
    {
        if (_eventsDone >= Scenario.Events.Count) return false;
        var e = Scenario.Events[_eventsDone];
        ReturnBlockingCallsBefore(e.Instr, sink);
        try { StepEvent(e, sink); }
        catch (ScenarioException x) when (!x.Located) { throw e.Error(x.Message); }
        _eventsDone++;
        return true;
    }

    /// <summary>A call inside the kernel until <see cref="ReturnsAt"/> (format 2 "returns_at").</summary>
    sealed record BlockingCall(ScenarioEvent Event, GuestThread Thread, PreparedCall Call, ulong ReturnsAt,
        IReadOnlySet<(uint Space, uint Vpn)> Unreadable);

    readonly List<BlockingCall> _inKernel = new();   // ordered by ReturnsAt
    ulong _lastCpuInstr;
    string _lastCpuWhat = "";

    void ReturnBlockingCallsBefore(ulong instr, ISyscallSink? sink)
    {
        while (_inKernel.Count > 0 && _inKernel[0].ReturnsAt < instr)
        {
            var call = _inKernel[0];
            _inKernel.RemoveAt(0);
            try { ReturnBlockingCall(call, sink); }
            catch (ScenarioException x) when (!x.Located) { throw call.Event.Error($"at its return (instr {call.ReturnsAt}): {x.Message}"); }
        }
    }

    void ReturnBlockingCall(BlockingCall c, ISyscallSink? sink)
    {
        var thread = c.Thread;
        if (thread != Kernel.CurrentThread) SwitchTo(thread, c.ReturnsAt - 1, sink, c.Event);
        if (thread.FramesInKernel.Count == 0 || thread.FramesInKernel.Peek() != c.Call.Frame.Edx)
            throw new ScenarioException("a call returns before a call nested in it");   // ruled out when scheduled
        thread.FramesInKernel.Pop();
        if (c.Event.Succeeds) Complete(c.Call);
        Return(c.Event, c.Call, thread, c.ReturnsAt, c.Unreadable, sink);
    }

    /// <summary>The kernel's work between enter and return: state changes and outputs. A process that ends takes its
    /// threads' calls with it: they never return.</summary>
    void Complete(PreparedCall call)
    {
        call.OnSuccess?.Invoke();
        foreach (var dead in _inKernel.Where(b => !b.Thread.Process.Alive).ToList())
        {
            _inKernel.Remove(dead);
            dead.Thread.FramesInKernel.Clear();
        }
    }

    void StepEvent(ScenarioEvent e, ISyscallSink? sink)
    {
        var proc = Kernel.FindLive(e.Pid) ?? throw e.Error($"pid {e.Pid} is not a live process");
        var thread = ThreadFor(proc, e.Tid);
        if (e.Op == "switch")
        {
            if (thread != Kernel.CurrentThread) SwitchTo(thread, e.Instr, sink, e);
            return;
        }
        if (thread != Kernel.CurrentThread) SwitchTo(thread, e.Instr - 2, sink, e);
        if (thread.FramesInKernel.Count >= CallFrame.MaxNesting)
            throw e.Error($"thread {thread.Tid} already has {CallFrame.MaxNesting} calls inside the kernel (the most nested calls)");
        var ctx = new CallContext(this, e, proc, thread);
        var call = CallFamilies.Prepare(ctx);
        var f = call.Frame;
        var unreadable = UnreadablePages(ctx, f);
        var enterInstr = call.End == CallEnd.ReturnAtInstr ? e.Instr - 1 : e.Instr;
        CpuAt(enterInstr, e, "enter");
        _syscalls++;
        if (Live(enterInstr, sink) is { } s)
            WithUnreadable(unreadable, enterInstr, () => s.SyscallEnter(new CpuState(enterInstr, GuestKernel.SysenterAddress,
                proc.Cr3, f.CallNo, f.Edx, f.Edx, thread.Teb, GuestKernel.GdtBase), f.ReturnAddress));
        var end = call.End;
        if (end == CallEnd.NoReturn && !e.Succeeds) end = CallEnd.ReturnAfterInstr;   // a failed self-kill returns
        if (end == CallEnd.NoReturn)
        {
            if (e.Succeeds) Complete(call);
            return;
        }
        if (e.ReturnsAt is not { } returnsAt)
        {
            if (e.Succeeds) Complete(call);
            Return(e, call, thread, end == CallEnd.ReturnAtInstr ? e.Instr : e.Instr + 1, unreadable, sink);
            return;
        }
        // A blocking call: other events run until its return. A call nested in it returns first (last in, first out).
        var outer = _inKernel.Where(b => b.Thread == thread).MinBy(b => b.ReturnsAt);
        if (outer is not null && outer.ReturnsAt <= returnsAt)
            throw e.Error($"returns_at {returnsAt}: a call nested in event {outer.Event.Index} (returns at {outer.ReturnsAt}) must return before it");
        thread.FramesInKernel.Push(f.Edx);
        var blocking = new BlockingCall(e, thread, call, returnsAt, unreadable);
        var at = _inKernel.FindIndex(b => b.ReturnsAt > returnsAt);
        _inKernel.Insert(at < 0 ? _inKernel.Count : at, blocking);
    }

    void Return(ScenarioEvent e, PreparedCall call, GuestThread thread, ulong at, IReadOnlySet<(uint, uint)> unreadable,
        ISyscallSink? sink)
    {
        var f = call.Frame;
        CpuAt(at, e, "return");
        _returns++;
        // At the return address the stub's call has popped: ESP = EDX at the enter + 4 (how the recorder pairs).
        if (Live(at, sink) is { } s)
            WithUnreadable(unreadable, at, () => s.SyscallReturn(new CpuState(at, f.ReturnAddress, thread.Process.Cr3,
                e.Status, f.Edx, f.Edx + 4, thread.Teb, GuestKernel.GdtBase), f.CallNo));
    }

    /// <summary>Where the next call of <paramref name="thread"/> puts its frame: below the innermost call still in the kernel.</summary>
    internal uint FrameLimit(GuestThread thread) =>
        thread.FramesInKernel.Count > 0 ? thread.FramesInKernel.Peek() : thread.StackTop;

    /// <summary>The recorder sees nothing before the scenario's recording_starts_at.</summary>
    ISyscallSink? Live(ulong instr, ISyscallSink? sink) => instr >= Scenario.RecordingStartsAt ? sink : null;

    /// <summary>CPU events (switches, enters, returns) must come in instruction order; blocking calls make it
    /// possible to write a return that collides with an event, which is a scenario error.</summary>
    void CpuAt(ulong instr, ScenarioEvent e, string what)
    {
        if (instr < _lastCpuInstr)
            throw e.Error($"its {what} at instr {instr} comes before the {_lastCpuWhat} at {_lastCpuInstr}: move returns_at or the event");
        _lastCpuInstr = instr;
        _lastCpuWhat = $"{what} of event {e.Index}";
    }

    void WithUnreadable(IReadOnlySet<(uint, uint)> pages, ulong instr, Action deliver)
    {
        Kernel.SetClock(instr);
        Kernel.Memory.Unreadable = pages;
        try { deliver(); }
        finally { Kernel.Memory.Unreadable = NoPages; }
    }

    static readonly IReadOnlySet<(uint, uint)> NoPages = new HashSet<(uint, uint)>();

    /// <summary>The pages an event's "unreadable" names, as (space, page number); space 0 = kernel.</summary>
    static IReadOnlySet<(uint Space, uint Vpn)> UnreadablePages(CallContext ctx, CallFrame f)
    {
        var e = ctx.Event;
        if (e.Unreadable.Count == 0) return NoPages;
        var pages = new HashSet<(uint, uint)>();
        void Add(uint space, uint va, uint size)
        {
            for (var vpn = va >> 12; vpn <= (va + Math.Max(size, 1) - 1) >> 12; vpn++) pages.Add((space, vpn));
        }
        var handles = HandleFields.Where(e.Has).Select(field => (Field: field, Name: e.Text(field)))
            .Where(h => h.Name != "self" && ctx.Process.HandleNames.ContainsKey(h.Name))
            .Select(h => (h.Field, Value: ctx.Process.HandleNames[h.Name])).ToList();
        foreach (var kind in e.Unreadable)
        {
            int before = pages.Count;
            switch (kind)
            {
                case "name_buffer":
                    foreach (var (va, size) in f.NameBuffers) Add(f.Cr3, va, size);
                    break;
                case "data_buffer":
                    foreach (var (va, size) in f.DataBuffers) Add(f.Cr3, va, size);
                    break;
                case "kcb":
                    foreach (var (_, value) in handles)
                        if (ctx.Process.Handles.Lookup(value) is KeyObject key) Add(0, key.Kcb.Address, Guest.Registry.KcbSize);
                    break;
                case "handle_table":
                    foreach (var (_, value) in handles)
                        if (ctx.Process.Handles.EntryAddressOf(value) is uint entry) Add(0, entry, HandleTableLayout.EntrySize);
                    break;
                case "eprocess":
                    var target = e.Op == "open_process" ? ctx.Kernel.FindLive(e.Number("target_pid"))
                        : e.Has("process") ? ctx.TargetProcess("process") : ctx.Process;
                    if (target is not null) Add(0, target.Eprocess, Eprocess.Size);
                    break;
            }
            if (pages.Count == before) throw e.Error($"'unreadable': this call has no {kind.Replace('_', ' ')} to hide");
        }
        return pages;
    }

    /// <summary>Event fields that name a handle of the acting process.</summary>
    static readonly string[] HandleFields = ["handle", "root", "section", "port", "process", "transaction", "file", "target_process"];

    GuestThread ThreadFor(GuestProcess proc, uint? tid)
    {
        if (tid is null) return proc.Threads[0];
        return proc.Threads.FirstOrDefault(t => t.Tid == tid) ?? Kernel.AddThread(proc, tid.Value);
    }

    void SwitchTo(GuestThread thread, ulong instr, ISyscallSink? sink, ScenarioEvent cause)
    {
        var old = Kernel.CurrentCr3;
        var sameSpace = Kernel.CurrentThread is not null && old == thread.Process.Cr3;
        Kernel.SetCurrentThread(thread);   // KPCR's current thread first, then the CR3 change is reported
        CpuAt(instr, cause, "context switch");
        var live = Live(instr, sink);
        Kernel.SetClock(instr);
        var cpu = new CpuState(instr, GuestKernel.SwapContextPc, thread.Process.Cr3, 0, 0,
            0x8d000000 + thread.Tid * 0x10, GuestKernel.KpcrBase, GuestKernel.GdtBase);
        if (sameSpace)
        {
            live?.ThreadSwitch(cpu);   // no CR3 change: the ideal recorder sees nothing, PANDA a same-value reload
            return;
        }
        _switches++;
        live?.ContextSwitch(cpu, old, thread.Process.Cr3);
    }

    internal void NoteProcessCreated() => _created++;
    internal void NoteProcessTerminated() => _terminated++;
    internal uint NextMessageId() => _messageId++;
}
