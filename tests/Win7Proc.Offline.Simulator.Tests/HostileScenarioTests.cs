using System.Runtime.CompilerServices;
using Win7Proc.Offline.Simulator.Guest;
using static Win7Proc.Offline.Simulator.Tests.Scenarios;

namespace Win7Proc.Offline.Simulator.Tests;

/// <summary>Regression tests for the hostile scenarios of issue 14, named after the failure each one found.
/// hostile/*.json are the campaign's inputs.</summary>
public class HostileScenarioTests
{
    static string Data(string name, [CallerFilePath] string here = "") => Path.Combine(Path.GetDirectoryName(here)!, "hostile", name);

    static ScenarioException Rejected(string json)
    {
        var e = Assert.Throws<ScenarioException>(() => Scenario.Parse(json, "bad.json"));
        Assert.StartsWith("bad.json: ", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    [Theory]
    [InlineData("scenario-lone-surrogate-min.json", "scenario-lone-surrogate-min.json: name: not valid text")]
    [InlineData("scenario-lone-surrogate-name.json", "scenario-lone-surrogate-name.json: name: not valid text")]
    public void Lone_surrogate_in_scenario_string_is_a_scenario_error_not_a_stack_trace(string file, string expected)
    {
        // Was: InvalidOperationException from JsonElement.GetString(), exit 1 with a stack trace.
        var e = Assert.Throws<ScenarioException>(() => Scenario.Load(Data(file)));
        Assert.EndsWith(expected + " (a lone UTF-16 surrogate, \\uD800..\\uDFFF without its pair)", e.Message);
    }

    /// <summary>Found by SharpFuzz (fuzz/sharpfuzz.sh scenario): once scenarios were parsed from their UTF-8 bytes, an
    /// invalid UTF-8 byte inside a string reached JsonElement.GetString(): exit 1 with a stack trace.</summary>
    [Fact]
    public void Invalid_utf8_in_a_scenario_file_is_a_scenario_error_naming_the_byte()
    {
        var json = System.Text.Encoding.UTF8.GetBytes(Json("[]", "[]"));
        int at = Array.IndexOf(json, (byte)'t', Array.IndexOf(json, (byte)'n') + 8); // inside "test", the name
        json[at] = 0xF3; // a 4-byte lead with no continuation bytes
        var e = Assert.Throws<ScenarioException>(() => Scenario.Parse(json, "bad.json"));
        Assert.Equal($"bad.json: not valid UTF-8 text at byte {at}", e.Message);
    }

    [Fact]
    public void Scenario_file_with_a_utf8_byte_order_mark_still_reads()
    {
        var json = System.Text.Encoding.UTF8.GetBytes(Json("[]", "[]"));
        Assert.Equal("test", Scenario.Parse([0xEF, 0xBB, 0xBF, .. json], "bom.json").Name);
    }

    const string Notepad = """{ "pid": 2100, "ppid": 1232, "image": "C:\\Windows\\notepad.exe" }""";

    [Theory]
    [InlineData("image", """[ { "pid": 2100, "image": "C:\\x\ud800.exe" } ]""", "[]", "processes[0].image")]
    [InlineData("cmdline", """[ { "pid": 2100, "image": "C:\\x.exe", "cmdline": "\udfff" } ]""", "[]", "processes[0].cmdline")]
    [InlineData("handle as", """[ { "pid": 2100, "image": "C:\\x.exe", "handles": [ { "as": "\ud801", "file": "\\??\\C:\\x" } ] } ]""", "[]", "processes[0].handles[0].as")]
    [InlineData("path", "[" + Notepad + "]", """[ { "instr": 100, "pid": 2100, "op": "open_key", "path": "\\REGISTRY\\\udc00" } ]""", "event 0.path")]
    [InlineData("data", "[" + Notepad + "]", """[ { "instr": 100, "pid": 2100, "op": "create_file", "path": "\\??\\C:\\a", "as": "f" }, { "instr": 200, "pid": 2100, "op": "write_file", "handle": "f", "data": "ab\ud800" } ]""", "event 1.data")]
    [InlineData("value", "[" + Notepad + "]", """[ { "instr": 100, "pid": 2100, "op": "query_value_key", "handle": "k", "value": "\ud83d" } ]""", "event 0.value")]
    [InlineData("as", "[" + Notepad + "]", """[ { "instr": 100, "pid": 2100, "op": "open_key", "path": "\\REGISTRY\\MACHINE", "as": "\ude00" } ]""", "event 0.as")]
    [InlineData("field name", "[" + Notepad + "]", """[ { "instr": 100, "pid": 2100, "op": "switch", "\ud800": 1 } ]""", "event 0: a field name is not valid text")]
    public void Lone_surrogate_in_any_scenario_string_names_the_field(string what, string processes, string events, string expected)
    {
        var e = Rejected(Json(processes, events));
        Assert.Contains($"bad.json: {expected}", e.Message);
        Assert.Contains("lone UTF-16 surrogate", e.Message);
        Assert.False(string.IsNullOrEmpty(what));
    }

    [Fact]
    public void Well_paired_surrogates_are_text()
    {
        // U+1F600 as a surrogate pair escape: valid, and kept.
        var scenario = Scenario.Parse(Json("""[ { "pid": 2100, "image": "C:\\\ud83d\ude00.exe" } ]""", "[]"), "ok.json");
        Assert.Equal("C:\\\U0001F600.exe", scenario.Processes[0].Image);
    }

    [Fact]
    public void Self_as_a_listed_handle_name_is_refused()
    {
        // Was accepted although samples/README.md says "self" is never an `as` name (it is the pseudo-handle -1).
        var e = Rejected(Json("""[ { "pid": 2100, "image": "C:\\x.exe", "handles": [ { "as": "self", "file": "\\??\\C:\\x" } ] } ]""", "[]"));
        Assert.Contains("processes[0].handles[0].as: \"self\" names the current-process pseudo-handle", e.Message);
    }

    [Fact]
    public void Simulate_of_100000_listed_processes_is_refused_at_the_bound_naming_file_and_process()
    {
        // Was: 1.2 GB peak, then "guest page allocator exhausted (4096 bytes requested)" naming no file or process.
        var processes = string.Join(",", Enumerable.Range(0, 100_000).Select(i => $$"""{ "pid": {{8 + 4 * i}}, "image": "C:\\p{{i}}.exe" }"""));
        var e = Rejected(Json($"[{processes}]", "[]"));
        Assert.Contains($"bad.json: processes[{Scenario.MaxListedProcesses}]: more than {Scenario.MaxListedProcesses} listed processes", e.Message);
    }

    // 100,000 *created* processes (create_process events) reach GuestMemory.MaxPages after about 20,000 of them; that
    // run takes over a minute, so it is checked with its peak memory by the bounds property (fuzz/, `bounds`), not here.

    [Fact]
    public void Listed_handles_per_process_are_bounded()
    {
        var handles = string.Join(",", Enumerable.Range(0, Scenario.MaxListedHandlesPerProcess + 1).Select(i => $$"""{ "as": "h{{i}}", "transaction": true }"""));
        var e = Rejected(Json($$"""[ { "pid": 2100, "image": "C:\\x.exe", "handles": [{{handles}}] } ]""", "[]"));
        Assert.Contains($"processes[0].handles[{Scenario.MaxListedHandlesPerProcess}]: more than {Scenario.MaxListedHandlesPerProcess} handles", e.Message);
    }

    [Fact]
    public void Guest_memory_refuses_the_page_past_its_bound()
    {
        var memory = new GuestMemory();
        for (uint i = 0; i < GuestMemory.MaxPages; i++) memory.Map(0x1000, i * GuestMemory.PageSize);
        var e = Assert.Throws<ScenarioException>(() => memory.Map(0x1000, (uint)GuestMemory.MaxPages * GuestMemory.PageSize));
        Assert.Contains($"memory is full ({GuestMemory.MaxPages} pages of 4 KiB, {GuestMemory.MaxPages / 256} MiB", e.Message);
        Assert.Equal(GuestMemory.MaxPages, memory.PageCount);
    }
}
