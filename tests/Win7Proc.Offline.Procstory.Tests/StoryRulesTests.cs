using Win7Proc.Offline.Pandalog.Schema;
using static Win7Proc.Offline.Procstory.Tests.LogBuilder;

namespace Win7Proc.Offline.Procstory.Tests;

public class StoryRulesTests
{
    static ProcessInstance Only(ProcessStory story, string shortName) => Assert.Single(story.Processes, p => p.ShortName == shortName);

    /// <summary>A chart row's cells (cell 0 blank, cell 1 the left frame bar, the span from cell 2).</summary>
    static string Row(string text, string shortName) =>
        Assert.Single(text.Split('\n'), l => l.StartsWith(shortName.PadLeft(11) + " : ", StringComparison.Ordinal))[14..];

    static string[] ChartRows(ProcessStory story, int width = 80) => StoryTextRenderer.ChartLines(story, width).ToArray();

    [Fact]
    public void Boring_iff_creation_and_termination_unseen_and_no_children()
    {
        var explorer = P(1232, "explorer.exe");
        var story = new LogBuilder()
            .Seen(10, 4, "System").Seen(20, explorer).Seen(30, 500, "doomed.exe")
            .Create(100, explorer, P(600, "notepad.exe"))
            .Exit(200, P(500, "doomed.exe"))
            .Total(1000).Story();
        Assert.True(story.IsBoring(Only(story, "System1")));
        Assert.True(story.IsInteresting(Only(story, "explorer1")));   // has a child
        Assert.True(story.IsInteresting(Only(story, "notepad1")));    // creation seen
        Assert.True(story.IsInteresting(Only(story, "doomed1")));     // termination seen
        var tree = StoryTextRenderer.TreeLines(story).ToArray();
        Assert.Equal(" [b]     System1 4-System", tree[0]);
        Assert.Equal(" [i]   explorer1 1232-explorer.exe-0-1000", tree[1]);
        Assert.Equal("   [i]    notepad1 600-notepad.exe-b100-1000-p-explorer1", tree[2]);
        Assert.Equal(" [i]     doomed1 500-doomed.exe-0-d200", tree[3]);
        Assert.DoesNotContain(ChartRows(story), r => r.Contains("System1"));
    }

    [Fact]
    public void A_pid_reused_after_termination_is_a_new_instance_with_its_own_short_name()
    {
        var cmd = P(1360, "cmd.exe");
        var story = new LogBuilder()
            .Seen(10, cmd)
            .Create(100, cmd, P(1344, "svchost.exe")).Exit(200, P(1344, "svchost.exe"))
            .Create(300, cmd, P(1344, "svchost.exe"))
            .Exit(400, P(1344, "svchost.exe"))
            .Seen(500, 1344, "other.exe")           // reused again, creation unseen
            .Total(1000).Story();
        var first = Only(story, "svchost1");
        var second = Only(story, "svchost2");
        var third = Only(story, "other1");
        Assert.Equal((100UL, 200UL), (first.Birth!.Value, first.Death!.Value));
        Assert.Equal((300UL, 400UL), (second.Birth!.Value, second.Death!.Value));
        Assert.Null(third.Birth);
        Assert.All(new[] { first, second, third }, p => Assert.Equal(1344u, p.Pid));
    }

    [Fact]
    public void A_pid_taken_over_without_a_seen_termination_ends_the_old_instance_as_unknown()
    {
        var story = new LogBuilder()
            .Seen(10, 700, "old.exe")
            .Create(500, P(4, "System"), P(700, "new.exe"))
            .Total(1000).Story();
        var old = Only(story, "old1");
        Assert.Equal(500UL, old.SupersededAt);
        Assert.Null(old.Death);
        Assert.Equal(500UL, story.LastInstr(old));
        // old1 is boring (nothing seen of its birth or death), so only its successor is drawn.
        Assert.Equal(" |" + new string(' ', 40) + "C" + new string('-', 39) + "?|", Row(StoryTextRenderer.Render(story), "new1"));
    }

    [Fact]
    public void Same_pid_and_name_without_instance_keys_is_one_instance_and_the_last_termination_is_its_death()
    {
        var app = P(900, "app.exe");
        var story = new LogBuilder().Seen(10, app).Terminate(100, app, app).Seen(120, app).Exit(150, app).Total(1000).Story();
        var only = Assert.Single(story.Processes);
        Assert.Equal(150UL, only.Death);
    }

