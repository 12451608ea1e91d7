using System.Text.RegularExpressions;
using Win7Proc.Offline.Pandalog;

namespace Win7Proc.Offline.Analyzer.Tests.Samples;

/// <summary>
/// The seed document's own viewer, PANDA's original <c>qemu/scripts/procstory.py</c>, reads the old
/// <c>pandalog_reader</c> text lines with regular expressions. Our <c>dump --format text</c> of the seed-story sample
/// must satisfy exactly those rules, and parsing it with them must give the seed chart's births and deaths.
/// </summary>
public class SeedStoryOriginalProcstoryTests
{
    // The original script's rules, quoted from its source (shared reference "upstream checks" §3, procstory.py of
    // 2016-01-01): creation and termination lines, a line containing " new_pid," for a process seen, and the
    // "total instr" line.
    static readonly Regex Creation = new(@"instr=([0-9]+) pc=0x[0-9a-f]+ : nt_create_user_process (.*)$");
    static readonly Regex Termination = new(@"instr=([0-9]+) pc=0x[0-9a-f]+ : nt_terminate_process (.*)$");
    const string ProcessSeen = " new_pid,";
    static readonly Regex Total = new(@"total instr ([0-9]+)");

    // The seed document's chart (seed/000_8a8689100701f7f6.txt), read off its tree rows: every `-b<instr>` with the
    // row's pid, and every `-d<instr>`. Copied here: tests need nothing outside the repository.
    static readonly (ulong Instr, uint Pid)[] SeedBirths =
    [
        (7155159439, 1968), (702390220, 428), (5676871135, 1316), (8731220644, 2004), (5682605261, 1832),
        (5148567550, 1240), (3295106704, 1240), (3296266508, 1672), (3863058292, 1580), (3864065823, 1344),
        (5142012434, 740), (9301579103, 560), (9311689913, 1344),
    ];
    static readonly ulong[] SeedDeaths =
    [
        7323653668, 5071152352, 8824826414, 5976293438, 3258090694, 3359992160, 3797733522, 5127955252, 4801454245,
        9286134975, 9319514374,
        5016269325, // the seed's "unknown1" row: in the sample, SearchFilterHost 1900 killed by SearchIndexer
    ];
    // Every pid of the seed's tree (37 rows; 1240 and 1344 twice, "unknown" 0 is the SearchFilterHost 1900 above).
    static readonly uint[] SeedPids =
    [
        1732, 1820, 824, 1968, 796, 780, 1048, 1232, 428, 1316, 2004, 1208, 664, 424, 284, 1236, 932, 360, 332, 1832,
        616, 408, 432, 1272, 540, 1240, 1848, 1748, 1324, 1836, 1876, 1360, 1672, 1580, 1344, 740, 560, 1900,
    ];
    const ulong SeedMaxInstr = 9349975980;

    static string[] SeedStoryTextDump()
    {
        var (_, _, plog) = SampleTests.Analyse("seed-story");
        using var reader = PandalogReader.Open(plog);
        var output = new StringWriter();
        PlogDumper.Dump(reader, PlogEntryFilter.Create(), PlogDumpFormat.Text, output);
        return output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    [Fact]
    public void Entries_carry_no_asid_by_default_as_the_original_plugin_wrote_them()
    {
        var (_, entries, _) = SampleTests.Analyse("seed-story");
        Assert.DoesNotContain(entries, e => e.HasAsid);
    }

    [Fact]
    public void Original_regexes_find_every_seed_birth_in_the_text_dump()
    {
        var births = SeedStoryTextDump().Select(l => Creation.Match(l)).Where(m => m.Success)
            .Select(m => (Instr: ulong.Parse(m.Groups[1].Value), Detail: m.Groups[2].Value)).ToList();

        Assert.Equal(SeedBirths.Select(b => b.Instr).Order(), births.Select(b => b.Instr).Order());
        foreach (var (instr, pid) in SeedBirths)
            Assert.Contains($"(process, new, {pid},", births.Single(b => b.Instr == instr).Detail);
    }

    [Fact]
    public void Original_regexes_find_every_seed_death_in_the_text_dump()
    {
        var deaths = SeedStoryTextDump().Select(l => Termination.Match(l)).Where(m => m.Success)
            .Select(m => ulong.Parse(m.Groups[1].Value)).ToList();

        Assert.Equal(SeedDeaths.Order(), deaths.Distinct().Order());
    }

    [Fact]
    public void Original_rules_see_every_seed_process_and_the_total()
    {
        var lines = SeedStoryTextDump();
        var seen = lines.Where(l => l.Contains(ProcessSeen)).ToList();
        // The original knew a process it did not see created only from new_pid lines: every pre-existing process of
        // the seed's tree must have one (1900 never runs: it is first mentioned by its termination).
        var preExisting = SeedPids.Except(SeedBirths.Select(b => b.Pid)).Where(p => p != 1900).ToList();
        Assert.Equal(26, preExisting.Count); // the seed-story sample's 26 pre-existing processes
        foreach (var pid in preExisting)
            Assert.Contains(seen, l => l.Contains($" new_pid, {pid},"));

        var totals = lines.Select(l => Total.Match(l)).Where(m => m.Success).ToList();
        Assert.Equal(SeedMaxInstr, ulong.Parse(Assert.Single(totals).Groups[1].Value));
    }
}
