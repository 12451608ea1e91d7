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

    // ---- pairing and unknown status (issue 11): two threads in one stub, nested calls, returns not seen ----

    /// <summary>A second thread of <paramref name="p"/>, made current in its address space.</summary>
    static GuestProcess SecondThread(EngineHarness h, GuestProcess p)
    {
        var t2 = p with { KThread = p.KThread + 0x100, Tid = p.Tid + 4 };
        h.Kernel.Threads[t2.KThread] = new ThreadInfo(t2.KThread, p.EProcess, p.Pid, t2.Tid);
        return t2;
    }

    static void Run(EngineHarness h, GuestProcess thread) => h.Kernel.CurrentThreadByCr3[thread.Cr3] = thread.KThread;

    static uint[] OpenArgs(uint handleSlot, uint objectAttributes) => [handleSlot, 0x80100000, objectAttributes, 0, 7, 0x60];

    [Fact]
    public void Two_threads_in_one_stub_each_get_their_own_enter_time_name_though_the_buffer_was_reused()
    {
        var h = new EngineHarness();
        var t1 = h.AddProcess(1000, "svchost.exe");
        var t2 = SecondThread(h, t1);
        h.SwitchTo(t1);
        uint oa = h.ObjectAttributes(@"\??\C:irst.txt");
        var e1 = h.Enter("NtOpenFile", OpenArgs(h.OutSlot(t1), oa), t1);
        Run(h, t2);
        h.Kernel.ObjectAttributes[oa] = new ObjectAttributesInfo(0, @"\??\C:\second.txt", 0x40);   // same buffer, reused
        var e2 = h.Enter("NtOpenFile", OpenArgs(h.OutSlot(t1), oa), t2);
        // The first thread returns first (both failed: the names can only come from what was read at enter).
        Run(h, t1);
        h.Return(e1, 0xC0000034);
        Run(h, t2);
        h.Return(e2, 0xC0000022);
        h.Finish();
        var opens = h.Entries.Where(e => e.NtOpenFile is not null).ToList();
        Assert.Equal(new[] { (@"\??\C:irst.txt", t1.Tid, 0xC0000034u), (@"\??\C:\second.txt", t2.Tid, 0xC0000022u) },
            opens.Select(e => (e.NtOpenFile.Filename, e.Tid, e.NtStatus)));
        Assert.Equal(0, h.Engine.UnmatchedReturns + h.Engine.LostEnters + h.Engine.ReturnsInferred);
    }

    [Fact]
    public void A_nested_call_of_one_thread_pairs_with_its_own_enter()
    {
        var h = new EngineHarness();
        var p = h.AddProcess(1000, "explorer.exe");
        h.SwitchTo(p);
        h.AddFileHandle(p, 0x40, @"\Device\HarddiskVolume2\outer.txt");
        h.AddFileHandle(p, 0x44, @"\Device\HarddiskVolume2\inner.txt");
        var outer = h.Enter("NtReadFile", [0x40, 0, 0, 0, 0, 0, 16, 0, 0]);
        var inner = h.Enter("NtReadFile", [0x44, 0, 0, 0, 0, 0, 8, 0, 0]);   // a callback's call while outer waits
        h.Return(inner, 0);
        h.Return(outer, 0xC0000008);
        var reads = h.Entries.Where(e => e.NtReadFile is not null).Select(e => (e.NtReadFile.Filename, e.NtReadFile.RequestedLength, e.CallSucceeded)).ToArray();
        Assert.Equal(new[] { (@"\Device\HarddiskVolume2\inner.txt", 8u, true), (@"\Device\HarddiskVolume2\outer.txt", 16u, false) }, reads);
        Assert.Equal(0, h.Engine.LostEnters + h.Engine.UnmatchedReturns);
    }

    [Fact]
    public void A_return_not_seen_gives_an_entry_with_status_unset_and_is_counted()
    {
        var h = new EngineHarness();
        var p = h.AddProcess(1000, "a.exe");
        h.SwitchTo(p);
        uint slot = h.OutSlot(p, initial: 0x48);
        h.AddFileHandle(p, 0x48, @"\Device\HarddiskVolume2
ever-opened.txt");   // must not be taken as the result
        var enter = h.Enter("NtOpenFile", OpenArgs(slot, h.ObjectAttributes(@"\??\C:\wanted.txt")));
        h.Return(enter, status: 0, capture: 1 | 4);   // inferred: eax meaningless
        h.Finish();
        var entry = Assert.Single(h.Entries, e => e.NtOpenFile is not null);
        Assert.False(entry.HasNtStatus);
        Assert.False(entry.HasCallSucceeded);
        Assert.Equal(@"\??\C:\wanted.txt", entry.NtOpenFile.Filename);
        Assert.Equal(0ul, entry.NtOpenFile.Handle);
        Assert.Equal((1L, 1L, 0L), (h.Engine.ReturnsInferred, h.Engine.EntriesWithUnknownStatus, h.Engine.LostEnters));
    }

    [Fact]
    public void Calls_pending_when_the_trace_ends_are_written_with_status_unset_at_the_last_instruction()
    {
        var h = new EngineHarness();
        var p = h.AddProcess(1000, "a.exe");
        h.SwitchTo(p);
        var enter = h.Enter("NtOpenFile", OpenArgs(h.OutSlot(p), h.ObjectAttributes(@"\??\C:\slow.txt")));
        h.Call("NtClose", [0x4]);
        ulong last = h.Instr;
        h.Finish();
        var entry = Assert.Single(h.Entries, e => e.NtOpenFile is not null);
        Assert.False(entry.HasNtStatus);
        Assert.Equal(last, entry.Instr);
        Assert.True(enter.Instr < entry.Instr);
        Assert.Equal((1L, 1L), (h.Engine.LostEnters, h.Engine.EntriesWithUnknownStatus));
    }

    [Fact]
    public void Returns_without_enter_and_returns_seen_by_the_hook_are_counted()
    {
        var h = new EngineHarness();
        var p = h.AddProcess(1000, "a.exe");
        h.SwitchTo(p);
        var enter = h.Enter("NtClose", [0x4]);
        h.Return(enter, 0, capture: 1 | 8);
        h.Return(enter with { Instr = 5 }, 0, capture: 1 | 2);     // enter predates the recording
        h.Return(enter with { Instr = 7 }, 0, capture: 1);         // names an enter nobody holds
        Assert.Equal((1L, 2L), (h.Engine.ReturnsByHook, h.Engine.UnmatchedReturns));
    }

    [Fact]
    public void A_cross_process_termination_keeps_its_place_and_gets_its_status_though_other_threads_log_meanwhile()
    {
        var h = new EngineHarness();
        var killer = h.AddProcess(1000, "killer.exe");
        var victim = h.AddProcess(2000, "victim.exe");
        var other = SecondThread(h, killer);
        h.SwitchTo(killer);
        h.AddHandle(killer, 0x80, Win7ObjectType.Process, victim.EProcess);
        h.AddFileHandle(killer, 0x40, @"\Device\HarddiskVolume2\log.txt");
        var term = h.Enter("NtTerminateProcess", [0x80, 1]);
        Run(h, other);
        h.Call("NtReadFile", [0x40, 0, 0, 0, 0, 0, 4, 0, 0], process: other);   // another thread logs meanwhile
        Run(h, killer);
        h.Return(term, 0xC0000022);
        h.Finish();
        var kinds = h.Entries.Where(e => e.NtTerminateProcess is not null || e.NtReadFile is not null).ToList();
        Assert.NotNull(kinds[0].NtTerminateProcess);
        Assert.Equal(0xC0000022u, kinds[0].NtStatus);
        Assert.NotNull(kinds[1].NtReadFile);
        Assert.True(h.Entries.Zip(h.Entries.Skip(1)).All(pair => pair.First.Instr <= pair.Second.Instr));
    }

    [Fact]
    public void A_trace_cut_between_enter_and_return_of_a_cross_process_termination_leaves_its_status_unknown()
    {
        var h = new EngineHarness();
        var killer = h.AddProcess(1000, "killer.exe");
        var victim = h.AddProcess(2000, "victim.exe");
        h.SwitchTo(killer);
        h.AddHandle(killer, 0x80, Win7ObjectType.Process, victim.EProcess);
        h.Enter("NtTerminateProcess", [0x80, 1]);
        h.Finish();
        var entry = Assert.Single(h.Entries, e => e.NtTerminateProcess is not null);
        Assert.Equal(2000u, entry.NtTerminateProcess.TermP.Pid);
        Assert.False(entry.HasNtStatus);
        Assert.False(entry.HasCallSucceeded);
        Assert.Equal(1, h.Engine.EntriesWithUnknownStatus);
    }
}
