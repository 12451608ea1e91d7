using System.Globalization;
using System.Text.Json;

namespace Win7Proc.Offline.Analyzer.Tests.Samples;

/// <summary>One thing a scenario says happened, as the plog must show it.</summary>
/// <param name="Kind">The LogEntry field that records it (nt_create_file, ...).</param>
/// <param name="Name">The full object name (file device path, key path, section/port name), when the event names one.</param>
/// <param name="TargetPid">The other process (created, terminated, opened, written to, mapped into), when there is one.</param>
sealed record ExpectedFact(ulong Instr, uint Pid, string Kind, bool Succeeds, string? Name = null, uint? TargetPid = null,
    string? Image = null, string? CommandLine = null, string? SecondName = null, string? Description = null)
{
    public override string ToString() => Description ?? $"{Kind} by {Pid} at {Instr}";
}

/// <summary>
/// Reads a scenario JSON with System.Text.Json alone (not through the simulator's model) and derives the facts its
/// events imply: handles named by "as" are followed, relative names joined to their root, \??\C: is the disk volume
/// \Device\HarddiskVolume2 (the scenario format's one drive, samples/README.md).
/// </summary>
sealed class ScenarioFacts
{
    public const string Volume = @"\Device\HarddiskVolume2";

    public ulong TotalInstr { get; }
    public HashSet<uint> KnownPids { get; } = [];
    /// <summary>Each process life: from instr (0 = before the recording) with its parent.</summary>
    public List<(ulong Instr, uint Pid, uint ParentPid)> Births { get; } = [];

    /// <summary>The parent of the process that has <paramref name="pid"/> at <paramref name="instr"/>, per the scenario.</summary>
    public uint? ParentAt(uint pid, ulong instr) =>
        Births.Where(b => b.Pid == pid && b.Instr <= instr).OrderBy(b => b.Instr).Select(b => (uint?)b.ParentPid).LastOrDefault();
    public List<ExpectedFact> Facts { get; } = [];
    /// <summary>Kinds of entry the scenario's events produce, with how many (for "nothing extra" checks).</summary>
    public Dictionary<string, int> CountByKind { get; } = new();

    // What a handle alias designates: an object name or a process.
    readonly Dictionary<string, string> _names = new(StringComparer.Ordinal);
    readonly Dictionary<string, uint> _processes = new(StringComparer.Ordinal);
    // File handles opened with FILE_DELETE_ON_CLOSE: their close deletes the file (one handle per alias here).
    readonly HashSet<string> _deleteOnClose = new(StringComparer.Ordinal);

    static readonly Dictionary<string, string> KindByOp = new()
    {
        ["create_process"] = "nt_create_user_process", ["terminate_process"] = "nt_terminate_process",
        ["open_process"] = "nt_open_process",
        ["create_file"] = "nt_create_file", ["open_file"] = "nt_open_file", ["read_file"] = "nt_read_file",
        ["write_file"] = "nt_write_file", ["delete_file"] = "nt_delete_file", ["rename_file"] = "nt_set_information_file",
        ["set_disposition_file"] = "file_disposition",
        ["create_key"] = "nt_create_key", ["open_key"] = "nt_open_key", ["open_key_ex"] = "nt_open_key_ex",
        ["create_key_transacted"] = "nt_create_key_transacted", ["open_key_transacted"] = "nt_open_key_transacted",
        ["delete_key"] = "nt_delete_key", ["query_key"] = "nt_query_key", ["query_value_key"] = "nt_query_value_key",
        ["delete_value_key"] = "nt_delete_value_key", ["enumerate_key"] = "nt_enumerate_key",
        ["enumerate_value_key"] = "nt_enumerate_value_key", ["set_value_key"] = "nt_set_value_key",
        ["create_section"] = "nt_create_section", ["open_section"] = "nt_open_section",
        ["map_view_of_section"] = "nt_map_view_of_section",
        ["create_port"] = "nt_create_port", ["connect_port"] = "nt_connect_port", ["listen_port"] = "nt_listen_port",
        ["accept_connect_port"] = "nt_accept_connect_port", ["complete_connect_port"] = "nt_complete_connect_port",
        ["request_port"] = "nt_request_port", ["request_wait_reply_port"] = "nt_request_wait_reply_port",
        ["reply_port"] = "nt_reply_port", ["reply_wait_reply_port"] = "nt_reply_wait_reply_port",
        ["reply_wait_receive_port"] = "nt_reply_wait_receive_port",
        ["impersonate_client_of_port"] = "nt_impersonate_client_of_port",
        ["alpc_create_port"] = "nt_alpc_create_port", ["alpc_connect_port"] = "nt_alpc_connect_port",
        ["alpc_send_wait_receive_port"] = "nt_alpc_send_wait_receive_port",
        ["read_virtual_memory"] = "nt_read_virtual_memory", ["write_virtual_memory"] = "nt_write_virtual_memory",
    };

