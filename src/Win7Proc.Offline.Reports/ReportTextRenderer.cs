using System.Globalization;
using System.Text;

namespace Win7Proc.Offline.Reports;

/// <summary>Guest strings made safe for a terminal or a document: control characters, bidi overrides and line
/// separators become '?', length is bounded.</summary>
public static class Printable
{
    public const int MaxLength = 1024;

    public static string Of(string? text, int maxLength = MaxLength)
    {
        if (string.IsNullOrEmpty(text)) return "";
        var cut = text.Length > maxLength;
        var builder = new StringBuilder(Math.Min(text.Length, maxLength) + 3);
        foreach (var c in cut ? text.AsSpan(0, maxLength) : text.AsSpan())
            builder.Append(char.IsControl(c) || c is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069' or '\u2028' or '\u2029' ? '?' : c);
        if (cut) builder.Append("...");
        return builder.ToString();
    }
}

/// <summary>
/// The report for a terminal: a header, the process tree with command lines, then one section per process instance
/// (image, command line, parent, birth and death, then files, registry, sections, ports, memory, processes, failures).
/// </summary>
public static class ReportTextRenderer
{
    /// <summary>Tree indentation stops growing at this depth (only a hostile log goes deeper).</summary>
    const int MaxIndentDepth = 32;

    public static string Render(BehaviorReport report)
    {
        var text = new StringBuilder();
        var paths = report.Paths;
        text.Append("win7proc-offline report: ").Append(Printable.Of(report.Input)).Append('\n');
        text.Append("instructions: ").Append(N(report.MaxInstr)).Append("    processes: ").Append(report.Processes.Count)
            .Append("    time: ").Append(report.Clock.Source).Append('\n');
        if (Describe(report.Filter) is { Length: > 0 } filter) text.Append("filter: ").Append(filter).Append('\n');
        text.Append('\n').Append("Process tree").Append('\n');
        foreach (var (p, depth) in TreeOrder(report))
        {
            text.Append(' ', 2 + 2 * Math.Min(depth, MaxIndentDepth)).Append(Label(p.Process));
            if (p.Process.CommandLine is { } cmd) text.Append("  ").Append(Printable.Of(cmd));
            text.Append('\n');
        }
        foreach (var p in report.Processes)
        {
            var proc = p.Process;
            text.Append('\n').Append("== ").Append(Label(proc)).Append(" ==").Append('\n');
            Line(text, "image", paths.File(proc.ImagePath));
            Line(text, "command line", proc.CommandLine);
            Line(text, "parent", proc.Parent is { } parent ? Label(parent) : proc.Ppid is uint ppid ? $"pid {ppid} (not seen)" : null);
            Line(text, "born", proc.Birth is ulong b ? $"instr {N(b)} ({report.Clock.IsoAt(b)})" : "before the recording");
            Line(text, "died", proc.Death is ulong d
                ? $"instr {N(d)} ({report.Clock.IsoAt(d)})" + (proc.ExitStatus is uint x ? $", exit status 0x{x:X8}" : "")
                  + (proc.TerminatedBy is { } killer ? $", terminated by {Label(killer)}" : "")
                : "not seen");
            if (p.Files.Count > 0)
            {
                text.Append("  files:\n");
                foreach (var f in p.Files) text.Append("    ").Append(FileLine(f)).Append('\n');
            }
            if (p.Keys.Count + p.ValuesSet.Count + p.ValuesDeleted.Count + p.ValuesQueried.Count > 0)
            {
                text.Append("  registry:\n");
                foreach (var k in p.Keys) text.Append("    ").Append(KeyLine(k)).Append('\n');
                foreach (var v in p.ValuesSet)
                    text.Append("    set value   ").Append(Printable.Of(v.Key)).Append(" : ").Append(Printable.Of(v.Name))
                        .Append(" = ").Append(v.Type is uint t ? ProcmonNames.TypeName(t) : "?").Append(' ').Append(DataText(v.Type, v.Data)).Append('\n');
                foreach (var g in p.ValuesQueried.GroupBy(v => (v.Key, v.Name)))
                    text.Append("    read value  ").Append(Printable.Of(g.Key.Key)).Append(" : ").Append(Printable.Of(g.Key.Name))
                        .Append(g.Count() > 1 ? $" x{g.Count()}" : "").Append('\n');
                foreach (var v in p.ValuesDeleted)
                    text.Append("    del value   ").Append(Printable.Of(v.Key)).Append(" : ").Append(Printable.Of(v.Name)).Append('\n');
            }
            if (p.Sections.Count > 0)
            {
                text.Append("  sections:\n");
                foreach (var s in p.Sections)
                {
                    text.Append("    ").Append(s.How.PadRight(8)).Append(' ').Append(Printable.Of(s.Name ?? "(unnamed)"));
                    if (s.File is not null && s.File != s.Name) text.Append(" file ").Append(Printable.Of(s.File));
                    if (s.Target is { } into) text.Append(" into ").Append(Label(into));
                    text.Append('\n');
                }
            }
            if (p.Ports.Count > 0)
            {
                text.Append("  ports:\n");
                foreach (var (port, count) in Grouped(p.Ports))
                {
                    text.Append("    ").Append(port.Role.PadRight(9)).Append(' ').Append(Printable.Of(port.Name ?? "(unnamed)"));
                    if (port.Peer is { } peer) text.Append(" with ").Append(Label(peer));
                    if (count > 1) text.Append(" x").Append(count);
                    text.Append('\n');
                }
            }
            if (p.Memory.Count > 0)
            {
                text.Append("  memory of other processes:\n");
                foreach (var m in p.Memory)
                    text.Append("    ").Append(m.How.PadRight(5)).Append(' ').Append(Label(m.Target))
                        .Append(m.Address is uint a ? $" at 0x{a:X8}" : "").Append(m.Bytes is ulong n ? $", {N(n)} bytes" : "").Append('\n');
            }
            if (p.Created.Count + p.Opened.Count + p.Terminated.Count > 0)
            {
                text.Append("  processes:\n");
                foreach (var c in p.Created)
                    text.Append("    created     ").Append(Label(c.Target)).Append(c.CommandLine is { } cl ? "  " + Printable.Of(cl) : "").Append('\n');
                foreach (var o in p.Opened) text.Append("    opened      ").Append(Label(o.Target)).Append('\n');
                foreach (var t in p.Terminated) text.Append("    terminated  ").Append(Label(t.Target)).Append('\n');
            }
            if (p.FailedCalls.Count > 0)
                text.Append("  failed calls: ")
                    .Append(string.Join(", ", p.FailedCalls.Select(f => $"{f.Key} x{f.Value}"))).Append('\n');
        }
        return text.ToString();
    }

