namespace Win7Proc.Offline.Analyzer.Windows7;

/// <summary>A thread as read from its KTHREAD/ETHREAD (KThread is also the ETHREAD address).</summary>
public sealed record ThreadInfo(uint KThread, uint EProcess, uint Pid, uint Tid);

/// <summary>A process as read from its EPROCESS. Name is ImageFileName (at most 15 chars, Latin-1);
/// ImagePath is the full NT path from SeAuditProcessCreationInfo, when readable. Times are FILETIMEs.</summary>
public sealed record ProcessInfo(
    uint EProcess, uint Pid, uint ParentPid, string Name, uint ObjectTable, uint Peb, uint DirectoryTableBase,
    ulong CreateTime, ulong ExitTime, string? ImagePath);

public enum Win7ObjectType
{
    Unknown, Process, Thread, File, Key, Section, AlpcPort, Directory, SymbolicLink, Event, Mutant, Token, Device, Other,
}

/// <summary>One resolved handle. ObjectHeader is the _OBJECT_HEADER, Body = header + 0x18 (the object itself).
/// ObjectName comes from the header's NAME_INFO, with its object-directory chain (e.g. \BaseNamedObjects\x).</summary>
public sealed record HandleEntry(
    uint Handle, uint ObjectHeader, uint Body, byte TypeIndex, Win7ObjectType Type, uint GrantedAccess, string? ObjectName);

/// <summary>A section object: Segment → ControlArea (back-pointer checked) → FilePointer (0 = pagefile-backed).</summary>
public sealed record SectionInfo(uint Body, uint Segment, uint ControlArea, uint FileObject, string? FileName);

/// <summary>An ALPC port and its communication partners. Server = owner of the connection port (or of the server
/// communication port); Client = owner of the client communication port; name from the connection port.</summary>
public sealed record AlpcPortInfo(
    uint Body, uint OwnerEProcess, uint ConnectionPort, uint ServerCommunicationPort, uint ClientCommunicationPort,
    ProcessInfo? Server, ProcessInfo? Client, string? ConnectionPortName);

public sealed record ObjectAttributesInfo(uint RootDirectory, string? ObjectName, uint Attributes);

public sealed record ProcessParametersInfo(string? ImagePathName, string? CommandLine);

public sealed record FileRenameInfo(bool ReplaceIfExists, uint RootDirectory, string FileName);
