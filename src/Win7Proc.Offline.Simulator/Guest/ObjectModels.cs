using System.Text;

namespace Win7Proc.Offline.Simulator.Guest;

/// <summary>FILE_OBJECTs on the one disk volume, <c>\Device\HarddiskVolume2</c>.</summary>
public sealed class FileModel
{
    readonly GuestKernel _k;
    public DeviceObjectModel Disk { get; }

    public FileModel(GuestKernel kernel)
    {
        _k = kernel;
        var header = kernel.AllocateNamedObject(TypeIndex.Device, DeviceObject.StructSize, GuestKernel.DiskDevice);
        Disk = new DeviceObjectModel { Header = header, Type = TypeIndex.Device, Name = GuestKernel.DiskDevice };
        kernel.Memory.WriteU16(0, Disk.Body + DeviceObject.Type, DeviceObject.IoTypeDevice);
        kernel.Memory.WriteU16(0, Disk.Body + DeviceObject.Size, (ushort)DeviceObject.StructSize);
        kernel.Memory.WriteU32(0, Disk.Body + DeviceObject.DeviceType, DeviceObject.FileDeviceDisk);
    }

    /// <summary>The FILE_OBJECT.FileName an open of <paramref name="path"/> produces: the name as given when relative
    /// to <paramref name="related"/>, else the volume-relative part of the NT path.</summary>
    public static string FileNameFor(string path, bool relative)
    {
        if (relative) return path;
        if (!path.StartsWith(@"\??\", StringComparison.Ordinal) && !path.StartsWith(@"\Device\", StringComparison.OrdinalIgnoreCase))
            throw new ScenarioException($"file path '{path}' must be an NT path (\\??\\C:\\...) or relative to a 'root' handle");
        return GuestKernel.ToDevicePath(path)[GuestKernel.DiskDevice.Length..];
    }

    public FileObjectModel Open(string path, FileObjectModel? related)
    {
        var fileName = FileNameFor(path, related is not null);
        var header = _k.AllocateObject(TypeIndex.File, FileObject.StructSize, null, null);
        var f = new FileObjectModel { Header = header, Type = TypeIndex.File, FileName = fileName, Related = related };
        var m = _k.Memory;
        m.WriteU16(0, f.Body + FileObject.Type, FileObject.IoTypeFile);
        m.WriteU16(0, f.Body + FileObject.Size, (ushort)FileObject.StructSize);
        m.WriteU32(0, f.Body + FileObject.DeviceObject, Disk.Body);
        m.WriteU32(0, f.Body + FileObject.RelatedFileObject, related?.Body ?? 0);
        m.WriteU32(0, f.Body + FileObject.Flags, 0x00040002);   // FO_SYNCHRONOUS_IO | FO_HANDLE_CREATED
        m.WriteUnicodeString(0, f.Body + FileObject.FileName, _k.Pool.Allocate((uint)GuestMemory.Utf16Size(fileName)), fileName);
        return f;
    }
}

/// <summary>Registry keys: CM_KEY_BODY → KCB chains (shared per path) with upper-cased name blocks up to \REGISTRY.</summary>
public sealed class RegistryModel
{
    readonly GuestKernel _k;
    readonly Dictionary<string, KeyControlBlock> _kcbs = new(StringComparer.Ordinal);
    public KeyControlBlock Root { get; }

    public RegistryModel(GuestKernel kernel)
    {
        _k = kernel;
        Root = NewKcb("REGISTRY", null);
    }

    /// <summary>Upper-cases and validates a full key path <c>\REGISTRY\...</c> into its components.</summary>
    public static string[] Components(string fullPath)
    {
        var parts = fullPath.Split('\\', StringSplitOptions.RemoveEmptyEntries);
        if (!fullPath.StartsWith('\\') || parts.Length == 0 || !parts[0].Equals("REGISTRY", StringComparison.OrdinalIgnoreCase))
            throw new ScenarioException($"key path '{fullPath}' must start with \\REGISTRY (or be relative to a 'root' key)");
        return parts;
    }

    /// <summary>Whether a live KCB exists for the path (the key was opened or created before, and not deleted).</summary>
    public bool Exists(string fullPath)
    {
        var parts = Components(fullPath);
        var path = "\\" + string.Join("\\", parts.Select(p => p.ToUpperInvariant()));
        return path == Root.FullPath || _kcbs.ContainsKey(path);
    }

    public KeyControlBlock GetKcb(string fullPath)
    {
        var parts = Components(fullPath);
        var kcb = Root;
        for (int i = 1; i < parts.Length; i++)
        {
            var path = kcb.FullPath + "\\" + parts[i].ToUpperInvariant();
            if (!_kcbs.TryGetValue(path, out var child) || child.Deleted) child = NewKcb(parts[i], kcb);
            kcb = child;
        }
        return kcb;
    }

    KeyControlBlock NewKcb(string name, KeyControlBlock? parent)
    {
        var upper = name.ToUpperInvariant();
        var m = _k.Memory;
        var address = _k.Pool.Allocate(Registry.KcbSize);
        var kcb = new KeyControlBlock
        {
            Address = address, Name = upper, Parent = parent,
            FullPath = parent is null ? "\\" + upper : parent.FullPath + "\\" + upper,
        };
        // Name block: compressed (1 byte per char) when every UTF-16 unit is ≤ 0xFF (WRK CmpGetNameControlBlock).
        bool compressed = upper.All(c => c <= 0xff);
        var nameBytes = compressed ? upper.Select(c => (byte)c).ToArray() : Encoding.Unicode.GetBytes(upper);
        var ncb = _k.Pool.Allocate(Registry.NcbName + (uint)nameBytes.Length);
        m.WriteU8(0, ncb + Registry.NcbCompressed, compressed ? (byte)1 : (byte)0);
        m.WriteU16(0, ncb + Registry.NcbRefCount, 1);
        m.WriteU32(0, ncb + Registry.NcbConvKey, ConvKey(upper));
        m.WriteU16(0, ncb + Registry.NcbNameLength, (ushort)nameBytes.Length);
        m.Write(0, ncb + Registry.NcbName, nameBytes);
        m.WriteU32(0, address + Registry.KcbRefCount, 1);
        m.WriteU32(0, address + Registry.KcbParent, parent?.Address ?? 0);
        m.WriteU32(0, address + Registry.KcbNameBlock, ncb);
        _kcbs[kcb.FullPath] = kcb;
        return kcb;
    }

    static uint ConvKey(string upper)
    {
        uint h = 0;
        foreach (var c in upper) h = 37 * h + c;   // the CM hash of an upper-cased name (WRK cmp.h HASH_KEY)
        return h;
    }

    public KeyObject NewKeyObject(KeyControlBlock kcb, uint pid)
    {
        var header = _k.AllocateObject(TypeIndex.Key, Registry.KeyBodySize, null, null);
        var key = new KeyObject { Header = header, Type = TypeIndex.Key, Kcb = kcb };
        _k.Memory.WriteU32(0, key.Body + Registry.KeyBodyType, Registry.KeyBodyTypeTag);
        _k.Memory.WriteU32(0, key.Body + Registry.KeyBodyKcb, kcb.Address);
        _k.Memory.WriteU32(0, key.Body + Registry.KeyBodyProcessId, pid);
        var rc = kcb.Address + Registry.KcbRefCount;
        _k.Memory.WriteU32(0, rc, _k.Memory.ReadU32(0, rc) + 1);
        return key;
    }

    public void Delete(KeyControlBlock kcb)
    {
        kcb.Deleted = true;
        var flags = kcb.Address + Registry.KcbFlags;
        _k.Memory.WriteU32(0, flags, _k.Memory.ReadU32(0, flags) | Registry.KcbDeleteFlag);
        _kcbs.Remove(kcb.FullPath);
    }
}

/// <summary>Section objects: body → _SEGMENT → _CONTROL_AREA → backing FILE_OBJECT (FilePointer, an EX_FAST_REF).</summary>
public sealed class SectionModel
{
    readonly GuestKernel _k;
    readonly Dictionary<string, SectionObjectModel> _named = new(StringComparer.OrdinalIgnoreCase);

    public SectionModel(GuestKernel kernel) => _k = kernel;

    public SectionObjectModel? FindNamed(string name) => _named.GetValueOrDefault(name);

    public SectionObjectModel Create(string? name, FileObjectModel? file, uint size)
    {
        var m = _k.Memory;
        var pages = (size + 0xfff) / 0x1000;
        var header = _k.AllocateNamedObject(TypeIndex.Section, SectionLayout.BodySize, name);
        var segment = _k.Pool.Allocate(SectionLayout.SegmentSize);
        var controlArea = _k.Pool.Allocate(SectionLayout.ControlAreaSize);
        var section = new SectionObjectModel
        { Header = header, Type = TypeIndex.Section, Name = name, Segment = segment, ControlArea = controlArea, File = file };
        var flags = file is null ? 0u : SectionLayout.FlagFile;
        m.WriteU32(0, section.Body + SectionLayout.Segment, segment);
        m.WriteU64(0, section.Body + SectionLayout.SizeOfSection, pages * 0x1000ul);
        m.WriteU32(0, section.Body + SectionLayout.Flags, flags);
        m.WriteU32(0, segment + SectionLayout.SegmentControlArea, controlArea);
        m.WriteU32(0, segment + SectionLayout.SegmentTotalPtes, pages);
        m.WriteU64(0, segment + SectionLayout.SegmentSizeOfSegment, pages * 0x1000ul);
        m.WriteU32(0, controlArea + SectionLayout.ControlAreaSegment, segment);
        m.WriteU32(0, controlArea + SectionLayout.ControlAreaFlags, flags);
        if (file is not null)
        {
            // EX_FAST_REF: the low 3 bits hold a reference count, the rest the FILE_OBJECT body.
            m.WriteU32(0, controlArea + SectionLayout.ControlAreaFilePointer, file.Body | 1);
            if (file.SectionObjectPointers == 0)
            {
                file.SectionObjectPointers = _k.Pool.Allocate(SectionObjectPointers.Size);
                m.WriteU32(0, file.Body + FileObject.SectionObjectPointer, file.SectionObjectPointers);
            }
            m.WriteU32(0, file.SectionObjectPointers + SectionObjectPointers.DataSectionObject, controlArea);
        }
        if (name is not null) _named[name] = section;
        return section;
    }
}

/// <summary>LPC/ALPC ports (both are "ALPC Port" objects on Windows 7): connection ports by name; communication
/// ports sharing one _ALPC_COMMUNICATION_INFO per connection.</summary>
public sealed class PortModel
{
    readonly GuestKernel _k;
    readonly Dictionary<string, PortObject> _connectionPorts = new(StringComparer.OrdinalIgnoreCase);

    public PortModel(GuestKernel kernel) => _k = kernel;

    public PortObject? FindConnectionPort(string name) => _connectionPorts.GetValueOrDefault(name);

    PortObject NewPort(PortKind kind, string? name, GuestProcess owner, uint info, bool alpc, PortObject? connectionPort)
    {
        var header = _k.AllocateNamedObject(TypeIndex.AlpcPort, AlpcLayout.PortSize, name);
        var port = new PortObject
        {
            Header = header, Type = TypeIndex.AlpcPort, Name = name, Kind = kind, CommunicationInfo = info,
            Owner = owner, Alpc = alpc, ConnectionPort = connectionPort,
        };
        _k.Memory.WriteU32(0, port.Body + AlpcLayout.CommunicationInfo, info);
        _k.Memory.WriteU32(0, port.Body + AlpcLayout.OwnerProcess, owner.Eprocess);
        _k.Memory.WriteU32(0, port.Body + AlpcLayout.State, AlpcLayout.StateInitialized);
        return port;
    }

    uint NewInfo() { var info = _k.Pool.Allocate(AlpcLayout.InfoSize); _k.Memory.Map(0, info + AlpcLayout.InfoSize - 1); return info; }

    public PortObject CreateConnectionPort(string name, GuestProcess owner, bool alpc)
    {
        var info = NewInfo();
        var port = NewPort(PortKind.Connection, name, owner, info, alpc, null);
        _k.Memory.WriteU32(0, info + AlpcLayout.InfoConnectionPort, port.Body);
        _connectionPorts[name] = port;
        return port;
    }

    /// <summary>A client connects: its communication port now; the server's at accept (LPC) or at once (ALPC).</summary>
    public PortObject Connect(PortObject connectionPort, GuestProcess client, GuestThread clientThread, bool alpc)
    {
        var info = NewInfo();
        var clientPort = NewPort(PortKind.ClientCommunication, null, client, info, alpc, connectionPort);
        _k.Memory.WriteU32(0, info + AlpcLayout.InfoConnectionPort, connectionPort.Body);
        _k.Memory.WriteU32(0, info + AlpcLayout.InfoClientPort, clientPort.Body);
        if (alpc) CreateServerPort(connectionPort, info);
        else connectionPort.Pending.Add(new PendingConnection(client, clientThread, clientPort));
        return clientPort;
    }

    public PortObject Accept(PortObject connectionPort, PendingConnection pending)
    {
        connectionPort.Pending.Remove(pending);
        return CreateServerPort(connectionPort, pending.ClientPort.CommunicationInfo);
    }

    PortObject CreateServerPort(PortObject connectionPort, uint info)
    {
        var serverPort = NewPort(PortKind.ServerCommunication, null, connectionPort.Owner, info, connectionPort.Alpc, connectionPort);
        _k.Memory.WriteU32(0, info + AlpcLayout.InfoServerPort, serverPort.Body);
        return serverPort;
    }
}
