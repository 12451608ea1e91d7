using System.Globalization;
using System.Text.Json;

namespace Win7Proc.Offline.Analyzer.Tests.Samples;

/// <summary>One thing a scenario says happened, as the plog must show it.</summary>
/// <param name="Kind">The LogEntry field that records it (nt_create_file, ...).</param>
/// <param name="Name">The full object name (file device path, key path, section/port name), when the event names one.</param>
/// <param name="TargetPid">The other process (created, terminated, opened, written to, mapped into), when there is one.</param>
/// <param name="StatusUnknown">The call's return is not in the trace (never came, or not seen): status left unset.</param>
sealed record ExpectedFact(ulong Instr, uint Pid, string Kind, bool Succeeds, string? Name = null, uint? TargetPid = null,
    string? Image = null, string? CommandLine = null, string? SecondName = null, string? Description = null,
    bool StatusUnknown = false)
{
    public override string ToString() => Description ?? $"{Kind} by {Pid} at {Instr}";
}

/// <summary>
/// Reads a scenario JSON with System.Text.Json alone (not through the simulator's model) and derives the facts its
/// events imply: handles named by "as" are followed, relative names joined to their root, \??\C: is the disk volume
/// \Device\HarddiskVolume2 (the scenario format's one drive, samples/README.md). Format 2: calls are placed on the
/// timeline samples/README.md gives (returns_at, recording_starts_at, processes killed while their threads wait) and
/// delivered as the README says PANDA does (syscalls2 keeps one call per stub and process, the glue's hook sees the
/// returns of calls it saw enter), which gives each entry's instruction, the calls whose status is unknown and the
/// run report's counts of lost and unpaired calls.
/// </summary>
sealed class ScenarioFacts
{
    public const string Volume = @"\Device\HarddiskVolume2";
    public const string Unknown = "unknown";

    /// <summary>The plog's total_instr: the scenario's, or (PANDA delivery: unknown to the recorder) the last
    /// instruction recorded.</summary>
    public ulong TotalInstr { get; private set; }
    /// <summary>Run-report counts the scenario implies (AnalysisReport fields of the same names).</summary>
    public long UnmatchedReturns { get; private set; }
    public long ReturnsInferred { get; private set; }
    public long EntersWithoutReturn { get; private set; }
    public long EntriesWithUnknownStatus { get; private set; }
    /// <summary>Returns syscalls2 does not deliver but the glue's hook sees (capture bit 3, END returns_by_hook).</summary>
    public long ReturnsOnlyTheHookSees { get; private set; }
    /// <summary>System calls (NtQueryValueKey, ...) with an event whose pages were unreadable: the run report must
    /// count unreadable structures for exactly these.</summary>
    public SortedSet<string> UnreadableCallKinds { get; } = new(StringComparer.Ordinal);
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
    // Aliases bound by a call the recorder saw succeed: the analyzer's handle cache knows their names.
    readonly HashSet<string> _recordedAliases = new(StringComparer.Ordinal);
    readonly ulong _recordingStart;
    readonly bool _panda, _hooks;
    readonly List<Call> _calls = [];