    // NTSTATUS values of the names scenarios use (WINE include/ntstatus.h); only the severity matters here.
    static readonly Dictionary<string, uint> StatusByName = new()
    {
        ["STATUS_SUCCESS"] = 0, ["STATUS_PENDING"] = 0x103, ["STATUS_OBJECT_NAME_EXISTS"] = 0x40000000,
        ["STATUS_BUFFER_OVERFLOW"] = 0x80000005, ["STATUS_NO_MORE_FILES"] = 0x80000006, ["STATUS_NO_MORE_ENTRIES"] = 0x8000001A,
        ["STATUS_INVALID_HANDLE"] = 0xC0000008, ["STATUS_INVALID_PARAMETER"] = 0xC000000D, ["STATUS_ACCESS_DENIED"] = 0xC0000022,
        ["STATUS_OBJECT_NAME_NOT_FOUND"] = 0xC0000034, ["STATUS_OBJECT_NAME_COLLISION"] = 0xC0000035,
        ["STATUS_OBJECT_PATH_NOT_FOUND"] = 0xC000003A, ["STATUS_SHARING_VIOLATION"] = 0xC0000043,
        ["STATUS_PORT_CONNECTION_REFUSED"] = 0xC0000041, ["STATUS_KEY_DELETED"] = 0xC000017C,
    };

