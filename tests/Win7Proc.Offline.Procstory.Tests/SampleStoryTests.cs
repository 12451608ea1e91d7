using Win7Proc.Offline.Testing;

namespace Win7Proc.Offline.Procstory.Tests;

/// <summary>procstory of every bundled sample trace (read directly through the analyzer), as reviewed golden files; and
/// the seed-story sample against the seed document.</summary>
public class SampleStoryTests
{
    public static TheoryData<string> Samples()
    {
        var data = new TheoryData<string>();
        foreach (var trace in Directory.GetFiles(RepoPaths.Samples, "trace.lz4", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(Path.GetDirectoryName(trace)!));
        return data;
    }

    static StorySnapshot ReadSample(string name) =>
        StoryInput.Read(Path.Combine(RepoPaths.Samples, name, "trace.lz4"));

    [Theory]
    [MemberData(nameof(Samples))]
    public void Sample_story_matches_its_reviewed_golden_file(string sample)
    {
        var snapshot = ReadSample(sample);
        Assert.True(snapshot.Complete, snapshot.IncompleteReason);
        var text = StoryTextRenderer.Render(snapshot.Story) + "\n--- --long --ppid --width 60\n"
            + StoryTextRenderer.Render(ProcessStory.Build(AnalyzedEntries(sample), new ProcessStoryOptions { LinkByPpid = true }),
                new StoryRenderOptions { Long = true, Width = 60 });
        Golden.Verify(text, $"sample-{sample}");
    }

    [Fact]
    public void Seed_story_sample_chart_equals_the_seed_document_modulo_deviations()
    {
        // The sample's scenario (samples/README.md) makes the seed's unresolved termination a real one: SearchIndexer
        // kills a second SearchFilterHost (pid 1900) through a handle. Our analyzer resolves it, so the seed's unknown1
        // lines become that process's lines, with the same instr and the same chart cells.
        var expected = SeedChartTests.SeedChartWithDeviations(resolvedUnknown: (" [i] SearchFilt2 1900-SearchFilterHo-0-d5016269325", "SearchFilt2"));
        var actual = StoryTextRenderer.Render(ReadSample("seed-story").Story).TrimEnd('\n').Split('\n').ToList();
        if (!expected.SequenceEqual(actual))
            Assert.Fail(Golden.Diff(string.Join('\n', expected), string.Join('\n', actual)));
    }

    static List<Win7Proc.Offline.Pandalog.Schema.LogEntry> AnalyzedEntries(string sample)
    {
        var entries = new List<Win7Proc.Offline.Pandalog.Schema.LogEntry>();
        Win7Proc.Offline.Analyzer.TraceAnalyzer.Analyze(Path.Combine(RepoPaths.Samples, sample, "trace.lz4"),
            new Win7Proc.Offline.Analyzer.AnalyzerOptions(), entries.Add);
        return entries;
    }
}