    [Fact]
    public void Instance_keys_from_the_analyzer_decide_identity_over_names()
    {
        Process Keyed(uint pid, string name, ulong key) => new() { Pid = pid, Name = name, InstanceInstr = key };
        var story = new LogBuilder()
            .Seen(10, Keyed(800, "cmd.exe", 10))
            .Exit(50, Keyed(800, "cmd.exe", 10))
            .Seen(60, Keyed(800, "cmd.exe", 60))       // same name, new key: reuse whose creation we missed
            .Seen(70, Keyed(800, "cmd.exe", 60))
            .Total(100).Story();
        Assert.Equal(new[] { "cmd1", "cmd2" }, story.Processes.Select(p => p.ShortName));
        Assert.Equal(50UL, Only(story, "cmd1").Death);
        Assert.Null(Only(story, "cmd2").Death);
    }

    [Fact]
    public void A_sighting_before_the_logged_creation_is_adopted_by_the_creation_when_keys_match()
    {
        var child = new Process { Pid = 300, Name = "child.exe", InstanceInstr = 90 };
        var story = new LogBuilder().Seen(10, 1, "parent.exe").Seen(95, child).Create(100, P(1, "parent.exe"), child).Total(200).Story();
        var only = Only(story, "child1");
        Assert.Equal(100UL, only.Birth);
        Assert.Equal("parent1", only.Parent!.ShortName);
        Assert.Equal(2, story.Processes.Count);
    }

    [Theory]
    [InlineData(0UL, 2)]            // instr 0: first cell of the span
    [InlineData(1000UL, 82)]        // max_instr: last cell
    [InlineData(24UL, 3)]           // 24*80/1000 = 1.92: just below the column boundary at 25
    [InlineData(25UL, 4)]           // exactly on it
    [InlineData(999UL, 81)]         // just below max_instr
    [InlineData(5000UL, 82)]        // beyond max_instr (a total_instr smaller than the events): clamped
    public void Column_scaling_at_the_edges(ulong instr, int expected) =>
        Assert.Equal(expected, StoryTextRenderer.Column(instr, 1000, 80));

    [Fact]
    public void Column_scaling_is_exact_for_huge_counts_and_zero_max()
    {
        Assert.Equal(82, StoryTextRenderer.Column(ulong.MaxValue - 1, ulong.MaxValue - 1, 80));
        Assert.Equal(81, StoryTextRenderer.Column(ulong.MaxValue - 2, ulong.MaxValue - 1, 80));
        Assert.Equal(2, StoryTextRenderer.Column(0, 0, 80));
    }

    [Fact]
    public void Birth_at_0_and_death_at_max_sit_on_the_span_edges()
    {
        var root = P(1, "root.exe");
        var story = new LogBuilder().Seen(0, root).Create(0, root, P(2, "a.exe")).Exit(1000, P(2, "a.exe")).Total(1000).Story();
        Assert.Equal(" |C" + new string('-', 79) + "T|", Row(StoryTextRenderer.Render(story), "a1"));
    }

    [Fact]
    public void Creation_and_termination_in_one_column_show_T()
    {
        var root = P(1, "root.exe");
        var story = new LogBuilder().Seen(1, root).Create(500, root, P(2, "blink.exe")).Exit(510, P(2, "blink.exe")).Total(1000).Story();
        var row = Row(StoryTextRenderer.Render(story), "blink1");
        Assert.Equal('T', row[42]);            // 2 + 500*80/1000
        Assert.DoesNotContain('C', row);
    }

    [Fact]
    public void Children_are_ordered_by_first_instruction_not_by_log_order()
    {
        var parent = P(1, "parent.exe");
        var story = new LogBuilder()
            .Seen(1, parent)
            .Create(700, parent, P(10, "late.exe"))
            .Create(300, parent, P(11, "early.exe"))     // logged after, happened before
            .Total(1000).Story();
        var tree = StoryTextRenderer.TreeLines(story).ToArray();
        Assert.StartsWith("   [i]      early1", tree[1]);
        Assert.StartsWith("   [i]       late1", tree[2]);
        var chart = ChartRows(story);
        Assert.Equal(new[] { "parent1", "early1", "late1" }, chart.Select(l => l[..11].Trim()));
    }

    [Fact]
    public void Roots_in_the_tree_follow_first_mention_and_in_the_chart_first_instruction_then_mention()
    {
        var story = new LogBuilder()
            .Seen(10, 1, "first.exe")
            .Create(50, null!, P(2, "orphan.exe"))       // creator unknown: a root with a seen birth
            .Seen(60, 3, "third.exe")
            .Exit(900, P(1, "first.exe")).Exit(910, P(3, "third.exe"))
            .Total(1000).Story();
        Assert.Equal(new[] { "first1", "orphan1", "third1" }, story.Roots.Select(p => p.ShortName));
        Assert.Equal(new[] { "first1", "third1", "orphan1" }, ChartRows(story).Select(l => l[..11].Trim()));
    }

