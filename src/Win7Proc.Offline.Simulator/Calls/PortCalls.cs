using System.Text;
using Win7Proc.Offline.Simulator.Guest;

namespace Win7Proc.Offline.Simulator.Calls;

/// <summary>Legacy LPC (NtCreatePort ... NtImpersonateClientOfPort) and ALPC (NtAlpcCreatePort, NtAlpcConnectPort,
/// NtAlpcSendWaitReceivePort) calls.</summary>
internal static class PortCalls
{
    const uint PortAllAccess = 0x1f0001;
    const ushort LpcRequest = 1, LpcReply = 2, LpcConnectionRequest = 10;
    const uint AlpcPortAttributesSize = 0x2c, MaxMessageLength = 0x148;

    public static PreparedCall Prepare(CallContext c) => c.Event.Op switch
    {
        "create_port" => CreatePort(c, alpc: false),
        "alpc_create_port" => CreatePort(c, alpc: true),
        "connect_port" => ConnectPort(c, alpc: false),
        "alpc_connect_port" => ConnectPort(c, alpc: true),
        "listen_port" => Listen(c),
        "accept_connect_port" => Accept(c),
        "complete_connect_port" => OneHandle(c, "NtCompleteConnectPort"),
        "request_port" => Message(c, "NtRequestPort"),
        "request_wait_reply_port" => Message(c, "NtRequestWaitReplyPort"),
        "reply_port" => Message(c, "NtReplyPort"),
        "reply_wait_reply_port" => Message(c, "NtReplyWaitReplyPort"),
        "reply_wait_receive_port" => Message(c, "NtReplyWaitReceivePort"),
        "impersonate_client_of_port" => Message(c, "NtImpersonateClientOfPort"),
        "alpc_send_wait_receive_port" => Message(c, "NtAlpcSendWaitReceivePort"),
        _ => throw c.Event.Error($"unknown op '{c.Event.Op}'"),
    };

    static PreparedCall CreatePort(CallContext c, bool alpc)
    {
        var e = c.Event;
        var name = e.Text("name");
        GuestKernel.SplitObjectPath(name);
        if (e.Succeeds && c.Sim.Ports.FindConnectionPort(name) is not null) throw e.Error($"a port named '{name}' already exists");
        var f = c.Frame(alpc ? "NtAlpcCreatePort" : "NtCreatePort");
        var slot = f.Local(4);
        var oa = f.ObjectAttributes(0, name);
        if (alpc) f.SetArgs(slot, oa, f.Local(AlpcPortAttributesSize));
        else f.SetArgs(slot, oa, 0x104, MaxMessageLength, 0);
        return new PreparedCall
        {
            Frame = f,
            OnSuccess = () => f.WriteU32(slot, c.AddHandle(c.Sim.Ports.CreateConnectionPort(name, c.Process, alpc), PortAllAccess)),
        };
    }

    static PreparedCall ConnectPort(CallContext c, bool alpc)
    {
        var e = c.Event;
        var name = e.Text("name");
        var server = c.Sim.Ports.FindConnectionPort(name);
        if (server is null && e.Succeeds) throw e.Error($"no server port named '{name}' (create it first)");
        if (server is not null && !server.Owner.Alive && e.Succeeds) throw e.Error($"the server of '{name}' has exited");
        var f = c.Frame(alpc ? "NtAlpcConnectPort" : "NtConnectPort");
        var slot = f.Local(4);
        var portName = f.UnicodeString(name);
        if (alpc)
        {
            var message = WriteMessage(c, f, LpcConnectionRequest, "");
            var length = f.Local(4);
            f.WriteU32(length, PortMessage.HeaderSize);
            f.SetArgs(slot, portName, 0, f.Local(AlpcPortAttributesSize), 0x20000, 0, message, length, 0, 0, 0);
        }
        else
        {
            var qos = f.Local(0xc);
            f.WriteU32(qos, 0xc);
            var maxLength = f.Local(4);
            f.SetArgs(slot, portName, qos, 0, 0, maxLength, 0, 0);
        }
        return new PreparedCall
        {
            Frame = f,
            OnSuccess = () => f.WriteU32(slot, c.AddHandle(c.Sim.Ports.Connect(server!, c.Process, c.Thread, alpc), PortAllAccess)),
        };
    }

