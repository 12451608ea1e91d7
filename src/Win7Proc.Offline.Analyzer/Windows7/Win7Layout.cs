namespace Win7Proc.Offline.Analyzer.Windows7;

/// <summary>
/// Every Windows 7 SP1 x86 structure offset and constant the readers use, in one place. Offsets are identical in the
/// PAE and non-PAE kernels for every field here. Source: /work/shared/reference/win7-x86-layouts.md, whose tags are
/// repeated per group (V2 = Volatility 2 win7_sp1_x86 vtypes, OSI = panda-re/libosi, PWold = old PANDA
/// wintrospection/win7x86intro, ND = ntdiff PDB headers, PH = phnt, MS = Microsoft docs, WRK = Windows Research Kernel).
/// </summary>
public static class Win7Layout
{
    // ---- Processor (layouts §1; V2, OSI, PWold, PW) ----
    /// <summary>GDT selector whose descriptor base is the KPCR (kernel-mode FS).</summary>
    public const uint GdtKpcrSelector = 0x30;
    public const uint KpcrSelfPcr = 0x1c;
    public const uint KpcrPrcb = 0x20;
    /// <summary>KPCR.PrcbData (0x120) + KPRCB.CurrentThread (0x4); PWold KPCR_CURTHREAD_OFF.</summary>
    public const uint KpcrCurrentThread = 0x124;
    public const uint KpcrPrcbData = 0x120;

    // ---- Thread (layouts §1; V2, OSI, PWold) ----
    /// <summary>KTHREAD.Process: the owning process (not ApcState.Process, which follows attaches).</summary>
    public const uint KThreadProcess = 0x150;
    public const uint EThreadCidUniqueProcess = 0x22c;
    public const uint EThreadCidUniqueThread = 0x230;

    // ---- Process (layouts §1 EPROCESS table; V2, ND, OSI, PWold) ----
    public const uint KProcessHeaderType = 0x0;
    public const uint KProcessHeaderSize = 0x2;
    /// <summary>DISPATCHER_HEADER.Type of a KPROCESS (V2 win7.py signature 03 00 26 00).</summary>
    public const byte ProcessDispatcherType = 3;
    public const uint EProcessDirectoryTableBase = 0x18;
    public const uint EProcessCreateTime = 0xa0;
    public const uint EProcessExitTime = 0xa8;
    public const uint EProcessUniqueProcessId = 0xb4;
    public const uint EProcessActiveProcessLinks = 0xb8;
    public const uint EProcessObjectTable = 0xf4;
    public const uint EProcessInheritedFromUniqueProcessId = 0x140;
    public const uint EProcessImageFileName = 0x16c;
    public const int ImageFileNameLength = 15;
    public const uint EProcessPeb = 0x1a8;
    /// <summary>SeAuditProcessCreationInfo.ImageFileName → OBJECT_NAME_INFORMATION (one UNICODE_STRING).</summary>
    public const uint EProcessSeAuditImageFileName = 0x1ec;
    /// <summary>Bytes of EPROCESS read at once: up to and including the 0x1ec pointer.</summary>
    public const int EProcessReadSize = 0x1f0;

    // ---- Handles (layouts §2; V2, OSI, PWold, WRK, PH) ----
    public const uint HandleTableTableCode = 0x0;
    public const uint TableCodeLevelMask = 3;
    public const uint TableCodeBaseMask = ~7u;
    public const int HandleEntrySize = 8;
    public const uint HandleEntryObject = 0x0;
    public const uint HandleEntryGrantedAccess = 0x4;
    /// <summary>Low bits of HANDLE_TABLE_ENTRY.Object are lock/inherit/audit flags.</summary>
    public const uint HandleEntryObjectMask = ~7u;
    public const uint EntriesPerLowPage = 512;
    public const uint PointersPerMidPage = 1024;
    /// <summary>WRK EX_ADDITIONAL_INFO_SIGNATURE in slot 0 of each low-level page: never a real handle.</summary>
    public const uint AdditionalInfoSignature = 0xFFFFFFFE;
    public const uint CurrentProcessHandle = 0xFFFFFFFF;
    public const uint CurrentThreadHandle = 0xFFFFFFFE;
    public const uint KernelHandleMask = 0x80000000;
    /// <summary>PROCESS_ALL_ACCESS / THREAD_ALL_ACCESS on Vista and later (STANDARD_RIGHTS_REQUIRED|SYNCHRONIZE|0xFFFF).</summary>
    public const uint AllAccess = 0x1FFFFF;