    [Fact]
    public void Connectors_run_down_to_each_child_and_mark_the_parent_with_plus()
    {
        var parent = P(1, "parent.exe");
        var story = new LogBuilder()
            .Seen(1, parent)
            .Create(100, parent, P(10, "a.exe"))                       // col 10
            .Create(200, parent, P(11, "b.exe"))                       // col 18
            .Exit(300, P(11, "b.exe"))                                 // col 26
            .Create(300, parent, P(12, "c.exe"))                       // col 26: passes b's T
            .Create(500, P(10, "a.exe"), P(13, "d.exe"))               // a's child, col 42
            .Create(600, parent, P(14, "e.exe"))                       // col 50: passes a's '-', b's blank, d's '-'
            .Total(1000).Story();
        var rows = ChartRows(story);
        Assert.Equal(new[] { "parent1", "a1", "d1", "b1", "c1", "e1" }, rows.Select(l => l[..11].Trim()));
        var cells = rows.Select(l => l[14..]).ToArray();
        //                        cell 10: a   18: b   26: c           42: d   50: e                            82
        Assert.Equal(" |?-------+-------+-------+-----------------------+-------------------------------?|", cells[0]);
        Assert.Equal(" |        C-------|-------|---------------+-------|-------------------------------?|", cells[1]);
        Assert.Equal(" |                |       |               C-------|-------------------------------?|", cells[2]);
        Assert.Equal(" |                C-------T                       |                                |", cells[3]);
        Assert.Equal(" |                        C-----------------------|-------------------------------?|", cells[4]);
        Assert.Equal(" |                                                C-------------------------------?|", cells[5]);
    }

    [Fact]
    public void Width_option_scales_the_chart_and_moves_the_frame()
    {
        var root = P(1, "root.exe");
        var story = new LogBuilder().Seen(1, root).Create(500, root, P(2, "kid.exe")).Total(1000).Story();
        var text = StoryTextRenderer.Render(story, new StoryRenderOptions { Width = 40 });
        var row = Row(text, "kid1");
        Assert.Equal(" |" + new string(' ', 20) + "C" + new string('-', 19) + "?|", row);
        var wide = Row(StoryTextRenderer.Render(story, new StoryRenderOptions { Width = 200 }), "root1");
        Assert.Equal(200 + 4, wide.Length);
        Assert.Equal('+', wide[2 + 100]);
        Assert.Throws<ArgumentOutOfRangeException>(() => StoryTextRenderer.Render(story, new StoryRenderOptions { Width = 0 }));
    }

    [Fact]
    public void Without_total_instr_the_last_instruction_seen_is_max_instr()
    {
        var root = P(1, "root.exe");
        var story = new LogBuilder().Seen(5, root).Create(40, root, P(2, "kid.exe")).Seen(80, root).Story();
        Assert.Null(story.TotalInstr);
        Assert.Equal(80UL, story.MaxInstr);
        Assert.StartsWith("max_instr = 80\n", StoryTextRenderer.Render(story));
    }

    [Fact]
    public void Entries_outside_the_replay_are_ignored_but_total_instr_is_kept()
    {
        var placeholder = new LogEntry { Pc = ulong.MaxValue, Instr = ulong.MaxValue };
        var late = new LogEntry { Pc = ulong.MaxValue, Instr = ulong.MaxValue, NewPid = P(9, "late.exe"), TotalInstr = 777 };
        var story = ProcessStory.Build(new[] { placeholder, new LogEntry { Instr = 3, NewPid = P(1, "a.exe") }, late });
        Assert.Equal(777UL, story.MaxInstr);
        Assert.Single(story.Processes);
    }

    [Fact]
    public void A_termination_without_a_seen_birth_draws_from_the_start()
    {
        var story = new LogBuilder().Exit(500, P(7, "ghost.exe")).Total(1000).Story();
        var ghost = Only(story, "ghost1");
        Assert.Null(ghost.Birth);
        Assert.Equal(500UL, ghost.Death);
        Assert.Equal(" |?" + new string('-', 39) + "T" + new string(' ', 40) + "|", Row(StoryTextRenderer.Render(story), "ghost1"));
    }

