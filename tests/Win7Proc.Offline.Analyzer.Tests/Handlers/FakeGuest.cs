using System.Buffers.Binary;
using System.Text;
using Win7Proc.Offline.Analyzer.Windows7;
using Win7Proc.Offline.Trace;

namespace Win7Proc.Offline.Analyzer.Tests.Handlers;

/// <summary>Sparse byte-addressed guest memory: only written bytes are readable; kernel addresses ignore cr3.</summary>
sealed class FakeMemory : IGuestMemory
{
    readonly Dictionary<ulong, byte> _bytes = new();

    static ulong Key(uint cr3, uint va) => va >= 0x80000000 ? va : (ulong)cr3 << 32 | va;

    public void Write(uint cr3, uint va, ReadOnlySpan<byte> data)
    {
        for (int i = 0; i < data.Length; i++) _bytes[Key(cr3, va + (uint)i)] = data[i];
    }

    public void WriteU32(uint cr3, uint va, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        Write(cr3, va, b);
    }

    public void WriteU64(uint cr3, uint va, ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        Write(cr3, va, b);
    }

    public void Erase(uint cr3, uint va, int length)
    {
        for (int i = 0; i < length; i++) _bytes.Remove(Key(cr3, va + (uint)i));
    }

    /// <summary>Reads that stopped short (as TraceGuestMemory.MissingPageReads counts them).</summary>
    public long ShortReads { get; private set; }

    public int Read(uint cr3, uint va, Span<byte> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            if (!_bytes.TryGetValue(Key(cr3, va + (uint)i), out var b)) { ShortReads++; return i; }
            destination[i] = b;
        }
        return destination.Length;
    }
}

/// <summary>
/// Kernel objects as plain tables the test fills and changes between records (the real readers are tested on their
/// own in Windows7/). Handles live per EPROCESS; "current thread" per cr3.
/// </summary>
sealed class FakeKernel : IKernelObjects
{
    public Dictionary<uint, uint> CurrentThreadByCr3 { get; } = new();
    public Dictionary<uint, ThreadInfo> Threads { get; } = new();
    public Dictionary<uint, ProcessInfo> Processes { get; } = new();
    public Dictionary<(uint EProcess, uint Handle), HandleEntry> Handles { get; } = new();
    public Dictionary<uint, string> FileNames { get; } = new();
    public Dictionary<uint, string> KeyPaths { get; } = new();
    public Dictionary<uint, SectionInfo> Sections { get; } = new();
    public Dictionary<uint, AlpcPortInfo> Ports { get; } = new();
    public Dictionary<uint, string> Strings { get; } = new();
    public Dictionary<uint, ObjectAttributesInfo> ObjectAttributes { get; } = new();
    public Dictionary<uint, ProcessParametersInfo> Parameters { get; } = new();
    public Dictionary<uint, FileRenameInfo> Renames { get; } = new();

    public ThreadInfo? ReadCurrentThread(uint cr3, uint gdtBase) =>
        CurrentThreadByCr3.TryGetValue(cr3, out var k) ? Threads.GetValueOrDefault(k) : null;
    public ThreadInfo? ReadThread(uint cr3, uint kthread) => Threads.GetValueOrDefault(kthread);
    public ProcessInfo? ReadProcess(uint cr3, uint eprocess) => Processes.GetValueOrDefault(eprocess);
    public HandleEntry? ResolveHandle(uint cr3, ProcessInfo process, uint handle, ThreadInfo? currentThread) =>
        handle == 0xFFFFFFFF
            ? new HandleEntry(handle, process.EProcess - 0x18, process.EProcess, 7, Win7ObjectType.Process, 0x1fffff, null)
            : Handles.GetValueOrDefault((process.EProcess, handle));
    public string? ReadFileObjectName(uint cr3, uint fileObject) => FileNames.GetValueOrDefault(fileObject);
    public string? ReadKeyPath(uint cr3, uint keyBody) => KeyPaths.GetValueOrDefault(keyBody);
    public SectionInfo? ReadSection(uint cr3, uint sectionBody) => Sections.GetValueOrDefault(sectionBody);
    public AlpcPortInfo? ReadAlpcPort(uint cr3, uint portBody) => Ports.GetValueOrDefault(portBody);
    public string? ReadUnicodeString(uint cr3, uint address) => Strings.GetValueOrDefault(address);
    public ObjectAttributesInfo? ReadObjectAttributes(uint cr3, uint address) => ObjectAttributes.GetValueOrDefault(address);
    public ProcessParametersInfo? ReadProcessParameters(uint cr3, uint address) => Parameters.GetValueOrDefault(address);
    public FileRenameInfo? ReadFileRenameInformation(uint cr3, uint address, uint length) => Renames.GetValueOrDefault(address);
}

static class Bytes
{
    public static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);
}
