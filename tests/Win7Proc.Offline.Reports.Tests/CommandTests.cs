using System.Text;
using Win7Proc.Offline.Cli;
using Win7Proc.Offline.Cli.Commands;

namespace Win7Proc.Offline.Reports.Tests;

/// <summary><c>report</c> and <c>export</c> as a user runs them: exit codes and one-line errors.</summary>
public sealed class CommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("w7-report-cmd-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static int Report(string input, out string stdout, out string stderr, string format = "text", ReportFilterSettings? filter = null)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int rc = ReportCommand.Run(new ReportCommand.Settings(input, format, filter ?? new ReportFilterSettings(), null), o, e);
        stdout = o.ToString();
        stderr = e.ToString();
        return rc;
    }

    [Fact]
    public void Report_of_a_trace_and_of_its_plog_are_the_same()
    {
        var trace = SampleLogs.Trace("dropper");
        var plog = Path.Combine(_dir, "dropper.plog");
        Assert.Equal(ExitCodes.Success, Program.Run([trace, "-o", plog], TextWriter.Null));
        Assert.Equal(ExitCodes.Success, Report(trace, out var fromTrace, out _, "json"));
        Assert.Equal(ExitCodes.Success, Report(plog, out var fromPlog, out _, "json"));
        Assert.Equal(fromTrace.Replace("trace.lz4", "X", StringComparison.Ordinal), fromPlog.Replace("dropper.plog", "X", StringComparison.Ordinal));
    }

    [Fact]
    public void Missing_input_is_an_io_error_in_one_line()
    {
        Assert.Equal(ExitCodes.IoError, Report(Path.Combine(_dir, "nope.plog"), out _, out var stderr));
        Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.Contains("nope.plog", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Something_else_is_an_invalid_input()
    {
        var junk = Path.Combine(_dir, "junk.bin");
        File.WriteAllText(junk, "hello, not a plog");
        Assert.Equal(ExitCodes.InvalidInput, Report(junk, out _, out var stderr));
        Assert.Contains("neither a pandalog", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_pattern_file_is_a_usage_error_naming_file_and_line()
    {
        var patterns = Path.Combine(_dir, "mine.patterns");
        File.WriteAllText(patterns, "[file]\n(\n");
        Assert.Equal(ExitCodes.UsageError, Report(SampleLogs.Trace("dropper"), out _, out var stderr,
            filter: new ReportFilterSettings(HideSystemFile: patterns)));
        Assert.Contains("mine.patterns:2:", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Export_writes_the_csv_to_a_file_or_stdout()
    {
        var output = Path.Combine(_dir, "events.csv");
        using var stdout = new MemoryStream();
        var settings = new ExportCommand.Settings(SampleLogs.Trace("dropper"), "csv", false, new ReportFilterSettings(), output);
        Assert.Equal(ExitCodes.Success, ExportCommand.Run(settings, stdout, TextWriter.Null));
        Assert.Equal(0, stdout.Length);
        Assert.Equal(ExitCodes.Success, ExportCommand.Run(settings with { Output = null }, stdout, TextWriter.Null));
        Assert.Equal(File.ReadAllBytes(output), stdout.ToArray());
        Assert.StartsWith("\uFEFF\"Time of Day\"", Encoding.UTF8.GetString(stdout.ToArray()), StringComparison.Ordinal);
    }

    [Fact]
    public void Both_commands_are_registered()
    {
        var root = Program.BuildRootCommand();
        Assert.Contains(root.Subcommands, c => c.Name == "report");
        Assert.Contains(root.Subcommands, c => c.Name == "export");
        Assert.Equal(ExitCodes.UsageError, Program.Run(["report", SampleLogs.Trace("dropper"), "--format", "xml"], TextWriter.Null));
    }
}
