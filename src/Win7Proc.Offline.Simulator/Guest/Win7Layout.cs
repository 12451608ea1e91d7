namespace Win7Proc.Offline.Simulator.Guest;

// Every Windows 7 SP1 x86 structure offset the simulator writes, in one place.
// Source: /work/shared/reference/win7-x86-layouts.md (Volatility 2 win7_sp1_x86 vtypes, libosi, PANDA wintrospection).

internal static class Gdt
{
    public const uint KpcrSelector = 0x30;        // kernel FS: the descriptor's base is the KPCR
    public const uint TebSelector = 0x38;         // user FS (0x3b with RPL 3): base is the TEB
}

internal static class Kpcr
{
    public const uint SelfPcr = 0x1c, Prcb = 0x20, PrcbData = 0x120;
    public const uint CurrentThread = 0x124;      // KPRCB(0x120) + 0x4
    public const uint NextThread = 0x128, IdleThread = 0x12c;
    public const uint Size = 0x3748;
}

internal static class Kthread
{
    public const uint HeaderType = 0x0, HeaderSize = 0x2;
    public const uint ApcStateProcess = 0x50;     // ApcState (0x40) + Process (0x10)
    public const uint Teb = 0x88;
    public const uint Process = 0x150;            // owning process
    public const uint EthreadSize = 0x2b8;
    public const uint CidUniqueProcess = 0x22c, CidUniqueThread = 0x230;
    public const uint ThreadListEntry = 0x268;
}

internal static class Teb
{
    public const uint Self = 0x18, ClientIdPid = 0x20, ClientIdTid = 0x24, Peb = 0x30;
}

internal static class Eprocess
{
    public const uint HeaderType = 0x0, HeaderSize = 0x2;   // 3 and 0x26 (dwords)
    public const byte DispatcherTypeProcess = 3, DispatcherSizeDwords = 0x26;
    public const uint DirectoryTableBase = 0x18;
    public const uint PcbThreadListHead = 0x2c;
    public const uint CreateTime = 0xa0, ExitTime = 0xa8;
    public const uint UniqueProcessId = 0xb4, ActiveProcessLinks = 0xb8;
    public const uint ObjectTable = 0xf4, Token = 0xf8;
    public const uint SectionBaseAddress = 0x12c;
    public const uint InheritedFromUniqueProcessId = 0x140;
    public const uint ImageFileName = 0x16c, ImageFileNameLength = 15;
    public const uint ThreadListHead = 0x188;
    public const uint Peb = 0x1a8;
    public const uint SeAuditImageFileName = 0x1ec;
    public const uint Flags = 0x270, ExitStatus = 0x274;
    public const uint FlagProcessExiting = 1u << 2, FlagProcessDelete = 1u << 3;
    public const uint Size = 0x2c0;
}

internal static class HandleTableLayout
{
    public const uint TableCode = 0x0, QuotaProcess = 0x4, UniqueProcessId = 0x8, HandleCount = 0x30;
    public const uint Size = 0x3c;
    public const uint EntrySize = 8, EntriesPerPage = 512, PointersPerPage = 1024;
    public const uint EntryObject = 0x0, EntryGrantedAccess = 0x4;
    // WRK handle.c: bit 0 of Object is the entry lock bit, *set* while the entry is unlocked.
    public const uint EntryUnlockedBit = 1;
}

internal static class ObjectHeader
{
    public const uint PointerCount = 0x0, HandleCount = 0x4, TypeIndex = 0xc, InfoMask = 0xe, Flags = 0xf;
    public const uint Body = 0x18;
    public const byte InfoMaskNameInfo = 0x02;
    public const uint NameInfoSize = 0x10, NameInfoDirectory = 0x0, NameInfoName = 0x4;
}

/// <summary>Windows 7 SP1 x86 object type indices (Volatility 2 win7.py type_map).</summary>
internal static class TypeIndex
{
    public const byte Directory = 3, Process = 7, Thread = 8, Device = 25, File = 28, TmTx = 30,
        Section = 33, Key = 35, AlpcPort = 36;
}

internal static class FileObject
{
    public const uint Type = 0x0, Size = 0x2, DeviceObject = 0x4, SectionObjectPointer = 0x14,
        RelatedFileObject = 0x20, Flags = 0x2c, FileName = 0x30, CurrentByteOffset = 0x38;
    public const uint StructSize = 0x80;
    public const ushort IoTypeFile = 5;
}

