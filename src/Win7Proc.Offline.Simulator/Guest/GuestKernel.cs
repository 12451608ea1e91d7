using System.Text;
using static Win7Proc.Offline.Simulator.Guest.Eprocess;

namespace Win7Proc.Offline.Simulator.Guest;

/// <summary>
/// The synthetic Windows 7 SP1 x86 kernel state: GDT → KPCR → current thread, processes with their EPROCESS,
/// threads, PEB/parameters and handle tables, and the object manager's named directories. Everything is laid out
/// in <see cref="Memory"/> with the offsets of Guest/Win7Layout.cs.
/// Deterministic: addresses come from bump allocators, times from instruction counts.
/// </summary>
public sealed class GuestKernel
{
    public const uint GdtBase = 0x80b95000;
    public const uint KpcrBase = 0x82f73c00;
    public const uint PsActiveProcessHead = 0x82f85e98;
    public const uint NtdllKiFastSystemCall = 0x77a670f0;   // mov edx, esp; sysenter
    public const uint SysenterAddress = NtdllKiFastSystemCall + 2;
    public const uint NtdllStubs = 0x77a55000;              // stub for call n at NtdllStubs + 16n
    public const uint PebAddress = 0x7ffdf000;
    public const uint FirstTeb = 0x7ffde000;
    public const uint ProcessParametersAddress = 0x00020000;
    public const uint ImageBase = 0x01000000;
    /// <summary>Per-call scratch heap [HeapBase, HeapEnd): it ends below the call frame of thread index 4, whose stack
    /// top is 0x530000 (thread stacks: 0x130000 + 1 MiB per thread, the frame in the top page).</summary>
    public const uint HeapBase = 0x00500000, HeapEnd = 0x0052f000;
    /// <summary>Stacks of the first thread (index 0) and the step to the next; views are mapped from FirstViewBase.</summary>
    public const uint FirstStackTop = 0x00130000, StackStep = 0x00100000, FirstViewBase = 0x02000000;
    /// <summary>Threads per process: their stacks stay below <see cref="FirstViewBase"/>.</summary>
    public const int MaxThreadsPerProcess = (int)((FirstViewBase - FirstStackTop) / StackStep) + 1;
    public const uint SwapContextPc = 0x82a8f2c0;
    /// <summary>FILETIME of instruction 0: 2016-05-01 12:00:00 UTC; one instruction counts as 1 ns.</summary>
    public const ulong RecordingStartFileTime = 131_065_776_000_000_000;

    public GuestMemory Memory { get; } = new();
    internal BumpAllocator Pool { get; } = new(0x84a00000, 0x8c000000, "nonpaged pool");
    internal BumpAllocator Pages { get; } = new(0x8c000000, 0x9c000000, "page allocator");

    readonly List<GuestProcess> _processes = new();
    readonly Dictionary<string, DirectoryObject> _directories = new(StringComparer.OrdinalIgnoreCase);
    uint _serial;

    public IReadOnlyList<GuestProcess> AllProcesses => _processes;
    public GuestThread? CurrentThread { get; private set; }
    public GuestProcess? CurrentProcess => CurrentThread?.Process;
    public uint CurrentCr3 => CurrentProcess?.Cr3 ?? SystemCr3;
    public const uint SystemCr3 = 0x00185000;

