using System.CommandLine;
using System.Text;
using Win7Proc.Offline.Testing;

namespace Win7Proc.Offline.Cli.Tests;

/// <summary>A CLI that explains itself: help, help COMMAND, "did you mean", exit codes and value names in help, and
/// the terminal left as found.</summary>
public sealed class HelpTests
{
    static (int Code, string Stdout, string Stderr) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Program.Run(args, stdout, stderr, CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void Help_alone_is_the_root_help_with_the_exit_codes()
    {
        var (code, stdout, stderr) = Run("help");
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.Contains("analyse a trace", stdout);
        Assert.Contains("Exit codes:", stdout);
        // Every documented code, with the value ExitCodes gives it.
        foreach (var value in new[] { ExitCodes.Success, ExitCodes.InternalError, ExitCodes.UsageError, ExitCodes.IoError,
                     ExitCodes.InvalidInput, ExitCodes.PartialInput, ExitCodes.RecorderUnavailable, ExitCodes.Interrupted })
            Assert.Matches($"(?m)^  {value} ", stdout);
        Assert.Contains("143 terminated", stdout);
    }

    [Theory]
    [InlineData("dump", "--kind <LIST>")]
    [InlineData("procstory", "--width <N>")]
    [InlineData("simulate", "--output <OUT.lz4>")]
    public void Help_command_is_that_commands_help_with_value_names_and_exit_codes(string command, string valueName)
    {
        var (code, stdout, _) = Run("help", command);
        Assert.Equal(0, code);
        Assert.Contains($" {command} ", stdout);
        Assert.Contains(valueName, stdout);
        Assert.Contains("Exit codes:", stdout);
        Assert.Equal(stdout, Run(command, "--help").Stdout);
    }

    [Fact]
    public void Root_help_names_values_DIR_LIST_and_the_trace()
    {
        var stdout = Run("--help").Stdout;
        Assert.Contains("--extract-writes <DIR>", stdout);
        Assert.Contains("--pid <LIST>", stdout);
        Assert.Contains("--only <LIST>", stdout);
        Assert.Contains("<TRACE>", stdout);
        Assert.DoesNotContain("<extract-writes>", stdout);
    }

    [Theory]
    [InlineData("dmup", "dump")]
    [InlineData("procstroy", "procstory")]
    [InlineData("simulte", "simulate")]
    [InlineData("proc", "procstory")]
    public void A_mistyped_command_gets_did_you_mean_and_the_usage_code(string typo, string meant)
    {
        var (code, stdout, stderr) = Run(typo, "x.plog");
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Equal("", stdout);
        Assert.Equal($"error: unknown command '{typo}' (did you mean '{meant}'?)\n", stderr);
    }

    [Fact]
    public void A_word_like_nothing_known_is_neither_a_command_nor_a_trace()
    {
        var (code, _, stderr) = Run("frobnicate");
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.StartsWith("error: 'frobnicate' is neither a command (dump, procstory, simulate, bench, help) nor an existing trace file", stderr);
        Assert.Equal(ExitCodes.UsageError, Run("help", "dmup").Code);
        Assert.Contains("did you mean 'dump'", Run("help", "dmup").Stderr);
    }

    [Fact]
    public void A_path_is_still_a_trace_path()
    {
        // Names with a dot or a slash are paths: the usual "not found", not "unknown command".
        var (code, _, stderr) = Run("dmup.lz4", "-o", Path.Combine(Path.GetTempPath(), "never.plog"));
        Assert.Equal(ExitCodes.IoError, code);
        Assert.StartsWith("error: trace not found: dmup.lz4", stderr);
    }

    [Fact]
    public void Dump_pid_takes_a_list_like_the_root_command()
    {
        var dir = Directory.CreateTempSubdirectory("w7-cli-pids-").FullName;
        try
        {
            var plog = Path.Combine(dir, "dropper.plog");
            Assert.Equal(0, Run(Path.Combine(RepoPaths.Samples, "dropper", "trace.lz4"), "-o", plog, "-q").Code);
            // The sample's creations: explorer (1232) creates 2500, 2500 creates 2600, explorer creates 2600 again.
            var lines = Run("dump", plog, "--pid", "1232,2500", "--kind", "nt_create_user_process").Stdout.TrimEnd('\n').Split('\n');
            Assert.Equal(3, lines.Length);
            Assert.Contains("(process, cur, 1232, explorer.exe)", lines[0]);
            Assert.Contains("(process, cur, 2500, invoice.exe)", lines[1]);
            Assert.Contains("(process, cur, 1232, explorer.exe)", lines[2]);
            Assert.Equal(string.Join('\n', lines) + "\n", Run("dump", plog, "-p", "1232", "-p", "2500", "--kind", "nt_create_user_process").Stdout);
            var one = Run("dump", plog, "--pid", "2500", "--kind", "nt_create_user_process").Stdout;
            Assert.Equal(lines[1] + "\n", one);
            Assert.Equal(ExitCodes.UsageError, Run("dump", plog, "--pid", "1,x").Code);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void On_a_terminal_the_progress_line_is_cleared_and_no_keypad_mode_is_left_behind()
    {
        // script(1) gives the child a pseudo-terminal, as a user's shell would.
        var dir = Directory.CreateTempSubdirectory("w7-cli-tty-").FullName;
        try
        {
            var trace = Path.Combine(RepoPaths.Samples, "seed-story", "trace.lz4");
            var typescript = Path.Combine(dir, "typescript");
            var command = $"dotnet '{ChildProcess.Dll}' '{trace}' -o '{Path.Combine(dir, "t.plog")}'";
            var start = new System.Diagnostics.ProcessStartInfo("script", ["-q", "-e", "-c", command, typescript])
            { RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
            start.Environment["DOTNET_EnableDiagnostics"] = "0";
            start.Environment["TERM"] = "xterm";
            using var script = System.Diagnostics.Process.Start(start)!;
            script.StandardInput.Close();
            script.StandardOutput.ReadToEnd();
            Assert.True(script.WaitForExit(120_000));
            Assert.Equal(0, script.ExitCode);
            var screen = File.ReadAllText(typescript, Encoding.UTF8);
            Assert.Contains("records read:", screen);
            Assert.DoesNotContain("\u001b[?1h", screen, StringComparison.Ordinal); // keypad-transmit mode (smkx): .NET console streams switch it on
            Assert.DoesNotContain("\u001b=", screen, StringComparison.Ordinal); // (ordinal: a culture comparison ignores ESC)
            // Whatever progress was drawn is erased before the report: no bar remains on the report's lines.
            Assert.DoesNotMatch(@"\] +\d+% [^\r]*records read:", screen);
        }
        finally { Directory.Delete(dir, true); }
    }
}
