using Win7Proc.Offline.Analyzer.Windows7;
using Win7Proc.Offline.Pandalog.Schema;
using Win7Proc.Offline.Trace;

namespace Win7Proc.Offline.Analyzer.Tests.Handlers;

/// <summary>A guest process as the harness lays it out: one thread, its own cr3.</summary>
sealed record GuestProcess(uint Pid, string Name, uint Cr3, uint EProcess, uint KThread, uint Tid, ProcessInfo Info);

/// <summary>
/// Drives an <see cref="AnalysisEngine"/> with constructed SYSCALL / CONTEXT_SWITCH records over a
/// <see cref="FakeKernel"/> and <see cref="FakeMemory"/>, collecting the entries.
/// </summary>
sealed class EngineHarness
{
    public const uint GdtBase = 0x80b95000;
    public FakeKernel Kernel { get; } = new();
    public FakeMemory Memory { get; } = new();
    public List<LogEntry> Entries { get; } = [];
    public AnalysisEngine Engine { get; }
    public ulong Instr { get; private set; } = 1000;
    public GuestProcess? Current { get; private set; }
    uint _nextEProcess = 0x84000000, _nextCr3 = 0x3f000000;

    public EngineHarness(AnalyzerOptions? options = null, int dataCap = 4096)
    {
        Engine = new AnalysisEngine(Kernel, Memory, options ?? new AnalyzerOptions(), Entries.Add)
        {
            ThrowOnHandlerError = true,
            MissingPageReadCounter = () => Memory.ShortReads,
        };
        Engine.OnHeader(new TraceHeader(1, 0, 4096, 0x80000000, "windows_7_x86", "test", "0", "unit",
            [new("data_cap", dataCap.ToString())]));
    }

    public GuestProcess AddProcess(uint pid, string name, uint ppid = 4, ulong createTime = 0, string? imagePath = null)
    {
        uint eprocess = _nextEProcess += 0x1000, kthread = eprocess + 0x800, cr3 = _nextCr3 += 0x20;
        uint tid = pid + 4;
        var info = new ProcessInfo(eprocess, pid, ppid, name, eprocess + 0x400, 0x7ffd0000, cr3,
            createTime == 0 ? 0x01d0_0000_0000_0000UL + pid : createTime, 0, imagePath);
        Kernel.Processes[eprocess] = info;
        Kernel.Threads[kthread] = new ThreadInfo(kthread, eprocess, pid, tid);
        Kernel.CurrentThreadByCr3[cr3] = kthread;
        return new GuestProcess(pid, name, cr3, eprocess, kthread, tid, info);
    }

    public void SwitchTo(GuestProcess process)
    {
        Instr += 2;
        Current = process;
        Engine.OnContextSwitch(new ContextSwitchRecord(Instr, 0, process.Cr3, process.KThread, []));
    }

    public static uint CallNo(string name) => SyscallTable.Windows7X86.ByName(name)!.Number;

    public SyscallRecord Enter(string name, uint[] args, GuestProcess? process = null, byte capture = 1)
    {
        var p = process ?? Current ?? throw new InvalidOperationException("no current process");
        Instr += 10;
        var record = new SyscallRecord(Instr, 0x8053e000, p.Cr3, p.KThread, SyscallPhase.Enter, capture, CallNo(name),
            CallNo(name), 0x0012f000, 0x0012f000, 0x7ffdf000, GdtBase, 0, args, []);
        Engine.OnSyscall(record);
        return record;
    }

    public SyscallRecord Return(SyscallRecord enter, uint status, byte capture = 1)
    {
        Instr += 1;
        var record = enter with
        {
            Instr = Instr, Pc = 0x77c1d000, Phase = SyscallPhase.Return, Capture = capture, Eax = status, EnterInstr = enter.Instr,
        };
        Engine.OnSyscall(record);
        return record;
    }

    /// <summary>Enter, then <paramref name="between"/> (the kernel's work: new handles, outputs), then return.</summary>
    public IReadOnlyList<LogEntry> Call(string name, uint[] args, uint status = 0, Action? between = null, GuestProcess? process = null)
    {
        int before = Entries.Count;
        var enter = Enter(name, args, process);
        between?.Invoke();
        Return(enter, status);
        return Entries.Skip(before).ToList();
    }

    public void Finish(ulong? total = null) => Engine.Finish(total);

    // ---- object helpers ----

    uint _nextBody = 0x86000000, _nextUser = 0x00400000;

    public uint NewBody() => _nextBody += 0x100;
    public uint NewUserAddress() => _nextUser += 0x100;

    public HandleEntry AddHandle(GuestProcess owner, uint handle, Win7ObjectType type, uint body, string? objectName = null)
    {
        var entry = new HandleEntry(handle, body - 0x18, body, (byte)type, type, 0x12019f, objectName);
        Kernel.Handles[(owner.EProcess, handle)] = entry;
        return entry;
    }

    public uint AddFileHandle(GuestProcess owner, uint handle, string fullName)
    {
        uint body = NewBody();
        Kernel.FileNames[body] = fullName;
        AddHandle(owner, handle, Win7ObjectType.File, body);
        return body;
    }

    public uint AddKeyHandle(GuestProcess owner, uint handle, string path)
    {
        uint body = NewBody();
        Kernel.KeyPaths[body] = path;
        AddHandle(owner, handle, Win7ObjectType.Key, body);
        return body;
    }

    public uint ObjectAttributes(string? name, uint root = 0)
    {
        uint address = NewUserAddress();
        Kernel.ObjectAttributes[address] = new ObjectAttributesInfo(root, name, 0x40);
        return address;
    }

    public uint UnicodeString(string text)
    {
        uint address = NewUserAddress();
        Kernel.Strings[address] = text;
        return address;
    }

    /// <summary>An output slot (PHANDLE, PULONG) in the current process's memory.</summary>
    public uint OutSlot(GuestProcess owner, uint? initial = null)
    {
        uint address = NewUserAddress();
        if (initial is uint v) Memory.WriteU32(owner.Cr3, address, v);
        return address;
    }
}
