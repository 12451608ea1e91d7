using Win7Proc.Offline.Simulator.Guest;
using Win7Proc.Offline.Simulator.Recording;
using static Win7Proc.Offline.Simulator.Tests.Scenarios;

namespace Win7Proc.Offline.Simulator.Tests;

/// <summary>Scenario format 2 on the model: blocking and nested calls, a late recording start, unreadable pages, the
/// guest clock. Expected values come from the scenario text and samples/README.md's timing contract.</summary>
public class HardWorldTimingTests
{
    const string Procs = $$"""[ {{Explorer}}, { "pid": 900, "image": "C:\\svc.exe" } ]""";

    static GuestSimulation Run2(string events, RecordingSink sink, string top = "", ulong total = 1_000_000)
    {
        var sim = new GuestSimulation(Scenario.Parse(Json2(Procs, events, top, total), "t.json"));
        sim.Run(sink);
        return sim;
    }

    [Fact]
    public void A_blocking_call_returns_at_returns_at_after_other_threads_ran_with_a_switch_back_first()
    {
        var sink = new RecordingSink();
        Run2("""
            [ { "instr": 1000, "pid": 900, "tid": 910, "op": "syscall", "name": "NtWaitForSingleObject", "returns_at": 5000 },
              { "instr": 2000, "pid": 1232, "op": "open_file", "path": "\\??\\C:\\a", "as": "a" },
              { "instr": 3000, "pid": 900, "tid": 920, "op": "syscall", "name": "NtWaitForSingleObject", "returns_at": 4000 } ]
            """, sink);
        var got = sink.Items.Select(i => (i.Kind, i.Cpu.Instr)).ToArray();
        Assert.Equal(new[]
        {
            ("switch", 998ul), ("enter", 999ul),                        // thread 910 enters and waits
            ("switch", 1998ul), ("enter", 1999ul), ("return", 2000ul),   // explorer runs meanwhile
            ("switch", 2998ul), ("enter", 2999ul),                       // thread 920 of the same process waits too
            ("return", 4000ul),                                          // 920 is current: no switch
            ("thread", 4999ul), ("return", 5000ul),                      // back to 910 (same CR3) for its return
        }, got);
        var enters = sink.Items.Where(i => i.Kind == "enter").ToList();
        var returns = sink.Items.Where(i => i.Kind == "return").ToList();
        // Both waits are in the same stub and return to the same address; each return's ESP is its own EDX + 4.
        Assert.Equal(enters[0].ReturnAddress, enters[2].ReturnAddress);
        Assert.Equal(enters[0].ReturnAddress, returns[2].Cpu.Pc);
        Assert.Equal(enters[0].Cpu.Edx + 4, returns[2].Cpu.Esp);
        Assert.Equal(enters[2].Cpu.Edx + 4, returns[1].Cpu.Esp);
        Assert.NotEqual(enters[0].Cpu.Edx, enters[2].Cpu.Edx);
    }

    [Fact]
    public void A_nested_call_lies_below_the_outer_frame_and_returns_first()
    {
        var sink = new RecordingSink();
        Run2("""
            [ { "instr": 1000, "pid": 1232, "op": "syscall", "name": "NtRemoveIoCompletion", "returns_at": 9000 },
              { "instr": 2000, "pid": 1232, "op": "open_file", "path": "\\??\\C:\\cb.txt", "as": "cb", "returns_at": 3000 },
              { "instr": 4000, "pid": 1232, "op": "close", "handle": "cb" } ]
            """, sink);
        var enters = sink.Items.Where(i => i.Kind == "enter").ToList();
        Assert.Equal(3, enters.Count);
        Assert.True(enters[1].Cpu.Edx < enters[0].Cpu.Edx - 0x0fff, "the nested frame lies below the outer one");
        Assert.True(enters[2].Cpu.Edx < enters[0].Cpu.Edx - 0x0fff);
        var returns = sink.Items.Where(i => i.Kind == "return").Select(i => (i.Cpu.Instr, i.Cpu.Esp)).ToArray();
        Assert.Equal(new[] { (3000ul, enters[1].Cpu.Edx + 4), (4000ul, enters[2].Cpu.Edx + 4), (9000ul, enters[0].Cpu.Edx + 4) }, returns);
    }