    public GuestKernel()
    {
        WriteGdtDescriptor(Gdt.KpcrSelector, KpcrBase, Kpcr.Size - 1, access: 0x93);
        Memory.WriteU32(0, KpcrBase + Kpcr.SelfPcr, KpcrBase);
        Memory.WriteU32(0, KpcrBase + Kpcr.Prcb, KpcrBase + Kpcr.PrcbData);
        Memory.Map(0, KpcrBase + Kpcr.Size - 1);
        Memory.WriteU32(0, PsActiveProcessHead, PsActiveProcessHead);
        Memory.WriteU32(0, PsActiveProcessHead + 4, PsActiveProcessHead);
        Memory.WriteU32(0, KuserSharedData + KuserShared.NtMajorVersion, 6);
        Memory.WriteU32(0, KuserSharedData + KuserShared.NtMinorVersion, 1);
        SetClock(0);
        GetDirectory(@"\");
    }

    /// <summary>KUSER_SHARED_DATA's kernel address (user mode sees it at 0x7FFE0000).</summary>
    public const uint KuserSharedData = 0xffdf0000;

    /// <summary>Sets KUSER_SHARED_DATA.SystemTime to the guest clock at <paramref name="instr"/>: a KSYSTEM_TIME written
    /// as Windows does (High2Time, LowPart, then High1Time) so a reader that sees High1Time == High2Time has a
    /// consistent value.</summary>
    internal void SetClock(ulong instr)
    {
        var now = FileTimeAt(instr);
        var at = KuserSharedData + KuserShared.SystemTime;
        Memory.WriteU32(0, at + KuserShared.High2Time, (uint)(now >> 32));
        Memory.WriteU32(0, at + KuserShared.LowPart, (uint)now);
        Memory.WriteU32(0, at + KuserShared.High1Time, (uint)(now >> 32));
    }

    /// <summary>Writes a flat 32-bit data segment descriptor: base split over both dwords as the x86 GDT wants it.</summary>
    void WriteGdtDescriptor(uint selector, uint baseAddress, uint limit, byte access)
    {
        uint low = (limit & 0xffff) | ((baseAddress & 0xffff) << 16);
        uint high = ((baseAddress >> 16) & 0xff) | ((uint)access << 8) | (((limit >> 16) & 0xf) << 16) | (0x4u << 20)
                    | (baseAddress & 0xff000000);
        Memory.WriteU32(0, GdtBase + selector, low);
        Memory.WriteU32(0, GdtBase + selector + 4, high);
    }

    public GuestProcess? FindLive(uint pid) => _processes.LastOrDefault(p => p.Pid == pid && p.Alive);

    // ---- object manager ----

    /// <summary>Allocates [NameInfo][OBJECT_HEADER][body] and writes the header; returns the header address.</summary>
    internal uint AllocateObject(byte typeIndex, uint bodySize, string? name, KernelObject? directory)
    {
        bool named = name is not null;
        var optional = named ? ObjectHeader.NameInfoSize : 0;
        var block = Pool.Allocate(optional + ObjectHeader.Body + bodySize);
        var header = block + optional;
        Memory.WriteU32(0, header + ObjectHeader.PointerCount, 1);
        Memory.WriteU8(0, header + ObjectHeader.TypeIndex, typeIndex);
        Memory.WriteU8(0, header + ObjectHeader.InfoMask, named ? ObjectHeader.InfoMaskNameInfo : (byte)0);
        Memory.Map(0, header + ObjectHeader.Body + bodySize - 1);
        if (named)
        {
            var nameInfo = header - ObjectHeader.NameInfoSize;
            Memory.WriteU32(0, nameInfo + ObjectHeader.NameInfoDirectory, directory?.Body ?? 0);
            Memory.WriteUnicodeString(0, nameInfo + ObjectHeader.NameInfoName, Pool.Allocate((uint)GuestMemory.Utf16Size(name!)), name!);
        }
        return header;
    }

    /// <summary>The object directory for an absolute path (<c>\</c>, <c>\Device</c>, <c>\RPC Control</c>), created on demand.</summary>
    public DirectoryObject GetDirectory(string path)
    {
        if (_directories.TryGetValue(path, out var dir)) return dir;
        if (path == @"\")
            return _directories[path] = new DirectoryObject { Header = AllocateObject(TypeIndex.Directory, 0x150, @"\", null), Type = TypeIndex.Directory, Name = @"\" };
        var (parentPath, leaf) = SplitObjectPath(path);
        var parent = GetDirectory(parentPath);
        return _directories[path] = new DirectoryObject
        { Header = AllocateObject(TypeIndex.Directory, 0x150, leaf, parent), Type = TypeIndex.Directory, Name = path };
    }

    /// <summary>Splits <c>\A\B\C</c> into (<c>\A\B</c>, <c>C</c>).</summary>
    public static (string Parent, string Leaf) SplitObjectPath(string path)
    {
        var cut = path.LastIndexOf('\\');
        if (cut < 0) throw new ScenarioException($"object name '{path}' is not absolute");
        return (cut == 0 ? @"\" : path[..cut], path[(cut + 1)..]);
    }

    /// <summary>Allocates a named object whose NameInfo.Directory is the directory of its absolute path.</summary>
    internal uint AllocateNamedObject(byte typeIndex, uint bodySize, string? absoluteName)
    {
        if (absoluteName is null) return AllocateObject(typeIndex, bodySize, null, null);
        var (dir, leaf) = SplitObjectPath(absoluteName);
        return AllocateObject(typeIndex, bodySize, leaf, GetDirectory(dir));
    }

    // ---- processes ----

    public static ulong FileTimeAt(ulong instr) => RecordingStartFileTime + instr / 100;

    internal GuestProcess CreateProcess(uint pid, uint parentPid, string image, string commandLine, uint tid, ulong createTime)
    {
        var serial = ++_serial;
        var header = AllocateObject(TypeIndex.Process, Eprocess.Size, null, null);
        var proc = new GuestProcess
        {
            Header = header, Type = TypeIndex.Process, Pid = pid, ParentPid = parentPid, Image = image,
            CommandLine = commandLine, Cr3 = 0x3e000000 + serial * 0x20000, Peb = PebAddress,
            Heap = new BumpAllocator(HeapBase, HeapEnd, $"scratch heap of pid {pid}"),
        };
        var e = proc.Eprocess;
        Memory.WriteU8(0, e + HeaderType, DispatcherTypeProcess);
        Memory.WriteU8(0, e + HeaderSize, DispatcherSizeDwords);
        Memory.WriteU32(0, e + DirectoryTableBase, proc.Cr3);
        Memory.WriteU64(0, e + CreateTime, createTime);
        Memory.WriteU32(0, e + UniqueProcessId, pid);
        Memory.WriteU32(0, e + InheritedFromUniqueProcessId, parentPid);
        Memory.Write(0, e + ImageFileName, ShortImageName(image));
        Memory.WriteU32(0, e + Eprocess.Peb, proc.Peb);
        Memory.WriteU32(0, e + Eprocess.ThreadListHead, e + Eprocess.ThreadListHead);
        Memory.WriteU32(0, e + Eprocess.ThreadListHead + 4, e + Eprocess.ThreadListHead);
        var ntPath = ToDevicePath(image);
        var audit = Pool.Allocate(8 + (uint)GuestMemory.Utf16Size(ntPath));
        Memory.WriteUnicodeString(0, audit, audit + 8, ntPath);
        Memory.WriteU32(0, e + SeAuditImageFileName, audit);
        proc.Handles = new HandleTable(Memory, Pool, Pages.AllocatePage, pid, e);
        Memory.WriteU32(0, e + ObjectTable, proc.Handles.Address);
        LinkActive(e);

        // User space: PEB → normalized RTL_USER_PROCESS_PARAMETERS with ImagePathName and CommandLine.
        var cr3 = proc.Cr3;
        Memory.WriteU32(cr3, proc.Peb + UserStructs.PebImageBase, ImageBase);
        Memory.WriteU32(cr3, proc.Peb + UserStructs.PebProcessParameters, ProcessParametersAddress);
        Memory.Map(cr3, proc.Peb + UserStructs.PebSize);
        WriteProcessParameters(cr3, ProcessParametersAddress, image, commandLine, normalized: true);
        Memory.Write(cr3, ImageBase, "MZ"u8);
        _processes.Add(proc);
        AddThread(proc, tid);
        return proc;
    }

    /// <summary>Writes an RTL_USER_PROCESS_PARAMETERS at <paramref name="at"/> with its strings after it; when not
    /// normalized the string Buffers hold offsets from the structure start (RTL_USER_PROC_PARAMS_NORMALIZED clear).</summary>
    internal uint WriteProcessParameters(uint cr3, uint at, string image, string commandLine, bool normalized)
    {
        var next = UserStructs.ParamsSize;
        uint Put(uint field, string text)
        {
            var buffer = at + next;
            Memory.WriteUnicodeString(cr3, at + field, buffer, text);
            if (!normalized) Memory.WriteU32(cr3, at + field + 4, next);
            next += StringSpace(text);
            return buffer;
        }
        Put(UserStructs.ParamsCurrentDirectory, CurrentDirectory);
        Put(UserStructs.ParamsImagePathName, image);
        Put(UserStructs.ParamsCommandLine, commandLine);
        Memory.WriteU32(cr3, at + UserStructs.ParamsMaximumLength, next);
        Memory.WriteU32(cr3, at + UserStructs.ParamsLength, next);
        Memory.WriteU32(cr3, at + UserStructs.ParamsFlags, normalized ? UserStructs.ParamsNormalized : 0);
        return next;
    }

    const string CurrentDirectory = @"C:\Windows\system32\";
    static uint StringSpace(string text) => (uint)((GuestMemory.Utf16Size(text) + 3) & ~3);

    /// <summary>Bytes <see cref="WriteProcessParameters"/> writes for these strings.</summary>
    internal static uint ProcessParametersSize(string image, string commandLine) =>
        UserStructs.ParamsSize + StringSpace(CurrentDirectory) + StringSpace(image) + StringSpace(commandLine);

    internal GuestThread AddThread(GuestProcess proc, uint tid)
    {
        if (proc.Threads.Count >= MaxThreadsPerProcess)
            throw new ScenarioException($"process {proc.Pid} cannot have more than {MaxThreadsPerProcess} threads");
        var index = (uint)proc.Threads.Count;
        var header = AllocateObject(TypeIndex.Thread, Kthread.EthreadSize, null, null);
        var thread = new GuestThread
        {
            Header = header, Type = TypeIndex.Thread, Tid = tid, Process = proc,
            Teb = FirstTeb - index * GuestMemory.PageSize, StackTop = FirstStackTop + index * StackStep,
        };
        var k = thread.Kthread;
        Memory.WriteU8(0, k + Kthread.HeaderType, 6);     // ThreadObject dispatcher type
        Memory.WriteU8(0, k + Kthread.HeaderSize, 0x200 / 4);
        Memory.WriteU32(0, k + Kthread.ApcStateProcess, proc.Eprocess);
        Memory.WriteU32(0, k + Kthread.Teb, thread.Teb);
        Memory.WriteU32(0, k + Kthread.Process, proc.Eprocess);
        Memory.WriteU32(0, k + Kthread.CidUniqueProcess, proc.Pid);
        Memory.WriteU32(0, k + Kthread.CidUniqueThread, tid);
        // Insert into EPROCESS.ThreadListHead (tail).
        var head = proc.Eprocess + Eprocess.ThreadListHead;
        var link = k + Kthread.ThreadListEntry;
        var last = Memory.ReadU32(0, head + 4);
        Memory.WriteU32(0, link, head);
        Memory.WriteU32(0, link + 4, last);
        Memory.WriteU32(0, last, link);
        Memory.WriteU32(0, head + 4, link);
        var cr3 = proc.Cr3;
        Memory.WriteU32(cr3, thread.Teb + Teb.Self, thread.Teb);
        Memory.WriteU32(cr3, thread.Teb + Teb.ClientIdPid, proc.Pid);
        Memory.WriteU32(cr3, thread.Teb + Teb.ClientIdTid, tid);
        Memory.WriteU32(cr3, thread.Teb + Teb.Peb, proc.Peb);
        Memory.Map(cr3, thread.StackTop - 1);
        proc.Threads.Add(thread);
        return thread;
    }

    void LinkActive(uint eprocess)
    {
        var links = eprocess + ActiveProcessLinks;
        var last = Memory.ReadU32(0, PsActiveProcessHead + 4);
        Memory.WriteU32(0, links, PsActiveProcessHead);
        Memory.WriteU32(0, links + 4, last);
        Memory.WriteU32(0, last, links);
        Memory.WriteU32(0, PsActiveProcessHead + 4, links);
    }

    void UnlinkActive(uint eprocess)
    {
        var links = eprocess + ActiveProcessLinks;
        var flink = Memory.ReadU32(0, links);
        var blink = Memory.ReadU32(0, links + 4);
        Memory.WriteU32(0, blink, flink);
        Memory.WriteU32(0, flink + 4, blink);
        Memory.WriteU32(0, links, links);
        Memory.WriteU32(0, links + 4, links);
    }

    internal void ExitProcess(GuestProcess proc, uint exitStatus, ulong instr)
    {
        proc.Alive = false;
        var e = proc.Eprocess;
        Memory.WriteU32(0, e + Flags, Memory.ReadU32(0, e + Flags) | FlagProcessExiting);
        Memory.WriteU32(0, e + ExitStatus, exitStatus);
        Memory.WriteU64(0, e + ExitTime, FileTimeAt(instr));
        UnlinkActive(e);
    }

    /// <summary>Makes <paramref name="thread"/> current: KPCR.PrcbData.CurrentThread and the TEB descriptor (0x38).</summary>
    internal void SetCurrentThread(GuestThread thread)
    {
        Memory.WriteU32(0, KpcrBase + Kpcr.CurrentThread, thread.Kthread);
        WriteGdtDescriptor(Gdt.TebSelector, thread.Teb, 0xfff, access: 0xf3);
        CurrentThread = thread;
    }

    /// <summary>The 15-byte EPROCESS.ImageFileName: the file name's first 14 characters, NUL-padded (non-ASCII → '?').</summary>
    public static byte[] ShortImageName(string image)
    {
        var name = image[(image.LastIndexOf('\\') + 1)..];
        var bytes = new byte[ImageFileNameLength];
        for (int i = 0; i < Math.Min(name.Length, 14); i++) bytes[i] = name[i] < 0x80 ? (byte)name[i] : (byte)'?';
        return bytes;
    }

    /// <summary><c>C:\Windows\x.exe</c> or <c>\??\C:\Windows\x.exe</c> → <c>\Device\HarddiskVolume2\Windows\x.exe</c>.</summary>
    public static string ToDevicePath(string dosOrNtPath)
    {
        var p = dosOrNtPath.StartsWith(@"\??\", StringComparison.Ordinal) ? dosOrNtPath[4..] : dosOrNtPath;
        string device;
        if (p.Length >= 2 && char.ToUpperInvariant(p[0]) == 'C' && p[1] == ':') device = DiskDevice + p[2..];
        else if (p.StartsWith(DiskDevice + @"\", StringComparison.OrdinalIgnoreCase)) device = p;
        else throw new ScenarioException($"path '{dosOrNtPath}' is not on drive C: (the only volume, {DiskDevice})");
        // The device path is a UNICODE_STRING (e.g. SeAuditProcessCreationInfo's ImageFileName).
        return device.Length <= Scenario.MaxStringLength ? device
            : throw new ScenarioException($"path '{dosOrNtPath[..40]}...' is longer than {Scenario.MaxStringLength} characters on {DiskDevice}");
    }

    public const string DiskDevice = @"\Device\HarddiskVolume2";
}
