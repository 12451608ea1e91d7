using Win7Proc.Offline.Simulator.Calls;
using Win7Proc.Offline.Simulator.Guest;

namespace Win7Proc.Offline.Simulator;

/// <summary>Counts of what a run produced.</summary>
public sealed record SimulationCounts(int Events, int Syscalls, int Returns, int ContextSwitches, int ProcessesCreated, int ProcessesTerminated);

/// <summary>
/// Runs a scenario against the guest model, event by event, telling an <see cref="ISyscallSink"/> what the CPU does.
/// Timing contract: an event at instr enters at instr−1 and returns at instr; terminate_process enters at instr (and
/// another process's termination returns at instr+1); a context switch to the acting thread precedes at instr−2;
/// <c>switch</c> events switch at instr.
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

    /// <summary>Runs every event; <paramref name="sink"/> null runs the model only (validation).</summary>
    public SimulationCounts Run(ISyscallSink? sink)
    {
        while (_eventsDone < Scenario.Events.Count) Step(sink);
        return Counts;
    }

    public SimulationCounts Counts => new(_eventsDone, _syscalls, _returns, _switches, _created, _terminated);

    /// <summary>Runs the next event. Returns false when none is left.</summary>
    public bool Step(ISyscallSink? sink)
    {
        if (_eventsDone >= Scenario.Events.Count) return false;
        var e = Scenario.Events[_eventsDone];
        try { StepEvent(e, sink); }
        catch (ScenarioException x) when (!x.Located) { throw e.Error(x.Message); }
        _eventsDone++;
        return true;
    }

    void StepEvent(ScenarioEvent e, ISyscallSink? sink)
    {
        var proc = Kernel.FindLive(e.Pid) ?? throw e.Error($"pid {e.Pid} is not a live process");
        var thread = ThreadFor(proc, e.Tid);
        if (e.Op == "switch")
        {
            if (thread != Kernel.CurrentThread) SwitchTo(thread, e.Instr, sink);
        }
        else
        {
            if (thread != Kernel.CurrentThread) SwitchTo(thread, e.Instr - 2, sink);
            var ctx = new CallContext(this, e, proc, thread);
            var call = CallFamilies.Prepare(ctx);
            var f = call.Frame;
            var enterInstr = call.End == CallEnd.ReturnAtInstr ? e.Instr - 1 : e.Instr;
            _syscalls++;
            sink?.SyscallEnter(new CpuState(enterInstr, GuestKernel.SysenterAddress, proc.Cr3, f.CallNo, f.Edx, f.Edx,
                thread.Teb, GuestKernel.GdtBase));
            if (e.Succeeds) call.OnSuccess?.Invoke();
            var end = call.End;
            if (end == CallEnd.NoReturn && !e.Succeeds) end = CallEnd.ReturnAfterInstr;   // a failed self-kill returns
            if (end != CallEnd.NoReturn)
            {
                _returns++;
                var at = end == CallEnd.ReturnAtInstr ? e.Instr : e.Instr + 1;
                // Back in the ntdll stub after KiFastSystemCallRet's `ret`: ESP = EDX at enter + 4 (the recorder pairs by it).
                sink?.SyscallReturn(new CpuState(at, f.ReturnAddress, proc.Cr3, e.Status, f.Edx, f.Edx + 4, thread.Teb, GuestKernel.GdtBase), f.CallNo);
            }
        }
    }

    GuestThread ThreadFor(GuestProcess proc, uint? tid)
    {
        if (tid is null) return proc.Threads[0];
        return proc.Threads.FirstOrDefault(t => t.Tid == tid) ?? Kernel.AddThread(proc, tid.Value);
    }

    void SwitchTo(GuestThread thread, ulong instr, ISyscallSink? sink)
    {
        var old = Kernel.CurrentCr3;
        var sameSpace = Kernel.CurrentThread is not null && old == thread.Process.Cr3;
        Kernel.SetCurrentThread(thread);   // KPCR's current thread first, then the CR3 change is reported
        if (sameSpace) return;             // a thread switch inside one process changes no CR3: PANDA sees nothing
        _switches++;
        sink?.ContextSwitch(new CpuState(instr, GuestKernel.SwapContextPc, thread.Process.Cr3, 0, 0,
            0x8d000000 + thread.Tid * 0x10, GuestKernel.KpcrBase, GuestKernel.GdtBase), old, thread.Process.Cr3);
    }

    internal void NoteProcessCreated() => _created++;
    internal void NoteProcessTerminated() => _terminated++;
    internal uint NextMessageId() => _messageId++;
}