internal static class DeviceObject
{
    public const uint Type = 0x0, Size = 0x2, DeviceType = 0x2c, StructSize = 0xb8;
    public const ushort IoTypeDevice = 3;
    public const uint FileDeviceDisk = 7;
}

internal static class SectionObjectPointers
{
    public const uint DataSectionObject = 0x0, SharedCacheMap = 0x4, ImageSectionObject = 0x8, Size = 0xc;
}

internal static class Registry
{
    public const uint KeyBodyType = 0x0, KeyBodyKcb = 0x4, KeyBodyProcessId = 0xc, KeyBodySize = 0x2c;
    public const uint KeyBodyTypeTag = 0x6b793032;            // "ky02", WRK KEY_BODY_TYPE
    public const uint KcbRefCount = 0x0, KcbFlags = 0x4, KcbParent = 0x28, KcbNameBlock = 0x2c, KcbSize = 0xa0;
    public const uint KcbDeleteFlag = 1u << 17;
    public const uint NcbCompressed = 0x0, NcbRefCount = 0x2, NcbConvKey = 0x4, NcbNameLength = 0xc, NcbName = 0xe;
}

internal static class SectionLayout
{
    // Body = the internal SECTION struct: MMADDRESS_NODE (0x14), then Segment (PyREBox mw_monitor_classes.py).
    public const uint Segment = 0x14, SizeOfSection = 0x18, Flags = 0x20, BodySize = 0x28;
    public const uint SegmentControlArea = 0x0, SegmentTotalPtes = 0x4, SegmentSizeOfSegment = 0x10,
        SegmentSize = 0x30;   // _SEGMENT is 0x30 bytes (Volatility 2 win7_sp1_x86_vtypes.py)
    public const uint ControlAreaSegment = 0x0, ControlAreaFlags = 0x1c, ControlAreaFilePointer = 0x24, ControlAreaSize = 0x50;
    public const uint FlagFile = 0x80;                        // _MMSECTION_FLAGS.File (bit 7)
}

internal static class AlpcLayout
{
    public const uint CommunicationInfo = 0x8, OwnerProcess = 0xc, State = 0xd8, PortSize = 0xfc;
    public const uint InfoConnectionPort = 0x0, InfoServerPort = 0x4, InfoClientPort = 0x8, InfoSize = 0x24;
    public const uint StateInitialized = 1;
}

internal static class PortMessage
{
    public const uint DataLength = 0x0, TotalLength = 0x2, Type = 0x4, ClientIdPid = 0x8, ClientIdTid = 0xc,
        MessageId = 0x10, HeaderSize = 0x18;
}

internal static class UserStructs
{
    public const uint UnicodeStringSize = 8;
    public const uint ObjectAttributesSize = 0x18, OaRootDirectory = 0x4, OaObjectName = 0x8, OaAttributes = 0xc;
    public const uint ObjCaseInsensitive = 0x40;
    public const uint PebLdr = 0xc, PebProcessParameters = 0x10, PebImageBase = 0x8, PebSize = 0x248;
    public const uint ParamsMaximumLength = 0x0, ParamsLength = 0x4, ParamsFlags = 0x8, ParamsCurrentDirectory = 0x24,
        ParamsImagePathName = 0x38, ParamsCommandLine = 0x40, ParamsSize = 0x298;
    public const uint ParamsNormalized = 1;
    public const uint IoStatusBlockSize = 8;
    public const uint RenameReplaceIfExists = 0x0, RenameRootDirectory = 0x4, RenameFileNameLength = 0x8, RenameFileName = 0xc;
    public const uint FileRenameInformationClass = 10, FileDispositionInformationClass = 13;
    public const uint AttributeImageName = 0x20005, AttributeClientId = 0x10003;
}

/// <summary>KUSER_SHARED_DATA (Volatility 2 win7_sp1_x86_vtypes.py _KUSER_SHARED_DATA; KSYSTEM_TIME = LowPart,
/// High1Time, High2Time).</summary>
internal static class KuserShared
{
    public const uint SystemTime = 0x14, NtMajorVersion = 0x26c, NtMinorVersion = 0x270;
    public const uint LowPart = 0x0, High1Time = 0x4, High2Time = 0x8;
}