    [Fact]
    public void A_nested_call_that_returns_after_its_outer_call_is_rejected()
    {
        var x = Assert.Throws<ScenarioException>(() => Scenario.Parse(Json2(Procs, """
            [ { "instr": 1000, "pid": 1232, "op": "syscall", "name": "NtRemoveIoCompletion", "returns_at": 3000 },
              { "instr": 2000, "pid": 1232, "op": "syscall", "name": "NtYieldExecution", "returns_at": 4000 } ]
            """), "t.json"));
        Assert.Contains("event 1", x.Message);
        Assert.Contains("must return before it", x.Message);
    }

    [Fact]
    public void A_return_colliding_with_a_later_event_is_a_located_error()
    {
        var x = Assert.Throws<ScenarioException>(() => Scenario.Parse(Json2(Procs, """
            [ { "instr": 1000, "pid": 900, "op": "syscall", "name": "NtWaitForSingleObject", "returns_at": 1999 },
              { "instr": 2000, "pid": 1232, "op": "syscall", "name": "NtYieldExecution" } ]
            """), "t.json"));
        Assert.Contains("event 1", x.Message);
        Assert.Contains("move returns_at or the event", x.Message);
    }

    [Fact]
    public void Blocking_state_changes_happen_at_the_return_and_a_killed_process_takes_its_waits_with_it()
    {
        var sink = new RecordingSink();
        var sim = Run2("""
            [ { "instr": 1000, "pid": 900, "op": "open_key", "path": "\\REGISTRY\\MACHINE\\Slow", "as": "slow", "returns_at": 6000 },
              { "instr": 2000, "pid": 900, "tid": 920, "op": "syscall", "name": "NtWaitForSingleObject", "returns_at": 8000 },
              { "instr": 3000, "pid": 1232, "op": "open_process", "target_pid": 900, "as": "svc" },
              { "instr": 7000, "pid": 1232, "op": "terminate_process", "process": "svc" } ]
            """, sink, total: 10_000);
        // The key handle exists only after the return at 6000; the wait of thread 920 never returns (killed at 7000).
        Assert.Contains(sink.Items, i => i.Kind == "return" && i.Cpu.Instr == 6000);
        Assert.DoesNotContain(sink.Items, i => i.Kind == "return" && i.Cpu.Instr == 8000);
        Assert.Equal(0, sim.CallsInKernel);
    }

    [Fact]
    public void Calls_still_in_the_kernel_at_the_end_never_return()
    {
        var sink = new RecordingSink();
        var sim = Run2("""
            [ { "instr": 1000, "pid": 900, "op": "syscall", "name": "NtWaitForSingleObject", "returns_at": 20000 } ]
            """, sink, total: 10_000);
        Assert.Equal(new[] { "switch", "enter" }, sink.Items.Select(i => i.Kind));
        Assert.Equal(1, sim.CallsInKernel);
    }

    [Fact]
    public void Nothing_before_recording_starts_at_reaches_the_sink_but_later_returns_do()
    {
        var sink = new RecordingSink();
        Run2("""
            [ { "instr": 1000, "pid": 900, "op": "syscall", "name": "NtWaitForSingleObject", "returns_at": 6000 },
              { "instr": 2000, "pid": 1232, "op": "open_file", "path": "\\??\\C:\\early", "as": "e" },
              { "instr": 5000, "pid": 1232, "op": "close", "handle": "e" } ]
            """, sink, top: "\"recording_starts_at\": 4000,");
        Assert.Equal(new[] { ("enter", 4999ul), ("return", 5000ul), ("switch", 5999ul), ("return", 6000ul) },
            sink.Items.Select(i => (i.Kind, i.Cpu.Instr)));
    }

    [Fact]
    public void Unreadable_pages_fail_the_recorders_reads_only_during_their_call()
    {
        var seen = new List<(string Kind, bool NameReadable, bool KcbReadable)>();
        GuestSimulation? sim = null;
        var sink = new RecordingSink
        {
            OnItem = item =>
            {
                if (item.Kind == "switch" || item.Kind == "thread") return;
                var m = sim!.Kernel.Memory;
                var buf = new byte[2];
                // The scratch heap's first page holds the call's name buffer; the KCB of HKCU is in the pool.
                bool name = m.TryReadForRecorder(item.Cpu.Cr3, GuestKernel.HeapBase, buf);
                var hkcu = sim.Kernel.AllProcesses.Single(p => p.Pid == 1232).Handles.Lookup(Handle(sim, 1232, "hkcu"));
                bool kcb = m.TryReadForRecorder(item.Cpu.Cr3, ((KeyObject)hkcu!).Kcb.Address, buf);
                seen.Add((item.Kind, name, kcb));
            },
        };
        sim = new GuestSimulation(Scenario.Parse(Json2(Procs, """
            [ { "instr": 1000, "pid": 1232, "op": "open_key", "root": "hkcu", "path": "Software", "as": "sw", "unreadable": ["name_buffer", "kcb"] },
              { "instr": 2000, "pid": 1232, "op": "open_key", "root": "hkcu", "path": "Other", "as": "o" } ]
            """), "t.json"));
        sim.Run(sink);
        Assert.Equal(new[] { ("enter", false, false), ("return", false, false), ("enter", true, true), ("return", true, true) }, seen);
    }

