using static Win7Proc.Offline.Simulator.Tests.Scenarios;

namespace Win7Proc.Offline.Simulator.Tests;

/// <summary>The timing contract with the analyzer (see GuestSimulation's summary).</summary>
public class TimingTests
{
    const string TwoProcs = $$"""[ {{Explorer}}, { "pid": 900, "image": "C:\\victim.exe" }, { "pid": 901, "image": "C:\\other.exe" } ]""";

    [Fact]
    public void Calls_enter_at_instr_minus_1_return_at_instr_after_a_switch_at_instr_minus_2()
    {
        var sink = new RecordingSink();
        Run(TwoProcs, """
            [ { "instr": 1000, "pid": 1232, "op": "open_file", "path": "\\??\\C:\\a", "as": "a" },
              { "instr": 2000, "pid": 1232, "op": "close", "handle": "a" },
              { "instr": 3000, "pid": 900, "op": "switch" },
              { "instr": 4000, "pid": 900, "op": "syscall", "name": "NtYieldExecution" } ]
            """, sink);
        var got = sink.Items.Select(i => (i.Kind, i.Cpu.Instr)).ToArray();
        Assert.Equal(new[]
        {
            ("switch", 998ul), ("enter", 999ul), ("return", 1000ul), ("enter", 1999ul), ("return", 2000ul),
            ("switch", 3000ul), ("enter", 3999ul), ("return", 4000ul),
        }, got);
        Assert.Equal(0xb3u, sink.Items[1].CallNo);        // NtOpenFile
        Assert.Equal(0u, sink.Items[2].Cpu.Eax);          // STATUS_SUCCESS
    }

    [Fact]
    public void Terminations_enter_at_instr_self_never_returns_other_returns_at_instr_plus_1()
    {
        var sink = new RecordingSink();
        Run(TwoProcs, """
            [ { "instr": 1000, "pid": 1232, "op": "open_process", "target_pid": 900, "as": "v" },
              { "instr": 2000, "pid": 1232, "op": "terminate_process", "process": "v" },
              { "instr": 3000, "pid": 901, "op": "terminate_process", "status": "STATUS_ACCESS_DENIED" },
              { "instr": 4000, "pid": 901, "op": "terminate_process" },
              { "instr": 5000, "pid": 1232, "op": "switch" } ]
            """, sink);
        var got = sink.Items.Select(i => (i.Kind, i.Cpu.Instr)).ToArray();
        Assert.Equal(new[]
        {
            ("switch", 998ul), ("enter", 999ul), ("return", 1000ul),
            ("enter", 2000ul), ("return", 2001ul),
            ("switch", 2998ul), ("enter", 3000ul), ("return", 3001ul),   // a failed self-kill returns
            ("enter", 4000ul),                                            // a self-kill does not
            ("switch", 5000ul),
        }, got);
        Assert.Equal(0xC0000022u, sink.Items[7].Cpu.Eax);
    }

    [Fact]
    public void The_kpcr_names_the_new_thread_when_the_switch_is_reported()
    {
        var pids = new List<uint>();
        Win7Reader? r = null;
        var sink = new RecordingSink
        {
            OnItem = item =>
            {
                if (item.Kind != "switch") return;
                r!.Cr3 = item.NewCr3;
                pids.Add(r.Pid(r.CurrentProcess(item.Cpu.GdtBase)));
                Assert.Equal(r.Cr3, r.U32(r.CurrentProcess(item.Cpu.GdtBase) + 0x18));
            },
        };
        var sim = new GuestSimulation(Parse(TwoProcs, """
            [ { "instr": 100, "pid": 900, "op": "switch" }, { "instr": 200, "pid": 1232, "op": "switch" }, { "instr": 300, "pid": 901, "tid": 5000, "op": "switch" } ]
            """));
        r = new Win7Reader(sim.Kernel.Memory, 0);
        sim.Run(sink);
        Assert.Equal(new uint[] { 900, 1232, 901 }, pids);
    }
}

public class ThreadSwitchTests
{
    [Fact]
    public void A_thread_switch_inside_one_process_updates_the_kpcr_but_reports_no_cr3_change()
    {
        var tids = new List<uint>();
        Win7Reader? r = null;
        var sink = new RecordingSink
        {
            OnItem = item =>
            {
                if (item.Kind != "enter") return;
                r!.Cr3 = item.Cpu.Cr3;
                tids.Add(r.U32(r.CurrentThread(item.Cpu.GdtBase) + 0x230));   // ETHREAD.Cid.UniqueThread
                Assert.Equal(tids[^1], r.U32(item.Cpu.FsBase + 0x24));           // FS base = that thread's TEB
            },
        };
        var sim = new GuestSimulation(Scenarios.Parse($"[{Scenarios.Explorer}]", """
            [ { "instr": 100, "pid": 1232, "op": "syscall", "name": "NtYieldExecution" },
              { "instr": 200, "pid": 1232, "tid": 7000, "op": "syscall", "name": "NtYieldExecution" },
              { "instr": 300, "pid": 1232, "op": "syscall", "name": "NtYieldExecution" } ]
            """));
        r = new Win7Reader(sim.Kernel.Memory, 0);
        sim.Run(sink);
        Assert.Equal(new uint[] { 1236, 7000, 1236 }, tids);
        Assert.Single(sink.Items, i => i.Kind == "switch");   // only the first one, from the idle System space
    }
}