    [Fact]
    public void A_child_whose_parent_was_never_seen_is_a_root_and_keeps_its_ppid()
    {
        var story = new LogBuilder().Seen(5, new Process { Pid = 50, Name = "lost.exe", Ppid = 4242 }).Exit(60, P(50, "lost.exe")).Total(100).Story();
        var lost = Assert.Single(story.Roots);
        Assert.Null(lost.Parent);
        Assert.Equal(4242u, lost.Ppid);
        Assert.Equal(" [i]       lost1 50-lost.exe-0-d60", StoryTextRenderer.TreeLines(story).Single());
    }

    [Fact]
    public void Ppid_links_a_sighted_process_to_its_parent_without_making_boring_parents_interesting()
    {
        var story = new LogBuilder()
            .Seen(1, 408, "services.exe")
            .Seen(2, new Process { Pid = 600, Name = "svchost.exe", Ppid = 408 })
            .Seen(3, new Process { Pid = 700, Name = "svchost.exe", Ppid = 408 })
            .Total(100).Story(ByPpid);
        var services = Only(story, "services1");
        Assert.Equal(2, services.Children.Count);
        Assert.True(story.IsBoring(services));
        Assert.Empty(ChartRows(story));
        Assert.Equal(new[] { " [b]   services1 408-services.exe", "   [b]    svchost1 600-svchost.exe", "   [b]    svchost2 700-svchost.exe" },
            StoryTextRenderer.TreeLines(story));

        var exited = new LogBuilder()
            .Seen(1, 408, "services.exe")
            .Seen(2, new Process { Pid = 600, Name = "svchost.exe", Ppid = 408 })
            .Exit(50, P(600, "svchost.exe"))
            .Total(100).Story(ByPpid);
        Assert.True(exited.IsInteresting(Only(exited, "services1")));   // an interesting child makes its parent interesting
        var text = StoryTextRenderer.Render(exited);
        Assert.Equal(" |+" + new string('-', 79) + "?|", Row(text, "services1"));   // child's first instr is 0: '+' on the '?'
        Assert.Equal(" |?" + new string('-', 39) + "T" + new string(' ', 40) + "|", Row(text, "svchost1"));
    }

    [Fact]
    public void Ppid_is_kept_but_not_linked_by_default_as_in_the_original()
    {
        var story = new LogBuilder()
            .Seen(1, 408, "services.exe")
            .Seen(2, new Process { Pid = 600, Name = "svchost.exe", Ppid = 408 })
            .Exit(50, P(600, "svchost.exe"))
            .Total(100).Story();
        Assert.Equal(2, story.Roots.Count());
        Assert.Equal(408u, Assert.Single(story.Processes, p => p.Pid == 600).Ppid);
        Assert.True(story.IsBoring(story.Processes[0]));
    }

    [Fact]
    public void Ppid_naming_a_younger_process_is_a_reused_pid_not_a_parent()
    {
        var story = new LogBuilder()
            .Seen(1, new Process { Pid = 408, Name = "newcomer.exe", CreateTime = 2000 })
            .Seen(2, new Process { Pid = 600, Name = "old.exe", Ppid = 408, CreateTime = 1000 })
            .Seen(3, new Process { Pid = 700, Name = "young.exe", Ppid = 408, CreateTime = 3000 })
            .Total(100).Story(ByPpid);
        Assert.Null(Assert.Single(story.Processes, p => p.Pid == 600).Parent);
        Assert.Equal(408u, Assert.Single(story.Processes, p => p.Pid == 700).Parent!.Pid);
    }

    [Fact]
    public void Ppid_links_never_close_a_cycle()
    {
        var story = new LogBuilder()
            .Seen(1, 10, "a.exe")
            .Seen(2, new Process { Pid = 20, Name = "b.exe", Ppid = 10 })
            .Seen(3, new Process { Pid = 10, Name = "a.exe", Ppid = 20 })    // forged: a's parent would be its own child
            .Total(10).Story(ByPpid);
        Assert.Null(Only(story, "a1").Parent);
        Assert.Equal("a1", Only(story, "b1").Parent!.ShortName);
        Assert.Equal(2, StoryTextRenderer.TreeLines(story).Count());
    }

    [Fact]
    public void Failed_creations_and_terminations_change_nothing()
    {
        var cmd = P(1, "cmd.exe");
        var story = new LogBuilder()
            .Seen(1, cmd)
            .Create(10, cmd, P(2, "denied.exe"), succeeded: false)
            .Create(20, cmd, P(0xFFFFFFFF, "unknown"))
            .Terminate(30, cmd, P(3, "victim.exe"), succeeded: false)
            .Total(100).Story();
        Assert.Equal(new[] { "cmd1" }, story.Processes.Select(p => p.ShortName));
        Assert.True(story.IsBoring(story.Processes[0]));
    }

