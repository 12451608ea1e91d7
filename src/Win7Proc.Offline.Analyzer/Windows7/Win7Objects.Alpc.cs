namespace Win7Proc.Offline.Analyzer.Windows7;

// ALPC ports (layouts §4 ALPC). Legacy LPC ports are ALPC ports on Win7.
public sealed partial class Win7Objects
{
    /// <summary>
    /// An ALPC_PORT body: its OwnerProcess and CommunicationInfo (connection, server and client communication ports).
    /// Server = the connection port's owner (else the server communication port's); Client = the client communication
    /// port's owner; name = the connection port's object name with its directory (\RPC Control\foo). Null when the
    /// port itself is unreadable; fields behind unreadable pointers are 0 / null.
    /// </summary>
    public AlpcPortInfo? ReadAlpcPort(uint cr3, uint portBody)
    {
        if (portBody == 0) return null;
        if (!TryReadU32(cr3, portBody + Win7Layout.AlpcPortCommunicationInfo, out uint commInfo)) return null;
        if (!TryReadU32(cr3, portBody + Win7Layout.AlpcPortOwnerProcess, out uint owner)) return null;

        uint connection = 0, server = 0, client = 0;
        if (commInfo != 0)
        {
            Span<byte> c = stackalloc byte[12];
            if (ReadExact(cr3, commInfo, c))
            {
                connection = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(c[(int)Win7Layout.CommInfoConnectionPort..]);
                server = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(c[(int)Win7Layout.CommInfoServerCommunicationPort..]);
                client = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(c[(int)Win7Layout.CommInfoClientCommunicationPort..]);
            }
        }

        ProcessInfo? serverProcess = PortOwner(cr3, connection) ?? PortOwner(cr3, server);
        ProcessInfo? clientProcess = PortOwner(cr3, client);
        string? name = connection != 0 ? ReadObjectName(cr3, connection) : null;
        return new AlpcPortInfo(portBody, owner, connection, server, client, serverProcess, clientProcess, name);
    }

    private ProcessInfo? PortOwner(uint cr3, uint port) =>
        port != 0 && TryReadU32(cr3, port + Win7Layout.AlpcPortOwnerProcess, out uint owner) && owner != 0
            ? ReadProcess(cr3, owner)
            : null;
}
