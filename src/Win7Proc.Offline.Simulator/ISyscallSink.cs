namespace Win7Proc.Offline.Simulator;

/// <summary>CPU state at a recorder callback (mirrors w7rec_cpu).</summary>
public readonly record struct CpuState(ulong Instr, uint Pc, uint Cr3, uint Eax, uint Edx, uint Esp, uint FsBase, uint GdtBase);

/// <summary>Receives what the simulated CPU does, in order. The guest memory (<see cref="GuestSimulation.Kernel"/>)
/// is in the state of that moment during each callback. How these reach the recorder core (every return, or only
/// what PANDA's syscalls2 would deliver) is Recording/RecorderDelivery.cs's business.</summary>
public interface ISyscallSink
{
    /// <summary>sysenter of a call whose ntdll stub returns to <paramref name="returnAddress"/> ([EDX]).</summary>
    void SyscallEnter(in CpuState cpu, uint returnAddress);
    /// <summary>The thread is back at its call's return address (cpu.Pc), ESP = EDX at the enter + 4.</summary>
    void SyscallReturn(in CpuState cpu, uint callNo);
    void ContextSwitch(in CpuState cpu, uint oldCr3, uint newCr3);
    /// <summary>A switch to another thread of the same process: no CR3 change (PANDA still reports the reload).</summary>
    void ThreadSwitch(in CpuState cpu) { }
}
