namespace Win7Proc.Offline.Simulator.Guest;

/// <summary>A kernel object the model created: where its <c>_OBJECT_HEADER</c> is, its type, its name (if named).</summary>
public class KernelObject
{
    public uint Header { get; init; }
    public uint Body => Header + ObjectHeader.Body;
    public byte Type { get; init; }
    /// <summary>The object-manager name (NameInfo), e.g. <c>\BaseNamedObjects\Foo</c>; null when unnamed.</summary>
    public string? Name { get; init; }
    public override string ToString() => $"{GetType().Name}@{Body:x8}{(Name is null ? "" : " " + Name)}";
}

public sealed class DirectoryObject : KernelObject { }
public sealed class DeviceObjectModel : KernelObject { }
public sealed class TransactionObject : KernelObject { }

public sealed class FileObjectModel : KernelObject
{
    /// <summary>FILE_OBJECT.FileName as the open gave it (volume-relative, or relative to <see cref="Related"/>).</summary>
    public required string FileName { get; init; }
    public FileObjectModel? Related { get; init; }
    public uint SectionObjectPointers { get; set; }
}

public sealed class KeyControlBlock
{
    public required uint Address { get; init; }
    public required string Name { get; init; }           // upper-cased component
    public KeyControlBlock? Parent { get; init; }
    public required string FullPath { get; init; }       // upper-cased, \REGISTRY\...
    public bool Deleted { get; set; }
}

public sealed class KeyObject : KernelObject
{
    public required KeyControlBlock Kcb { get; init; }
}

public sealed class SectionObjectModel : KernelObject
{
    public required uint Segment { get; init; }
    public required uint ControlArea { get; init; }
    public FileObjectModel? File { get; init; }
}

public enum PortKind { Connection, ServerCommunication, ClientCommunication }

public sealed class PortObject : KernelObject
{
    public required PortKind Kind { get; init; }
    public required uint CommunicationInfo { get; init; }
    public required GuestProcess Owner { get; init; }
    public bool Alpc { get; init; }
    /// <summary>For connection ports: connections waiting for accept_connect_port, oldest first.</summary>
    public List<PendingConnection> Pending { get; } = new();
    /// <summary>For communication ports: the connection port they belong to.</summary>
    public PortObject? ConnectionPort { get; init; }
}

public sealed record PendingConnection(GuestProcess Client, GuestThread ClientThread, PortObject ClientPort);
