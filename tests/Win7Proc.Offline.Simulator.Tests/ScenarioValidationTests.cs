using Win7Proc.Offline.Simulator.Guest;
using static Win7Proc.Offline.Simulator.Tests.Scenarios;

namespace Win7Proc.Offline.Simulator.Tests;

public class ScenarioValidationTests
{
    static string Rejected(string events, string? processes = null, ulong total = 1_000_000_000)
    {
        var e = Assert.Throws<ScenarioException>(() => Scenario.Parse(Json(processes ?? $"[{Explorer}]", events, total), "bad.json"));
        Assert.StartsWith("bad.json", e.Message);
        return e.Message;
    }

    [Theory]
    [InlineData("""[ { "instr": 100, "pid": 1232, "op": "fly" } ]""", "event 0: unknown op 'fly'")]
    [InlineData("""[ { "instr": 100, "pid": 1232, "op": "switch", "pathh": "x" } ]""", "event 0 (switch): unknown field 'pathh'")]
    [InlineData("""[ { "instr": 100, "pid": 1232, "op": "open_key" } ]""", "event 0 (open_key): missing field 'path'")]
    [InlineData("""[ { "instr": 100, "pid": 1232, "op": "switch" }, { "instr": 50, "pid": 1232, "op": "switch" } ]""", "event 1 (switch): instr 50 must be at least 3 after")]
    [InlineData("""[ { "instr": 100, "pid": 1232, "op": "switch" }, { "instr": 102, "pid": 1232, "op": "switch" } ]""", "event 1 (switch): instr 102 must be at least 3 after")]
    [InlineData("""[ { "instr": 1, "pid": 1232, "op": "switch" } ]""", "instr must be at least 2")]
    [InlineData("""[ { "instr": 100, "pid": 1232, "op": "close", "handle": "nope" } ]""", "event 0 (instr 100, op close): 'handle': process 1232 has no open handle named 'nope'")]
    [InlineData("""[ { "instr": 100, "pid": 77, "op": "switch" } ]""", "event 0 (instr 100, op switch): pid 77 is not a live process")]
    [InlineData("""[ { "instr": 100, "pid": 1232, "op": "open_key", "path": "x", "status": "STATUS_WHATEVER" } ]""", "unknown status 'STATUS_WHATEVER'")]
    [InlineData("""[ { "instr": 100, "pid": 1232, "op": "query_key", "handle": "self" } ]""", "\"self\" is a process, not a key")]
    [InlineData("""[ { "instr": 100, "pid": 1232, "op": "open_key", "path": "Software" } ]""", "must start with \\REGISTRY")]
    [InlineData("""[ { "instr": 100, "pid": 1232, "op": "create_file", "path": "C:\\x.txt" } ]""", "must be an NT path")]
    [InlineData("""[ { "instr": 100, "pid": 1232, "op": "syscall", "name": "NtMakeCoffee" } ]""", "'NtMakeCoffee' is not a Windows 7 system call")]
    [InlineData("""[ { "instr": 100, "pid": 1232, "op": "close", "handle": "self" } ]""", "pseudo-handle cannot be closed")]
    [InlineData("""[ { "instr": 100, "pid": 1232, "op": "connect_port", "name": "\\RPC Control\\none" } ]""", "no server port named")]
    public void Inconsistent_scenarios_are_rejected_with_the_event_and_problem(string events, string expected) =>
        Assert.Contains(expected, Rejected(events));

    [Fact]
    public void A_dead_process_cannot_act()
    {
        var message = Rejected("""
            [ { "instr": 100, "pid": 1232, "op": "terminate_process" },
              { "instr": 200, "pid": 1232, "op": "switch" } ]
            """);
        Assert.Contains("event 1 (instr 200, op switch): pid 1232 is not a live process", message);
    }

    [Fact]
    public void A_live_pid_cannot_be_created_again_but_an_exited_one_can()
    {
        Assert.Contains("child_pid 1232 is already a live process", Rejected("""
            [ { "instr": 100, "pid": 1232, "op": "create_process", "child_pid": 1232, "image": "C:\\a.exe" } ]
            """));
        var ok = Scenario.Parse(Json($"[{Explorer}]", """
            [ { "instr": 100, "pid": 1232, "op": "create_process", "child_pid": 700, "image": "C:\\a.exe", "as": "a" },
              { "instr": 200, "pid": 700, "op": "terminate_process" },
              { "instr": 300, "pid": 1232, "op": "create_process", "child_pid": 700, "image": "C:\\b.exe" } ]
            """), "ok.json");
        Assert.Equal(3, ok.Events.Count);
    }

