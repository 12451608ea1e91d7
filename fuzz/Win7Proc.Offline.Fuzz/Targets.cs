namespace Win7Proc.Offline.Fuzz;

/// <summary>What a target's run of one input found: null when every check held.</summary>
sealed record Verdict(string? Problem, long? RecordsRead = null, int AnalyseExit = -1);

/// <summary>
/// The three readers under test, each driven through the CLI as a user would:
/// trace → analyse (with --extract-writes) → dump/procstory of the plog written;
/// plog → dump (jsonl) and procstory; scenario → simulate → analyse the trace it wrote.
/// Each input runs in a fresh directory (in/ holds the input, out/ the outputs); afterwards nothing may exist
/// outside out/ (and in/), and every extracted file must lie directly in the extraction directory.
/// </summary>
static class Targets
{
    public static readonly string[] Names = ["trace", "plog", "scenario"];

    public static string Extension(string target) => target switch { "trace" => ".lz4", "plog" => ".plog", _ => ".json" };

    public static Verdict Run(string target, byte[] input, Harness harness, string scratch, bool truncation = false)
    {
        string dir = Path.Combine(scratch, "run");
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(Path.Combine(dir, "in"));
        Directory.CreateDirectory(Path.Combine(dir, "out"));
        string inputPath = Path.Combine(dir, "in", "input" + Extension(target));
        File.WriteAllBytes(inputPath, input);
        var verdict = target switch
        {
            "trace" => Trace(inputPath, dir, harness, truncation),
            "plog" => Plog(inputPath, dir, harness),
            "scenario" => Scenario(inputPath, dir, harness),
            _ => throw new ArgumentException($"unknown target {target}"),
        };
        return verdict.Problem is null && StrayFiles(dir) is { } stray ? verdict with { Problem = stray } : verdict;
    }

    static Verdict Trace(string trace, string dir, Harness harness, bool truncation)
    {
        var analyse = harness.Run(dir, "in/" + Path.GetFileName(trace), "-o", "out/analysis.plog", "--extract-writes", "out/extract");
        // A cut recording must give exit 5 (everything before the cut analysed); 4 only if not even the header survived.
        var problem = truncation ? Harness.Check(analyse, 4, 5) : Harness.Check(analyse, 0, 4, 5);
        if (problem is not null) return new Verdict($"analyse: {problem}", AnalyseExit: analyse.Exit);
        long? records = Harness.RecordsRead(analyse.Stderr);
        if (analyse.Exit is 0 or 5)
        {
            if (!File.Exists(Path.Combine(dir, "out/analysis.plog"))) return new Verdict($"analyse exit {analyse.Exit} but no plog written");
            var dump = harness.Run(dir, "dump", "out/analysis.plog", "--format", "jsonl");
            if (Harness.Check(dump, 0) is { } p) return new Verdict($"dump of the analysed plog: {p}");
            var story = harness.Run(dir, "procstory", "out/analysis.plog");
            if (Harness.Check(story, 0) is { } q) return new Verdict($"procstory of the analysed plog: {q}");
        }
        return new Verdict(null, records, analyse.Exit);
    }

    static Verdict Plog(string plog, string dir, Harness harness)
    {
        string rel = "in/" + Path.GetFileName(plog);
        var dump = harness.Run(dir, "dump", rel, "--format", "jsonl");
        if (Harness.Check(dump, 0, 4) is { } p) return new Verdict($"dump: {p}");
        var story = harness.Run(dir, "procstory", rel);
        if (Harness.Check(story, 0, 4) is { } q) return new Verdict($"procstory: {q}");
        // dump parses every entry; procstory checks every record's framing and envelope but parses only the entries
        // it uses, so damage inside an entry it skips is not its error: the two may differ (0 and 4).
        return new Verdict(null);
    }

    static Verdict Scenario(string scenario, string dir, Harness harness)
    {
        var simulate = harness.Run(dir, "simulate", "in/" + Path.GetFileName(scenario), "-o", "out/trace.lz4");
        if (Harness.Check(simulate, 0, 4) is { } p) return new Verdict($"simulate: {p}");
        if (simulate.Exit != 0) return new Verdict(null);
        // A trace the simulator and the real recorder core wrote must analyse cleanly.
        var analyse = harness.Run(dir, "out/trace.lz4", "-o", "out/trace.plog");
        if (Harness.Check(analyse, 0) is { } q) return new Verdict($"analyse of the simulated trace: {q}");
        return new Verdict(null);
    }

    /// <summary>Anything but in/ and out/ in the run directory, or an extracted file outside out/extract itself.</summary>
    static string? StrayFiles(string dir)
    {
        foreach (var entry in Directory.EnumerateFileSystemEntries(dir))
        {
            string name = Path.GetFileName(entry);
            if (name is not ("in" or "out")) return $"wrote outside the output directory: {name}";
        }
        string extract = Path.Combine(dir, "out", "extract");
        if (Directory.Exists(extract) && Directory.EnumerateDirectories(extract).Any())
            return "--extract-writes created a subdirectory inside the extraction directory";
        return null;
    }
}