    [Fact]
    public void An_unreadable_kind_the_call_does_not_have_is_rejected()
    {
        var x = Assert.Throws<ScenarioException>(() => Scenario.Parse(Json2(Procs, """
            [ { "instr": 1000, "pid": 1232, "op": "syscall", "name": "NtYieldExecution", "unreadable": ["kcb"] } ]
            """), "t.json"));
        Assert.Contains("no kcb to hide", x.Message);
    }

    [Theory]
    [InlineData("", """{ "instr": 1000, "pid": 1232, "op": "syscall", "name": "NtYieldExecution", "returns_at": 1001 }""", "must be at least instr + 2 = 1002")]
    [InlineData("", """{ "instr": 1000, "pid": 1232, "op": "switch", "returns_at": 5000 }""", "a switch makes no call")]
    [InlineData("", """{ "instr": 1000, "pid": 1232, "op": "syscall", "name": "NtYieldExecution", "unreadable": ["stack"] }""", "unknown kind 'stack'")]
    [InlineData("", """{ "instr": 1000, "pid": 1232, "op": "syscall", "name": "NtYieldExecution", "unreadable": "kcb" }""", "must be an array")]
    [InlineData("\"return_hooks\": false,", """{ "instr": 1000, "pid": 1232, "op": "syscall", "name": "NtYieldExecution" }""", "needs panda_delivery: true")]
    [InlineData("\"recording_starts_at\": 1000000,", """{ "instr": 1000, "pid": 1232, "op": "syscall", "name": "NtYieldExecution" }""", "is not before total_instr")]
    [InlineData("\"panda_delivery\": 1,", """{ "instr": 1000, "pid": 1232, "op": "syscall", "name": "NtYieldExecution" }""", "panda_delivery: must be true or false")]
    public void Format_2_mistakes_are_one_line_errors(string top, string evt, string expected)
    {
        var x = Assert.Throws<ScenarioException>(() => Scenario.Parse(Json2(Procs, $"[ {evt} ]", top, 1_000_000), "t.json"));
        Assert.Contains(expected, x.Message);
        Assert.StartsWith("t.json", x.Message);
        Assert.DoesNotContain("\n", x.Message);
    }

    [Fact]
    public void At_most_eight_calls_of_one_thread_are_inside_the_kernel()
    {
        var events = string.Join(",\n", Enumerable.Range(0, 9).Select(i =>
            $$"""{ "instr": {{1000 + 10 * i}}, "pid": 1232, "op": "syscall", "name": "NtYieldExecution", "returns_at": {{9000 - 10 * i}} }"""));
        var x = Assert.Throws<ScenarioException>(() => Scenario.Parse(Json2(Procs, $"[ {events} ]"), "t.json"));
        Assert.Contains("event 8", x.Message);
        Assert.Contains("already has 8 calls inside the kernel", x.Message);
    }

    [Fact]
    public void Format_2_fields_are_rejected_in_format_1()
    {
        var x = Assert.Throws<ScenarioException>(() => Scenario.Parse(Json(Procs, """
            [ { "instr": 1000, "pid": 1232, "op": "syscall", "name": "NtYieldExecution", "returns_at": 5000 } ]
            """), "t.json"));
        Assert.Contains("'returns_at' needs \"format\": 2", x.Message);
        x = Assert.Throws<ScenarioException>(() => Scenario.Parse(
            """{ "format": 1, "name": "x", "total_instr": 10, "panda_delivery": true, "processes": [], "events": [] }""", "t.json"));
        Assert.Contains("'panda_delivery' needs \"format\": 2", x.Message);
    }

