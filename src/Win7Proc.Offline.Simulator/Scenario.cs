using System.Globalization;
using System.Text.Json;
using Win7Proc.Offline.Simulator.Guest;

namespace Win7Proc.Offline.Simulator;

/// <summary>A scenario (samples/README.md, samples/scenario.schema.json): the processes alive before the recording
/// and the calls they make. <see cref="Parse"/> checks the syntax and then runs the scenario against the guest model
/// without a recorder, so an inconsistent scenario is rejected before any trace is written.</summary>
public sealed class Scenario
{
    public const int CurrentFormat = 2;

    public required string SourceName { get; init; }
    public required string Name { get; init; }
    public required ulong TotalInstr { get; init; }
    public required IReadOnlyList<ScenarioProcess> Processes { get; init; }
    public required IReadOnlyList<ScenarioEvent> Events { get; init; }
    /// <summary>1 or 2; format 2 adds blocking calls, PANDA's delivery, unreadable pages and a late recording start.</summary>
    public int Format { get; init; } = 1;
    /// <summary>Format 2: the recorder is driven as PANDA drives it (Recording/PandaDelivery.cs), not ideally.</summary>
    public bool PandaDelivery { get; init; }
    /// <summary>With <see cref="PandaDelivery"/>: whether the glue hooks return addresses itself (default true).</summary>
    public bool ReturnHooks { get; init; } = true;
    /// <summary>Format 2: the first instruction the recorder sees; what happens before is not recorded.</summary>
    public ulong RecordingStartsAt { get; init; }

    /// <summary>Reads a scenario file. Parsed from its UTF-8 bytes (no UTF-16 copy of a file that may be hundreds of MB).</summary>
    public static Scenario Load(string path) => Parse(File.ReadAllBytes(path), path);

    public static Scenario Parse(string json, string sourceName)
    {
        byte[] utf8;
        try { utf8 = new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetBytes(json); }
        catch (System.Text.EncoderFallbackException) { throw new ScenarioException($"{sourceName}: not valid text (a lone UTF-16 surrogate outside a JSON string escape)"); }
        return Parse(utf8, sourceName);
    }

    /// <summary>Bounds on a scenario's size (documented in docs/robustness.md). Windows 7 guests run hundreds of
    /// processes; the events bound admits the scale benchmark's 2M-call workload twice over. Created processes and
    /// everything else are bounded by the guest's memory (<see cref="GuestMemory.MaxPages"/>).</summary>
    public const int MaxListedProcesses = 4096, MaxListedHandlesPerProcess = 4096, MaxEvents = 4_000_000;

    /// <summary>Parses UTF-8 JSON. The events keep their fields as elements of the parsed document (which the
    /// scenario therefore keeps alive) rather than a copy each: a large scenario is held once, not twice.</summary>
    public static Scenario Parse(byte[] utf8, string sourceName)
    {
        // JsonDocument checks UTF-8 only when a string is read (GetString throws): check the whole file first.
        if (!IsValidUtf8(utf8, out int invalid)) throw new ScenarioException($"{sourceName}: not valid UTF-8 text at byte {invalid}");
        // A UTF-8 byte order mark (editors write one) is not JSON; File.ReadAllText used to drop it.
        ReadOnlyMemory<byte> json = utf8.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? utf8.AsMemory(3) : utf8;
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
        catch (JsonException e) { throw new ScenarioException($"{sourceName}: not valid JSON: {e.Message}"); }
        // A "\ud800" escape is valid JSON but no text: JsonElement.GetString() throws on it. Find it first, by name.
        if (LoneSurrogateEscape.IsMatch(utf8)) RejectLoneSurrogates(doc.RootElement, sourceName, "");
        var scenario = FromJson(doc.RootElement, sourceName);
        try { new GuestSimulation(scenario).Run(sink: null); }   // semantic validation (handles, liveness)
        catch (ScenarioException e) when (!e.Located) { throw new ScenarioException($"{sourceName}: processes: {e.Message}"); }
        return scenario;
    }

    /// <summary>True when all of <paramref name="utf8"/> is valid UTF-8; else <paramref name="firstInvalid"/> is the
    /// offset of the first invalid sequence.</summary>
    static bool IsValidUtf8(ReadOnlySpan<byte> utf8, out int firstInvalid)
    {
        var chars = new char[4096];
        int offset = 0;
        while (offset < utf8.Length)
        {
            var status = System.Text.Unicode.Utf8.ToUtf16(utf8[offset..], chars, out int read, out _, replaceInvalidSequences: false, isFinalBlock: true);
            if (status == System.Buffers.OperationStatus.InvalidData) { firstInvalid = offset + read; return false; }
            offset += read;
            if (status == System.Buffers.OperationStatus.Done) break;
        }
        firstInvalid = -1;
        return true;
    }

