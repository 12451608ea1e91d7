using Win7Proc.Offline.Analyzer.Windows7;
using Win7Proc.Offline.Pandalog.Schema;

namespace Win7Proc.Offline.Analyzer;

/// <summary>
/// Process creation, termination and opening. (new_pid entries are written by the engine whenever the current
/// process changes.) Argument positions: tracefmt/windows-7-x86-syscalls.tsv.
/// </summary>
internal static class ProcessHandlers
{
    public static IEnumerable<SyscallHandler> All() =>
    [
        // NtCreateUserProcess(ProcessHandle*, ThreadHandle*, ProcessDesiredAccess, ThreadDesiredAccess,
        //   ProcessObjectAttributes*, ThreadObjectAttributes*, ProcessFlags, ThreadFlags, ProcessParameters*, CreateInfo*, AttributeList*)
        SyscallHandler.Create("NtCreateUserProcess", SyscallFamily.Processes,
            call => new CreateInputs(ReadParameters(call, call.Arg(8)), null),
            (call, inputs) => LogCreation(call, inputs, outHandleArg: 0, (e, m) => e.NtCreateUserProcess = m)),

        // NtCreateProcessEx(ProcessHandle*, DesiredAccess, ObjectAttributes*, ParentProcess, Flags, SectionHandle,
        //   DebugPort, ExceptionPort, JobMemberLevel): the image name is the file behind the section.
        SyscallHandler.Create("NtCreateProcessEx", SyscallFamily.Processes,
            call => new CreateInputs(null, SectionFileName(call, call.Arg(5))),
            (call, inputs) => LogCreation(call, inputs, outHandleArg: 0, (e, m) => e.NtCreateProcessEx = m)),

        // NtTerminateProcess(ProcessHandle, ExitStatus): logged at enter (a self-termination never returns).
        new SyscallHandler
        {
            SyscallName = "NtTerminateProcess",
            Family = SyscallFamily.Processes,
            LogsAtEnter = true,
            AtReturn = (call, _) => LogTermination(call),
        },

        // NtOpenProcess(ProcessHandle*, DesiredAccess, ObjectAttributes*, ClientId*)
        SyscallHandler.Create("NtOpenProcess", SyscallFamily.Processes,
            call => new OpenInputs(call.Arg(3) == 0 ? null : call.ReadU32(call.Arg(3))),
            LogOpen),
    ];

    sealed record CreateInputs(ProcessParametersInfo? Parameters, string? SectionFile);
    sealed record OpenInputs(uint? RequestedPid);

    static ProcessParametersInfo? ReadParameters(SyscallCall call, uint address)
    {
        if (address == 0) return null;
        var parameters = call.Objects.ReadProcessParameters(call.Cr3, address);
        if (parameters is null) call.Miss();
        return parameters;
    }

    static string? SectionFileName(SyscallCall call, uint sectionHandle)
    {
        var entry = call.ResolveHandle(sectionHandle);
        if (entry is null) return null;
        var section = call.Objects.ReadSection(call.Cr3, entry.Body);
        if (section is null) call.Miss();
        return section?.FileName;
    }

    static void LogCreation(SyscallCall call, CreateInputs inputs, int outHandleArg,
        Action<LogEntry, NtCreateUserProcess> set)
    {
        Process created = ProcessTracker.Unknown();
        ProcessInfo? createdInfo = null;
        string? commandLine = inputs.Parameters?.CommandLine;
        // A failed creation made no process: the entry says who tried what, with new_p unknown.
        if (call.Succeeded && call.ReadU32(call.Arg(outHandleArg)) is uint handle)
        {
            createdInfo = call.ResolveProcessHandle(handle);
            if (createdInfo is not null)
            {
                var instance = call.Engine.Processes.RegisterCreation(createdInfo, call.Record.Instr, commandLine);
                created = ProcessTracker.ToMessage(instance, withCommandLine: true);
            }
        }
        var longName = inputs.Parameters?.ImagePathName ?? inputs.SectionFile ?? createdInfo?.ImagePath ?? ProcessTracker.UnknownName;
        var message = new NtCreateUserProcess { CurP = call.Caller, NewP = created, NewLongName = longName };
        if (commandLine is not null) message.CommandLine = commandLine;
        call.Emit(Kind(call), e => set(e, message), created.Pid);
    }

    static string Kind(SyscallCall call) =>
        call.Name == "NtCreateProcessEx" ? "nt_create_process_ex" : "nt_create_user_process";

    static void LogTermination(SyscallCall call)
    {
        uint handle = call.Arg(0);
        // NtTerminateProcess(NULL, ...) ends the *other* threads of the caller (RtlExitUserProcess does it first);
        // the process itself ends at the later NtTerminateProcess(-1, ...), so only that one is a termination.
        if (handle == 0) return;
        bool self = handle == Win7Layout.CurrentProcessHandle;
        var target = self ? call.CallerInfo : call.ResolveProcessHandle(handle);
        var message = new NtTerminateProcess
        {
            CurP = call.Caller,
            TermP = target is null ? ProcessTracker.Unknown() : call.ProcessMessage(target),
            ExitStatus = call.Arg(1),
        };
        uint targetPid = message.TermP.Pid;
        void Settle(uint? status)
        {
            if (target is not null && (status is not uint s || Win7Objects.IsSuccess(s)))
                call.Engine.Processes.MarkTerminated(target, call.Record.Instr);
        }
        if (self) // never returns: no status to wait for
        {
            call.Emit("nt_terminate_process", e => e.NtTerminateProcess = message, targetPid);
            Settle(null);
        }
        else
        {
            call.EmitAwaitingStatus("nt_terminate_process", e => e.NtTerminateProcess = message, Settle, targetPid);
        }
    }

    static void LogOpen(SyscallCall call, OpenInputs inputs)
    {
        uint handle = 0;
        ProcessInfo? target = null;
        if (call.Succeeded && call.ReadU32(call.Arg(0)) is uint opened)
        {
            handle = opened;
            target = call.ResolveProcessHandle(opened);
        }
        var message = new ProcessAccess
        {
            Proc = call.Caller,
            Target = target is not null ? call.ProcessMessage(target) : ProcessTracker.Unknown(inputs.RequestedPid ?? 0),
            DesiredAccess = call.Arg(1),
            Handle = handle,
        };
        call.Emit("nt_open_process", e => e.NtOpenProcess = message, message.Target.Pid);
    }
}
