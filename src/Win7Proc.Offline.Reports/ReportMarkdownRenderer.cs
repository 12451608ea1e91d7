using System.Text;
using static Win7Proc.Offline.Reports.ReportTextRenderer;

namespace Win7Proc.Offline.Reports;

/// <summary>The report for a ticket or a write-up: the process tree as a nested list, then per process a short
/// fact list and tables of its files, registry changes, sections, ports and cross-process memory.</summary>
public static class ReportMarkdownRenderer
{
    public static string Render(BehaviorReport report)
    {
        var md = new StringBuilder();
        var paths = report.Paths;
        md.Append("# Behaviour report: ").Append(Cell(Path.GetFileName(report.Input))).Append("\n\n");
        md.Append("- instructions: ").Append(N(report.MaxInstr)).Append('\n');
        md.Append("- processes: ").Append(report.Processes.Count).Append('\n');
        md.Append("- time: ").Append(Cell(report.Clock.Source)).Append('\n');
        if (Describe(report.Filter) is { Length: > 0 } filter) md.Append("- filter: ").Append(filter).Append('\n');
        md.Append("\n## Process tree\n\n");
        foreach (var (p, depth) in TreeOrder(report))
        {
            md.Append(' ', 2 * Math.Min(depth, 32)).Append("- **").Append(Cell(p.Process.Name)).Append("** pid ")
                .Append(p.Process.Pid).Append(" @").Append(N(p.Process.Instance));
            if (p.Process.CommandLine is { } cmd) md.Append(": ").Append(Code(cmd));
            md.Append('\n');
        }
        foreach (var b in report.Processes)
        {
            var p = b.Process;
            md.Append("\n## ").Append(Cell(p.Name)).Append(" pid ").Append(p.Pid).Append(" @").Append(N(p.Instance)).Append("\n\n");
            Fact(md, "image", paths.File(p.ImagePath), code: true);
            Fact(md, "command line", p.CommandLine, code: true);
            Fact(md, "parent", p.Parent is { } parent ? $"{parent.Name} pid {parent.Pid} @{N(parent.Instance)}" : p.Ppid is uint ppid ? $"pid {ppid} (not seen)" : null);
            Fact(md, "born", p.Birth is ulong born ? $"instr {N(born)} ({report.Clock.IsoAt(born)})" : "before the recording");
            Fact(md, "died", p.Death is ulong d ? $"instr {N(d)} ({report.Clock.IsoAt(d)})" + (p.ExitStatus is uint x ? $", exit status 0x{x:X8}" : "")
                + (p.TerminatedBy is { } killer ? $", terminated by {killer.Name} pid {killer.Pid}" : "") : "not seen");
            if (b.Files.Count > 0)
            {
                md.Append("\n| file | activity |\n|---|---|\n");
                foreach (var f in b.Files)
                {
                    var line = FileLine(f);
                    md.Append("| ").Append(Code(f.Path)).Append(" | ").Append(Cell(line[(line.IndexOf("  [", StringComparison.Ordinal) + 3)..^1])).Append(" |\n");
                }
            }
            if (b.Keys.Count > 0)
            {
                md.Append("\n| key | activity |\n|---|---|\n");
                foreach (var k in b.Keys)
                {
                    var line = KeyLine(k);
                    md.Append("| ").Append(Code(k.Path)).Append(" | ").Append(Cell(line[(line.IndexOf("  [", StringComparison.Ordinal) + 3)..^1])).Append(" |\n");
                }
            }
            if (b.ValuesSet.Count + b.ValuesDeleted.Count > 0)
            {
                md.Append("\n| value | change |\n|---|---|\n");
                foreach (var v in b.ValuesSet)
                    md.Append("| ").Append(Code(v.Key + "\\" + v.Name)).Append(" | set ")
                        .Append(v.Type is uint t ? ProcmonNames.TypeName(t) : "?").Append(' ').Append(Code(DataText(v.Type, v.Data))).Append(" |\n");
                foreach (var v in b.ValuesDeleted)
                    md.Append("| ").Append(Code(v.Key + "\\" + v.Name)).Append(" | deleted |\n");
            }
            if (b.Sections.Count > 0)
            {
                md.Append("\n| section | operation | file | into |\n|---|---|---|---|\n");
                foreach (var s in b.Sections)
                    md.Append("| ").Append(Code(s.Name ?? "(unnamed)")).Append(" | ").Append(s.How).Append(" | ")
                        .Append(s.File is null ? "" : Code(s.File)).Append(" | ")
                        .Append(s.Target is { } t ? $"{Cell(t.Name)} pid {t.Pid}" : "").Append(" |\n");
            }
            if (b.Ports.Count > 0)
            {
                md.Append("\n| port | role | peer | calls |\n|---|---|---|---|\n");
                foreach (var (port, count) in Grouped(b.Ports))
                    md.Append("| ").Append(Code(port.Name ?? "(unnamed)")).Append(" | ").Append(port.Role).Append(" | ")
                        .Append(port.Peer is { } peer ? $"{Cell(peer.Name)} pid {peer.Pid}" : "").Append(" | ").Append(count).Append(" |\n");
            }
            if (b.Memory.Count > 0)
            {
                md.Append("\n| memory | target | address | bytes |\n|---|---|---|---|\n");
                foreach (var m in b.Memory)
                    md.Append("| ").Append(m.How).Append(" | ").Append(Cell(m.Target.Name)).Append(" pid ").Append(m.Target.Pid)
                        .Append(" | ").Append(m.Address is uint a ? $"`0x{a:X8}`" : "").Append(" | ")
                        .Append(m.Bytes is ulong n ? N(n) : "").Append(" |\n");
            }
            if (b.Created.Count + b.Opened.Count + b.Terminated.Count > 0)
            {
                md.Append('\n');
                foreach (var c in b.Created)
                    md.Append("- created **").Append(Cell(c.Target.Name)).Append("** pid ").Append(c.Target.Pid)
                        .Append(c.CommandLine is { } cl ? ": " + Code(cl) : "").Append('\n');
                foreach (var o in b.Opened) md.Append("- opened ").Append(Cell(o.Target.Name)).Append(" pid ").Append(o.Target.Pid).Append('\n');
                foreach (var t in b.Terminated) md.Append("- terminated ").Append(Cell(t.Target.Name)).Append(" pid ").Append(t.Target.Pid).Append('\n');
            }
            if (b.FailedCalls.Count > 0)
                md.Append("\nFailed calls: ").Append(string.Join(", ", b.FailedCalls.Select(f => $"`{f.Key}` x{f.Value}"))).Append('\n');
        }
        return md.ToString();
    }

    static void Fact(StringBuilder md, string label, string? value, bool code = false)
    {
        if (string.IsNullOrEmpty(value)) return;
        md.Append("- ").Append(label).Append(": ").Append(code ? Code(value) : Cell(value)).Append('\n');
    }

    /// <summary>Guest text inside backticks: printable, no backtick or pipe can end the span or the table cell.</summary>
    static string Code(string text) => "`" + Printable.Of(text).Replace('`', '\'').Replace("|", "\\|", StringComparison.Ordinal) + "`";

    /// <summary>Guest text as plain markdown: printable, markdown's active characters escaped.</summary>
    static string Cell(string? text)
    {
        var printable = Printable.Of(text);
        var sb = new StringBuilder(printable.Length);
        foreach (var c in printable)
        {
            if (c is '\\' or '`' or '*' or '_' or '[' or ']' or '<' or '>' or '|' or '#') sb.Append('\\');
            sb.Append(c);
        }
        return sb.ToString();
    }
}
