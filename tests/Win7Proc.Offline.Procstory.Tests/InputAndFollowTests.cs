using Win7Proc.Offline.Cli;
using Win7Proc.Offline.Cli.Commands;
using Win7Proc.Offline.Pandalog;
using Win7Proc.Offline.Pandalog.Schema;
using Win7Proc.Offline.Testing;
using static Win7Proc.Offline.Procstory.Tests.LogBuilder;

namespace Win7Proc.Offline.Procstory.Tests;

public sealed class InputAndFollowTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("procstory-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string PathOf(string name) => Path.Combine(_dir, name);

    static ProcstoryCommand.Settings Text(string input, bool follow = false) => new(input, 80, Long: false, Json: false, Follow: follow);

    static (int Code, string Out, string Err) RunCli(ProcstoryCommand.Settings settings, bool terminal = false,
        Action<TimeSpan, CancellationToken>? wait = null, CancellationToken ct = default)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = ProcstoryCommand.Run(settings, stdout, stderr, terminal, ct, wait);
        return (code, stdout.ToString(), stderr.ToString());
    }

    string WriteSeedPlog()
    {
        var path = PathOf("seed.plog");
        using var writer = PandalogWriter.Create(path);
        foreach (var entry in SeedChartTests.SeedLog().Entries) writer.Write(entry);
        writer.Complete();
        return path;
    }

    [Fact]
    public void A_plog_written_by_our_writer_tells_the_seed_story()
    {
        var (code, output, error) = RunCli(Text(WriteSeedPlog()));
        Assert.Equal(ExitCodes.Success, code);
        Assert.Equal("", error);
        Assert.Equal(StoryTextRenderer.Render(SeedChartTests.SeedLog().Story()), output);
    }

    [Fact]
    public void From_a_plog_only_process_entries_are_parsed_yet_every_entry_moves_the_chart_end()
    {
        var root = P(1, "root.exe");
        var log = new LogBuilder().Seen(5, root).Create(40, root, P(2, "kid.exe")).Exit(60, P(2, "kid.exe"));
        // File and registry calls after the last process event, and no total_instr: the chart must still end at 500.
        foreach (ulong instr in new ulong[] { 300, 500 })
            log.Entries.Add(new LogEntry { Pc = 0x7777a5b2, Instr = instr, NtOpenKey = new ProcessKey { Proc = root, Keyname = @"\REGISTRY\MACHINE" } });
        var path = PathOf("tail.plog");
        using (var writer = PandalogWriter.Create(path, new PandalogWriterOptions { ChunkSize = 64 }))
        {
            foreach (var entry in log.Entries) writer.Write(entry);
            writer.Complete();
        }

        using var reader = PandalogReader.Open(path);
        Assert.True(reader.Chunks.Count > 2);
        var fromRecords = ProcessStory.Build(reader.ReadRecords());
        Assert.Equal(500UL, fromRecords.MaxInstr);
        Assert.Equal(StoryTextRenderer.Render(log.Story()), StoryTextRenderer.Render(fromRecords));
        var (code, output, _) = RunCli(Text(path));
        Assert.Equal(ExitCodes.Success, code);
        Assert.Equal(StoryTextRenderer.Render(log.Story()), output);
    }

    [Fact]
    public void Kind_is_detected_by_magic_bytes_not_by_name()
    {
        var plog = WriteSeedPlog();
        var disguised = PathOf("story.lz4");
        File.Copy(plog, disguised);
        Assert.Equal(StoryInputKind.Plog, StoryInput.Detect(disguised));
        var trace = PathOf("trace.plog");
        File.Copy(Path.Combine(RepoPaths.Samples, "dropper", "trace.lz4"), trace);
        Assert.Equal(StoryInputKind.Trace, StoryInput.Detect(trace));
        File.WriteAllBytes(PathOf("x.plog.partial"), new byte[128]);
        Assert.Equal(StoryInputKind.PartialPlog, StoryInput.Detect(PathOf("x.plog.partial")));
        File.WriteAllText(PathOf("notes.txt"), "hello world");
        Assert.Throws<StoryInputException>(() => StoryInput.Detect(PathOf("notes.txt")));
        File.WriteAllBytes(PathOf("tiny"), new byte[] { 2 });
        Assert.Throws<StoryInputException>(() => StoryInput.Detect(PathOf("tiny")));
    }

    [Fact]
    public void Locate_finds_the_partial_while_it_is_written_and_the_final_after_the_rename()
    {
        var final = PathOf("out.plog");
        Assert.Null(StoryInput.Locate(final));
        File.WriteAllBytes(final + ".partial", new byte[128]);
        Assert.Equal(final + ".partial", StoryInput.Locate(final));
        File.Move(final + ".partial", final);
        Assert.Equal(final, StoryInput.Locate(final));
        Assert.Equal(final, StoryInput.Locate(final + ".partial"));
    }

    [Fact]
    public void User_mistakes_are_one_error_line_and_a_named_exit_code()
    {
        var missing = RunCli(Text(PathOf("nope.plog")));
        Assert.Equal(ExitCodes.IoError, missing.Code);
        Assert.StartsWith("error: no such file: ", missing.Err);
        Assert.Single(missing.Err.TrimEnd('\n').Split('\n'));

        File.WriteAllText(PathOf("notes.txt"), "hello world");
        var garbage = RunCli(Text(PathOf("notes.txt")));
        Assert.Equal(ExitCodes.InvalidInput, garbage.Code);
        Assert.Contains("neither a pandalog", garbage.Err);
        Assert.Single(garbage.Err.TrimEnd('\n').Split('\n'));

        var damaged = PathOf("damaged.plog");
        var bytes = File.ReadAllBytes(WriteSeedPlog());
        for (var i = 130; i < 200; i++) bytes[i] ^= 0x5A;
        File.WriteAllBytes(damaged, bytes);
        var broken = RunCli(Text(damaged));
        Assert.Equal(ExitCodes.InvalidInput, broken.Code);
        Assert.StartsWith("error: ", broken.Err);
        Assert.Single(broken.Err.TrimEnd('\n').Split('\n'));
        Assert.Equal("", broken.Out);

        var followMissing = RunCli(Text(PathOf("nope.plog"), follow: true));
        Assert.Equal(ExitCodes.IoError, followMissing.Code);
    }

    [Fact]
    public void A_plog_still_being_written_shows_its_complete_chunks_and_exits_partial()
    {
        var plog = new GrowingPlog(PathOf("live.plog"));
        plog.AppendChunk(new LogBuilder().Seen(10, 1, "a.exe").Seen(20, 2, "b.exe").Entries);
        var (code, output, error) = RunCli(Text(PathOf("live.plog")));   // the name the analyzer will give it
        Assert.Equal(ExitCodes.PartialInput, code);
        Assert.StartsWith("warning: ", error);
        Assert.Contains(" [b]          a1 1-a.exe\n [b]          b1 2-b.exe\n", output);
    }

    [Fact]
    public void Follow_rerenders_a_plog_as_the_analyzer_writes_it_until_the_rename()
    {
        var target = PathOf("grow.plog");
        var plog = new GrowingPlog(target);
        var cmd = P(1360, "cmd.exe");
        plog.AppendChunk(new LogBuilder().Seen(10, cmd).Entries);
        var steps = new Queue<Action>();
        var step2 = new LogBuilder().Create(500, cmd, P(2004, "ipconfig.exe")).Entries;
        var step3 = new LogBuilder().Exit(700, P(2004, "ipconfig.exe")).Total(1000).Entries;
        byte[]? half = null;
        steps.Enqueue(() => plog.AppendChunk(step2));
        steps.Enqueue(() => half = plog.AppendHalfChunk(step3));     // mid-write: nothing new to show
        steps.Enqueue(() => { plog.FinishHalfChunk(half!, step3); plog.Complete(); });
        var waits = 0;
        var (code, output, error) = RunCli(Text(target, follow: true), terminal: false,
            wait: (interval, _) => { Assert.Equal(TimeSpan.FromSeconds(1), interval); waits++; steps.Dequeue()(); });

        Assert.Equal(ExitCodes.Success, code);
        Assert.Equal("", error);
        Assert.Equal(3, waits);
        var renders = output.Split("max_instr = ").Skip(1).ToArray();
        Assert.Equal(3, renders.Length);                               // the half chunk changed nothing: no repeat
        Assert.StartsWith("10\n", renders[0]);
        Assert.Contains(" [b]        cmd1 1360-cmd.exe\n", renders[0]);
        Assert.Contains("   [i]   ipconfig1 2004-ipconfig.exe-b500-500-p-cmd1\n", renders[1]);
        Assert.StartsWith("1000\n", renders[2]);
        Assert.Contains("   [i]   ipconfig1 2004-ipconfig.exe-b500-d700-p-cmd1\n", renders[2]);
        Assert.Equal(StoryTextRenderer.Render(ProcessStory.Build(PandalogReader.Open(target).ReadAll())), "max_instr = " + renders[2]);
        Assert.DoesNotContain(StoryFollower.ClearScreenSequence, output);
    }

    [Fact]
    public void Follow_on_a_terminal_clears_the_screen_before_each_render()
    {
        var target = PathOf("term.plog");
        var plog = new GrowingPlog(target);
        plog.AppendChunk(new LogBuilder().Seen(10, 1, "a.exe").Entries);
        var (code, output, _) = RunCli(Text(target, follow: true), terminal: true, wait: (_, _) =>
        {
            plog.AppendChunk(new LogBuilder().Exit(20, P(1, "a.exe")).Entries);
            plog.Complete();
        });
        Assert.Equal(ExitCodes.Success, code);
        var parts = output.Split(StoryFollower.ClearScreenSequence);
        Assert.Equal(3, parts.Length);
        Assert.Equal("", parts[0]);
        Assert.Contains("[i]          a1 1-a.exe-0-d20", parts[2]);
    }

    [Fact]
    public void Follow_rerenders_a_trace_as_the_recorder_writes_it_until_END()
    {
        var sample = File.ReadAllBytes(Path.Combine(RepoPaths.Samples, "seed-story", "trace.lz4"));
        var trace = PathOf("live.lz4");
        // Cut points: after the frames holding the first few events, then inside a frame (a partial frame), then all.
        int[] cuts = { sample.Length / 4, sample.Length * 3 / 5, sample.Length };
        File.WriteAllBytes(trace, sample[..cuts[0]]);
        var step = 0;
        var (code, output, error) = RunCli(Text(trace, follow: true), wait: (_, _) =>
        {
            step++;
            File.WriteAllBytes(trace, sample[..cuts[step]]);
        });
        Assert.Equal(ExitCodes.Success, code);
        Assert.Equal("", error);
        Assert.Equal(2, step);
        var renders = output.Split("max_instr = ").Skip(1).ToArray();
        Assert.Equal(3, renders.Length);
        Assert.True(renders[0].Split('\n').Length < renders[2].Split('\n').Length, "the first render shows fewer processes");
        Assert.Equal(StoryTextRenderer.Render(StoryInput.Read(Path.Combine(RepoPaths.Samples, "seed-story", "trace.lz4")).Story),
            "max_instr = " + renders[2]);
    }

    [Fact]
    public void Follow_waits_for_a_trace_whose_header_is_not_written_yet_but_not_for_a_file_that_stopped_growing()
    {
        var sample = File.ReadAllBytes(Path.Combine(RepoPaths.Samples, "dropper", "trace.lz4"));
        var trace = PathOf("starting.lz4");
        File.WriteAllBytes(trace, Array.Empty<byte>());                 // the recorder has just created it
        var sizes = new Queue<int>(new[] { 100, sample.Length });       // then a header cut short, then everything
        var (code, output, error) = RunCli(Text(trace, follow: true), wait: (_, _) => File.WriteAllBytes(trace, sample[..sizes.Dequeue()]));
        Assert.Equal(ExitCodes.Success, code);
        Assert.Equal("", error);
        Assert.Empty(sizes);
        Assert.Equal(1, output.Split("max_instr = ").Length - 1);

        File.WriteAllText(PathOf("junk.plog"), "definitely not a pandalog");
        var waits = 0;
        var junk = RunCli(Text(PathOf("junk.plog"), follow: true), wait: (_, _) => waits++);
        Assert.Equal(ExitCodes.InvalidInput, junk.Code);
        Assert.Equal(1, waits);
        Assert.StartsWith("error: ", junk.Err);
    }

    [Fact]
    public void A_truncated_trace_without_follow_renders_once_and_exits_partial()
    {
        var sample = File.ReadAllBytes(Path.Combine(RepoPaths.Samples, "seed-story", "trace.lz4"));
        var trace = PathOf("cut.lz4");
        File.WriteAllBytes(trace, sample[..(sample.Length / 2)]);
        var (code, output, error) = RunCli(Text(trace));
        Assert.Equal(ExitCodes.PartialInput, code);
        Assert.StartsWith("warning: ", error);
        Assert.Equal(1, output.Split("max_instr = ").Length - 1);
    }

    [Fact]
    public void Follow_stops_with_the_interrupted_code_when_cancelled()
    {
        var plog = new GrowingPlog(PathOf("stuck.plog"));
        plog.AppendChunk(new LogBuilder().Seen(10, 1, "a.exe").Entries);
        using var cancel = new CancellationTokenSource();
        var (code, output, _) = RunCli(Text(PathOf("stuck.plog"), follow: true), wait: (_, _) => cancel.Cancel(), ct: cancel.Token);
        Assert.Equal(ExitCodes.Interrupted, code);
        Assert.Contains("a1 1-a.exe", output);
    }

    [Fact]
    public void Json_format_and_width_reach_the_output()
    {
        var plog = WriteSeedPlog();
        var json = RunCli(new ProcstoryCommand.Settings(plog, 80, Long: false, Json: true, Follow: false));
        Assert.Equal(ExitCodes.Success, json.Code);
        Assert.Equal(StoryJsonRenderer.Render(SeedChartTests.SeedLog().Story()), json.Out);
        var narrow = RunCli(new ProcstoryCommand.Settings(plog, 20, Long: false, Json: false, Follow: false));
        // width 20: cmd1's children start at columns 2 + instr*20/9349975980 = 9, 9, 10, 10, 12, 21, 21
        Assert.Contains("       cmd1 :  |?------++-+--------+?|\n", narrow.Out);
    }
}
