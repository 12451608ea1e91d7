using Win7Proc.Offline.Analyzer;
using Win7Proc.Offline.Cli;
using Win7Proc.Offline.Cli.Commands;
using Win7Proc.Offline.Pandalog;
using Win7Proc.Offline.Testing;

namespace Win7Proc.Offline.Cli.Tests;

public sealed class AnalyzeCommandTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "w7-cli-" + Guid.NewGuid().ToString("n"));

    public AnalyzeCommandTests() => Directory.CreateDirectory(_dir);
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static string Sample(string name) => Path.Combine(RepoPaths.Samples, name, "trace.lz4");

    static (bool Ok, AnalyzeCommand.Invocation Invocation, string Error) Parse(params string[] args)
    {
        var parse = Program.BuildRootCommand().Parse(args);
        Assert.Empty(parse.Errors);
        bool ok = AnalyzeCommand.TryCreateInvocation(parse, out var invocation, out var error);
        return (ok, invocation, error);
    }

    [Fact]
    public void Defaults_are_all_families_all_pids_failed_calls_included()
    {
        var (ok, invocation, _) = Parse("t.lz4", "-o", "out.plog");
        Assert.True(ok);
        Assert.Equal("t.lz4", invocation.TracePath);
        Assert.Equal("out.plog", invocation.OutputPath);
        var options = invocation.Options;
        Assert.Null(options.Only);
        Assert.Null(options.Pids);
        Assert.True(options.IncludeFailed);
        Assert.False(options.AllSyscalls);
        Assert.False(options.FastCompression);
        Assert.Equal(0, options.ChunkSize);
        Assert.Null(options.ExtractWritesDirectory);
    }

    [Fact]
    public void Every_option_reaches_the_analyzer_options()
    {
        var (ok, invocation, error) = Parse("t.lz4", "--output", "o.plog", "--all-syscalls", "--only", "files,registry", "--only", "ports",
            "--pid", "4,1234", "--pid", "99", "--no-failed", "--extract-writes", "dump", "--chunk-size", "131072", "--fast");
        Assert.True(ok, error);
        var options = invocation.Options;
        Assert.True(options.AllSyscalls);
        Assert.Equal(new HashSet<SyscallFamily> { SyscallFamily.Files, SyscallFamily.Registry, SyscallFamily.Ports }, options.Only);
        Assert.Equal(new HashSet<uint> { 4, 1234, 99 }, options.Pids);
        Assert.False(options.IncludeFailed);
        Assert.Equal("dump", options.ExtractWritesDirectory);
        Assert.Equal(131072, options.ChunkSize);
        Assert.True(options.FastCompression);
    }

    [Theory]
    [InlineData("no output given", "t.lz4")]
    [InlineData("no trace given", "-o", "x.plog")]
    [InlineData("unknown family 'disk'", "t.lz4", "-o", "x.plog", "--only", "files,disk")]
    [InlineData("'12a' is not a process id", "t.lz4", "-o", "x.plog", "--pid", "12a")]
    [InlineData("'-5' is not a process id", "t.lz4", "-o", "x.plog", "--pid=-5")]
    [InlineData("contradict", "t.lz4", "-o", "x.plog", "--include-failed", "--no-failed")]
    [InlineData("--chunk-size", "t.lz4", "-o", "x.plog", "--chunk-size", "0")]
    [InlineData("would overwrite the trace", "t.lz4", "-o", "./t.lz4")]
    public void Usage_mistakes_give_one_clear_message(string expected, params string[] args)
    {
        var (ok, _, error) = Parse(args);
        Assert.False(ok);
        Assert.Contains(expected, error);
    }

    [Fact]
    public void Missing_output_exits_with_the_usage_code()
    {
        Assert.Equal(ExitCodes.UsageError, Program.Main([Sample("files")]));
    }

    [Fact]
    public void Run_report_prints_every_count_of_calls_not_seen_whole()
    {
        // samples/real-world: a return whose enter predates the recording, returns seen only by the recorder's hook,
        // calls still pending at the end (samples/README.md). The printed line must carry the analysis' own counts.
        var output = Path.Combine(_dir, "rw.plog");
        Assert.Equal(ExitCodes.Success, Run(Sample("real-world"), output, null, out var stderr));
        var report = TraceAnalyzer.Analyze(Sample("real-world"), new AnalyzerOptions(), _ => { });
        var line = Assert.Single(stderr.Split('\n'), l => l.StartsWith("calls not seen whole: ", StringComparison.Ordinal));
        Assert.Equal(
            $"calls not seen whole: {report.ReturnsInferred + report.EntersWithoutReturn} returns not seen "
            + $"({report.ReturnsInferred} inferred by the recorder, {report.EntersWithoutReturn} enters never returned, self-terminations included), "
            + $"{report.UnmatchedReturns} returns without enter, {report.ReturnsByHook} returns recorded from the recorder's own hook; "
            + $"{report.EntriesWithUnknownStatus} entries with status unknown", line);
        Assert.True(report.UnmatchedReturns > 0 && report.ReturnsByHook > 0 && report.EntriesWithUnknownStatus > 0);
    }

    int Run(string trace, string output, AnalyzerOptions? options, out string stderr)
    {
        var error = new StringWriter();
        int code = AnalyzeCommand.Run(new AnalyzeCommand.Invocation(trace, output, options ?? new AnalyzerOptions()), error, interactive: false);
        stderr = error.ToString();
        return code;
    }

    [Fact]
    public void A_missing_trace_is_an_io_error()
    {
        Assert.Equal(ExitCodes.IoError, Run(Path.Combine(_dir, "none.lz4"), Path.Combine(_dir, "o.plog"), null, out var stderr));
        Assert.StartsWith("error: trace not found", stderr);
        Assert.False(File.Exists(Path.Combine(_dir, "o.plog")));
    }

    [Fact]
    public void An_output_in_a_missing_directory_is_an_io_error()
    {
        Assert.Equal(ExitCodes.IoError, Run(Sample("files"), Path.Combine(_dir, "no", "such", "o.plog"), null, out var stderr));
        Assert.StartsWith("error: output directory does not exist", stderr);
    }

    [Fact]
    public void A_file_that_is_not_a_trace_is_invalid_input_and_leaves_no_output()
    {
        var junk = Path.Combine(_dir, "junk.lz4");
        File.WriteAllBytes(junk, [.. Enumerable.Range(0, 4096).Select(i => (byte)(i * 37))]);
        var output = Path.Combine(_dir, "o.plog");
        Assert.Equal(ExitCodes.InvalidInput, Run(junk, output, null, out var stderr));
        Assert.StartsWith("error: ", stderr);
        Assert.Contains("is not a valid trace", stderr);
        Assert.Equal(1, stderr.Count(c => c == '\n'));
        Assert.Empty(Directory.GetFiles(_dir, "o.plog*"));
    }

    [Fact]
    public void A_truncated_trace_gives_a_valid_plog_and_the_partial_input_code()
    {
        var full = File.ReadAllBytes(Sample("seed-story"));
        var cut = Path.Combine(_dir, "cut.lz4");
        File.WriteAllBytes(cut, full[..(full.Length * 2 / 3)]);
        var output = Path.Combine(_dir, "cut.plog");
        Assert.Equal(ExitCodes.PartialInput, Run(cut, output, null, out var stderr));
        Assert.Contains("truncated", stderr);
        using var reader = PandalogReader.Open(output);
        var entries = reader.ReadAll().ToList();
        Assert.Contains(entries, e => e.NtCreateUserProcess is not null);
        Assert.True(entries[^1].HasTotalInstr); // the last instruction seen, as no END was read
    }

    [Fact]
    public void End_to_end_a_sample_gives_a_plog_and_a_report()
    {
        var output = Path.Combine(_dir, "dropper.plog");
        var extract = Path.Combine(_dir, "writes");
        Assert.Equal(ExitCodes.Success, Run(Sample("dropper"), output, new AnalyzerOptions { ExtractWritesDirectory = extract }, out var stderr));
        Assert.Contains("records read:", stderr);
        Assert.Contains("nt_create_user_process", stderr);
        Assert.Contains("processes seen: 5", stderr);
        Assert.Contains("unreadable structures: none", stderr);
        using var reader = PandalogReader.Open(output);
        var entries = reader.ReadAll().ToList();
        var created = entries.Where(e => e.NtCreateUserProcess is not null).Select(e => e.NtCreateUserProcess.NewP.Pid).ToList();
        Assert.Equal([2500u, 2600u, 2600u], created);
        Assert.Equal(500_000_000ul, entries[^1].TotalInstr);
        // The dropped executable's bytes, written by invoice.exe, as grab_files kept them.
        var dropped = Assert.Single(Directory.GetFiles(extract));
        Assert.StartsWith("2500_invoice.exe_", Path.GetFileName(dropped));
        Assert.Contains("this program cannot be run in DOS mode", File.ReadAllText(dropped));
    }

    [Fact]
    public void Only_and_pid_filters_shape_the_plog()
    {
        var output = Path.Combine(_dir, "only.plog");
        var options = new AnalyzerOptions { Only = new HashSet<SyscallFamily> { SyscallFamily.Registry }, Pids = new HashSet<uint> { 2500 } };
        Assert.Equal(ExitCodes.Success, Run(Sample("dropper"), output, options, out _));
        using var reader = PandalogReader.Open(output);
        var kinds = reader.ReadAll().SelectMany(PlogEntries.Kinds).Where(k => k is not ("asid" or "nt_status" or "call_succeeded" or "tid")).Distinct().Order().ToList();
        Assert.Equal(["nt_open_key", "nt_set_value_key", "total_instr"], kinds);
    }

    [Fact]
    public void An_interrupted_run_leaves_no_pandalog()
    {
        var output = Path.Combine(_dir, "stopped.plog");
        var error = new StringWriter();
        int code = AnalyzeCommand.Run(new AnalyzeCommand.Invocation(Sample("seed-story"), output, new AnalyzerOptions()), error,
            interactive: false, new CancellationToken(canceled: true));
        Assert.Equal(ExitCodes.Interrupted, code);
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void An_extract_directory_that_cannot_be_made_is_an_io_error()
    {
        var blocker = Path.Combine(_dir, "file");
        File.WriteAllText(blocker, "not a directory");
        var options = new AnalyzerOptions { ExtractWritesDirectory = Path.Combine(blocker, "sub") };
        Assert.Equal(ExitCodes.IoError, Run(Sample("files"), Path.Combine(_dir, "o.plog"), options, out var stderr));
        Assert.StartsWith("error: ", stderr);
        Assert.False(File.Exists(Path.Combine(_dir, "o.plog")));
    }
}
