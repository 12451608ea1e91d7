using System.Text.RegularExpressions;
using Win7Proc.Offline.Testing;

namespace Win7Proc.Offline.Cli.Tests;

/// <summary>--extract-writes re-runs, simulate without its native library, and a repository that needs nothing
/// outside itself.</summary>
public sealed class FirstHourTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("w7-cli-first-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static string Dropper => Path.Combine(RepoPaths.Samples, "dropper", "trace.lz4");

    static (int Code, string Stderr) Analyze(params string[] args)
    {
        var stderr = new StringWriter();
        int code = Program.Run(args, TextWriter.Null, stderr, CancellationToken.None);
        return (code, stderr.ToString());
    }

    static long ReportedBytes(string report) =>
        long.Parse(Regex.Match(report, @"extracted writes: \d+ files, (\d+) bytes").Groups[1].Value);

    [Fact]
    public void Extract_writes_refuses_a_non_empty_directory_and_with_force_replaces_instead_of_appending()
    {
        var writes = Path.Combine(_dir, "writes");
        var (first, report) = Analyze(Dropper, "-o", Path.Combine(_dir, "a.plog"), "--extract-writes", writes);
        Assert.True(first == 0, report);
        var sizes = Directory.GetFiles(writes).ToDictionary(f => f, f => new FileInfo(f).Length);
        Assert.NotEmpty(sizes);
        Assert.Equal(sizes.Values.Sum(), ReportedBytes(report)); // the report is what is on disk

        var (again, refusal) = Analyze(Dropper, "-o", Path.Combine(_dir, "b.plog"), "--extract-writes", writes);
        Assert.Equal(ExitCodes.IoError, again);
        Assert.Equal($"error: --extract-writes: {writes} is not empty (files of an earlier run?): empty it, choose a new DIR, or add --force\n", refusal);
        Assert.False(File.Exists(Path.Combine(_dir, "b.plog")));

        var (forced, forcedReport) = Analyze(Dropper, "-o", Path.Combine(_dir, "c.plog"), "--extract-writes", writes, "--force");
        Assert.True(forced == 0, forcedReport);
        Assert.Equal(sizes, Directory.GetFiles(writes).ToDictionary(f => f, f => new FileInfo(f).Length)); // not doubled
        Assert.Equal(sizes.Values.Sum(), ReportedBytes(forcedReport));
    }

    [Fact]
    public void Force_without_extract_writes_is_a_usage_error()
    {
        Assert.Equal(ExitCodes.UsageError, Analyze(Dropper, "-o", Path.Combine(_dir, "a.plog"), "--force").Code);
    }

    [Fact]
    public void The_report_gives_elapsed_time_and_rate_and_quiet_silences_it()
    {
        var (code, report) = Analyze(Dropper, "-o", Path.Combine(_dir, "a.plog"));
        Assert.Equal(0, code);
        Assert.Matches(@"(?m)^time: \d+\.\d\d s, [\d,]+ records/s$", report);
        Assert.DoesNotContain("progress:", report); // a short run on a redirected stderr prints no progress lines
        var (quietCode, quiet) = Analyze(Dropper, "-o", Path.Combine(_dir, "b.plog"), "--quiet");
        Assert.Equal(0, quietCode);
        Assert.Equal("", quiet);
    }

    [Fact]
    public void Simulate_without_libw7rec_says_what_is_missing_and_how_to_fix_it_in_one_line()
    {
        // A copy of the program without its native library, as a build on a machine without cmake gives.
        var bin = Path.Combine(_dir, "bin");
        Directory.CreateDirectory(bin);
        foreach (var file in Directory.GetFiles(AppContext.BaseDirectory))
            if (Path.GetFileName(file) != "libw7rec.so") File.Copy(file, Path.Combine(bin, Path.GetFileName(file)));
        using var child = new ChildProcess(["simulate", Path.Combine(RepoPaths.Samples, "files", "scenario.json"), "-o", Path.Combine(_dir, "t.lz4")],
            _dir, dll: Path.Combine(bin, "win7proc-offline.dll"));
        child.StandardInput.Close();
        Assert.Equal(ExitCodes.RecorderUnavailable, child.WaitForExit(TimeSpan.FromMinutes(1)));
        var lines = child.Stderr.TrimEnd('\n').Split('\n');
        Assert.Single(lines);
        Assert.StartsWith("error: simulate needs the C recorder core libw7rec.so", lines[0]);
        Assert.Contains("apt-get install cmake gcc liblz4-dev", lines[0]);
        Assert.False(File.Exists(Path.Combine(_dir, "t.lz4")));
    }

    [Fact]
    public void Simulate_writes_a_trace_to_stdout_and_through_a_symbolic_link()
    {
        var scenario = Path.Combine(RepoPaths.Samples, "files", "scenario.json");
        var (code, stdout, stderr) = ChildProcess.Run(_dir, "simulate", scenario, "-o", "-", "-q");
        Assert.True(code == 0, stderr);
        File.CreateSymbolicLink(Path.Combine(_dir, "link.lz4"), "real.lz4");
        var (linkCode, _, linkErr) = ChildProcess.Run(_dir, "simulate", scenario, "-o", Path.Combine(_dir, "link.lz4"), "-q");
        Assert.True(linkCode == 0, linkErr);
        Assert.Equal("real.lz4", new FileInfo(Path.Combine(_dir, "link.lz4")).LinkTarget);
        Assert.Equal(stdout, File.ReadAllBytes(Path.Combine(_dir, "real.lz4"))); // the simulator is deterministic
    }

    [Fact]
    public void No_test_or_document_reaches_outside_the_repository()
    {
        var root = RepoPaths.Root;
        var offenders = new List<string>();
        foreach (var file in Directory.EnumerateFiles(root, "*.*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, file);
            if (relative.Split(Path.DirectorySeparatorChar).Any(p => p is "bin" or "obj" or "build" or ".git" or "data" or "TestResults")) continue;
            if (relative == Path.Combine("tests", "Win7Proc.Offline.Cli.Tests", "FirstHourTests.cs")) continue; // the patterns below
            bool doc = file.EndsWith(".md", StringComparison.Ordinal);
            bool test = relative.StartsWith("tests", StringComparison.Ordinal) && file.EndsWith(".cs", StringComparison.Ordinal);
            if (!doc && !test) continue;
            var text = File.ReadAllText(file);
            if (doc && text.Contains("/work/", StringComparison.Ordinal)) offenders.Add($"{relative}: names a path outside the repository");
            if (test && (text.Contains("\"..\", \"shared\"", StringComparison.Ordinal) || text.Contains("../shared", StringComparison.Ordinal)))
                offenders.Add($"{relative}: reads ../shared");
        }
        Assert.Empty(offenders);
        Assert.True(File.Exists(Path.Combine(RepoPaths.ReferenceData, "seed", "000_8a8689100701f7f6.txt")));
        Assert.StartsWith(root, Path.GetFullPath(RepoPaths.ReferenceData));
    }
}