    static PreparedCall Listen(CallContext c)
    {
        var port = c.Object<PortObject>("port");
        var f = c.Frame("NtListenPort");
        var message = f.Local(PortMessage.HeaderSize + 0x100);
        f.SetArgs(c.HandleValue("port"), message);
        return new PreparedCall
        {
            Frame = f,
            OnSuccess = () =>
            {
                var pending = port.Pending.FirstOrDefault();
                if (pending is not null) FillMessage(c, f, message, LpcConnectionRequest, pending.Client.Pid, pending.ClientThread.Tid, []);
            },
        };
    }

    static PreparedCall Accept(CallContext c)
    {
        var e = c.Event;
        var port = c.Object<PortObject>("port");
        if (port.Kind != PortKind.Connection) throw e.Error("'port' must be a server connection port");
        var clientPid = e.Number("client_pid");
        var pending = port.Pending.FirstOrDefault(p => p.Client.Pid == clientPid);
        if (pending is null && e.Succeeds) throw e.Error($"no pending connection from pid {clientPid} on '{port.Name}'");
        var f = c.Frame("NtAcceptConnectPort");
        var slot = f.Local(4);
        var message = f.Local(PortMessage.HeaderSize);
        FillMessage(c, f, message, LpcConnectionRequest, clientPid, pending?.ClientThread.Tid ?? 0, []);
        f.SetArgs(slot, 0, message, 1, 0, 0);
        return new PreparedCall
        {
            Frame = f,
            OnSuccess = () => f.WriteU32(slot, c.AddHandle(c.Sim.Ports.Accept(port, pending!), PortAllAccess)),
        };
    }

    static PreparedCall OneHandle(CallContext c, string syscall)
    {
        c.Object<PortObject>("port");
        var f = c.Frame(syscall);
        f.SetArgs(c.HandleValue("port"));
        return new PreparedCall { Frame = f };
    }

    static PreparedCall Message(CallContext c, string syscall)
    {
        c.Object<PortObject>("port");
        var h = c.HandleValue("port");
        var f = c.Frame(syscall);
        var data = c.Event.OptText("data") ?? "";
        var type = syscall.Contains("Reply") && !syscall.Contains("Request") ? LpcReply : LpcRequest;
        var sent = WriteMessage(c, f, type, data);
        var received = f.Local(PortMessage.HeaderSize + 0x100);
        switch (syscall)
        {
            case "NtRequestPort" or "NtReplyPort" or "NtReplyWaitReplyPort" or "NtImpersonateClientOfPort": f.SetArgs(h, sent); break;
            case "NtRequestWaitReplyPort": f.SetArgs(h, sent, received); break;
            case "NtReplyWaitReceivePort": f.SetArgs(h, f.Local(4), sent, received); break;
            default:
                var length = f.Local(4);
                f.WriteU32(length, PortMessage.HeaderSize + 0x100);
                f.SetArgs(h, 0x20000 /* ALPC_MSGFLG_SYNC_REQUEST */, sent, 0, received, length, 0, 0);
                break;
        }
        return new PreparedCall { Frame = f };
    }

    static uint WriteMessage(CallContext c, CallFrame f, ushort type, string data)
    {
        var payload = Encoding.UTF8.GetBytes(data);
        if (payload.Length > 0x100) throw c.Event.Error("'data' is longer than 256 bytes");
        var message = f.Local(PortMessage.HeaderSize + (uint)payload.Length);
        FillMessage(c, f, message, type, c.Process.Pid, c.Thread.Tid, payload);
        return message;
    }

    static void FillMessage(CallContext c, CallFrame f, uint message, ushort type, uint pid, uint tid, byte[] payload)
    {
        var header = new byte[PortMessage.HeaderSize];
        BitConverter.TryWriteBytes(header.AsSpan((int)PortMessage.DataLength), (ushort)payload.Length);
        BitConverter.TryWriteBytes(header.AsSpan((int)PortMessage.TotalLength), (ushort)(PortMessage.HeaderSize + payload.Length));
        BitConverter.TryWriteBytes(header.AsSpan((int)PortMessage.Type), type);
        BitConverter.TryWriteBytes(header.AsSpan((int)PortMessage.ClientIdPid), pid);
        BitConverter.TryWriteBytes(header.AsSpan((int)PortMessage.ClientIdTid), tid);
        BitConverter.TryWriteBytes(header.AsSpan((int)PortMessage.MessageId), c.Sim.NextMessageId());
        f.Write(message, header);
        f.Write(message + PortMessage.HeaderSize, payload);
    }
}
