using System.CommandLine;
using Win7Proc.Offline.Analyzer;
using Win7Proc.Offline.Cli;
using Win7Proc.Offline.Cli.Commands;
using Win7Proc.Offline.Pandalog;
using Win7Proc.Offline.Testing;

namespace Win7Proc.Offline.Cli.Tests;

/// <summary>Every user mistake gives one <c>error:</c> line and the documented exit code, before any work is done.</summary>
public sealed class UserMistakeTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("w7-cli-mistakes-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static string Sample(string name, string file = "trace.lz4") => Path.Combine(RepoPaths.Samples, name, file);

    static int Analyze(string trace, string output, AnalyzerOptions? options, out string stderr)
    {
        var error = new StringWriter();
        int code = AnalyzeCommand.Run(new AnalyzeCommand.Invocation(trace, output, options ?? new AnalyzerOptions()), error, interactive: false);
        stderr = error.ToString();
        return code;
    }

    [Fact]
    public void An_output_that_is_a_directory_is_refused_before_the_analysis()
    {
        Assert.Equal(ExitCodes.IoError, Analyze(Sample("files"), _dir, null, out var stderr));
        Assert.Equal($"error: output is a directory: {_dir} (give a file name)\n", stderr);
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void A_trace_that_is_a_directory_is_named_so()
    {
        Assert.Equal(ExitCodes.IoError, Analyze(_dir, Path.Combine(_dir, "o.plog"), null, out var stderr));
        Assert.Equal($"error: trace is a directory, not a file: {_dir}\n", stderr);
    }

    [Fact]
    public void An_extract_directory_that_is_a_file_is_refused_before_the_analysis()
    {
        var file = Path.Combine(_dir, "file");
        File.WriteAllText(file, "not a directory");
        var options = new AnalyzerOptions { ExtractWritesDirectory = file };
        Assert.Equal(ExitCodes.IoError, Analyze(Sample("files"), Path.Combine(_dir, "o.plog"), options, out var stderr));
        Assert.Equal($"error: --extract-writes: {file} is a file, not a directory\n", stderr);
    }

    [Fact]
    public void Dump_of_a_directory_or_a_missing_file_is_an_io_error()
    {
        var stderr = new StringWriter();
        Assert.Equal(ExitCodes.IoError, DumpCommand.Run(_dir, PlogEntryFilter.Create(), PlogDumpFormat.Text, new StringWriter(), stderr));
        Assert.Equal($"error: plog is a directory, not a file: {_dir}\n", stderr.ToString());
        stderr = new StringWriter();
        var missing = Path.Combine(_dir, "none.plog");
        Assert.Equal(ExitCodes.IoError, DumpCommand.Run(missing, PlogEntryFilter.Create(), PlogDumpFormat.Text, new StringWriter(), stderr));
        Assert.Equal($"error: plog not found: {missing}\n", stderr.ToString());
    }

    [Fact]
    public void Procstory_of_a_directory_is_an_io_error()
    {
        var stderr = new StringWriter();
        var settings = new ProcstoryCommand.Settings(_dir, 80, Long: false, Json: false, Follow: false);
        Assert.Equal(ExitCodes.IoError, ProcstoryCommand.Run(settings, new StringWriter(), stderr, isTerminal: false, CancellationToken.None));
        Assert.Equal($"error: input is a directory, not a file: {_dir}\n", stderr.ToString());
    }

    [Fact]
    public void A_compression_level_that_is_not_a_number_is_a_usage_error_not_a_crash()
    {
        // The range check used to be a validator calling GetValue, which threw (a stack trace, exit 134) on "x".
        var stderr = new StringWriter();
        int code = Program.Run(["simulate", Sample("files", "scenario.json"), "-o", Path.Combine(_dir, "t.lz4"), "--compression-level", "x"], stderr);
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.StartsWith("error: --compression-level: 'x' is not a whole number", stderr.ToString());
        Assert.False(File.Exists(Path.Combine(_dir, "t.lz4")));
    }

    [Theory]
    [InlineData("--chunk-size", "t.lz4", "-o", "x.plog", "--chunk-size", "abc")]
    [InlineData("--pid", "dump", "x.plog", "--pid", "x")]
    [InlineData("--to", "dump", "x.plog", "--to", "-1")]
    [InlineData("--width", "procstory", "x.plog", "--width", "wide")]
    [InlineData("--entries", "bench", "-n", "many")]
    public void A_number_that_does_not_parse_names_the_option_not_a_dotnet_type(string option, params string[] args)
    {
        var stderr = new StringWriter();
        Assert.Equal(ExitCodes.UsageError, Program.Run(args, stderr));
        var first = stderr.ToString().Split('\n')[0];
        Assert.StartsWith($"error: {option}: '", first);
        Assert.DoesNotContain("System.", first);
    }

    [Theory]
    [InlineData("dump")]
    [InlineData("procstory")]
    [InlineData("simulate")]
    [InlineData("bench")]
    public void Subcommand_help_does_not_offer_the_root_trace_argument(string command)
    {
        var output = new StringWriter();
        int code = Program.BuildRootCommand().Parse([command, "--help"]).Invoke(new InvocationConfiguration { Output = output });
        Assert.Equal(0, code);
        Assert.Contains($" {command} ", output.ToString()); // the usage line (the root is named after the test host here)
        Assert.DoesNotContain("<TRACE>", output.ToString());
    }

    [Fact]
    public void Root_help_still_offers_the_trace_argument()
    {
        var output = new StringWriter();
        var root = Program.BuildRootCommand();
        Assert.Equal(0, root.Parse(["--help"]).Invoke(new InvocationConfiguration { Output = output }));
        Assert.Contains("<TRACE>", output.ToString());
        Program.BuildRootCommand().Parse(["dump", "--help"]).Invoke(new InvocationConfiguration { Output = new StringWriter() });
        Assert.All(root.Arguments, a => Assert.False(a.Hidden));
    }
}