    /// <summary>Prefilter: a \uD800..\uDFFF escape somewhere (a well-paired one passes the exact check below).</summary>
    static class LoneSurrogateEscape
    {
        public static bool IsMatch(ReadOnlySpan<byte> utf8)
        {
            for (int at = utf8.IndexOf("\\u"u8); at >= 0 && at + 3 < utf8.Length; )
            {
                byte d = utf8[at + 2], next = utf8[at + 3];
                if ((d | 0x20) == 'd' && (next is >= (byte)'8' and <= (byte)'9' || (next | 0x20) is >= (byte)'a' and <= (byte)'f')) return true;
                int further = utf8[(at + 2)..].IndexOf("\\u"u8);
                at = further < 0 ? -1 : at + 2 + further;
            }
            return false;
        }
    }

    /// <summary>Throws for the first string or property name holding an unpaired surrogate, naming it by its place in
    /// the scenario (processes[1].image, event 4.path, ...).</summary>
    static void RejectLoneSurrogates(JsonElement e, string src, string path)
    {
        static string Describe(string path) => path.Length == 0 ? "top level" : path;
        switch (e.ValueKind)
        {
            case JsonValueKind.String:
                try { e.GetString(); }
                catch (InvalidOperationException)
                {
                    throw new ScenarioException($"{src}: {Describe(path)}: not valid text (a lone UTF-16 surrogate, \\uD800..\\uDFFF without its pair)");
                }
                break;
            case JsonValueKind.Object:
                foreach (var property in e.EnumerateObject())
                {
                    string name;
                    try { name = property.Name; }
                    catch (InvalidOperationException)
                    {
                        throw new ScenarioException($"{src}: {Describe(path)}: a field name is not valid text (a lone UTF-16 surrogate, \\uD800..\\uDFFF without its pair)");
                    }
                    RejectLoneSurrogates(property.Value, src, path.Length == 0 ? name : $"{path}.{name}");
                }
                break;
            case JsonValueKind.Array:
                int i = 0;
                foreach (var item in e.EnumerateArray())
                {
                    RejectLoneSurrogates(item, src, path == "events" ? $"event {i}" : $"{path}[{i}]");
                    i++;
                }
                break;
        }
    }

    static readonly string[] Format2TopFields = ["panda_delivery", "return_hooks", "recording_starts_at"];
    static readonly string[] TopFields = ["format", "name", "total_instr", "processes", "events", "description", "comment",
        .. Format2TopFields];
    /// <summary>Format-2 event fields (OpSpec.Common lists them for every op).</summary>
    internal static readonly string[] Format2EventFields = ["returns_at", "unreadable"];
    /// <summary>What an event's "unreadable" may name: the pages the recorder cannot read during that call.</summary>
    public static readonly string[] UnreadableKinds = ["name_buffer", "data_buffer", "kcb", "handle_table", "eprocess"];
    static readonly string[] ProcessFields = ["pid", "ppid", "image", "cmdline", "tid", "handles", "comment"];
    static readonly string[] HandleKinds = ["key", "file", "section", "port", "process", "transaction"];

    static Scenario FromJson(JsonElement root, string src)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new ScenarioException($"{src}: the top level must be an object");
        CheckFields(root, TopFields, ["format", "name", "total_instr", "processes", "events"], $"{src}: top level");
        var format = root.GetProperty("format");
        if (format.ValueKind != JsonValueKind.Number || !format.TryGetInt32(out var f) || f < 1 || f > CurrentFormat)
            throw new ScenarioException($"{src}: \"format\" must be 1 or {CurrentFormat}");
        if (f < 2)
            foreach (var name in Format2TopFields)
                if (root.TryGetProperty(name, out _)) throw new ScenarioException($"{src}: top level: '{name}' needs \"format\": 2");
        var total = ReadU64(root.GetProperty("total_instr"), $"{src}: total_instr");
        bool panda = root.TryGetProperty("panda_delivery", out var pd) && Bool(pd, $"{src}: panda_delivery");
        bool hooks = !root.TryGetProperty("return_hooks", out var rh) || Bool(rh, $"{src}: return_hooks");
        if (!panda && !hooks) throw new ScenarioException($"{src}: return_hooks: false needs panda_delivery: true (the ideal delivery sees every return)");
        ulong start = root.TryGetProperty("recording_starts_at", out var rs) ? ReadU64(rs, $"{src}: recording_starts_at") : 0;
        if (start >= total) throw new ScenarioException($"{src}: recording_starts_at {start} is not before total_instr {total}");

