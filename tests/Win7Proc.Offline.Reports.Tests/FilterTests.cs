namespace Win7Proc.Offline.Reports.Tests;

/// <summary>--pid, --process, --from/--to and the --hide-system mechanism (with pattern files made here: the shipped
/// list is data, checked only for loading).</summary>
public class FilterTests
{
    static BehaviorReport Dropper(ReportFilter filter) => BehaviorReport.Build(SampleLogs.Log("dropper"), filter, "dropper");

    [Fact]
    public void Pid_keeps_every_instance_of_that_pid_and_nothing_else()
    {
        var report = Dropper(new ReportFilter { Pid = 2600 });
        Assert.Equal(["svchost.exe", "mspaint.exe"], report.Processes.Select(p => p.Process.Name));
        Assert.All(EventExport.Rows(SampleLogs.Log("dropper"), new ReportFilter { Pid = 2600 }), r => Assert.Equal(2600u, r.Pid));
    }

    [Fact]
    public void Process_name_matches_eprocess_or_image_name_in_any_case()
    {
        Assert.Equal([2600u], Dropper(new ReportFilter { ProcessName = "MSPAINT.EXE" }).Processes.Select(p => p.Process.Pid));
        Assert.Equal(2, Dropper(new ReportFilter { ProcessName = "svchost.exe" }).Processes.Count); // 664 and the dropped one
    }

    [Fact]
    public void From_and_to_keep_processes_alive_then_and_their_activity_then()
    {
        // The scenario: invoice.exe lives 10,000,000..14,000,000; the dropped svchost 13,000,000..20,000,000.
        var late = Dropper(new ReportFilter { From = 25_000_000 });
        Assert.DoesNotContain(late.Processes, p => p.Process.Name == "invoice.exe");
        Assert.Contains(late.Processes, p => p.Process.Name == "mspaint.exe");
        var window = Dropper(new ReportFilter { From = 12_000_000, To = 12_200_000 });
        var invoice = Assert.Single(window.Processes, p => p.Process.Name == "invoice.exe");
        Assert.Single(invoice.Files);          // the drop and its write
        Assert.Empty(invoice.ValuesSet);       // the Run value comes at 12,400,000
        Assert.All(EventExport.Rows(SampleLogs.Log("dropper"), new ReportFilter { From = 12_000_000, To = 12_200_000 }),
            r => Assert.InRange(r.Instr, 12_000_000UL, 12_200_000UL));
    }

    [Fact]
    public void Hide_system_drops_what_the_patterns_match()
    {
        var patterns = SystemPatterns.Parse("""
            # a comment
            [file]
            \\AppData\\Roaming\\
            [registry]
            \\CurrentVersion\\Run\\
            [process]
            \\mspaint\.exe$
            """, "test.patterns");
        Assert.Equal(3, patterns.Count);
        var all = Dropper(ReportFilter.All);
        var hidden = Dropper(new ReportFilter { Hide = patterns });
        Assert.Contains(all.WriteFiles, f => f.Contains(@"\AppData\Roaming\", StringComparison.Ordinal));
        Assert.DoesNotContain(hidden.WriteFiles, f => f.Contains(@"\AppData\Roaming\", StringComparison.Ordinal));
        Assert.NotEmpty(all.WriteKeys);
        Assert.Empty(hidden.WriteKeys);
        Assert.DoesNotContain(hidden.Processes, p => p.Process.Name == "mspaint.exe");
        // What the patterns do not match stays: the deletion of the original in Downloads.
        Assert.Equal(all.DeleteFiles, hidden.DeleteFiles);
        var rows = EventExport.Rows(SampleLogs.Log("dropper"), new ReportFilter { Hide = patterns }).ToList();
        Assert.DoesNotContain(rows, r => r.Operation == "RegSetValue" || r.ProcessName == "mspaint.exe");
        Assert.Contains(rows, r => r.Operation == "SetDispositionInformationFile");
    }

    [Theory]
    [InlineData("\\\\x\n", "before any [process], [file] or [registry] section")]
    [InlineData("[files]\n", "unknown section [files]")]
    [InlineData("[file]\n(unclosed\n", "not a regular expression")]
    public void A_bad_pattern_file_says_what_and_where(string text, string message)
    {
        var e = Assert.Throws<FormatException>(() => SystemPatterns.Parse(text, "mine.patterns"));
        Assert.StartsWith("mine.patterns:", e.Message, StringComparison.Ordinal);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_shipped_list_loads()
    {
        var builtIn = SystemPatterns.BuiltIn();
        Assert.True(builtIn.Count > 10);
        // The file beside the assembly is the embedded one (users edit a copy of it).
        var beside = SystemPatterns.Load(Path.Combine(AppContext.BaseDirectory, "hide-system.patterns"));
        Assert.Equal(builtIn.Count, beside.Count);
    }
}
