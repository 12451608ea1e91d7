using System.Text;
using Win7Proc.Offline.Simulator.Guest;

namespace Win7Proc.Offline.Simulator.Calls;

/// <summary>NtReadVirtualMemory and NtWriteVirtualMemory across processes.</summary>
internal static class MemoryCalls
{
    const uint MaxTransfer = 0x10000;

    public static PreparedCall Prepare(CallContext c)
    {
        var e = c.Event;
        bool write = e.Op == "write_virtual_memory";
        var target = c.TargetProcess("process");
        if (!target.Alive && e.Succeeds) throw e.Error($"process {target.Pid} has exited");
        var address = e.Number("address");
        if (address >= c.Kernel.Memory.KernelBase) throw e.Error("'address' must be a user-mode address");
        // Bounded before anything is allocated: the size is the scenario's, up to 4 GiB.
        var text = write ? e.OptText("data") ?? "" : null;
        var length = text is not null ? (uint)Encoding.UTF8.GetByteCount(text) : e.OptNumber("size") ?? 0x100;
        if (length > MaxTransfer) throw e.Error($"transfers are limited to {MaxTransfer} bytes");
        if ((ulong)address + length > c.Kernel.Memory.KernelBase) throw e.Error("'address' + size must stay below the kernel (0x80000000)");
        var data = text is not null ? Encoding.UTF8.GetBytes(text) : new byte[length];
        var f = c.Frame(write ? "NtWriteVirtualMemory" : "NtReadVirtualMemory");
        var buffer = f.HeapBytes(data);
        var done = f.Local(4);
        f.SetArgs(c.TargetProcessHandle("process"), address, buffer, (uint)data.Length, done);
        return new PreparedCall
        {
            Frame = f,
            OnSuccess = () =>
            {
                if (write) c.Memory.Write(target.Cr3, address, data);
                else
                {
                    var copy = new byte[data.Length];
                    c.Memory.Read(target.Cr3, address, copy);   // unmapped bytes read as zeros
                    f.Write(buffer, copy);
                }
                f.WriteU32(done, (uint)data.Length);
            },
        };
    }
}
