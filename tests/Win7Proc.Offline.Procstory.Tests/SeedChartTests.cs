using Win7Proc.Offline.Testing;
using static Win7Proc.Offline.Procstory.Tests.LogBuilder;

namespace Win7Proc.Offline.Procstory.Tests;

/// <summary>
/// The sample chart of the original plugin's usage page (/work/shared/seed/000_8a8689100701f7f6.txt), rebuilt from the
/// events its tree listing implies and compared line for line, modulo the deviations listed in docs/procstory.md.
/// </summary>
public class SeedChartTests
{
    public const ulong SeedTotal = 9349975980;

    /// <summary>The events behind the seed's tree: 26 processes already running (first sighted in the order the tree
    /// lists them, which fixes their short-name counters), then the creations and terminations its b/d numbers give.</summary>
    internal static LogBuilder SeedLog()
    {
        var log = new LogBuilder();
        (uint Pid, string Name)[] running =
        {
            (1732, "svchost.exe"), (1820, "SearchProtocol"), (824, "svchost.exe"), (796, "svchost.exe"),
            (780, "SearchIndexer."), (1048, "svchost.exe"), (1232, "explorer.exe"), (1208, "svchost.exe"),
            (664, "svchost.exe"), (424, "lsass.exe"), (284, "csrss.exe"), (1236, "dwm.exe"), (932, "svchost.exe"),
            (360, "winlogon.exe"), (332, "csrss.exe"), (616, "svchost.exe"), (408, "services.exe"), (432, "lsm.exe"),
            (1272, "taskhost.exe"), (540, "svchost.exe"), (1848, "svchost.exe"), (1748, "WmiPrvSE.exe"),
            (1324, "SearchFilterHo"), (1836, "choice.exe"), (1876, "conhost.exe"), (1360, "cmd.exe"),
        };
        ulong instr = 1000;
        foreach (var (pid, name) in running) log.Seen(instr += 1000, pid, name);

        var explorer = P(1232, "explorer.exe");
        var cmd1 = P(1360, "cmd.exe");
        var svchost2 = P(824, "svchost.exe");
        var svchost9 = P(540, "svchost.exe");
        var csrss2 = P(332, "csrss.exe");
        log.Create(702390220, explorer, P(428, "notepad.exe"))
           .Exit(3258090694, P(1836, "choice.exe"))
           .Create(3295106704, cmd1, P(1240, "cmd.exe"))
           .Create(3296266508, cmd1, P(1672, "svchost.exe"))
           .Exit(3359992160, P(1240, "cmd.exe"))
           .Exit(3797733522, P(1672, "svchost.exe"))
           .Create(3863058292, cmd1, P(1580, "tasklist.exe"))
           .Create(3864065823, cmd1, P(1344, "svchost.exe"))
           .Exit(4801454245, P(1344, "svchost.exe"))
           .Terminate(5016269325, cmd1, P(0, "unknown"))   // the original's unresolvable handle
           .Exit(5071152352, P(428, "notepad.exe"))
           .Exit(5127955252, P(1580, "tasklist.exe"))
           .Create(5142012434, cmd1, P(740, "choice.exe"))
           .Create(5148567550, svchost9, P(1240, "dllhost.exe"))
           .Create(5676871135, explorer, P(1316, "cmd.exe"))
           .Create(5682605261, csrss2, P(1832, "conhost.exe"))
           .Exit(5976293438, P(1240, "dllhost.exe"))
           .Create(7155159439, svchost2, P(1968, "WMIADAP.exe"))
           .Exit(7323653668, P(1968, "WMIADAP.exe"))
           .Create(8731220644, P(1316, "cmd.exe"), P(2004, "ipconfig.exe"))
           .Exit(8824826414, P(2004, "ipconfig.exe"))
           .Exit(9286134975, P(740, "choice.exe"))
           .Create(9301579103, cmd1, P(560, "cmd.exe"))
           .Create(9311689913, cmd1, P(1344, "svchost.exe"))
           .Exit(9319514374, P(560, "cmd.exe"))
           .Total(SeedTotal, SeedTotal);
        return log;
    }

