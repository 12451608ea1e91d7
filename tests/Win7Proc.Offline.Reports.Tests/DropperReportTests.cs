using System.Text;
using System.Text.Json;

namespace Win7Proc.Offline.Reports.Tests;

/// <summary>
/// What an analyst wants from the dropper sample, read from the report model (never from plog entries), with every
/// expected value taken from the dropper's scenario file.
/// </summary>
public class DropperReportTests
{
    const string Sample = "dropper";
    readonly BehaviorReport _report = BehaviorReport.Build(SampleLogs.Log(Sample), ReportFilter.All, SampleLogs.InputName(Sample));
    readonly List<JsonElement> _events = SampleLogs.Scenario(Sample).GetProperty("events").EnumerateArray().ToList();

    JsonElement Event(string op, int nth = 0) => _events.Where(e => e.GetProperty("op").GetString() == op).ElementAt(nth);
    static string S(JsonElement e, string field) => e.GetProperty(field).GetString()!;
    static uint Pid(JsonElement e, string field = "pid") => e.GetProperty(field).GetUInt32();

    ProcessBehavior Only(uint pid, string name) =>
        Assert.Single(_report.Processes, p => p.Process.Pid == pid && p.Process.Name == name);

    [Fact]
    public void Names_the_dropped_file_and_its_writer()
    {
        var create = Event("create_file");
        var write = Event("write_file");
        var writer = Only(Pid(create), "invoice.exe");
        var dropped = Assert.Single(writer.Files, f => f.Path == SampleLogs.Win32(S(create, "path")));
        Assert.True(dropped.Created);
        Assert.Equal(1, dropped.Writes);
        Assert.Equal((ulong)Encoding.UTF8.GetByteCount(S(write, "data")), dropped.BytesWritten);
        Assert.Contains(dropped.Path, _report.WriteFiles);
    }