        var processes = new List<ScenarioProcess>();
        var pids = new HashSet<uint>();
        int pi = 0;
        foreach (var p in Array(root, "processes", src))
        {
            var where = $"{src}: processes[{pi}]";
            if (pi++ >= MaxListedProcesses)
                throw new ScenarioException($"{where}: more than {MaxListedProcesses} listed processes (the simulator's bound)");
            CheckFields(p, ProcessFields, ["pid", "image"], where);
            var pid = ReadU32(p.GetProperty("pid"), where + ".pid");
            if (!pids.Add(pid)) throw new ScenarioException($"{where}: pid {pid} listed twice");
            var handles = new List<ScenarioHandle>();
            if (p.TryGetProperty("handles", out var hs))
            {
                if (hs.ValueKind != JsonValueKind.Array) throw new ScenarioException($"{where}.handles must be an array");
                int hi = 0;
                foreach (var h in hs.EnumerateArray())
                {
                    var hw = $"{where}.handles[{hi}]";
                    if (hi++ >= MaxListedHandlesPerProcess)
                        throw new ScenarioException($"{hw}: more than {MaxListedHandlesPerProcess} handles listed for one process (the simulator's bound)");
                    CheckFields(h, ["as", .. HandleKinds, "comment"], ["as"], hw);
                    var kinds = HandleKinds.Where(k => h.TryGetProperty(k, out _)).ToArray();
                    if (kinds.Length != 1) throw new ScenarioException($"{hw}: needs exactly one of {string.Join(", ", HandleKinds)}");
                    var asName = Str(h.GetProperty("as"), hw + ".as");
                    // "self" is the current-process pseudo-handle (samples/README.md): never a handle's name.
                    if (asName == "self")
                        throw new ScenarioException($"{hw}.as: \"self\" names the current-process pseudo-handle and cannot name a handle");
                    handles.Add(new ScenarioHandle(asName, kinds[0],
                        HandleValue(h.GetProperty(kinds[0]), kinds[0], $"{hw}.{kinds[0]}")));
                }
            }
            var image = Str(p.GetProperty("image"), where + ".image");
            try { GuestKernel.ToDevicePath(image); }
            catch (ScenarioException x) { throw new ScenarioException($"{where}.image: {x.Message}"); }
            processes.Add(new ScenarioProcess(pid,
                p.TryGetProperty("ppid", out var pp) ? ReadU32(pp, where + ".ppid") : 0,
                image,
                p.TryGetProperty("cmdline", out var cl) ? Str(cl, where + ".cmdline") : image,
                p.TryGetProperty("tid", out var t) ? ReadU32(t, where + ".tid") : null,
                handles));
        }