    /// <summary>Port uses with the same role, name and peer, once each with their count, in order of first use.</summary>
    internal static IEnumerable<(PortUse Port, int Count)> Grouped(IEnumerable<PortUse> ports) =>
        ports.GroupBy(p => (p.Role, p.Name, p.Peer)).Select(g => (g.First(), g.Count()));

    internal static IEnumerable<(ProcessBehavior Process, int Depth)> TreeOrder(BehaviorReport report)
    {
        var stack = new Stack<(ProcessBehavior, int)>();
        var seen = new HashSet<ProcessBehavior>();
        foreach (var root in report.Roots)
        {
            stack.Push((root, 0));
            while (stack.Count > 0)
            {
                var (p, depth) = stack.Pop();
                if (!seen.Add(p)) continue;
                yield return (p, depth);
                var children = report.ChildrenOf(p).ToList();
                for (int i = children.Count - 1; i >= 0; i--) stack.Push((children[i], depth + 1));
            }
        }
    }

    /// <summary><c>invoice.exe pid 2500 @10,000,000</c>: name, pid and the instance (the instr of its creation or first
    /// sighting), so a reused pid reads as two processes.</summary>
    internal static string Label(ReportProcess p) => $"{Printable.Of(p.Name)} pid {p.Pid} @{N(p.Instance)}";

    internal static string Describe(ReportFilter f)
    {
        var parts = new List<string>();
        if (f.Pid is uint pid) parts.Add($"pid {pid}");
        if (f.ProcessName is { } name) parts.Add($"process {name}");
        if (f.From is ulong from) parts.Add($"from instr {N(from)}");
        if (f.To is ulong to) parts.Add($"to instr {N(to)}");
        if (f.Hide is not null) parts.Add("system activity hidden");
        return string.Join(", ", parts);
    }

    internal static string FileLine(FileUse f)
    {
        var what = new List<string>();
        if (f.Created) what.Add("created");
        if (f.Opened) what.Add("opened");
        if (f.Reads > 0) what.Add($"read {N(f.BytesRead)} bytes");
        if (f.Writes > 0) what.Add($"written {N(f.BytesWritten)} bytes");
        foreach (var to in f.RenamedTo) what.Add($"renamed to {Printable.Of(to)}");
        if (f.DeletedBy is { } how) what.Add($"deleted ({how})");
        return $"{Printable.Of(f.Path)}  [{string.Join(", ", what)}]";
    }

    internal static string KeyLine(KeyUse k)
    {
        var what = new List<string>();
        if (k.Created) what.Add("created");
        if (k.Opened) what.Add("opened");
        if (k.Queried) what.Add("queried");
        if (k.Enumerated) what.Add("enumerated");
        if (k.Deleted) what.Add("deleted");
        return $"key         {Printable.Of(k.Path)}  [{string.Join(", ", what)}]";
    }

    /// <summary>Decoded value data: strings quoted, numbers in decimal and hex, bytes as hex digits.</summary>
    internal static string DataText(uint? type, object data) => data switch
    {
        string s when type is 1 or 2 or 6 => "\"" + Printable.Of(s) + "\"",
        string hex => hex.Length == 0 ? "(empty)" : hex,
        string[] parts => string.Join(", ", parts.Select(s => "\"" + Printable.Of(s) + "\"")),
        ulong n => $"{n} (0x{n:X})",
        _ => Printable.Of(data.ToString()),
    };

    static void Line(StringBuilder text, string label, string? value)
    {
        if (string.IsNullOrEmpty(value)) return;
        text.Append("  ").Append((label + ":").PadRight(14)).Append(Printable.Of(value)).Append('\n');
    }

    internal static string N(ulong value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