    [Fact]
    public void Unknown_callers_and_sightings_make_no_process()
    {
        var story = new LogBuilder()
            .Seen(1, 0, "Idle")
            .Create(10, P(0xFFFFFFFF, "unknown"), P(5, "child.exe"))
            .Terminate(20, P(0, "unknown"), P(5, "child.exe"))
            .Total(100).Story();
        var child = Assert.Single(story.Processes);
        Assert.Equal((10UL, 20UL), (child.Birth!.Value, child.Death!.Value));
        Assert.Null(child.Parent);
    }

    [Fact]
    public void An_unresolvable_termination_is_a_note_not_a_process()
    {
        var story = new LogBuilder().Seen(1, 5, "killer.exe").Terminate(40, P(5, "killer.exe"), P(0, "unknown")).Total(100).Story();
        Assert.Single(story.Processes);
        var unresolved = Assert.Single(story.UnresolvedTerminations);
        Assert.Equal(40UL, unresolved.Instr);
        Assert.Equal(" [?] an unidentified process was terminated at d40 by killer1", StoryTextRenderer.TreeLines(story).Last());
        Assert.Empty(ChartRows(story));
    }

    [Theory]
    [InlineData("svchost.exe", "svchost")]
    [InlineData("dllhost.exe", "dllhost")]
    [InlineData("SearchProtocol", "SearchProt")]
    [InlineData("SearchIndexer.", "SearchInde")]
    [InlineData("KERNEL32.DLL", "KERNEL32")]
    [InlineData("choice.exe", "choice")]
    [InlineData(".exe", "?")]
    [InlineData("", "?")]
    public void Short_name_stem_is_the_name_without_exe_or_dll_cut_to_10(string name, string stem) =>
        Assert.Equal(stem, ProcessStoryBuilder.ShortNameStem(name));

    [Fact]
    public void Guest_strings_cannot_inject_terminal_escapes()
    {
        var story = new LogBuilder().Seen(1, 1, "evil\u001b[2J\u202e.exe").Exit(2, P(1, "evil\u001b[2J\u202e.exe")).Total(3).Story();
        var text = StoryTextRenderer.Render(story, new StoryRenderOptions { Long = true });
        Assert.DoesNotContain('\u001b', text);
        Assert.DoesNotContain('\u202e', text);
        Assert.Contains("1-evil?[2J?.exe-0-d2", text);
    }

    [Fact]
    public void Long_shows_image_paths_and_command_lines_when_logged()
    {
        var explorer = new Process { Pid = 1232, Name = "explorer.exe", ImagePath = @"\Device\HarddiskVolume2\Windows\explorer.exe" };
        var story = new LogBuilder()
            .Seen(1, explorer)
            .Create(10, explorer, P(1316, "cmd.exe"), longName: @"C:\Windows\system32\cmd.exe", commandLine: "\"C:\\Windows\\system32\\cmd.exe\" /c ipconfig")
            .Total(100).Story();
        var lines = StoryTextRenderer.TreeLines(story, longNames: true).ToArray();
        Assert.Equal(@" [i]   explorer1 1232-\Device\HarddiskVolume2\Windows\explorer.exe-0-100", lines[0]);
        Assert.Equal(@"   [i]        cmd1 1316-C:\Windows\system32\cmd.exe-b10-100-p-explorer1 cmdline=[""C:\Windows\system32\cmd.exe"" /c ipconfig]", lines[1]);
        Assert.Equal("   [i]        cmd1 1316-cmd.exe-b10-100-p-explorer1", StoryTextRenderer.TreeLines(story).ToArray()[1]);
    }

    [Fact]
    public void A_very_deep_tree_renders_without_recursion()
    {
        var log = new LogBuilder().Seen(1, 1, "p.exe");
        for (uint pid = 2; pid <= 3000; pid++) log.Create(pid, P(pid - 1, "p.exe"), P(pid, "p.exe"));
        var story = log.Total(5000).Story();
        var text = StoryTextRenderer.Render(story, new StoryRenderOptions { Width = 10 });
        Assert.Contains("\n" + new string(' ', 1 + 2 * StoryTextRenderer.MaxIndentDepth) + "[i]       p3000 3000-p.exe-b3000-5000-p-p2999\n", text);
        Assert.Contains("\n   [i]          p2 2-p.exe-b2-5000-p-p1\n", text);
        var json = StoryJsonRenderer.Render(story);
        Assert.EndsWith("}\n", json);
    }
}