    public ScenarioFacts(string scenarioPath)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(scenarioPath));
        var root = doc.RootElement;
        TotalInstr = root.GetProperty("total_instr").GetUInt64();
        foreach (var process in root.GetProperty("processes").EnumerateArray())
        {
            KnownPids.Add(process.GetProperty("pid").GetUInt32());
            Births.Add((0, process.GetProperty("pid").GetUInt32(), process.GetProperty("ppid").GetUInt32()));
            if (!process.TryGetProperty("handles", out var handles)) continue;
            foreach (var handle in handles.EnumerateArray())
            {
                var alias = handle.GetProperty("as").GetString()!;
                foreach (var property in handle.EnumerateObject())
                    if (property.Name != "as" && property.Value.ValueKind == JsonValueKind.String)
                        _names[alias] = Canonical(property.Value.GetString()!);
            }
        }
        foreach (var e in root.GetProperty("events").EnumerateArray()) Add(e);
    }

    static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    static uint? Number(JsonElement e, string name)
    {
        if (!e.TryGetProperty(name, out var v)) return null;
        if (v.ValueKind == JsonValueKind.Number) return v.GetUInt32();
        var s = v.GetString()!;
        return s.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? uint.Parse(s[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture) : uint.Parse(s, CultureInfo.InvariantCulture);
    }

    static bool Succeeds(JsonElement e)
    {
        var s = Text(e, "status");
        if (s is null) return true;
        uint status = s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? uint.Parse(s[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture)
            : StatusByName.TryGetValue(s, out var v) ? v : throw new InvalidOperationException($"status name {s} unknown to the test");
        return (int)status >= 0;
    }

    /// <summary>A name as the plog should spell it, up to case: \??\C: → the volume device.</summary>
    public static string Canonical(string name) =>
        name.StartsWith(@"\??\C:", StringComparison.OrdinalIgnoreCase) ? Volume + name[6..]
        : name.StartsWith("C:", StringComparison.OrdinalIgnoreCase) ? Volume + name[2..]
        : name;

    string Resolve(JsonElement e, string pathField)
    {
        var path = Text(e, pathField)!;
        if (Text(e, "root") is { } root) return _names[root].TrimEnd('\\') + "\\" + path;
        return Canonical(path);
    }

    uint ProcessOf(JsonElement e, string field, uint self)
    {
        var alias = Text(e, field);
        return alias is null or "self" ? self : _processes[alias];
    }

    void Add(JsonElement e)
    {
        var op = Text(e, "op")!;
        ulong instr = e.GetProperty("instr").GetUInt64();
        uint pid = e.GetProperty("pid").GetUInt32();
        KnownPids.Add(pid);
        bool ok = Succeeds(e);
        var alias = Text(e, "as");
        ExpectedFact? fact = null;
        string describe = $"{op} by pid {pid} at instr {instr}";
        switch (op)
        {
            case "create_process":
                uint child = Number(e, "child_pid")!.Value;
                KnownPids.Add(child);
                if (ok) Births.Add((instr, child, pid));
                if (alias is not null) _processes[alias] = child;
                fact = new(instr, pid, KindByOp[op], ok, TargetPid: child, Image: Text(e, "image"), CommandLine: Text(e, "cmdline"));
                break;
            case "terminate_process":
                fact = new(instr, pid, KindByOp[op], ok, TargetPid: ProcessOf(e, "process", pid));
                break;
            case "open_process":
                uint target = Number(e, "target_pid")!.Value;
                if (alias is not null) _processes[alias] = target;
                fact = new(instr, pid, KindByOp[op], ok, TargetPid: target);
                break;
            case "duplicate_object":
                var source = Text(e, "handle")!;
                if (alias is not null && _processes.TryGetValue(source, out var p)) _processes[alias] = p;
                if (alias is not null && _names.TryGetValue(source, out var n)) _names[alias] = n;
                break;
            case "create_file" or "open_file" or "create_key" or "open_key" or "open_key_ex" or "create_key_transacted" or "open_key_transacted":
                var name = Resolve(e, "path");
                if (alias is not null && ok) _names[alias] = name;
                if (alias is not null && ok && e.TryGetProperty("delete_on_close", out var doc) && doc.ValueKind == JsonValueKind.True)
                    _deleteOnClose.Add(alias);
                fact = new(instr, pid, KindByOp[op], ok, Name: name);
                break;
            case "delete_file":
                fact = new(instr, pid, KindByOp[op], ok, Name: Resolve(e, "path"));
                break;
            case "read_file" or "write_file" or "delete_key" or "query_key" or "query_value_key" or "delete_value_key"
                or "enumerate_key" or "enumerate_value_key" or "set_value_key":
                fact = new(instr, pid, KindByOp[op], ok, Name: _names[Text(e, "handle")!], SecondName: Text(e, "value"));
                break;
            case "rename_file":
                var old = _names[Text(e, "handle")!];
                var newPath = Text(e, "new_path")!;
                string renamed = Text(e, "root") is not null ? Resolve(e, "new_path")
                    : newPath.StartsWith('\\') ? Canonical(newPath)
                    : old[..old.LastIndexOf('\\')] + "\\" + newPath;
                fact = new(instr, pid, KindByOp[op], ok, Name: old, SecondName: renamed);
                break;
            case "create_section" or "open_section":
                var sectionName = Text(e, "name");
                var file = Text(e, "file") is { } fileAlias ? _names[fileAlias] : null;
                if (alias is not null && ok) _names[alias] = sectionName ?? file ?? "";
                fact = new(instr, pid, KindByOp[op], ok, Name: sectionName, SecondName: file);
                break;
            case "map_view_of_section":
                fact = new(instr, pid, KindByOp[op], ok, Name: _names[Text(e, "section")!], TargetPid: ProcessOf(e, "process", pid));
                break;
            case "create_port" or "connect_port" or "alpc_create_port" or "alpc_connect_port":
                var portName = Text(e, "name")!;
                if (alias is not null && ok) _names[alias] = portName;
                fact = new(instr, pid, KindByOp[op], ok, Name: portName);
                break;
            case "accept_connect_port":
                var listening = _names[Text(e, "port")!];
                if (alias is not null && ok) _names[alias] = listening;
                fact = new(instr, pid, KindByOp[op], ok, Name: listening, TargetPid: Number(e, "client_pid"));
                break;
            case "listen_port" or "complete_connect_port" or "request_port" or "request_wait_reply_port" or "reply_port"
                or "reply_wait_reply_port" or "reply_wait_receive_port" or "impersonate_client_of_port" or "alpc_send_wait_receive_port":
                fact = new(instr, pid, KindByOp[op], ok, Name: _names[Text(e, "port")!]);
                break;
            case "read_virtual_memory" or "write_virtual_memory":
                fact = new(instr, pid, KindByOp[op], ok, TargetPid: ProcessOf(e, "process", pid));
                break;
            case "set_disposition_file":
                fact = new(instr, pid, KindByOp[op], ok, Name: _names[Text(e, "handle")!]);
                break;
            case "close" when ok && _deleteOnClose.Remove(Text(e, "handle")!):
                fact = new(instr, pid, "file_disposition", ok, Name: _names[Text(e, "handle")!]);
                break;
            case "switch" or "syscall" or "close":
                break;
            default:
                throw new InvalidOperationException($"the test does not know op '{op}': extend ScenarioFacts");
        }
        if (fact is null) return;
        Facts.Add(fact with { Description = describe });
        CountByKind[fact.Kind] = CountByKind.GetValueOrDefault(fact.Kind) + 1;
    }
}
