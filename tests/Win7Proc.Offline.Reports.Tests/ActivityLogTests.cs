using Win7Proc.Offline.Pandalog.Schema;
using Win7Proc.Offline.Procstory;

namespace Win7Proc.Offline.Reports.Tests;

/// <summary>Process identity without the analyzer's instance key (PANDA's own plogs), and guest text that must not
/// break the documents it lands in.</summary>
public class ActivityLogTests
{
    static LogEntry Create(ulong instr, uint parent, string parentName, uint pid, string name, string image) => new()
    {
        Pc = 0, Instr = instr,
        NtCreateUserProcess = new NtCreateUserProcess
        {
            CurP = new Process { Pid = parent, Name = parentName },
            NewP = new Process { Pid = pid, Name = name },
            NewLongName = image,
        },
    };

    static LogEntry Exit(ulong instr, uint pid, string name) => new()
    {
        Pc = 0, Instr = instr,
        NtTerminateProcess = new NtTerminateProcess { CurP = new Process { Pid = pid, Name = name }, TermP = new Process { Pid = pid, Name = name } },
    };

    static LogEntry Write(ulong instr, uint pid, string name, string file) => new()
    {
        Pc = 0, Instr = instr,
        NtWriteFile = new ProcessFile { Proc = new Process { Pid = pid, Name = name }, Filename = file, Handle = 4, BytesTransferred = 3 },
    };

    [Fact]
    public void Without_instance_keys_a_reused_pid_is_still_two_processes()
    {
        var log = ActivityLog.From(
        [
            Create(100, 4, "System", 700, "a.exe", @"C:\a.exe"),
            Write(150, 700, "a.exe", @"\Device\HarddiskVolume1\x.txt"),
            Exit(200, 700, "a.exe"),
            Create(300, 4, "System", 700, "a.exe", @"C:\a.exe"),   // same pid, same name: a new life after the exit
            Write(350, 700, "a.exe", @"\Device\HarddiskVolume1\y.txt"),
        ]);
        var instances = log.Processes.Where(p => p.Pid == 700).ToList();
        Assert.Equal(2, instances.Count);
        Assert.Equal([100UL, 300UL], instances.Select(p => p.Birth!.Value));
        var report = BehaviorReport.Build(log);
        Assert.Equal([@"x.txt", @"y.txt"], report.Processes.Where(p => p.Process.Pid == 700).Select(p => p.Files.Single().Path[^5..]));
        // The creations name no device image path, so no drive letter is learned: device paths stay.
        Assert.Equal(@"\Device\HarddiskVolume1\x.txt", report.Paths.File(@"\Device\HarddiskVolume1\x.txt"));
    }

    [Fact]
    public void Guest_text_cannot_break_markdown_html_or_csv()
    {
        const string evil = "evil|`<script>alert(1)</script>\r\n\"q\"";
        var log = ActivityLog.From([Create(100, 4, "System", 700, evil, @"C:\" + evil), Write(150, 700, evil, @"\??\C:\" + evil)]);
        var report = BehaviorReport.Build(log);
        var md = ReportMarkdownRenderer.Render(report);
        // Markdown shows raw HTML outside code spans only (CommonMark): outside them it must be escaped.
        Assert.DoesNotContain("<script>", System.Text.RegularExpressions.Regex.Replace(md, "`[^`\n]*`", ""), StringComparison.Ordinal);
        var fileRows = md.Split('\n').Where(l => l.StartsWith("| `C:", StringComparison.Ordinal)).ToList();
        Assert.Single(fileRows);
        // A two-column row has three unescaped pipes, whatever the guest's name held.
        Assert.Equal(3, System.Text.RegularExpressions.Regex.Matches(fileRows[0], @"(?<!\\)\|").Count);
        var text = ReportTextRenderer.Render(report);
        Assert.DoesNotContain('\r', text);
        var story = ProcessStory.Build([Create(100, 4, "System", 700, evil, @"C:\" + evil)]);
        var html = StoryHtmlRenderer.Render(story, StoryHtmlRenderer.MarksFrom(story, log), evil);
        Assert.DoesNotContain("<script>alert", html, StringComparison.Ordinal);
        using var csv = new MemoryStream();
        var rows = EventExport.WriteCsv(EventExport.Rows(log), csv, extraColumns: true);
        var lines = System.Text.Encoding.UTF8.GetString(csv.ToArray()).TrimEnd('\n').Split("\r\n");
        Assert.Equal(rows + 1, lines.Length); // every row on one line: CR/LF inside guest text did not split it
    }
}