    [Fact]
    public void Names_the_run_value_and_its_data()
    {
        var open = Event("open_key");
        var set = Event("set_value_key");
        var setter = Assert.Single(_report.Processes, p => p.Process.Pid == Pid(set) && p.ValuesSet.Count > 0);
        var value = Assert.Single(setter.ValuesSet);
        Assert.Equal(S(set, "value"), value.Name);
        Assert.Equal(1u, value.Type); // REG_SZ
        Assert.Equal(S(set, "data"), value.Data);
        // \REGISTRY\USER\<sid>\... as Procmon shows it (the kernel keeps key names upper-cased).
        Assert.Equal(S(open, "path").Replace(@"\REGISTRY\USER", "HKU", StringComparison.Ordinal), value.Key, ignoreCase: true);
        Assert.Contains(_report.WriteKeys, k => string.Equals(k, value.Key + "\\" + value.Name, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Names_the_injected_process()
    {
        var open = Event("open_process");
        var write = Event("write_virtual_memory");
        var injector = Assert.Single(_report.Processes, p => p.Process.Pid == Pid(write) && p.Memory.Count > 0);
        var access = Assert.Single(injector.Memory);
        Assert.Equal("write", access.How);
        Assert.Equal(Pid(open, "target_pid"), access.Target.Pid);
        Assert.Equal("explorer.exe", access.Target.Name);
        Assert.Equal(Convert.ToUInt32(S(write, "address"), 16), access.Address);
        Assert.Contains(injector.Opened, o => o.Target == access.Target);
    }

    [Fact]
    public void Names_the_alpc_endpoint_and_its_server()
    {
        var serve = Event("alpc_create_port");
        var connect = Event("alpc_connect_port");
        var client = Assert.Single(_report.Processes, p => p.Process.Pid == Pid(connect) && p.Ports.Count > 0);
        var connection = Assert.Single(client.Ports, p => p.Role == "connected");
        Assert.Equal(S(connect, "name"), connection.Name);
        Assert.Equal(Pid(serve), connection.Peer?.Pid);
        var server = Assert.Single(_report.Processes, p => p.Process.Pid == Pid(serve));
        Assert.Contains(server.Ports, p => p.Role == "served" && p.Name == S(serve, "name"));
    }

    [Fact]
    public void Names_the_deleted_original_and_who_deleted_it()
    {
        var open = Event("open_file");
        var dispose = Event("set_disposition_file");
        var original = SampleLogs.Win32(S(open, "path"));
        Assert.Contains(original, _report.DeleteFiles);
        var deleter = Assert.Single(_report.Processes, p => p.Files.Any(f => f.DeletedBy is not null));
        Assert.Equal(Pid(dispose), deleter.Process.Pid);
        var file = Assert.Single(deleter.Files, f => f.DeletedBy is not null);
        Assert.Equal(original, file.Path);
        Assert.Equal("FileDispositionInformation", file.DeletedBy);
        // The image of the process that was deleted is the original invoice.exe's.
        Assert.Contains(_report.Processes, p => p.Process.Name == "invoice.exe" && _report.Paths.File(p.Process.ImagePath) == original);
    }

    [Fact]
    public void The_reused_pid_is_two_instances()
    {
        var first = Event("create_process", 1);
        var second = Event("create_process", 2);
        Assert.Equal(Pid(first, "child_pid"), Pid(second, "child_pid"));
        var reused = _report.Processes.Where(p => p.Process.Pid == Pid(first, "child_pid")).Select(p => p.Process).ToList();
        Assert.Equal(2, reused.Count);
        Assert.NotEqual(reused[0].Instance, reused[1].Instance);
        Assert.Equal(SampleLogs.Win32(S(first, "image")), _report.Paths.File(reused[0].ImagePath), ignoreCase: true);
        Assert.Equal(SampleLogs.Win32(S(second, "image")), _report.Paths.File(reused[1].ImagePath), ignoreCase: true);
        Assert.Equal(first.GetProperty("instr").GetUInt64(), reused[0].Birth);
        Assert.Equal(second.GetProperty("instr").GetUInt64(), reused[1].Birth);
        Assert.True(reused[0].Death < reused[1].Birth);
        Assert.Equal(Pid(first), reused[0].Parent?.Pid);
        Assert.Equal(Pid(second), reused[1].Parent?.Pid);
        // CAPE's shape keeps them apart too: two processes[] entries with that process_id, different instances.
        using var json = JsonDocument.Parse(ReportJsonRenderer.Render(_report));
        var entries = json.RootElement.GetProperty("behavior").GetProperty("processes").EnumerateArray()
            .Where(p => p.GetProperty("process_id").GetUInt32() == reused[0].Pid).ToList();
        Assert.Equal(2, entries.Count);
        Assert.Equal(["svchost.exe", "mspaint.exe"], entries.Select(e => e.GetProperty("process_name").GetString()));
        Assert.NotEqual(entries[0].GetProperty("instance_instr").GetUInt64(), entries[1].GetProperty("instance_instr").GetUInt64());
    }

    [Fact]
    public void Json_is_capes_shape_with_our_number_conventions()
    {
        using var json = JsonDocument.Parse(ReportJsonRenderer.Render(_report));
        var behavior = json.RootElement.GetProperty("behavior");
        var summary = behavior.GetProperty("summary");
        foreach (var key in new[] { "files", "read_files", "write_files", "delete_files", "keys", "read_keys", "write_keys", "delete_keys", "executed_commands" })
            Assert.Equal(JsonValueKind.Array, summary.GetProperty(key).ValueKind);
        Assert.False(summary.TryGetProperty("mutexes", out _)); // not watched: left out, not faked empty
        Assert.Contains(summary.GetProperty("executed_commands").EnumerateArray(), c => c.GetString() == S(Event("create_process", 1), "cmdline"));
        var tree = behavior.GetProperty("processtree");
        var explorer = Assert.Single(tree.EnumerateArray(), n => n.GetProperty("pid").GetUInt32() == 1232);
        var invoice = Assert.Single(explorer.GetProperty("children").EnumerateArray(), n => n.GetProperty("name").GetString() == "invoice.exe");
        Assert.Single(invoice.GetProperty("children").EnumerateArray(), n => n.GetProperty("pid").GetUInt32() == 2600);
        var process = behavior.GetProperty("processes").EnumerateArray().First(p => p.GetProperty("process_name").GetString() == "invoice.exe");
        Assert.Equal(JsonValueKind.Number, process.GetProperty("birth_instr").ValueKind);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$", process.GetProperty("first_seen").GetString());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT", process.GetProperty("create_time").GetString());
        var memory = summary.GetProperty("cross_process_memory")[0];
        Assert.Matches("^0x[0-9a-f]{8}$", memory.GetProperty("address").GetString());
    }
}
