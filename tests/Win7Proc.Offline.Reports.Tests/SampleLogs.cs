using System.Collections.Concurrent;
using System.Text.Json;
using Win7Proc.Offline.Testing;

namespace Win7Proc.Offline.Reports.Tests;

/// <summary>The samples' traces, analysed once per test run (through the same path as <c>report TRACE</c>).</summary>
static class SampleLogs
{
    static readonly ConcurrentDictionary<string, ActivityLog> s_logs = new();

    public static IEnumerable<object[]> Names() =>
        Directory.GetDirectories(RepoPaths.Samples).Where(d => File.Exists(Path.Combine(d, "trace.lz4")))
            .Select(d => new object[] { Path.GetFileName(d) }).OrderBy(n => (string)n[0], StringComparer.Ordinal);

    public static string Trace(string sample) => Path.Combine(RepoPaths.Samples, sample, "trace.lz4");

    /// <summary>The input name reports print: repository-relative, so goldens do not depend on the checkout.</summary>
    public static string InputName(string sample) => $"samples/{sample}/trace.lz4";

    public static ActivityLog Log(string sample) => s_logs.GetOrAdd(sample, s =>
    {
        var log = ActivityLog.Read(Trace(s), out var warning);
        Assert.Null(warning);
        return log;
    });

    public static JsonElement Scenario(string sample)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Samples, sample, "scenario.json")));
        return doc.RootElement.Clone();
    }

    /// <summary>A scenario path as Procmon shows it: <c>\??\C:\x</c> → <c>C:\x</c> (the scenario format's one drive).</summary>
    public static string Win32(string scenarioPath) =>
        scenarioPath.StartsWith(@"\??\", StringComparison.Ordinal) ? scenarioPath[4..] : scenarioPath;
}
