using Win7Proc.Offline.Analyzer.Windows7;

namespace Win7Proc.Offline.Analyzer.Tests.Handlers;

public class EngineTests
{
    [Fact]
    public void New_pid_is_written_when_the_current_process_changes_only()
    {
        var h = new EngineHarness();
        var a = h.AddProcess(1000, "a.exe");
        var b = h.AddProcess(1100, "b.exe", ppid: 1000);
        h.SwitchTo(a);
        h.SwitchTo(a);
        h.Call("NtClose", [0x4]);
        h.SwitchTo(b);
        h.SwitchTo(a);
        var pids = h.Entries.Where(e => e.NewPid is not null).Select(e => e.NewPid.Pid).ToArray();
        Assert.Equal([1000u, 1100u, 1000u], pids);
        var bEntry = h.Entries.First(e => e.NewPid?.Pid == 1100);
        Assert.Equal(1000u, bEntry.NewPid.Ppid);
        Assert.Equal(b.Tid, bEntry.Tid);
    }

    [Fact]
    public void A_syscall_by_a_process_not_announced_by_a_switch_writes_new_pid_first()
    {
        var h = new EngineHarness();
        var a = h.AddProcess(1000, "a.exe");
        var b = h.AddProcess(1100, "b.exe");
        h.SwitchTo(a);
        h.AddFileHandle(b, 0x40, @"\Device\HarddiskVolume2\b.txt");
        var entries = h.Call("NtReadFile", [0x40, 0, 0, 0, h.OutSlot(b), h.OutSlot(b), 4, 0, 0], process: b);
        Assert.Equal(1100u, entries[0].NewPid.Pid);
        Assert.Equal(1100u, entries[1].NtReadFile.Proc.Pid);
    }

    [Fact]
    public void A_return_without_its_enter_is_handled_from_its_own_memory()
    {
        var h = new EngineHarness();
        var p = h.AddProcess(1000, "a.exe");
        h.SwitchTo(p);
        uint slot = h.OutSlot(p);
        h.Memory.WriteU32(p.Cr3, slot, 0x44);
        h.AddFileHandle(p, 0x44, @"\Device\HarddiskVolume2\late.txt");
        var orphan = new Trace.SyscallRecord(h.Instr + 5, 0x77c1d000, p.Cr3, p.KThread, Trace.SyscallPhase.Return, 3,
            EngineHarness.CallNo("NtCreateFile"), 0, 0, 0, 0, EngineHarness.GdtBase, 0,
            [slot, 0, h.ObjectAttributes(@"\??\C:\late.txt"), 0, 0, 0, 0, 1, 0, 0, 0], []);
        h.Engine.OnSyscall(orphan);
        var entry = Assert.Single(h.Entries, e => e.NtCreateFile is not null);
        Assert.Equal(@"\Device\HarddiskVolume2\late.txt", entry.NtCreateFile.Filename);
        Assert.Equal(1, h.Engine.UnmatchedReturns);
    }

    [Fact]
    public void Calls_that_were_not_watched_are_not_interpreted_from_stale_memory()
    {
        var h = new EngineHarness();
        var p = h.AddProcess(1000, "a.exe");
        h.SwitchTo(p);
        h.AddFileHandle(p, 0x40, @"\Device\HarddiskVolume2\x");
        var enter = h.Enter("NtWriteFile", [0x40, 0, 0, 0, 0, 0, 4, 0, 0], capture: 0);
        h.Return(enter, 0, capture: 0);
        Assert.DoesNotContain(h.Entries, e => e.NtWriteFile is not null);
    }

    [Fact]
    public void All_syscalls_logs_every_call_with_its_name_and_status()
    {
        var h = new EngineHarness(new AnalyzerOptions { AllSyscalls = true });
        var p = h.AddProcess(1000, "a.exe");
        h.SwitchTo(p);
        var entries = h.Call("NtYieldExecution", [], status: 0x40000024);
        var any = Assert.Single(entries);
        Assert.Equal(EngineHarness.CallNo("NtYieldExecution"), any.NtAnySyscall);
        Assert.Equal("NtYieldExecution", any.SyscallName);
        Assert.Equal(0x40000024u, any.NtStatus);
    }