    /// <summary>The seed document's chart: its indented block, without the 5-space indentation and trailing spaces.</summary>
    internal static List<string> SeedChart()
    {
        var path = Path.Combine(RepoPaths.ReferenceData, "seed", "000_8a8689100701f7f6.txt");
        var lines = File.ReadAllLines(path);
        var start = Array.FindIndex(lines, l => l.StartsWith("     max_instr = ", StringComparison.Ordinal));
        Assert.True(start >= 0, "seed chart not found in " + path);
        var chart = new List<string>();
        for (var i = start; i < lines.Length && lines[i].StartsWith("     ", StringComparison.Ordinal); i++)
            chart.Add(lines[i][5..].TrimEnd());
        return chart;
    }

    /// <summary>The documented deviations (docs/procstory.md), applied to the seed's lines.</summary>
    /// <param name="resolvedUnknown">When the log identifies the seed's unknown victim (a trace analysed by us): its
    /// tree line and short name, which replace unknown1's (its chart cells stay the same).</param>
    internal static List<string> SeedChartWithDeviations((string TreeLine, string ShortName)? resolvedUnknown = null)
    {
        var result = new List<string>();
        var svchost12Rows = 0;
        var svchost12Lines = 0;
        foreach (var seedLine in SeedChart())
        {
            var line = seedLine;
            // Deviation 1: no stray ')' after the names of processes whose creation was seen.
            line = line.Replace(".exe)-", ".exe-", StringComparison.Ordinal);
            // Deviation 2: the second instance of reused pid 1344 gets its own short name.
            if (line.Contains("svchost12 1344-", StringComparison.Ordinal) && ++svchost12Lines == 2)
                line = line.Replace("svchost12", "svchost13", StringComparison.Ordinal);
            if (line.StartsWith("  svchost12 : ", StringComparison.Ordinal) && ++svchost12Rows == 2)
                line = "  svchost13 : " + line["  svchost12 : ".Length..];
            // Deviation 3: the unresolved termination is a note line, not a pid-0 process (no chart row); when the
            // analyzer resolved it, the victim's own lines.
            if (line == " [i]    unknown1 0-unknown)-0-d5016269325")
                line = resolvedUnknown?.TreeLine ?? " [?] an unidentified process was terminated at d5016269325 by cmd1";
            if (line.StartsWith("   unknown1 : ", StringComparison.Ordinal))
            {
                if (resolvedUnknown is null) continue;
                line = resolvedUnknown.Value.ShortName.PadLeft(11) + line[11..];
            }
            // Deviation 4: short names follow the stated rule (10 characters without .exe): "SearchIndexer." -> SearchInde1.
            line = line.Replace("  SearchIn1 780-", "SearchInde1 780-", StringComparison.Ordinal);
            result.Add(line);
        }
        return result;
    }

    [Fact]
    public void Seed_chart_is_reproduced_modulo_documented_deviations()
    {
        var expected = SeedChartWithDeviations();
        var actual = StoryTextRenderer.Render(SeedLog().Story()).TrimEnd('\n').Split('\n').ToList();
        if (!expected.SequenceEqual(actual))
            Assert.Fail(Golden.Diff(string.Join('\n', expected), string.Join('\n', actual)));
    }

    [Fact]
    public void Seed_document_has_the_chart_we_expect_to_compare_with()
    {
        var chart = SeedChart();
        Assert.Equal("max_instr = 9349975980", chart[0]);
        Assert.Equal(StoryTextRenderer.Legend, chart[^1]);
        Assert.Equal(20, chart.Count(l => l.Contains(" :  |", StringComparison.Ordinal)));
    }

    [Fact]
    public void Integer_columns_agree_with_the_originals_double_scale_on_every_seed_event()
    {
        // The original: sc = 80.0 / max_instr; col = 2 + int(instr * sc). We compute it exactly in integers.
        var scale = 80.0 / SeedTotal;
        foreach (var entry in SeedLog().Entries)
            Assert.Equal(2 + (int)(entry.Instr * scale), StoryTextRenderer.Column(entry.Instr, SeedTotal, 80));
    }
}
