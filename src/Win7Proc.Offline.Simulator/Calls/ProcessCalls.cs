using Win7Proc.Offline.Simulator.Guest;

namespace Win7Proc.Offline.Simulator.Calls;

/// <summary>NtCreateUserProcess, NtTerminateProcess, NtOpenProcess.</summary>
internal static class ProcessCalls
{
    const uint ProcessAllAccess = 0x1fffff, ThreadAllAccess = 0x1fffff;

    public static PreparedCall Prepare(CallContext c) => c.Event.Op switch
    {
        "create_process" => CreateUserProcess(c),
        "terminate_process" => TerminateProcess(c),
        _ => OpenProcess(c),
    };

    static PreparedCall CreateUserProcess(CallContext c)
    {
        var e = c.Event;
        var childPid = e.Number("child_pid");
        var image = e.Text("image");
        var cmdline = e.OptText("cmdline") ?? image;
        var normalized = e.OptBool("normalized") ?? true;
        if (e.Succeeds && c.Kernel.FindLive(childPid) is not null) throw e.Error($"child_pid {childPid} is already a live process");
        if (!image.Contains('\\')) throw e.Error($"image '{image}' must be a full path (C:\\...)");
        GuestKernel.ToDevicePath(image);   // validates the volume early

        var f = c.Frame("NtCreateUserProcess");
        var processSlot = f.Local(4);
        var threadSlot = f.Local(4);
        // ProcessParameters as RtlCreateProcessParametersEx leaves them: normalized (pointers) or offsets.
        var parameters = f.HeapZero(Math.Max(0x1000u, GuestKernel.ProcessParametersSize(image, cmdline)));
        c.Kernel.WriteProcessParameters(f.Cr3, parameters, image, cmdline, normalized);
        var createInfo = f.Local(0x48);
        f.WriteU32(createInfo, 0x48);
        // AttributeList: IMAGE_NAME (in, NT path) and CLIENT_ID (out).
        var ntImage = @"\??\" + image;
        var imageName = f.HeapBytes(System.Text.Encoding.Unicode.GetBytes(ntImage + "\0"));
        var clientId = f.Local(8);
        var attributes = f.Local(4 + 2 * 16);
        f.WriteU32(attributes, 4 + 2 * 16);
        f.WriteU32(attributes + 4, UserStructs.AttributeImageName);
        f.WriteU32(attributes + 8, (uint)(ntImage.Length * 2));
        f.WriteU32(attributes + 12, imageName);
        f.WriteU32(attributes + 20, UserStructs.AttributeClientId);
        f.WriteU32(attributes + 24, 8);
        f.WriteU32(attributes + 28, clientId);
        f.SetArgs(processSlot, threadSlot, ProcessAllAccess, ThreadAllAccess, 0, 0, 0x200, 1, parameters, createInfo, attributes);
        return new PreparedCall
        {
            Frame = f,
            OnSuccess = () =>
            {
                var tid = e.OptNumber("child_tid") ?? childPid + 4;
                var child = c.Kernel.CreateProcess(childPid, c.Process.Pid, image, cmdline, tid, GuestKernel.FileTimeAt(e.Instr));
                c.Sim.NoteProcessCreated();
                var ph = c.AddHandle(child, ProcessAllAccess);
                var th = c.AddHandle(child.Threads[0], ThreadAllAccess, asField: "thread_as");
                f.WriteU32(processSlot, ph);
                f.WriteU32(threadSlot, th);
                f.WriteU32(clientId, childPid);
                f.WriteU32(clientId + 4, tid);
            },
        };
    }

    static PreparedCall TerminateProcess(CallContext c)
    {
        var e = c.Event;
        var target = c.TargetProcess("process");
        var self = target == c.Process;
        if (!target.Alive) throw e.Error($"process {target.Pid} has already exited");
        var exitStatus = e.OptNumber("exit_status") ?? 0;
        var f = c.Frame("NtTerminateProcess");
        f.SetArgs(self ? CallContext.CurrentProcessHandle : c.HandleValue("process"), exitStatus);
        return new PreparedCall
        {
            Frame = f,
            End = self ? CallEnd.NoReturn : CallEnd.ReturnAfterInstr,
            OnSuccess = () =>
            {
                c.Kernel.ExitProcess(target, exitStatus, e.Instr);
                c.Sim.NoteProcessTerminated();
            },
        };
    }

    static PreparedCall OpenProcess(CallContext c)
    {
        var e = c.Event;
        var pid = e.Number("target_pid");
        var target = c.Kernel.FindLive(pid);
        if (target is null && e.Succeeds) throw e.Error($"target_pid {pid} is not a live process");
        var f = c.Frame("NtOpenProcess");
        var slot = f.Local(4);
        var oa = f.ObjectAttributes(0, null);
        var cid = f.Local(8);
        f.WriteU32(cid, pid);
        f.SetArgs(slot, ProcessAllAccess, oa, cid);
        return new PreparedCall { Frame = f, OnSuccess = () => f.WriteU32(slot, c.AddHandle(target!, ProcessAllAccess)) };
    }
}