    [Fact]
    public void Only_and_pid_filters_select_entries()
    {
        var h = new EngineHarness(new AnalyzerOptions { Only = new HashSet<SyscallFamily> { SyscallFamily.Registry }, Pids = new HashSet<uint> { 1100 } });
        var a = h.AddProcess(1000, "a.exe");
        var b = h.AddProcess(1100, "b.exe");
        h.AddKeyHandle(a, 0x30, @"\REGISTRY\MACHINE\A");
        h.AddKeyHandle(b, 0x30, @"\REGISTRY\MACHINE\B");
        h.AddFileHandle(b, 0x40, @"\Device\HarddiskVolume2\b.txt");
        h.SwitchTo(a);
        Assert.Empty(h.Call("NtQueryKey", [0x30, 0, 0, 0, 0]));
        h.SwitchTo(b);
        Assert.Empty(h.Call("NtReadFile", [0x40, 0, 0, 0, 0, 0, 4, 0, 0]));
        var key = Assert.Single(h.Call("NtQueryKey", [0x30, 0, 0, 0, 0]));
        Assert.Equal(@"\REGISTRY\MACHINE\B", key.NtQueryKey.Keyname);
        Assert.DoesNotContain(h.Entries, e => e.NewPid is not null); // processes family not selected
    }

    [Fact]
    public void Finish_writes_total_instr_from_end_or_the_last_instruction()
    {
        var h = new EngineHarness();
        var p = h.AddProcess(1000, "a.exe");
        h.SwitchTo(p);
        h.Finish(987654);
        Assert.Equal(987654ul, h.Entries[^1].TotalInstr);

        var h2 = new EngineHarness();
        h2.SwitchTo(h2.AddProcess(1000, "a.exe"));
        h2.Finish();
        Assert.Equal(h2.Instr, h2.Entries[^1].TotalInstr);
    }

    [Fact]
    public void An_unreadable_caller_gives_unknown_and_counts_a_miss()
    {
        var h = new EngineHarness();
        var p = h.AddProcess(1000, "a.exe");
        h.SwitchTo(p);
        h.Kernel.CurrentThreadByCr3.Clear();
        h.Kernel.Threads.Clear();
        var entry = Assert.Single(h.Call("NtDeleteFile", [h.ObjectAttributes(@"\??\C:\x")]));
        Assert.Equal("unknown", entry.NtDeleteFile.Proc.Name);
        Assert.Equal(@"\??\C:\x", entry.NtDeleteFile.Filename);
        Assert.True(h.Engine.Misses["NtDeleteFile"] > 0);
    }

    [Fact]
    public void Short_page_reads_are_attributed_to_the_call_being_handled()
    {
        var h = new EngineHarness();
        var p = h.AddProcess(1000, "a.exe");
        h.SwitchTo(p);
        h.AddFileHandle(p, 0x40, @"\Device\HarddiskVolume2\x");
        uint unreadableIosb = 0x00123450; // never written: the IO_STATUS_BLOCK page is missing
        var entry = Assert.Single(h.Call("NtReadFile", [0x40, 0, 0, 0, unreadableIosb, 0, 4, 0, 0])).NtReadFile;
        Assert.False(entry.HasBytesTransferred);
        Assert.Equal(@"\Device\HarddiskVolume2\x", entry.Filename);
        Assert.Equal(1, h.Engine.MissingPagesByCall["NtReadFile"]);
        Assert.Equal(1, h.Engine.Misses["NtReadFile"]);
    }

