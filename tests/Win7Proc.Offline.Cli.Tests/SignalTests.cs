using Win7Proc.Offline.Testing;

namespace Win7Proc.Offline.Cli.Tests;

/// <summary>SIGINT and SIGTERM mid-run, on a real child process: exit 130 / 143, one line, no in-progress plog and no
/// temporary file left. The trace comes through a FIFO the test feeds, so "mid-run" is certain: the child has read part
/// of the trace and waits for more when the signal comes.</summary>
public sealed class SignalTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("w7-cli-signal-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string At(string name) => Path.Combine(_dir, name);

    /// <summary>Starts an analysis of half the seed-story trace through a FIFO and waits until its in-progress plog
    /// exists; returns the child and the FIFO's write end (still open: the child waits for the rest).</summary>
    (ChildProcess Child, FileStream Feed) StartMidRun(string tmp)
    {
        var fifo = At("trace.fifo");
        ChildProcess.MakeFifo(fifo);
        var child = new ChildProcess([fifo, "-o", At("out.plog")], _dir, environment: new Dictionary<string, string> { ["TMPDIR"] = tmp });
        child.StandardInput.Close();
        var feed = new FileStream(fifo, FileMode.Open, FileAccess.Write); // returns once the child opened its end
        var trace = File.ReadAllBytes(Path.Combine(RepoPaths.Samples, "seed-story", "trace.lz4"));
        feed.Write(trace, 0, trace.Length / 2);
        feed.Flush();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (Directory.GetFiles(_dir, "out.plog.*.partial").Length == 0 && DateTime.UtcNow < deadline) Thread.Sleep(20);
        Assert.NotEmpty(Directory.GetFiles(_dir, "out.plog.*.partial")); // mid-run: writing, and waiting for more trace
        return (child, feed);
    }

    string NewTmp()
    {
        var tmp = At("tmp");
        Directory.CreateDirectory(tmp);
        return tmp;
    }

    void AssertNothingLeft(string tmp)
    {
        Assert.Empty(Directory.GetFiles(_dir, "*.partial"));
        Assert.False(File.Exists(At("out.plog")));
        Assert.Empty(Directory.GetFileSystemEntries(tmp));
    }

    [Fact]
    public void Sigint_cancels_at_the_next_check_with_exit_130_and_leaves_nothing()
    {
        var tmp = NewTmp();
        var (child, feed) = StartMidRun(tmp);
        using (child)
        {
            child.Signal(ChildProcess.SIGINT);
            Thread.Sleep(200);
            feed.Dispose(); // end of input: the analysis returns to its loop and sees the cancellation
            Assert.Equal(130, child.WaitForExit(TimeSpan.FromSeconds(30)));
            Assert.Equal("interrupted: no pandalog written\n", child.Stderr);
        }
        AssertNothingLeft(tmp);
    }

    [Fact]
    public void Sigterm_ends_a_run_blocked_on_its_input_with_exit_143_and_leaves_nothing()
    {
        var tmp = NewTmp();
        var (child, feed) = StartMidRun(tmp);
        using (feed)
        using (child)
        {
            child.Signal(ChildProcess.SIGTERM);
            // The input stays open: the read cannot see the cancellation, so the grace period ends the process.
            Assert.Equal(143, child.WaitForExit(TimeSpan.FromSeconds(30)));
            Assert.Equal("terminated: no output left behind\n", child.Stderr);
        }
        AssertNothingLeft(tmp);
    }

    [Fact]
    public void Sigterm_while_reading_cancels_with_143_too()
    {
        var tmp = NewTmp();
        var (child, feed) = StartMidRun(tmp);
        using (child)
        {
            child.Signal(ChildProcess.SIGTERM);
            Thread.Sleep(200);
            feed.Dispose();
            Assert.Equal(143, child.WaitForExit(TimeSpan.FromSeconds(30)));
            Assert.DoesNotContain("   at ", child.Stderr);
        }
        AssertNothingLeft(tmp);
    }
}
