using Win7Proc.Offline.Analyzer.Windows7;
using Win7Proc.Offline.Pandalog.Schema;

namespace Win7Proc.Offline.Analyzer;

/// <summary>Cross-process memory reads and writes: caller, target (through the handle table), address, sizes.</summary>
internal static class VirtualMemoryHandlers
{
    public static IEnumerable<SyscallHandler> All() =>
    [
        // NtReadVirtualMemory / NtWriteVirtualMemory(ProcessHandle, BaseAddress, Buffer*, BufferSize, NumberOfBytes*)
        Transfer("NtReadVirtualMemory", "nt_read_virtual_memory", (e, m) => e.NtReadVirtualMemory = m),
        Transfer("NtWriteVirtualMemory", "nt_write_virtual_memory", (e, m) => e.NtWriteVirtualMemory = m),
    ];

    sealed record Target(ProcessInfo? Process);

    static SyscallHandler Transfer(string syscall, string kind, Action<LogEntry, VirtualMemory> set) =>
        SyscallHandler.Create(syscall, SyscallFamily.Memory,
            call => new Target(call.ResolveProcessHandle(call.Arg(0))),
            (call, target) =>
            {
                var message = new VirtualMemory
                {
                    Proc = call.Caller,
                    Target = target.Process is null ? ProcessTracker.Unknown() : call.ProcessMessage(target.Process),
                    BaseAddress = call.Arg(1),
                    Size = call.Arg(3),
                };
                // The count is written on success and on a partial copy (a warning status).
                if ((call.Succeeded || call.Status == NtStatus.PartialCopy) && call.ReadU32(call.Arg(4)) is uint transferred)
                    message.BytesTransferred = transferred;
                call.Emit(kind, e => set(e, message), message.Target.Pid);
            });
}