    /// <summary>One call on the timeline. Return null = never returns (self-termination, killed, still pending).</summary>
    sealed class Call
    {
        public required int Index { get; init; }
        public required string Stub { get; init; }
        public required uint Pid { get; init; }
        public required uint? Tid { get; init; }
        public required ulong Enter { get; init; }
        public ulong? Return { get; set; }
        public ExpectedFact? Fact { get; set; }
        public bool LoggedAtEnter { get; init; }
    }

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
        _recordingStart = root.TryGetProperty("recording_starts_at", out var rs) ? rs.GetUInt64() : 0;
        _panda = root.TryGetProperty("panda_delivery", out var pd) && pd.GetBoolean();
        _hooks = !root.TryGetProperty("return_hooks", out var rh) || rh.GetBoolean();
        foreach (var process in root.GetProperty("processes").EnumerateArray())
        {
            KnownPids.Add(process.GetProperty("pid").GetUInt32());
            Births.Add((0, process.GetProperty("pid").GetUInt32(), process.GetProperty("ppid").GetUInt32()));
            if (!process.TryGetProperty("handles", out var handles)) continue;
            foreach (var handle in handles.EnumerateArray())
            {
                var alias = handle.GetProperty("as").GetString()!;
                foreach (var property in handle.EnumerateObject())
                    if (property.Name is not "as" and not "comment" && property.Value.ValueKind == JsonValueKind.String)
                        _names[alias] = Canonical(property.Value.GetString()!);
            }
        }
        foreach (var e in root.GetProperty("events").EnumerateArray()) Add(e);
        Deliver();
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
        var unreadable = e.TryGetProperty("unreadable", out var ur) ? ur.EnumerateArray().Select(u => u.GetString()!).ToList() : [];
        // Names the analyzer cannot learn: a pre-recording handle whose KCB or handle-table page is unreadable.
        bool handleNameLost = unreadable.Intersect(["kcb", "handle_table"]).Any()
            && new[] { "handle", "root" }.Select(f => Text(e, f)).Any(a => a is not null && !_recordedAliases.Contains(a));
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
        if (op == "switch") return;
        ulong? returnsAt = e.TryGetProperty("returns_at", out var ra) ? ra.GetUInt64() : null;
        bool terminates = op == "terminate_process";
        bool self = terminates && ProcessOf(e, "process", pid) == pid;
        ulong enter = terminates ? instr : instr - 1;
        var call = new Call
        {
            Index = _calls.Count, Stub = op == "syscall" ? Text(e, "name")! : op, Pid = pid, Tid = Number(e, "tid"),
            Enter = enter, LoggedAtEnter = terminates,
            Return = self && ok ? null : returnsAt is { } at ? (at < TotalInstr ? at : null) : terminates ? instr + 1 : instr,
        };
        _calls.Add(call);
        if (terminates && ok)
        {
            // The target's threads die: their calls still inside the kernel never return.
            ulong death = self ? instr : call.Return ?? instr;
            uint victim = ProcessOf(e, "process", pid);
            foreach (var c in _calls)
                if (c.Pid == victim && c.Enter < death && (c.Return is null || c.Return > death)) c.Return = null;
        }
        // Data buffers are read only to extract writes (--extract-writes), so they alone are not missed by default.
        if (enter >= _recordingStart && unreadable.Any(u => u != "data_buffer")) UnreadableCallKinds.Add(op == "syscall" ? Text(e, "name")! : CallName(KindByOp.GetValueOrDefault(op) ?? "nt_" + op));
        bool recorded = enter >= _recordingStart;
        if (alias is not null && ok && op != "duplicate_object")
        {
            if (recorded) _recordedAliases.Add(alias); else _recordedAliases.Remove(alias);
        }
        if (fact is null) return;
        if (handleNameLost) fact = fact with { Name = Unknown };
        // A paged-out name buffer: a failed open has no kernel object to take the name from.
        if (unreadable.Contains("name_buffer") && !ok) fact = fact with { Name = Unknown };
        call.Fact = fact with { Description = describe };
    }

    /// <summary>nt_create_file → NtCreateFile: the run report's call kind.</summary>
    static string CallName(string kind) =>
        string.Concat(kind.Split('_').Select(w => w.Length == 0 ? w : char.ToUpperInvariant(w[0]) + w[1..]));

    /// <summary>Which returns the recorder sees, in time order, and so where each fact's entry lies.</summary>
    void Deliver()
    {
        var syscalls2 = new Dictionary<(string Stub, uint Pid), Call>();
        var seen = new HashSet<Call>();
        var lost = new List<Call>();
        var timeline = _calls.Select(c => (At: c.Enter, Call: c, IsEnter: true))
            .Concat(_calls.Where(c => c.Return is not null).Select(c => (At: c.Return!.Value, Call: c, IsEnter: false)))
            .OrderBy(t => t.At).ThenBy(t => t.IsEnter ? 0 : 1).ToList();
        foreach (var (at, c, isEnter) in timeline)
        {
            if (at < _recordingStart) continue;
            if (isEnter) { syscalls2[(c.Stub, c.Pid)] = c; continue; }
            bool entered = c.Enter >= _recordingStart;
            bool bySyscalls2 = syscalls2.Remove((c.Stub, c.Pid));
            bool byHook = _hooks && entered;
            if (!_panda || bySyscalls2 || byHook)
            {
                seen.Add(c);
                if (!entered) UnmatchedReturns++;
                else if (_panda && !bySyscalls2) ReturnsOnlyTheHookSees++;
            }
            else if (entered) lost.Add(c);
        }
        ulong last = _calls.SelectMany(c => new[] { c.Enter >= _recordingStart ? c.Enter : 0, c.Return is { } r && seen.Contains(c) ? r : 0 }).DefaultIfEmpty(0ul).Max();
        // A lost return is inferred at the thread's next enter (its frame is gone), else the call is still pending.
        var inferredAt = new Dictionary<Call, ulong>();
        foreach (var c in lost)
        {
            var next = _calls.FirstOrDefault(n => n.Pid == c.Pid && n.Tid == c.Tid && n.Enter > c.Return && n.Enter >= _recordingStart);
            if (next is not null) { inferredAt[c] = next.Enter; ReturnsInferred++; }
        }
        foreach (var c in _calls)
        {
            bool entered = c.Enter >= _recordingStart;
            if (entered && !seen.Contains(c) && !inferredAt.ContainsKey(c)) EntersWithoutReturn++;
            if (c.Fact is not { } fact) continue;
            if (c.LoggedAtEnter)
            {
                if (!entered) continue;
                bool selfKill = fact.TargetPid == fact.Pid;
                bool known = !selfKill && seen.Contains(c);
                if (!known && !selfKill) EntriesWithUnknownStatus++;
                fact = fact with { StatusUnknown = !known };
            }
            else if (!entered) continue;   // a return without its enter carries no arguments (FORMAT.md 2.0): counted only
            else if (seen.Contains(c)) fact = fact with { Instr = c.Return!.Value };
            else
            {
                fact = fact with { Instr = inferredAt.TryGetValue(c, out var i) ? i : last, StatusUnknown = true };
                EntriesWithUnknownStatus++;
            }
            Facts.Add(fact);
            CountByKind[fact.Kind] = CountByKind.GetValueOrDefault(fact.Kind) + 1;
        }
        if (_panda) TotalInstr = last;
    }
}