    // ---- Object header (layouts §3; V2, ND, OSI, PWold, V3) ----
    public const uint ObjectHeaderHandleCount = 0x4;
    public const uint ObjectHeaderTypeIndex = 0xc;
    public const uint ObjectHeaderInfoMask = 0xe;
    public const uint ObjectHeaderBody = 0x18;
    public const byte InfoMaskCreatorInfo = 0x01;
    public const byte InfoMaskNameInfo = 0x02;
    public const uint CreatorInfoSize = 0x10;
    public const uint NameInfoSize = 0x10;
    public const uint NameInfoDirectory = 0x0;
    public const uint NameInfoName = 0x4;

    // ---- Object type indices (layouts §3; V2 win7.py type_map, OSI, PWold) ----
    public const byte TypeIndexType = 2;
    public const byte TypeIndexDirectory = 3;
    public const byte TypeIndexSymbolicLink = 4;
    public const byte TypeIndexToken = 5;
    public const byte TypeIndexProcess = 7;
    public const byte TypeIndexThread = 8;
    public const byte TypeIndexEvent = 12;
    public const byte TypeIndexMutant = 14;
    public const byte TypeIndexDevice = 25;
    public const byte TypeIndexFile = 28;
    public const byte TypeIndexSection = 33;
    public const byte TypeIndexKey = 35;
    public const byte TypeIndexAlpcPort = 36;
    /// <summary>Highest index seen on Win7 SP1 x86 (PcwObject); ≥ 41 come from boot drivers.</summary>
    public const byte TypeIndexMax = 43;

    // ---- FILE_OBJECT (layouts §4; V2, OSI, PWold, MS ns-wdm-_file_object) ----
    public const uint FileObjectDeviceObject = 0x4;
    public const uint FileObjectRelatedFileObject = 0x20;
    public const uint FileObjectFileName = 0x30;

    // ---- Registry (layouts §4; V2, OSI, WRK) ----
    public const uint KeyBodyKeyControlBlock = 0x4;
    public const uint KcbParentKcb = 0x28;
    public const uint KcbNameBlock = 0x2c;
    /// <summary>NCB byte 0 bit 0 = Compressed (UCHAR in SP1 RTM, bit 0 of a dword in later builds).</summary>
    public const uint NcbCompressed = 0x0;
    public const uint NcbNameLength = 0xc;
    public const uint NcbName = 0xe;

    // ---- Sections (layouts §4; V2, OSI, PYR, V3) ----
    public const uint SectionObjectSegment = 0x14;
    public const uint SegmentControlArea = 0x0;
    public const uint ControlAreaSegment = 0x0;
    public const uint ControlAreaFilePointer = 0x24;
    /// <summary>EX_FAST_REF: the low 3 bits are a reference count.</summary>
    public const uint FastRefMask = ~7u;

    // ---- ALPC (layouts §4; V2, OSI) ----
    public const uint AlpcPortCommunicationInfo = 0x8;
    public const uint AlpcPortOwnerProcess = 0xc;
    public const uint CommInfoConnectionPort = 0x0;
    public const uint CommInfoServerCommunicationPort = 0x4;
    public const uint CommInfoClientCommunicationPort = 0x8;

    // ---- User-mode structures (layouts §5; V2, OSI, PH, MS) ----
    public const uint UnicodeStringLength = 0x0;
    public const uint UnicodeStringMaximumLength = 0x2;
    public const uint UnicodeStringBuffer = 0x4;
    public const int UnicodeStringSize = 8;
    /// <summary>UNICODE_STRING.Length is a USHORT of bytes; the largest even value.</summary>
    public const int UnicodeStringMaxBytes = 0xFFFE;

    public const uint ObjectAttributesLength = 0x0;
    public const uint ObjectAttributesRootDirectory = 0x4;
    public const uint ObjectAttributesObjectName = 0x8;
    public const uint ObjectAttributesAttributes = 0xc;
    public const int ObjectAttributesSize = 0x18;

    public const uint ProcessParametersFlags = 0x8;
    public const uint ProcessParametersImagePathName = 0x38;
    public const uint ProcessParametersCommandLine = 0x40;
    /// <summary>RTL_USER_PROC_PARAMS_NORMALIZED [PH ntrtl.h]: clear = Buffer fields are offsets from the structure.</summary>
    public const uint ProcessParametersNormalized = 0x1;

    public const uint FileRenameReplaceIfExists = 0x0;
    public const uint FileRenameRootDirectory = 0x4;
    public const uint FileRenameFileNameLength = 0x8;
    public const uint FileRenameFileName = 0xc;

    public const uint IoStatusBlockStatus = 0x0;
    public const uint IoStatusBlockInformation = 0x4;
}