    [Fact]
    public void A_failed_call_returns_no_handle_and_changes_no_state()
    {
        Assert.Contains("has no open handle named 'k'", Rejected("""
            [ { "instr": 100, "pid": 1232, "op": "open_key", "root": "hkcu", "path": "Nope", "status": "STATUS_OBJECT_NAME_NOT_FOUND", "as": "k" },
              { "instr": 200, "pid": 1232, "op": "close", "handle": "k" } ]
            """));
        var sim = Run($"[{Explorer}]", """
            [ { "instr": 100, "pid": 1232, "op": "create_process", "child_pid": 700, "image": "C:\\a.exe", "status": "STATUS_ACCESS_DENIED" } ]
            """);
        Assert.Null(sim.Kernel.FindLive(700));
    }

    [Fact]
    public void Top_level_format_and_process_errors_are_reported()
    {
        Assert.Contains("\"format\" must be 1", Assert.Throws<ScenarioException>(() =>
            Scenario.Parse("""{ "format": 3, "name": "x", "total_instr": 10, "processes": [], "events": [] }""", "f.json")).Message);
        Assert.Contains("not valid JSON", Assert.Throws<ScenarioException>(() => Scenario.Parse("{", "f.json")).Message);
        Assert.Contains("processes[1]: pid 1232 listed twice", Rejected("[]", $"[{Explorer}, {Explorer}]"));
        Assert.Contains("is not before total_instr", Rejected("""[ { "instr": 100, "pid": 1232, "op": "switch" } ]""", total: 100));
    }
}

public class ScenarioLimitTests
{
    [Fact]
    public void Oversized_strings_and_numbers_are_rejected_not_crashed_on()
    {
        var longPath = "\\\\??\\\\C:\\\\" + new string('a', 40000);
        var e = Assert.Throws<ScenarioException>(() => Scenarios.Parse($"[{Scenarios.Explorer}]",
            $$"""[ { "instr": 100, "pid": 1232, "op": "open_file", "path": "{{longPath}}" } ]"""));
        Assert.Contains("event 0 (instr 100, op open_file): 'path' is longer than", e.Message);
        e = Assert.Throws<ScenarioException>(() => Scenarios.Parse($"[{Scenarios.Explorer}]",
            """[ { "instr": 100, "pid": 4294967297, "op": "switch" } ]"""));
        Assert.Contains("does not fit in 32 bits", e.Message);
        e = Assert.Throws<ScenarioException>(() => Scenarios.Parse($"[{Scenarios.Explorer}]",
            """[ { "instr": 100, "pid": 1232, "op": "write_file", "handle": "hkcu", "data": "x" } ]"""));
        Assert.Contains("handle 'hkcu' is a key, not a file", e.Message);
    }
}

/// <summary>Hostile or careless scenarios are refused with a located message, never an unhandled exception or a guest
/// model that writes where it must not.</summary>
public class ScenarioBoundsTests
{
    static string Rejected(string events, string? processes = null, ulong total = 1_000_000_000) =>
        Assert.Throws<ScenarioException>(() => Scenario.Parse(Json(processes ?? $"[{Explorer}]", events, total), "bad.json")).Message;

    [Fact]
    public void A_fractional_or_huge_format_is_a_scenario_error()
    {
        foreach (var format in new[] { "1.5", "1e20" })
            Assert.Contains("\"format\" must be 1", Assert.Throws<ScenarioException>(() => Scenario.Parse(
                $$"""{ "format": {{format}}, "name": "x", "total_instr": 10, "processes": [], "events": [] }""", "f.json")).Message);
    }

    [Fact]
    public void Instr_near_the_top_of_the_range_does_not_wrap_past_total_instr()
    {
        Assert.Contains("is not before total_instr", Rejected("""[ { "instr": 18446744073709551615, "pid": 1232, "op": "switch" } ]"""));
        Assert.Contains("is not before total_instr", Rejected("""[ { "instr": 99, "pid": 1232, "op": "switch" } ]""", total: 100));
        Scenario.Parse(Json($"[{Explorer}]", """[ { "instr": 98, "pid": 1232, "op": "switch" } ]""", 100), "ok.json");
    }

