using Win7Proc.Offline.Trace;
using Win7Proc.Offline.Simulator.Guest;

namespace Win7Proc.Offline.Simulator.Calls;

/// <summary>NtClose and NtDuplicateObject.</summary>
internal static class HandleCalls
{
    const uint DuplicateSameAccess = 2;

    public static PreparedCall Prepare(CallContext c) => c.Event.Op == "close" ? Close(c) : Duplicate(c);

    static PreparedCall Close(CallContext c)
    {
        if (c.Event.Text("handle") == "self") throw c.Event.Error("'handle': the current-process pseudo-handle cannot be closed");
        c.Object<KernelObject>("handle");
        var h = c.HandleValue("handle");
        var f = c.Frame("NtClose");
        f.SetArgs(h);
        return new PreparedCall { Frame = f, OnSuccess = () => c.CloseHandle(c.Process, h) };
    }

    static PreparedCall Duplicate(CallContext c)
    {
        var obj = c.Object<KernelObject>("handle");
        var target = c.TargetProcess("target_process");
        if (!target.Alive && c.Event.Succeeds) throw c.Event.Error($"process {target.Pid} has exited");
        var f = c.Frame("NtDuplicateObject");
        var slot = f.Local(4);
        f.SetArgs(CallContext.CurrentProcessHandle, c.HandleValue("handle"), c.TargetProcessHandle("target_process"), slot, 0, 0, DuplicateSameAccess);
        return new PreparedCall { Frame = f, OnSuccess = () => f.WriteU32(slot, c.AddHandle(obj, 0x1f0003, target)) };
    }
}

/// <summary>Any other call of the Windows 7 table, recorded with its number and zero arguments.</summary>
internal static class OtherCalls
{
    public static PreparedCall Prepare(CallContext c)
    {
        var name = c.Event.Text("name");
        if (SyscallTable.Windows7X86.ByName(name) is not { } entry) throw c.Event.Error($"'{name}' is not a Windows 7 system call");
        var f = c.Frame(entry.Name);
        f.SetArgs(new uint[entry.Args.Count]);
        return new PreparedCall { Frame = f };
    }
}