    [Fact]
    public void Enters_whose_return_never_comes_are_bounded_and_counted_as_lost()
    {
        var h = new EngineHarness();
        var p = h.AddProcess(1000, "a.exe");
        h.SwitchTo(p);
        h.AddFileHandle(p, 0x40, @"\Device\HarddiskVolume2\x");
        var waiting = h.Enter("NtReadFile", [0x40, 0, 0, 0, 0, 0, 4, 0, 0]);
        // Threads that die inside a wait: enters whose returns never come, each on its own thread.
        int dead = 3 * AnalysisEngine.MaxPendingCalls;
        uint wait = EngineHarness.CallNo("NtWaitForSingleObject");
        for (int i = 0; i < dead; i++)
            h.Engine.OnSyscall(new Trace.SyscallRecord(waiting.Instr + 1 + (ulong)i, 0, p.Cr3, 0x90000000 + 8 * (uint)i,
                Trace.SyscallPhase.Enter, 0, wait, wait, 0, 0, 0, EngineHarness.GdtBase, 0, [0x10, 0, 0], []));
        Assert.InRange(h.Engine.PendingCalls, 1, AnalysisEngine.MaxPendingCalls);
        Assert.Equal(dead + 1, h.Engine.PendingCalls + h.Engine.LostEnters);
        // The oldest enter was dropped: its late return is still logged, from the return's own memory.
        h.Return(waiting, 0);
        Assert.Equal(@"\Device\HarddiskVolume2\x", Assert.Single(h.Entries, e => e.NtReadFile is not null).NtReadFile.Filename);
    }

    [Fact]
    public void A_handler_bug_is_counted_and_the_run_goes_on()
    {
        var entries = new List<Pandalog.Schema.LogEntry>();
        var kernel = new ThrowingKernel();
        var engine = new AnalysisEngine(kernel, new FakeMemory(), new AnalyzerOptions(), entries.Add);
        var record = new Trace.SyscallRecord(10, 0, 0x3f000000, 0x85000000, Trace.SyscallPhase.Enter, 1,
            EngineHarness.CallNo("NtDeleteFile"), 0, 0, 0, 0, 0, 0, [0x1000], []);
        engine.OnSyscall(record);
        engine.OnSyscall(record with { Instr = 11, Phase = Trace.SyscallPhase.Return, EnterInstr = 10 });
        engine.Finish(null);
        Assert.Equal(1, engine.HandlerErrors);
        Assert.Contains("NtDeleteFile", engine.FirstHandlerError);
        Assert.Equal(11ul, Assert.Single(entries).TotalInstr);
    }

    /// <summary>A reader with a bug: ObjectAttributes throws.</summary>
    sealed class ThrowingKernel : IKernelObjects
    {
        readonly FakeKernel _inner = new();
        public ThreadInfo? ReadCurrentThread(uint cr3, uint gdtBase) => null;
        public ThreadInfo? ReadThread(uint cr3, uint kthread) => null;
        public ProcessInfo? ReadProcess(uint cr3, uint eprocess) => null;
        public HandleEntry? ResolveHandle(uint cr3, ProcessInfo process, uint handle, ThreadInfo? currentThread) => null;
        public string? ReadFileObjectName(uint cr3, uint fileObject) => null;
        public string? ReadKeyPath(uint cr3, uint keyBody) => null;
        public SectionInfo? ReadSection(uint cr3, uint sectionBody) => null;
        public AlpcPortInfo? ReadAlpcPort(uint cr3, uint portBody) => null;
        public string? ReadUnicodeString(uint cr3, uint address) => null;
        public ObjectAttributesInfo? ReadObjectAttributes(uint cr3, uint address) => throw new IndexOutOfRangeException("reader bug");
        public ProcessParametersInfo? ReadProcessParameters(uint cr3, uint address) => _inner.ReadProcessParameters(cr3, address);
        public FileRenameInfo? ReadFileRenameInformation(uint cr3, uint address, uint length) => null;
    }
}
