using Win7Proc.Offline.Pandalog;
using Win7Proc.Offline.Procstory;
using Win7Proc.Offline.Testing;

namespace Win7Proc.Offline.Cli.Tests;

/// <summary>Where a plog goes: <c>-o -</c>, onto a symbolic link, a FIFO, a character device, a block device; two runs
/// with one <c>-o</c>; plogs on stdin. Every special file is made inside the test's own temporary directory.</summary>
public sealed class OutputTargetTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("w7-cli-out-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static string Trace => Path.Combine(RepoPaths.Samples, "files", "trace.lz4");
    string At(string name) => Path.Combine(_dir, name);

    /// <summary>The plog of the sample written to a plain file, to compare the other targets with.</summary>
    byte[] Reference()
    {
        var (code, _, stderr) = ChildProcess.Run(_dir, Trace, "-o", At("reference.plog"), "-q");
        Assert.True(code == 0, stderr);
        return File.ReadAllBytes(At("reference.plog"));
    }

    [Fact]
    public void Dash_writes_the_plog_to_stdout_and_the_report_stays_on_stderr()
    {
        var expected = Reference();
        var (code, stdout, stderr) = ChildProcess.Run(_dir, Trace, "-o", "-");
        Assert.True(code == 0, stderr);
        Assert.Equal(expected, stdout);
        Assert.Contains("entries written:", stderr);
        Assert.Contains("to stdout", stderr);
        Assert.False(File.Exists(At("-")));
    }

    [Fact]
    public void A_symbolic_link_is_followed_and_stays_a_link()
    {
        var expected = Reference();
        var link = At("link.plog");
        File.CreateSymbolicLink(link, "target.plog");
        var (code, _, stderr) = ChildProcess.Run(_dir, Trace, "-o", link, "-q");
        Assert.True(code == 0, stderr);
        Assert.Equal("target.plog", new FileInfo(link).LinkTarget);
        Assert.Equal(expected, File.ReadAllBytes(At("target.plog")));
        Assert.Empty(Directory.GetFiles(_dir, "*.partial"));
    }

    [Fact]
    public async Task A_fifo_gets_the_whole_plog_written_through_and_stays_a_fifo()
    {
        var expected = Reference();
        var fifo = At("pipe.plog");
        ChildProcess.MakeFifo(fifo);
        var readTask = Task.Run(() => File.ReadAllBytes(fifo)); // the reader at the other end
        var (code, _, stderr) = ChildProcess.Run(_dir, Trace, "-o", fifo, "-q");
        Assert.True(code == 0, stderr);
        Assert.Equal(expected, await readTask.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(FileKind.Fifo, OutputPath.KindOf(fifo));
    }

    [Fact]
    public void A_character_device_is_written_through_and_stays_a_device()
    {
        var device = At("null");
        ChildProcess.MakeNullDevice(device);
        var (code, _, stderr) = ChildProcess.Run(_dir, Trace, "-o", device);
        Assert.True(code == 0, stderr);
        Assert.Contains($"entries written:", stderr);
        Assert.Equal(FileKind.CharacterDevice, OutputPath.KindOf(device));
        Assert.Empty(Directory.GetFiles(_dir, "*.partial"));
    }

    [Fact]
    public void A_block_device_is_refused_in_one_line_and_left_alone()
    {
        var device = At("disk");
        ChildProcess.MakeBlockDevice(device);
        var (code, _, stderr) = ChildProcess.Run(_dir, Trace, "-o", device);
        Assert.Equal(ExitCodes.IoError, code);
        Assert.Equal($"error: cannot write {device}: it is a block device (a pandalog goes to a regular file, a FIFO, a character device or - for stdout)\n", stderr);
        Assert.Equal(FileKind.BlockDevice, OutputPath.KindOf(device));
    }

    [Fact]
    public void Two_writers_of_one_path_use_their_own_in_progress_files_and_follow_finds_one()
    {
        var target = At("same.plog");
        using var first = PandalogWriter.Create(target);
        using var second = PandalogWriter.Create(target);
        Assert.NotEqual(first.PartialPath, second.PartialPath);
        Assert.All([first.PartialPath!, second.PartialPath!], p => Assert.Equal(target, StoryInput.FinishedName(p)));
        Assert.Contains(StoryInput.Locate(target), new[] { first.PartialPath, second.PartialPath });
        first.Write(new Pandalog.Schema.LogEntry { Pc = 1, Instr = 10, TotalInstr = 10 });
        second.Write(new Pandalog.Schema.LogEntry { Pc = 2, Instr = 20, TotalInstr = 20 });
        first.Complete();
        Assert.Equal(target, StoryInput.Locate(target)); // a finished plog wins over one still being written
        var secondPartial = second.PartialPath!;
        second.Complete();
        Assert.Equal(target, StoryInput.Locate(secondPartial)); // gone: its finished name
        using var reader = PandalogReader.Open(target);
        Assert.Equal(20ul, Assert.Single(reader.ReadAll()).Instr); // the last to finish, whole, never a mix
        Assert.Empty(Directory.GetFiles(_dir, "*.partial"));
    }

    [Fact]
    public void Two_concurrent_runs_with_one_output_both_succeed_with_a_valid_plog()
    {
        var expected = Reference();
        using var a = new ChildProcess([Trace, "-o", At("both.plog"), "-q"], _dir);
        using var b = new ChildProcess([Trace, "-o", At("both.plog"), "-q"], _dir);
        a.StandardInput.Close();
        b.StandardInput.Close();
        Assert.True(a.WaitForExit(TimeSpan.FromMinutes(2)) == 0, a.Stderr);
        Assert.True(b.WaitForExit(TimeSpan.FromMinutes(2)) == 0, b.Stderr);
        Assert.Equal(expected, File.ReadAllBytes(At("both.plog")));
        Assert.Empty(Directory.GetFiles(_dir, "*.partial"));
    }

    [Fact]
    public void A_plog_on_stdin_from_a_file_is_read_and_from_a_pipe_refused_in_one_line()
    {
        Reference();
        using (var fromFile = new ChildProcess(["dump", "-", "--kind", "total_instr"], _dir, stdinFile: At("reference.plog")))
        {
            Assert.True(fromFile.WaitForExit(TimeSpan.FromMinutes(1)) == 0, fromFile.Stderr);
            Assert.StartsWith("instr=200000000 pc=0x0 : total instr", System.Text.Encoding.UTF8.GetString(fromFile.Stdout)); // the sample's END
        }
        using var fromPipe = new ChildProcess(["dump", "-"], _dir);
        fromPipe.StandardInput.BaseStream.Write(File.ReadAllBytes(At("reference.plog")));
        fromPipe.StandardInput.Close();
        Assert.Equal(ExitCodes.IoError, fromPipe.WaitForExit(TimeSpan.FromMinutes(1)));
        Assert.StartsWith("error: stdin is a FIFO (named pipe): a plog cannot be read from it", fromPipe.Stderr);
        Assert.Single(fromPipe.Stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void A_trace_on_stdin_streams()
    {
        var expected = Reference();
        using var child = new ChildProcess(["-", "-o", At("stdin.plog"), "-q"], _dir, stdinFile: Trace);
        Assert.True(child.WaitForExit(TimeSpan.FromMinutes(1)) == 0, child.Stderr);
        Assert.Equal(expected, File.ReadAllBytes(At("stdin.plog")));
    }

    [Fact]
    public void An_unwritable_output_is_one_line_naming_the_users_path_not_ours()
    {
        // 250 characters fit a file name (255), but not with the in-progress suffix: the error names -o as given.
        var output = At(new string('x', 245) + ".plog");
        var stderr = new StringWriter();
        int code = Program.Run([Trace, "-o", output, "-q"], Console.Out, stderr, CancellationToken.None);
        Assert.Equal(ExitCodes.IoError, code);
        Assert.StartsWith($"error: cannot write {output}: ", stderr.ToString());
        Assert.DoesNotContain(".partial", stderr.ToString());
        Assert.Single(stderr.ToString().TrimEnd('\n').Split('\n'));
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }
}
