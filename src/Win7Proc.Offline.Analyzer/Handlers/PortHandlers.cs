using Win7Proc.Offline.Pandalog.Schema;

namespace Win7Proc.Offline.Analyzer;

/// <summary>
/// Legacy LPC port calls (which Windows 7 implements on ALPC ports) and the NtAlpc* calls the original did not watch.
/// id is the ALPC port object body; client and server come from the port's communication info and the
/// communication ports' owner processes. Argument positions: tracefmt/windows-7-x86-syscalls.tsv.
/// </summary>
internal static class PortHandlers
{
    public static IEnumerable<SyscallHandler> All() =>
    [
        // Calls that create a port or connect to one return its handle in argument 0 (PortHandle*).
        // NtCreatePort(PortHandle*, ObjectAttributes*, ...), NtAlpcCreatePort(PortHandle*, ObjectAttributes*, PortAttributes*)
        CreatesPort("NtCreatePort", "nt_create_port", NameFromObjectAttributes, (e, p) => e.NtCreatePort = p),
        CreatesPort("NtAlpcCreatePort", "nt_alpc_create_port", NameFromObjectAttributes, (e, p) => e.NtAlpcCreatePort = p),
        // NtConnectPort / NtSecureConnectPort / NtAlpcConnectPort(PortHandle*, PortName*, ...)
        CreatesPort("NtConnectPort", "nt_connect_port", NameFromPortName, (e, p) => e.NtConnectPort = p),
        CreatesPort("NtSecureConnectPort", "nt_connect_port", NameFromPortName, (e, p) => e.NtConnectPort = p),
        CreatesPort("NtAlpcConnectPort", "nt_alpc_connect_port", NameFromPortName, (e, p) => e.NtAlpcConnectPort = p),
        // NtAcceptConnectPort(PortHandle*, PortContext, ConnectionRequest*, AcceptConnection, ...)
        AcceptsPort("NtAcceptConnectPort", "nt_accept_connect_port", listeningPortArg: null, (e, p) => e.NtAcceptConnectPort = p),
        // NtAlpcAcceptConnectPort(PortHandle*, ConnectionPortHandle, Flags, ...)
        AcceptsPort("NtAlpcAcceptConnectPort", "nt_alpc_accept_connect_port", listeningPortArg: 1, (e, p) => e.NtAlpcAcceptConnectPort = p),
        // Calls on an existing port handle (argument 0), described at enter.
        OnPort("NtListenPort", "nt_listen_port", (e, p) => e.NtListenPort = p),
        OnPort("NtCompleteConnectPort", "nt_complete_connect_port", (e, p) => e.NtCompleteConnectPort = p),
        OnPort("NtRequestPort", "nt_request_port", (e, p) => e.NtRequestPort = p),
        OnPort("NtRequestWaitReplyPort", "nt_request_wait_reply_port", (e, p) => e.NtRequestWaitReplyPort = p),
        OnPort("NtReplyPort", "nt_reply_port", (e, p) => e.NtReplyPort = p),
        OnPort("NtReplyWaitReplyPort", "nt_reply_wait_reply_port", (e, p) => e.NtReplyWaitReplyPort = p),
        OnPort("NtReplyWaitReceivePort", "nt_reply_wait_receive_port", (e, p) => e.NtReplyWaitReceivePort = p),
        OnPort("NtReplyWaitReceivePortEx", "nt_reply_wait_receive_port", (e, p) => e.NtReplyWaitReceivePort = p),
        OnPort("NtImpersonateClientOfPort", "nt_impersonate_client_of_port", (e, p) => e.NtImpersonateClientOfPort = p),
        OnPort("NtAlpcSendWaitReceivePort", "nt_alpc_send_wait_receive_port", (e, p) => e.NtAlpcSendWaitReceivePort = p),
    ];

    sealed record Requested(string? Name);
    sealed record PortAtEnter(LocalPort Port);

    static Requested NameFromObjectAttributes(SyscallCall call) => new(call.FullObjectName(call.ReadObjectAttributes(call.Arg(1))));
    static Requested NameFromPortName(SyscallCall call) => new(call.ReadUnicodeString(call.Arg(1)));

    /// <summary>The LocalPort message for the port behind <paramref name="handle"/>, now.</summary>
    static LocalPort Describe(SyscallCall call, uint handle, string? knownName)
    {
        var port = new LocalPort { Proc = call.Caller, Id = 0, Handle = handle };
        string? name = knownName;
        var entry = handle == 0 ? null : call.ResolveHandle(handle);
        if (entry is not null)
        {
            port.Id = entry.Body;
            var info = call.Objects.ReadAlpcPort(call.Cr3, entry.Body);
            if (info is null) call.Miss();
            else
            {
                if (info.Client is not null) port.Client = call.ProcessMessage(info.Client);
                if (info.Server is not null) port.Server = call.ProcessMessage(info.Server);
                name ??= info.ConnectionPortName;
            }
            name ??= entry.ObjectName;
        }
        name ??= handle == 0 ? null : call.Engine.Handles.Lookup(call.Cr3, handle);
        if (name is not null) port.PortName = name;
        return port;
    }

    static uint[] PidsOf(LocalPort port) =>
        [port.Client?.Pid ?? 0, port.Server?.Pid ?? 0];

    static SyscallHandler CreatesPort(string syscall, string kind, Func<SyscallCall, Requested> requested,
        Action<LogEntry, LocalPortInit> set) =>
        SyscallHandler.Create(syscall, SyscallFamily.Ports, requested, (call, inputs) =>
        {
            uint handle = call.Succeeded && call.ReadU32(call.Arg(0)) is uint opened ? opened : 0;
            var port = Describe(call, handle, inputs.Name);
            call.RememberHandle(handle, port.HasPortName ? port.PortName : null);
            var init = new LocalPortInit { Port = port, PortName = port.HasPortName ? port.PortName : ProcessTracker.UnknownName };
            call.Emit(kind, e => set(e, init), PidsOf(port));
        });

    static SyscallHandler AcceptsPort(string syscall, string kind, int? listeningPortArg, Action<LogEntry, LocalPort> set) =>
        SyscallHandler.Create(syscall, SyscallFamily.Ports,
            call => new Requested(listeningPortArg is int arg ? call.HandleObjectName(call.Arg(arg)) : null),
            (call, inputs) =>
            {
                uint handle = call.Succeeded && call.ReadU32(call.Arg(0)) is uint opened ? opened : 0;
                // A refused connection returns no handle: describe the listening port instead, when we know it.
                var port = handle == 0 && listeningPortArg is int arg
                    ? Describe(call, call.Arg(arg), inputs.Name)
                    : Describe(call, handle, inputs.Name);
                call.RememberHandle(handle, port.HasPortName ? port.PortName : null);
                call.Emit(kind, e => set(e, port), PidsOf(port));
            });

    static SyscallHandler OnPort(string syscall, string kind, Action<LogEntry, LocalPort> set) =>
        SyscallHandler.Create(syscall, SyscallFamily.Ports,
            call => new PortAtEnter(Describe(call, call.Arg(0), null)),
            (call, atEnter) =>
            {
                atEnter.Port.Proc = call.Caller;
                call.Emit(kind, e => set(e, atEnter.Port), PidsOf(atEnter.Port));
            });
}
