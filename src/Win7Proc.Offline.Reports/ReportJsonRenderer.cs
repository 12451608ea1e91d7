using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Win7Proc.Offline.Reports;

/// <summary>
/// The report in CAPE's shape (CAPEv2 modules/processing/behavior.py: Processes, ProcessTree, Summary), so sandbox
/// scripts work unchanged: <c>behavior.processes[]</c>, <c>behavior.processtree</c>, <c>behavior.summary</c>, plus
/// our own keys for what CAPE has no name for. Mutexes and services are left out: the trace does not watch them.
/// Numbers: JSON numbers where exact in a double (instructions, pids, sizes), else strings; FILETIMEs as ISO-8601
/// strings; addresses and ids as "0x" strings; snake_case keys. docs/reports.md is the schema.
/// </summary>
public static class ReportJsonRenderer
{
    public const int SchemaVersion = 1;
    /// <summary>2^53: integers up to this are exact in a double.</summary>
    const ulong MaxExactInteger = 1UL << 53;

    public static string Render(BehaviorReport report)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions
               {
                   Indented = true,
                   Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // paths keep their backslashes readable; still valid JSON
               }))
        {
            Write(json, report);
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    static void Write(Utf8JsonWriter json, BehaviorReport report)
    {
        json.WriteStartObject();
        json.WriteStartObject("info");
        json.WriteString("tool", "win7proc-offline");
        json.WriteNumber("schema_version", SchemaVersion);
        json.WriteString("input", Path.GetFileName(report.Input));
        Number(json, "total_instr", report.MaxInstr);
        json.WriteString("time_source", report.Clock.Source);
        json.WriteStartObject("filter");
        if (report.Filter.Pid is uint pid) json.WriteNumber("pid", pid);
        if (report.Filter.ProcessName is { } name) json.WriteString("process", name);
        if (report.Filter.From is ulong from) Number(json, "from_instr", from);
        if (report.Filter.To is ulong to) Number(json, "to_instr", to);
        json.WriteBoolean("hide_system", report.Filter.Hide is not null);
        json.WriteEndObject();
        json.WriteEndObject();

        json.WriteStartObject("behavior");
        json.WriteStartArray("processes");
        foreach (var p in report.Processes) WriteProcess(json, report, p);
        json.WriteEndArray();

        json.WriteStartArray("processtree");
        var visiting = new HashSet<ProcessBehavior>();
        foreach (var root in report.Roots) WriteTreeNode(json, report, root, visiting, depth: 0);
        json.WriteEndArray();

        json.WriteStartObject("summary");
        Strings(json, "files", report.AllFiles);
        Strings(json, "read_files", report.ReadFiles);
        Strings(json, "write_files", report.WriteFiles);
        Strings(json, "delete_files", report.DeleteFiles);
        Strings(json, "keys", report.AllKeys);
        Strings(json, "read_keys", report.ReadKeys);
        Strings(json, "write_keys", report.WriteKeys);
        Strings(json, "delete_keys", report.DeleteKeys);
        Strings(json, "executed_commands", report.ExecutedCommands);
        // Ours: what CAPE has no name for.
        json.WriteStartArray("sections");
        foreach (var p in report.Processes)
            foreach (var s in p.Sections) WriteSection(json, p.Process, s);
        json.WriteEndArray();
        json.WriteStartArray("ports");
        foreach (var p in report.Processes)
            foreach (var port in p.Ports) WritePort(json, p.Process, port);
        json.WriteEndArray();
        json.WriteStartArray("cross_process_memory");
        foreach (var p in report.Processes)
            foreach (var m in p.Memory) WriteMemory(json, p.Process, m);
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndObject();
    }

    static void WriteProcess(Utf8JsonWriter json, BehaviorReport report, ProcessBehavior b)
    {
        var p = b.Process;
        var paths = report.Paths;
        json.WriteStartObject();
        json.WriteNumber("process_id", p.Pid);
        if (ParentPid(p) is uint parentId) json.WriteNumber("parent_id", parentId); else json.WriteNull("parent_id");
        json.WriteString("process_name", p.ImageFileName);
        json.WriteString("module_path", paths.File(p.ImagePath ?? p.Name));
        json.WriteString("first_seen", report.Clock.IsoAt(p.Birth ?? p.FirstSeen));
        json.WriteStartObject("environ");
        Nullable(json, "CommandLine", p.CommandLine); // null: a process already running when the recording began
        json.WriteEndObject();
        // --- ours ---
        json.WriteString("eprocess_name", p.Name);
        Nullable(json, "command_line", p.CommandLine);
        Number(json, "instance_instr", p.Instance);
        if (p.Birth is ulong birth) Number(json, "birth_instr", birth); else json.WriteNull("birth_instr");
        if (p.Death is ulong death) Number(json, "death_instr", death); else json.WriteNull("death_instr");
        if (p.CreateTime is ulong ct) json.WriteString("create_time", GuestClock.Iso(GuestClock.FileTimeToUtc(ct))); else json.WriteNull("create_time");
        if (p.ExitStatus is uint exit) json.WriteString("exit_status", Hex(exit)); else json.WriteNull("exit_status");
        if (p.TerminatedBy is { } killer) Ref(json, "terminated_by", killer);
        if (p.Parent is { } parent) Ref(json, "parent", parent);

        json.WriteStartArray("files");
        foreach (var f in b.Files)
        {
            json.WriteStartObject();
            json.WriteString("path", f.Path);
            json.WriteBoolean("created", f.Created);
            json.WriteBoolean("opened", f.Opened);
            json.WriteNumber("reads", f.Reads);
            Number(json, "bytes_read", f.BytesRead);
            json.WriteNumber("writes", f.Writes);
            Number(json, "bytes_written", f.BytesWritten);
            Strings(json, "renamed_to", f.RenamedTo);
            if (f.DeletedBy is { } how) json.WriteString("deleted_by", how); else json.WriteNull("deleted_by");
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteStartArray("keys");
        foreach (var k in b.Keys)
        {
            json.WriteStartObject();
            json.WriteString("path", k.Path);
            json.WriteBoolean("created", k.Created);
            json.WriteBoolean("opened", k.Opened);
            json.WriteBoolean("queried", k.Queried);
            json.WriteBoolean("enumerated", k.Enumerated);
            json.WriteBoolean("deleted", k.Deleted);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteStartArray("values_set");
        foreach (var v in b.ValuesSet)
        {
            json.WriteStartObject();
            json.WriteString("key", v.Key);
            json.WriteString("name", v.Name);
            if (v.Type is uint t) json.WriteString("type", ProcmonNames.TypeName(t)); else json.WriteNull("type");
            json.WritePropertyName("data");
            Data(json, v.Data);
            if (v.Size is uint size) json.WriteNumber("size", size); else json.WriteNull("size");
            Number(json, "instr", v.Instr);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        ValueNames(json, "values_queried", b.ValuesQueried);
        ValueNames(json, "values_deleted", b.ValuesDeleted);
        json.WriteStartArray("sections");
        foreach (var s in b.Sections) WriteSection(json, null, s);
        json.WriteEndArray();
        json.WriteStartArray("ports");
        foreach (var port in b.Ports) WritePort(json, null, port);
        json.WriteEndArray();
        json.WriteStartArray("cross_process_memory");
        foreach (var m in b.Memory) WriteMemory(json, null, m);
        json.WriteEndArray();
        Links(json, "processes_created", b.Created);
        Links(json, "processes_opened", b.Opened);
        Links(json, "processes_terminated", b.Terminated);
        json.WriteStartObject("failed_calls");
        foreach (var (status, count) in b.FailedCalls) json.WriteNumber(status, count);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    static uint? ParentPid(ReportProcess p) => p.Parent?.Pid ?? p.Ppid;

    static void WriteTreeNode(Utf8JsonWriter json, BehaviorReport report, ProcessBehavior b, HashSet<ProcessBehavior> visiting, int depth)
    {
        var p = b.Process;
        json.WriteStartObject();
        json.WriteString("name", p.ImageFileName);
        json.WriteNumber("pid", p.Pid);
        if (ParentPid(p) is uint parentId) json.WriteNumber("parent_id", parentId); else json.WriteNull("parent_id");
        json.WriteString("module_path", report.Paths.File(p.ImagePath ?? p.Name));
        json.WriteStartObject("environ");
        Nullable(json, "CommandLine", p.CommandLine);
        json.WriteEndObject();
        Number(json, "instance_instr", p.Instance);
        json.WriteStartArray("children");
        // Bounded depth: Utf8JsonWriter refuses more than 1000 levels, and a hostile log can nest without end.
        if (visiting.Add(b) && depth < 200)
            foreach (var child in report.ChildrenOf(b)) WriteTreeNode(json, report, child, visiting, depth + 1);
        json.WriteEndArray();
        json.WriteEndObject();
    }

    static void WriteSection(Utf8JsonWriter json, ReportProcess? by, SectionUse s)
    {
        json.WriteStartObject();
        if (by is not null) Ref(json, "process", by);
        json.WriteString("operation", s.How);
        Nullable(json, "name", s.Name);
        Nullable(json, "file", s.File);
        if (s.SectionId is uint id) json.WriteString("section_id", Hex(id)); else json.WriteNull("section_id");
        if (s.Target is { } target) Ref(json, "target", target);
        if (s.BaseAddress is uint at) json.WriteString("base_address", Hex(at));
        if (s.ViewSize is uint size) json.WriteNumber("view_size", size);
        Number(json, "instr", s.Instr);
        json.WriteEndObject();
    }

    static void WritePort(Utf8JsonWriter json, ReportProcess? by, PortUse port)
    {
        json.WriteStartObject();
        if (by is not null) Ref(json, "process", by);
        json.WriteString("role", port.Role);
        Nullable(json, "name", port.Name);
        if (port.Peer is { } peer) Ref(json, "peer", peer); else json.WriteNull("peer");
        Number(json, "instr", port.Instr);
        json.WriteEndObject();
    }

    static void WriteMemory(Utf8JsonWriter json, ReportProcess? by, MemoryAccess m)
    {
        json.WriteStartObject();
        if (by is not null) Ref(json, "process", by);
        json.WriteString("operation", m.How);
        Ref(json, "target", m.Target);
        if (m.Address is uint at) json.WriteString("address", Hex(at)); else json.WriteNull("address");
        if (m.Bytes is ulong n) Number(json, "bytes", n); else json.WriteNull("bytes");
        Number(json, "instr", m.Instr);
        json.WriteEndObject();
    }

    static void Links(Utf8JsonWriter json, string name, List<ProcessLink> links)
    {
        json.WriteStartArray(name);
        foreach (var link in links)
        {
            json.WriteStartObject();
            json.WriteNumber("process_id", link.Target.Pid);
            Number(json, "instance_instr", link.Target.Instance);
            json.WriteString("process_name", link.Target.ImageFileName);
            if (link.CommandLine is { } cmd) json.WriteString("command_line", cmd);
            Number(json, "instr", link.Instr);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    static void ValueNames(Utf8JsonWriter json, string name, List<ValueName> values)
    {
        json.WriteStartArray(name);
        foreach (var v in values)
        {
            json.WriteStartObject();
            json.WriteString("key", v.Key);
            json.WriteString("name", v.Name);
            Number(json, "instr", v.Instr);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    /// <summary>A reference to a process instance: pid + instance_instr (+ name).</summary>
    static void Ref(Utf8JsonWriter json, string name, ReportProcess p)
    {
        json.WriteStartObject(name);
        json.WriteNumber("process_id", p.Pid);
        Number(json, "instance_instr", p.Instance);
        json.WriteString("process_name", p.ImageFileName);
        json.WriteEndObject();
    }

    static void Data(Utf8JsonWriter json, object data)
    {
        switch (data)
        {
            case string s: json.WriteStringValue(s); break;
            case string[] parts:
                json.WriteStartArray();
                foreach (var part in parts) json.WriteStringValue(part);
                json.WriteEndArray();
                break;
            case ulong n when n <= MaxExactInteger: json.WriteNumberValue(n); break;
            case ulong n: json.WriteStringValue(n.ToString(CultureInfo.InvariantCulture)); break;
            default: json.WriteStringValue(data.ToString()); break; // binary: hex digits
        }
    }

    static void Strings(Utf8JsonWriter json, string name, IEnumerable<string> items)
    {
        json.WriteStartArray(name);
        foreach (var item in items) json.WriteStringValue(item);
        json.WriteEndArray();
    }

    static void Nullable(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null) json.WriteNull(name); else json.WriteString(name, value);
    }

    /// <summary>A count or instruction number: a JSON number when exact in a double, else a decimal string.</summary>
    internal static void Number(Utf8JsonWriter json, string name, ulong value)
    {
        if (value <= MaxExactInteger) json.WriteNumber(name, value);
        else json.WriteString(name, value.ToString(CultureInfo.InvariantCulture));
    }

    internal static string Hex(uint value) => "0x" + value.ToString("x8", CultureInfo.InvariantCulture);
}