        var events = new List<ScenarioEvent>();
        ulong lastInstr = 0;
        int index = 0;
        foreach (var e in Array(root, "events", src))
        {
            var where = $"{src}: event {index}";
            if (index >= MaxEvents) throw new ScenarioException($"{where}: more than {MaxEvents} events (the simulator's bound)");
            if (e.ValueKind != JsonValueKind.Object) throw new ScenarioException($"{where}: must be an object");
            if (!e.TryGetProperty("op", out var opEl) || opEl.ValueKind != JsonValueKind.String)
                throw new ScenarioException($"{where}: missing \"op\"");
            var op = opEl.GetString()!;
            if (!OpSpec.Ops.TryGetValue(op, out var spec)) throw new ScenarioException($"{where}: unknown op '{op}'");
            where += $" ({op})";
            CheckFields(e, [.. OpSpec.Common, .. spec.Required, .. spec.Optional], ["instr", "pid", .. spec.Required], where);
            var instr = ReadU64(e.GetProperty("instr"), where + ".instr");
            if (instr < 2) throw new ScenarioException($"{where}: instr must be at least 2 (a context switch may precede it by 2)");
            if (index > 0 && (instr < lastInstr || instr - lastInstr < 3))
                throw new ScenarioException($"{where}: instr {instr} must be at least 3 after the previous event's {lastInstr}");
            // A call may return at instr+1 (terminating another process), still before the END at total_instr.
            if (instr >= total || total - instr < 2) throw new ScenarioException($"{where}: instr {instr} is not before total_instr {total} - 1 (a call may return at instr + 1)");
            lastInstr = instr;
            var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var prop in e.EnumerateObject()) fields[prop.Name] = prop.Value;
            uint status = 0;
            if (e.TryGetProperty("status", out var st)) status = NtStatus.Parse(Str(st, where + ".status"), where);
            var (returnsAt, unreadable) = Format2EventFieldsOf(e, f, op, instr, where);
            events.Add(new ScenarioEvent(src, index, instr, ReadU32(e.GetProperty("pid"), where + ".pid"),
                e.TryGetProperty("tid", out var tid) ? ReadU32(tid, where + ".tid") : null, op, status, fields)
            { ReturnsAt = returnsAt, Unreadable = unreadable });
            index++;
        }
        return new Scenario
        {
            SourceName = src, Name = Str(root.GetProperty("name"), $"{src}: name"), TotalInstr = total,
            Processes = processes, Events = events,
            Format = f, PandaDelivery = panda, ReturnHooks = hooks, RecordingStartsAt = start,
        };
    }

    /// <summary>An event's "returns_at" (a blocking call's return; at or after total_instr = still pending when the
    /// recording stops) and "unreadable" (page kinds the recorder cannot read during the call), format 2 only.</summary>
    static (ulong? ReturnsAt, IReadOnlyList<string> Unreadable) Format2EventFieldsOf(JsonElement e, int format, string op,
        ulong instr, string where)
    {
        if (format < 2)
        {
            foreach (var name in Format2EventFields)
                if (e.TryGetProperty(name, out _)) throw new ScenarioException($"{where}: '{name}' needs \"format\": 2");
            return (null, []);
        }
        ulong? returnsAt = null;
        if (e.TryGetProperty("returns_at", out var ra))
        {
            if (op == "switch") throw new ScenarioException($"{where}: a switch makes no call, so it has no 'returns_at'");
            var at = ReadU64(ra, where + ".returns_at");
            if (at <= instr + 1) throw new ScenarioException($"{where}: returns_at {at} must be at least instr + 2 = {instr + 2} (a return at instr needs no returns_at)");
            returnsAt = at;
        }
        var unreadable = new List<string>();
        if (e.TryGetProperty("unreadable", out var ur))
        {
            if (op == "switch") throw new ScenarioException($"{where}: a switch makes no call, so nothing is unreadable during it");
            if (ur.ValueKind != JsonValueKind.Array) throw new ScenarioException($"{where}.unreadable must be an array of strings");
            foreach (var kind in ur.EnumerateArray())
            {
                var k = Str(kind, where + ".unreadable[]");
                if (!UnreadableKinds.Contains(k))
                    throw new ScenarioException($"{where}.unreadable: unknown kind '{k}' (one of {string.Join(", ", UnreadableKinds)})");
                if (!unreadable.Contains(k)) unreadable.Add(k);
            }
        }
        return (returnsAt, unreadable);
    }

    static bool Bool(JsonElement e, string where) => e.ValueKind switch
    {
        JsonValueKind.True => true, JsonValueKind.False => false, _ => throw new ScenarioException($"{where}: must be true or false"),
    };

    /// <summary>A pre-existing handle's value: a string for key/file/section/port, a pid for process (as a decimal
    /// string), <c>true</c> for transaction.</summary>
    static string HandleValue(JsonElement v, string kind, string where) => kind switch
    {
        "process" => ReadU32(v, where).ToString(CultureInfo.InvariantCulture),
        "transaction" => v.ValueKind == JsonValueKind.True ? "true" : throw new ScenarioException($"{where}: must be true"),
        _ => Str(v, where),
    };

    static IEnumerable<JsonElement> Array(JsonElement root, string name, string src)
    {
        var a = root.GetProperty(name);
        if (a.ValueKind != JsonValueKind.Array) throw new ScenarioException($"{src}: \"{name}\" must be an array");
        return a.EnumerateArray();
    }

    static void CheckFields(JsonElement obj, IEnumerable<string> allowed, IEnumerable<string> required, string where)
    {
        if (obj.ValueKind != JsonValueKind.Object) throw new ScenarioException($"{where}: must be an object");
        var ok = allowed.ToHashSet(StringComparer.Ordinal);
        foreach (var p in obj.EnumerateObject())
            if (!ok.Contains(p.Name)) throw new ScenarioException($"{where}: unknown field '{p.Name}'");
        foreach (var r in required)
            if (!obj.TryGetProperty(r, out _)) throw new ScenarioException($"{where}: missing field '{r}'");
    }

    /// <summary>Longest string a scenario may give: what fits a UNICODE_STRING (Length is a USHORT of bytes).</summary>
    public const int MaxStringLength = 0x7ffe;

    internal static string Str(JsonElement e, string where)
    {
        if (e.ValueKind != JsonValueKind.String) throw new ScenarioException($"{where}: must be a string");
        var s = e.GetString()!;
        return s.Length <= MaxStringLength ? s : throw new ScenarioException($"{where}: longer than {MaxStringLength} characters");
    }

    internal static uint ReadU32(JsonElement e, string where)
    {
        var v = ReadU64(e, where);
        return v <= uint.MaxValue ? (uint)v : throw new ScenarioException($"{where}: does not fit in 32 bits");
    }

    /// <summary>A non-negative integer: a JSON number or a "0x..." string.</summary>
    internal static ulong ReadU64(JsonElement e, string where)
    {
        if (e.ValueKind == JsonValueKind.Number && e.TryGetUInt64(out var n)) return n;
        if (e.ValueKind == JsonValueKind.String)
        {
            if (TryParseHex(e.GetString()!, out n)) return n;
        }
        throw new ScenarioException($"{where}: must be a non-negative integer (or a \"0x...\" string)");
    }

    /// <summary>The one reading of a "0x..." number in scenario strings (fields, statuses, registry data).</summary>
    internal static bool TryParseHex(string text, out ulong value)
    {
        value = 0;
        return text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            && ulong.TryParse(text.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out value);
    }
}