    [Theory]
    [InlineData("read_virtual_memory", "\"size\": 4294967295", "limited to 65536 bytes")]
    [InlineData("read_virtual_memory", "\"size\": \"0x80000000\"", "limited to 65536 bytes")]
    [InlineData("write_virtual_memory", "\"data\": \"0123456789abcdef0123456789abcdef\"", "must stay below the kernel")]
    [InlineData("read_virtual_memory", "\"size\": 32", "must stay below the kernel")]
    public void Virtual_memory_transfers_are_bounded_before_anything_is_allocated_or_written(string op, string field, string expected) =>
        Assert.Contains(expected, Rejected($$"""[ { "instr": 100, "pid": 1232, "op": "{{op}}", "process": "self", "address": "0x7ffffff0", {{field}} } ]"""));

    [Fact]
    public void An_image_path_too_long_for_a_unicode_string_on_the_device_is_refused()
    {
        var image = "C:\\\\" + new string('a', Scenario.MaxStringLength - 4);
        Assert.Contains("event 0 (instr 100, op create_process): path", Rejected(
            $$"""[ { "instr": 100, "pid": 1232, "op": "create_process", "child_pid": 700, "image": "{{image}}" } ]"""));
        Assert.Contains("bad.json: processes[0].image: path", Rejected("[]", $$"""[ { "pid": 8, "image": "{{image}}" } ]"""));
    }

    [Fact]
    public void A_pre_existing_image_off_drive_c_names_the_process_entry()
    {
        Assert.Contains("bad.json: processes[0].image: path 'notepad.exe' is not on drive C:",
            Rejected("[]", """[ { "pid": 8, "image": "notepad.exe" } ]"""));
    }

    [Fact]
    public void Pre_existing_process_handles_take_hex_pids_and_transactions_must_be_true()
    {
        var ok = Scenario.Parse(Json($$"""[ {{Explorer}}, { "pid": 8, "image": "C:\\a.exe", "handles": [ { "as": "e", "process": "0x4d0" } ] } ]""",
            """[ { "instr": 100, "pid": 8, "op": "terminate_process", "process": "e" } ]"""), "ok.json");
        Assert.Single(ok.Events);
        Assert.Contains("bad.json: processes[0].handles[0].transaction: must be true",
            Rejected("[]", """[ { "pid": 8, "image": "C:\\a.exe", "handles": [ { "as": "tx", "transaction": false } ] } ]"""));
    }

    [Fact]
    public void Threads_per_process_are_bounded_so_stacks_stay_in_user_space()
    {
        var events = string.Join(",\n", Enumerable.Range(0, GuestKernel.MaxThreadsPerProcess)
            .Select(i => $$"""{ "instr": {{100 + 10 * i}}, "pid": 1232, "tid": {{5000 + 4 * i}}, "op": "switch" }"""));
        Assert.Contains($"cannot have more than {GuestKernel.MaxThreadsPerProcess} threads", Rejected($"[ {events} ]"));
    }

    [Fact]
    public void Mapped_views_cannot_run_into_kernel_space()
    {
        var events = new List<string> { """{ "instr": 100, "pid": 1232, "op": "create_section", "size": "0x10000000", "as": "s" }""" };
        for (int i = 0; i < 8; i++) events.Add($$"""{ "instr": {{200 + 10 * i}}, "pid": 1232, "op": "map_view_of_section", "section": "s" }""");
        Assert.Contains("event 8 (instr 270, op map_view_of_section): process 1232 has no user address space left",
            Rejected($"[ {string.Join(",\n", events)} ]"));
    }

    [Fact]
    public void A_long_command_line_is_not_overwritten_by_the_image_name_attribute()
    {
        var cmdline = "a.exe " + new string('x', 3000);
        string? seen = null;
        Win7Reader? r = null;
        var sink = new RecordingSink
        {
            OnItem = item =>
            {
                if (item.Kind != "enter" || item.CallNo != 0x5d) return;
                var parameters = r!.U32(item.Cpu.Edx + 8 + 4 * 8);
                seen = r.UnicodeString(parameters + 0x40);
            },
        };
        var sim = new GuestSimulation(Parse($"[{Explorer}]",
            $$"""[ { "instr": 100, "pid": 1232, "op": "create_process", "child_pid": 700, "image": "C:\\a.exe", "cmdline": "{{cmdline}}" } ]"""));
        r = new Win7Reader(sim.Kernel.Memory, sim.Kernel.FindLive(1232)!.Cr3);
        sim.Run(sink);
        Assert.Equal(cmdline, seen);
    }
}
