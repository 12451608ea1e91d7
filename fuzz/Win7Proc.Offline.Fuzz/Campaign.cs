using System.Diagnostics;
using System.Security.Cryptography;

namespace Win7Proc.Offline.Fuzz;

/// <summary>Counts of a campaign, for the closing line.</summary>
sealed class Tally
{
    public int Passed, Failed;
    public void Add(bool ok) { if (ok) Passed++; else Failed++; }
}

/// <summary>
/// The deterministic mutation runner: for each sample of a target, the systematic truncations, then
/// <c>count</c> seeded random mutations spread over the samples. Every failing input is written to the corpus
/// directory (named by content hash, so a rerun does not duplicate it) and reported on one line.
/// </summary>
static class Campaign
{
    public static IEnumerable<string> Samples(string target, string samplesDir, string corpusDir) => target switch
    {
        "trace" => Directory.EnumerateFiles(samplesDir, "trace.lz4", SearchOption.AllDirectories).Order(StringComparer.Ordinal),
        "scenario" => Directory.EnumerateFiles(samplesDir, "scenario.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal),
        // Plogs are not kept in samples/: the seed plogs of the corpus are the valid ones (named seed-*).
        _ => Directory.EnumerateFiles(Path.Combine(corpusDir, "plog"), "seed-*.plog").Order(StringComparer.Ordinal),
    };

    public static void Mutate(string target, IReadOnlyList<string> samples, int count, int seed, int stride, bool systematic,
        Harness harness, string scratch, string? saveDir, Tally tally)
    {
        var watch = Stopwatch.StartNew();
        int before = tally.Failed, executions = 0, truncations = 0;
        var rng = new Random(seed);
        foreach (var sample in samples)
        {
            var input = File.ReadAllBytes(sample);
            // The sample itself: must pass (exit 0) before its mutants mean anything.
            var baseline = Targets.Run(target, input, harness, scratch);
            executions++;
            if (baseline.Problem is not null || (target == "trace" && baseline.AnalyseExit != 0))
            {
                Fail(target, sample, "the unmodified sample", baseline.Problem ?? $"exit {baseline.AnalyseExit}", input, saveDir, tally);
                continue;
            }
            tally.Add(true);
            if (!systematic) continue;
            var boundaries = target switch
            {
                "trace" => Lz4Frames.Scan(input).SelectMany(f => new[] { f.Start, f.End }).Distinct().ToList(),
                "plog" => Mutations.PlogChunks(input).SelectMany(c => new[] { (int)c.Pos, (int)c.End }).Append(128).Distinct().ToList(),
                _ => [],
            };
            var frames = target == "trace" ? Lz4Frames.Scan(input) : [];
            int firstFrameEnd = frames.Count > 0 ? frames[0].End : int.MaxValue;
            long previous = -1;
            foreach (var m in Mutations.Systematic(input, boundaries, stride))
            {
                executions++;
                truncations++;
                bool isTraceCut = target == "trace" && m.CutAt >= firstFrameEnd;
                var verdict = Run(target, m, harness, scratch, isTraceCut);
                string? problem = verdict.Problem;
                // Every complete record before the cut is analysed: the count never drops as the cut moves on.
                if (problem is null && target == "trace" && verdict.RecordsRead is { } kept)
                {
                    if (kept < previous) problem = $"truncation at {m.CutAt} kept {kept} records, an earlier cut kept {previous}";
                    if (baseline.RecordsRead is { } all && kept > all) problem = $"truncation at {m.CutAt} kept {kept} records, the whole trace has {all}";
                    previous = Math.Max(previous, kept);
                }
                if (problem is null) tally.Add(true);
                else Fail(target, sample, m.How, problem, m.Bytes, saveDir, tally);
            }
        }
        for (int i = 0; i < count && samples.Count > 0; i++)
        {
            string sample = samples[i % samples.Count];
            var input = File.ReadAllBytes(sample);
            var m = target switch
            {
                "trace" => Mutations.Trace(input, Lz4Frames.Scan(input), rng),
                "plog" => Mutations.Plog(input, rng),
                _ => Mutations.Scenario(input, rng),
            };
            executions++;
            var verdict = Run(target, m, harness, scratch, truncation: false);
            if (verdict.Problem is null) tally.Add(true);
            else Fail(target, sample, m.How, verdict.Problem, m.Bytes, saveDir, tally);
        }
        Console.WriteLine($"{target}: {executions} executions ({truncations} truncations, {count} random mutations, seed {seed}) " +
                          $"over {samples.Count} samples, {tally.Failed - before} failed, {watch.Elapsed.TotalSeconds:F1} s");
    }

    static Verdict Run(string target, Mutant m, Harness harness, string scratch, bool truncation)
    {
        try { return Targets.Run(target, m.Bytes, harness, scratch, truncation); }
        catch (HangException e) { return new Verdict($"hang: {e.Message}"); }
    }

    /// <summary>Every file of the corpus through its target's contract (exit codes, one-line errors, no stray files).</summary>
    public static void Replay(string corpusDir, Harness harness, string scratch, Tally tally)
    {
        var watch = Stopwatch.StartNew();
        int files = 0, before = tally.Failed;
        foreach (var target in Targets.Names)
        {
            string dir = Path.Combine(corpusDir, target);
            if (!Directory.Exists(dir)) continue;
            foreach (var file in Directory.EnumerateFiles(dir).Where(f => f.EndsWith(Targets.Extension(target), StringComparison.Ordinal)).Order(StringComparer.Ordinal))
            {
                files++;
                var verdict = Run(target, new Mutant(File.ReadAllBytes(file), "corpus"), harness, scratch, truncation: false);
                if (verdict.Problem is null) tally.Add(true);
                else
                {
                    tally.Add(false);
                    Console.WriteLine($"FAIL {target} {Path.GetRelativePath(corpusDir, file)}: {verdict.Problem}");
                }
            }
        }
        Console.WriteLine($"corpus replay: {files} files, {tally.Failed - before} failed, {watch.Elapsed.TotalSeconds:F1} s");
    }

    static void Fail(string target, string sample, string how, string problem, byte[] input, string? saveDir, Tally tally)
    {
        tally.Add(false);
        string name = $"{Path.GetFileName(Path.GetDirectoryName(sample))}-{Convert.ToHexString(SHA256.HashData(input))[..12].ToLowerInvariant()}{Targets.Extension(target)}";
        string saved = "";
        if (saveDir is not null)
        {
            string dir = Path.Combine(saveDir, target);
            Directory.CreateDirectory(dir);
            string path = Path.Combine(dir, name);
            if (!File.Exists(path))
            {
                File.WriteAllBytes(path, input);
                File.WriteAllText(path + ".txt", $"from {Path.GetRelativePath(Environment.CurrentDirectory, sample)}: {how}\n{problem}\n");
            }
            saved = $" (saved as {Path.GetRelativePath(Environment.CurrentDirectory, path)})";
        }
        Console.WriteLine($"FAIL {target} {Path.GetRelativePath(Environment.CurrentDirectory, sample)} [{how}]: {problem}{saved}");
    }
}