    [Fact]
    public void Kuser_shared_data_system_time_follows_the_instruction_count()
    {
        var times = new List<(ulong Instr, ulong FileTime)>();
        GuestSimulation? sim = null;
        var sink = new RecordingSink
        {
            OnItem = item =>
            {
                var m = sim!.Kernel.Memory;
                var at = GuestKernel.KuserSharedData + 0x14;
                ulong low = m.ReadU32(0, at), high1 = m.ReadU32(0, at + 4), high2 = m.ReadU32(0, at + 8);
                Assert.Equal(high1, high2);
                times.Add((item.Cpu.Instr, high1 << 32 | low));
            },
        };
        sim = new GuestSimulation(Scenario.Parse(Json2(Procs, """
            [ { "instr": 1000, "pid": 900, "op": "syscall", "name": "NtYieldExecution" },
              { "instr": 3_000_000_000, "pid": 1232, "op": "syscall", "name": "NtYieldExecution" } ]
            """.Replace("_", ""), total: 4_000_000_000), "t.json"));
        sim.Run(sink);
        // 2016-05-01 12:00:00 UTC at instruction 0; one instruction = 1 ns = 1/100 of a FILETIME tick.
        var epoch = new DateTime(2016, 5, 1, 12, 0, 0, DateTimeKind.Utc).ToFileTimeUtc();
        Assert.All(times, t => Assert.Equal((ulong)epoch + t.Instr / 100, t.FileTime));
        Assert.InRange(times[^1].FileTime - times[0].FileTime, 29_999_990ul, 30_000_000ul);   // 3 s later
    }
}

/// <summary>PandaDelivery against a fake core: what syscalls2 and the glue's hook deliver (upstream-checks §1).</summary>
public class PandaDeliveryTests
{
    sealed class FakeCore : IRecorderCore
    {
        public List<string> Calls { get; } = new();
        public HashSet<(uint Cr3, uint Pc)> Wanted { get; } = new();
        public uint SyscallEnter(in CpuState cpu) { Calls.Add($"enter {cpu.Instr}"); Wanted.Add((cpu.Cr3, 0x1234)); return 0x1234; }
        public void SyscallReturn(in CpuState cpu, uint callNoHint) => Calls.Add($"s2 {cpu.Instr}");
        public void ReturnHook(in CpuState cpu) => Calls.Add($"hook {cpu.Instr}");
        public bool HookWanted(uint cr3, uint pc) => Calls.Count(c => c.StartsWith("enter")) > Calls.Count(c => c.StartsWith("hook"));
        public void AsidChanged(in CpuState cpu, uint oldCr3, uint newCr3) => Calls.Add($"asid {cpu.Cr3:x}->{newCr3:x} from {oldCr3:x}");
    }

    static CpuState Cpu(ulong instr, uint pc = 0x1234, uint cr3 = 0x3e000000) => new(instr, pc, cr3, 0x10, 0, 0, 0, 0);

    [Fact]
    public void Syscalls2_delivers_one_of_two_concurrent_returns_from_one_stub_the_hook_both()
    {
        var core = new FakeCore();
        var d = new PandaDelivery(core, returnHooks: true);
        d.SyscallEnter(Cpu(1), 0x1234);
        d.SyscallEnter(Cpu(2), 0x1234);   // overwrites the first in syscalls2's map
        d.SyscallReturn(Cpu(3), 0x10);
        d.SyscallReturn(Cpu(4), 0x10);
        Assert.Equal(new[] { "enter 1", "enter 2", "s2 3", "hook 3", "hook 4" }, core.Calls);
        Assert.Equal(1, d.DeliveredBySyscalls2);
        Assert.Equal(1, d.SeenOnlyByHook);
    }

    [Fact]
    public void Without_hooks_the_second_return_is_lost()
    {
        var core = new FakeCore();
        var d = new PandaDelivery(core, returnHooks: false);
        d.SyscallEnter(Cpu(1), 0x1234);
        d.SyscallEnter(Cpu(2), 0x1234);
        d.SyscallReturn(Cpu(3), 0x10);
        d.SyscallReturn(Cpu(4), 0x10);
        Assert.Equal(new[] { "enter 1", "enter 2", "s2 3" }, core.Calls);
        Assert.Equal(1, d.Unobserved);
    }

    [Fact]
    public void Asid_changed_sees_the_old_cr3_and_same_value_reloads()
    {
        var core = new FakeCore();
        var d = new PandaDelivery(core, returnHooks: true);
        d.ContextSwitch(Cpu(1, cr3: 0xbbb), 0xaaa, 0xbbb);
        d.ThreadSwitch(Cpu(2, cr3: 0xbbb));
        Assert.Equal(new[] { "asid aaa->bbb from aaa", "asid bbb->bbb from bbb" }, core.Calls);
    }
}