public sealed record ScenarioProcess(uint Pid, uint ParentPid, string Image, string CommandLine, uint? Tid,
    IReadOnlyList<ScenarioHandle> Handles);

/// <summary>A handle that exists before the recording: <paramref name="Kind"/> is key, file, section, port, process or transaction.</summary>
public sealed record ScenarioHandle(string As, string Kind, string Value);

/// <summary>One event of a scenario, with typed access to its op-specific fields.</summary>
public sealed class ScenarioEvent
{
    readonly string _source;
    readonly IReadOnlyDictionary<string, JsonElement> _fields;

    internal ScenarioEvent(string source, int index, ulong instr, uint pid, uint? tid, string op, uint status,
        IReadOnlyDictionary<string, JsonElement> fields)
    { _source = source; Index = index; Instr = instr; Pid = pid; Tid = tid; Op = op; Status = status; _fields = fields; }

    public int Index { get; }
    public ulong Instr { get; }
    public uint Pid { get; }
    public uint? Tid { get; }
    public string Op { get; }
    /// <summary>The NTSTATUS the call returns (0 = success).</summary>
    public uint Status { get; }
    public bool Succeeds => (int)Status >= 0;
    /// <summary>Format 2: the instruction a blocking call returns at (null = instr, the format-1 timing).</summary>
    public ulong? ReturnsAt { get; init; }
    /// <summary>Format 2: kinds of page (<see cref="Scenario.UnreadableKinds"/>) unreadable to the recorder during this call.</summary>
    public IReadOnlyList<string> Unreadable { get; init; } = [];

    public ScenarioException Error(string problem) =>
        new($"{_source}: event {Index} (instr {Instr}, op {Op}): {problem}") { Located = true };

    public bool Has(string field) => _fields.ContainsKey(field);
    public string Text(string field) => OptText(field) ?? throw Error($"missing field '{field}'");
    public string? OptText(string field)
    {
        if (!_fields.TryGetValue(field, out var e)) return null;
        if (e.ValueKind != JsonValueKind.String) throw Error($"'{field}' must be a string");
        var s = e.GetString()!;
        return s.Length <= Scenario.MaxStringLength ? s : throw Error($"'{field}' is longer than {Scenario.MaxStringLength} characters");
    }
    public uint Number(string field) => OptNumber(field) ?? throw Error($"missing field '{field}'");
    public uint? OptNumber(string field)
    {
        if (!_fields.TryGetValue(field, out var e)) return null;
        ulong v;
        try { v = Scenario.ReadU64(e, field); } catch (ScenarioException) { throw Error($"'{field}' must be a non-negative integer or \"0x...\""); }
        return v <= uint.MaxValue ? (uint)v : throw Error($"'{field}' does not fit in 32 bits");
    }
    public bool? OptBool(string field) =>
        _fields.TryGetValue(field, out var e) ? e.ValueKind switch
        {
            JsonValueKind.True => true, JsonValueKind.False => false, _ => throw Error($"'{field}' must be true or false"),
        } : null;
    public JsonElement? Raw(string field) => _fields.TryGetValue(field, out var e) ? e : null;
}
