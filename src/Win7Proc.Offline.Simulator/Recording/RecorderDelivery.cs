namespace Win7Proc.Offline.Simulator.Recording;

/// <summary>The recorder core's callbacks (include/w7rec.h, API version 2) as a driver calls them.</summary>
public interface IRecorderCore
{
    /// <summary>w7rec_sys_enter; returns the return address the core read ([EDX]; 0 if unreadable).</summary>
    uint SyscallEnter(in CpuState cpu);
    /// <summary>w7rec_sys_return: a return syscalls2 delivered.</summary>
    void SyscallReturn(in CpuState cpu, uint callNoHint);
    /// <summary>w7rec_return_hook: the driver's own hook at a pending return address fired.</summary>
    void ReturnHook(in CpuState cpu);
    /// <summary>w7rec_hook_wanted.</summary>
    bool HookWanted(uint cr3, uint pc);
    /// <summary>w7rec_asid_changed; the core reads user pages in <paramref name="newCr3"/>.</summary>
    void AsidChanged(in CpuState cpu, uint oldCr3, uint newCr3);
}

/// <summary>How the simulated CPU's happenings reach the recorder core.</summary>
public static class RecorderDelivery
{
    public static ISyscallSink For(Scenario scenario, IRecorderCore core) =>
        scenario.PandaDelivery ? new PandaDelivery(core, scenario.ReturnHooks) : new IdealDelivery(core);
}

/// <summary>Every enter, every return and every real CR3 change reaches the core, in order (format-1 samples).</summary>
public sealed class IdealDelivery(IRecorderCore core) : ISyscallSink
{
    public void SyscallEnter(in CpuState cpu, uint returnAddress) => core.SyscallEnter(cpu);
    public void SyscallReturn(in CpuState cpu, uint callNo) => core.SyscallReturn(cpu, callNo);
    public void ContextSwitch(in CpuState cpu, uint oldCr3, uint newCr3) => core.AsidChanged(cpu, oldCr3, newCr3);
}

/// <summary>
/// The recorder core driven as PANDA drives it (../shared/reference/upstream-checks.md §1):
/// <list type="bullet">
/// <item>syscalls2 keeps one pending call per (return address, address space) (<c>running_syscalls</c>): a later
/// enter from the same stub in the same process overwrites the earlier one, and the first thread to reach that return
/// address takes the entry (the hook is disabled after one hit), so of two concurrent calls in one stub only one
/// return is delivered, the other never. Returns of calls entered before the recording are never delivered either
/// (no enter, no hook).</item>
/// <item>The glue's own hook (when <c>returnHooks</c>) sits on every return address the core gave at an enter and
/// stays until <c>w7rec_hook_wanted</c> says 0; it sees every return of a hooked call. Which of the two callbacks
/// runs first at one return is not specified by PANDA: this driver alternates, so both orders occur.</item>
/// <item><c>asid_changed</c> runs before CR3 is written (cpu.Cr3 is still the old value) and also for reloads of
/// the same value (modelled at switches between threads of one process).</item>
/// </list>
/// The replay's total instruction count is never given (Simulation does not call w7rec_set_total_instr).
/// </summary>
public sealed class PandaDelivery(IRecorderCore core, bool returnHooks) : ISyscallSink
{
    readonly Dictionary<(uint ReturnAddress, uint Cr3), uint> _syscalls2Pending = new();
    readonly HashSet<(uint Pc, uint Cr3)> _hooks = new();
    long _returns;

    /// <summary>Returns syscalls2 delivered, and returns only the glue's hook saw.</summary>
    public long DeliveredBySyscalls2 { get; private set; }
    public long SeenOnlyByHook { get; private set; }
    /// <summary>Returns nobody observed (no hooks and syscalls2 had lost the entry).</summary>
    public long Unobserved { get; private set; }

    public void SyscallEnter(in CpuState cpu, uint returnAddress)
    {
        var returnPc = core.SyscallEnter(cpu);
        _syscalls2Pending[(returnAddress, cpu.Cr3)] = cpu.Eax;   // syscalls2 reads [EDX] itself
        if (returnHooks && returnPc != 0) _hooks.Add((returnPc, cpu.Cr3));
    }

    public void SyscallReturn(in CpuState cpu, uint callNo)
    {
        var key = (cpu.Pc, cpu.Cr3);
        bool bySyscalls2 = _syscalls2Pending.Remove(key, out var hint);
        bool byHook = _hooks.Contains(key);
        bool hookFirst = _returns++ % 2 == 1;
        if (byHook && hookFirst) Hook(cpu);
        if (bySyscalls2) { core.SyscallReturn(cpu, hint); DeliveredBySyscalls2++; }
        if (byHook && !hookFirst) Hook(cpu);
        if (byHook && !bySyscalls2) SeenOnlyByHook++;
        if (!byHook && !bySyscalls2) Unobserved++;
    }

    void Hook(in CpuState cpu)
    {
        core.ReturnHook(cpu);
        if (!core.HookWanted(cpu.Cr3, cpu.Pc)) _hooks.Remove((cpu.Pc, cpu.Cr3));
    }

    // PANDA's asid_changed runs before the CR3 write: env->cr[3] (cpu.Cr3) is still the old value.
    public void ContextSwitch(in CpuState cpu, uint oldCr3, uint newCr3) =>
        core.AsidChanged(cpu with { Cr3 = oldCr3 }, oldCr3, newCr3);

    public void ThreadSwitch(in CpuState cpu) => core.AsidChanged(cpu, cpu.Cr3, cpu.Cr3);
}
