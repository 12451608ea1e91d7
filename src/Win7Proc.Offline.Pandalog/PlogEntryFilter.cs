using Google.Protobuf;
using Google.Protobuf.Reflection;
using Win7Proc.Offline.Pandalog.Schema;

namespace Win7Proc.Offline.Pandalog;

/// <summary>Helpers over a LogEntry that do not depend on which call it records.</summary>
public static class PlogEntries
{
    static readonly FieldDescriptor[] s_eventFields = LogEntry.Descriptor.Fields.InFieldNumberOrder()
        .Where(f => f.FieldNumber > 2).ToArray();

    /// <summary>Names of the LogEntry fields set in <paramref name="entry"/> (besides pc and instr), in field-number order.</summary>
    public static IEnumerable<string> Kinds(LogEntry entry) =>
        s_eventFields.Where(f => f.Accessor.HasValue(entry)).Select(f => f.Name);

    /// <summary>The process acting in the entry: <c>new_pid</c>, else the <c>cur_p</c> or <c>proc</c> of the call's
    /// message (looked for through <c>pk</c>, <c>section</c>, <c>port</c>). Null when the entry names none.</summary>
    public static Process? ActingProcess(LogEntry entry)
    {
        if (entry.NewPid is { } newPid) return newPid;
        foreach (var field in s_eventFields)
        {
            if (field.FieldType != FieldType.Message || !field.Accessor.HasValue(entry)) continue;
            if (FindActor((IMessage)field.Accessor.GetValue(entry), depth: 0) is { } actor) return actor;
        }
        return null;
    }

    static Process? FindActor(IMessage message, int depth)
    {
        if (depth > 4) return null; // the schema nests three deep at most
        var fields = message.Descriptor.Fields;
        foreach (var name in new[] { "cur_p", "proc" })
            if (fields.InDeclarationOrder().FirstOrDefault(f => f.Name == name) is { } f && f.Accessor.HasValue(message)
                && f.Accessor.GetValue(message) is Process p)
                return p;
        foreach (var f in fields.InFieldNumberOrder())
        {
            if (f.FieldType != FieldType.Message || f.MessageType == Process.Descriptor || !f.Accessor.HasValue(message)) continue;
            if (FindActor((IMessage)f.Accessor.GetValue(message), depth + 1) is { } p) return p;
        }
        return null;
    }
}

/// <summary>Which entries <c>dump</c> shows: by kind (LogEntry field names), acting pid, and instr range (inclusive).</summary>
public sealed class PlogEntryFilter
{
    readonly FieldDescriptor[]? _kinds;
    readonly int[]? _kindNumbers;

    public uint? Pid { get; }
    public ulong? From { get; }
    public ulong? To { get; }
    public IReadOnlyList<string> KindNames { get; }

    PlogEntryFilter(FieldDescriptor[]? kinds, uint? pid, ulong? from, ulong? to)
    {
        _kinds = kinds; Pid = pid; From = from; To = to;
        _kindNumbers = kinds?.Select(k => k.FieldNumber).ToArray();
        KindNames = kinds?.Select(k => k.Name).ToArray() ?? Array.Empty<string>();
    }

    /// <summary>Builds a filter; throws <see cref="ArgumentException"/> naming an unknown kind or an empty range.</summary>
    public static PlogEntryFilter Create(IEnumerable<string>? kinds = null, uint? pid = null, ulong? from = null, ulong? to = null)
    {
        FieldDescriptor[]? fields = null;
        if (kinds is not null)
        {
            var list = new List<FieldDescriptor>();
            foreach (var raw in kinds.SelectMany(k => k.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
            {
                var field = LogEntry.Descriptor.FindFieldByName(raw);
                if (field is null || field.FieldNumber <= 2)
                    throw new ArgumentException($"unknown kind '{raw}' (use LogEntry field names such as nt_create_file, new_pid, nt_open_key)");
                list.Add(field);
            }
            if (list.Count > 0) fields = list.ToArray();
        }
        if (from is { } f && to is { } t && f > t) throw new ArgumentException($"empty instr range: from {f} is after to {t}");
        return new PlogEntryFilter(fields, pid, from, to);
    }

    public bool Matches(LogEntry entry)
    {
        if (From is { } from && entry.Instr < from) return false;
        if (To is { } to && entry.Instr > to) return false;
        if (_kinds is not null && !_kinds.Any(k => k.Accessor.HasValue(entry))) return false;
        if (Pid is { } pid && PlogEntries.ActingProcess(entry)?.Pid != pid) return false;
        return true;
    }

    /// <summary>The matching entries of <paramref name="reader"/>, streaming; uses the directory to start at From and
    /// stops after To (entries are in instr order; UINT64_MAX entries after the replay end never match a To). Records
    /// outside the range or without a wanted kind are skipped unparsed.</summary>
    public IEnumerable<LogEntry> Apply(PandalogReader reader)
    {
        var source = From is { } from ? reader.ReadRecordsFrom(from) : reader.ReadRecords();
        foreach (var record in source)
        {
            if (To is { } to && record.Instr > to && record.Instr != PandalogFormat.AfterReplayEnd) yield break;
            if (_kindNumbers is not null && !record.MayHaveAny(_kindNumbers)) continue;
            var entry = record.Parse();
            if (Matches(entry)) yield return entry;
        }
    }
}
