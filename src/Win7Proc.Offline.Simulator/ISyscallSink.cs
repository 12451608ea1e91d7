namespace Win7Proc.Offline.Simulator;

/// <summary>CPU state at a recorder callback (mirrors w7rec_cpu).</summary>
public readonly record struct CpuState(ulong Instr, uint Pc, uint Cr3, uint Eax, uint Edx, uint Esp, uint FsBase, uint GdtBase);

/// <summary>Receives what the simulated CPU does, in order. The guest memory (<see cref="GuestSimulation.Kernel"/>)
/// is in the state of that moment during each callback. <see cref="Recording.NativeRecorder"/> forwards to libw7rec.</summary>
public interface ISyscallSink
{
    void SyscallEnter(in CpuState cpu);
    void SyscallReturn(in CpuState cpu, uint callNo);
    void ContextSwitch(in CpuState cpu, uint oldCr3, uint newCr3);
}
