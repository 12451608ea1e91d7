using Win7Proc.Offline.Analyzer.Windows7;

namespace Win7Proc.Offline.Analyzer;

/// <summary>
/// The Windows 7 object reads the handlers need, at the moment of the current record. Implemented over the real
/// readers by <see cref="Win7KernelObjects"/>; tests substitute a fake so each handler can be checked on its own.
/// Every method returns null for anything it cannot read (a missing page, a bad pointer): never throws for guest data.
/// </summary>
public interface IKernelObjects
{
    ThreadInfo? ReadCurrentThread(uint cr3, uint gdtBase);
    ThreadInfo? ReadThread(uint cr3, uint kthread);
    ProcessInfo? ReadProcess(uint cr3, uint eprocess);
    /// <summary>-1 is the process itself, -2 the thread (when given).</summary>
    HandleEntry? ResolveHandle(uint cr3, ProcessInfo process, uint handle, ThreadInfo? currentThread);
    string? ReadFileObjectName(uint cr3, uint fileObject);
    string? ReadKeyPath(uint cr3, uint keyBody);
    SectionInfo? ReadSection(uint cr3, uint sectionBody);
    AlpcPortInfo? ReadAlpcPort(uint cr3, uint portBody);
    string? ReadUnicodeString(uint cr3, uint address);
    ObjectAttributesInfo? ReadObjectAttributes(uint cr3, uint address);
    ProcessParametersInfo? ReadProcessParameters(uint cr3, uint address);
    FileRenameInfo? ReadFileRenameInformation(uint cr3, uint address, uint length);
}

/// <summary><see cref="IKernelObjects"/> over the real Windows 7 readers.</summary>
public sealed class Win7KernelObjects(Win7Objects objects) : IKernelObjects
{
    public Win7Objects Objects { get; } = objects;

    public ThreadInfo? ReadCurrentThread(uint cr3, uint gdtBase) => Objects.ReadCurrentThread(cr3, gdtBase);
    public ThreadInfo? ReadThread(uint cr3, uint kthread) => Objects.ReadThread(cr3, kthread);
    public ProcessInfo? ReadProcess(uint cr3, uint eprocess) => Objects.ReadProcess(cr3, eprocess);
    public HandleEntry? ResolveHandle(uint cr3, ProcessInfo process, uint handle, ThreadInfo? currentThread) =>
        Objects.ResolveHandle(cr3, process, handle, currentThread);
    public string? ReadFileObjectName(uint cr3, uint fileObject) => Objects.ReadFileObjectName(cr3, fileObject);
    public string? ReadKeyPath(uint cr3, uint keyBody) => Objects.ReadKeyPath(cr3, keyBody);
    public SectionInfo? ReadSection(uint cr3, uint sectionBody) => Objects.ReadSection(cr3, sectionBody);
    public AlpcPortInfo? ReadAlpcPort(uint cr3, uint portBody) => Objects.ReadAlpcPort(cr3, portBody);
    public string? ReadUnicodeString(uint cr3, uint address) => Objects.ReadUnicodeString(cr3, address);
    public ObjectAttributesInfo? ReadObjectAttributes(uint cr3, uint address) => Objects.ReadObjectAttributes(cr3, address);
    public ProcessParametersInfo? ReadProcessParameters(uint cr3, uint address) => Objects.ReadProcessParameters(cr3, address);
    public FileRenameInfo? ReadFileRenameInformation(uint cr3, uint address, uint length) =>
        Objects.ReadFileRenameInformation(cr3, address, length);
}
