using Win7Proc.Offline.Pandalog.Schema;

namespace Win7Proc.Offline.Pandalog.Tests;

public class DumpTests
{
    static string BuildPlog(TempDir dir)
    {
        var path = dir.File("filters.plog");
        using var writer = PandalogWriter.Create(path, new PandalogWriterOptions { ChunkSize = 500 });
        foreach (var e in Entries.EveryKind(start: 1000)) writer.Write(e);
        writer.Complete();
        return path;
    }

    static List<LogEntry> Apply(string path, PlogEntryFilter filter)
    {
        using var reader = PandalogReader.Open(path);
        return filter.Apply(reader).ToList();
    }

    [Fact]
    public void Kind_filter_keeps_entries_with_any_listed_field()
    {
        using var dir = new TempDir();
        var path = BuildPlog(dir);
        var got = Apply(path, PlogEntryFilter.Create(["nt_create_file,new_pid"]));
        Assert.Equal(3, got.Count); // two new_pid, one nt_create_file
        Assert.All(got, e => Assert.True(e.NewPid is not null || e.NtCreateFile is not null));
        var keys = Apply(path, PlogEntryFilter.Create(["nt_open_key", "nt_enumerate_key"]));
        Assert.Equal(3, keys.Count); // nt_open_key twice (one failed), nt_enumerate_key once
    }

    [Fact]
    public void Unknown_kind_or_empty_range_is_refused_with_its_name()
    {
        var e = Assert.Throws<ArgumentException>(() => PlogEntryFilter.Create(["nt_create_fil"]));
        Assert.Contains("nt_create_fil", e.Message);
        Assert.Throws<ArgumentException>(() => PlogEntryFilter.Create(["pc"]));
        Assert.Throws<ArgumentException>(() => PlogEntryFilter.Create(from: 10, to: 5));
    }

    [Fact]
    public void Pid_filter_uses_the_acting_process()
    {
        using var dir = new TempDir();
        var path = BuildPlog(dir);
        var all = Entries.EveryKind(start: 1000);
        var cmd = Apply(path, PlogEntryFilter.Create(pid: 1316));
        // expected by hand from EveryKind: acting process cmd.exe (1316)
        int expected = all.Count(e => PlogEntries.ActingProcess(e)?.Pid == 1316);
        Assert.Equal(expected, cmd.Count);
        Assert.Contains(cmd, e => e.NewPid?.Pid == 1316);
        Assert.Contains(cmd, e => e.NtTerminateProcess is not null);       // cur_p
        Assert.Contains(cmd, e => e.NtMapViewOfSection is not null);       // section.proc, not target (explorer)
        Assert.DoesNotContain(cmd, e => e.NtCreateUserProcess is not null); // cur_p is explorer; 1316 is only the new process
        Assert.DoesNotContain(cmd, e => e.NtReadVirtualMemory is not null); // proc explorer, target cmd
        Assert.Contains(cmd, e => e.NtConnectPort is not null);            // port.proc
    }

    [Fact]
    public void Acting_process_is_found_for_every_call_kind()
    {
        foreach (var e in Entries.EveryKind())
        {
            bool namesAProcess = e.NtAnySyscall == 0 && !e.HasTotalInstr;
            Assert.True(namesAProcess == (PlogEntries.ActingProcess(e) is not null), PlogTextFormatter.Format(e));
        }
    }

    [Fact]
    public void Instr_range_is_inclusive_and_uses_the_directory()
    {
        using var dir = new TempDir();
        var path = BuildPlog(dir);
        var all = Entries.EveryKind(start: 1000);
        ulong from = all[10].Instr, to = all[30].Instr;
        var got = Apply(path, PlogEntryFilter.Create(from: from, to: to));
        Assert.Equal(all.Where(e => e.Instr >= from && e.Instr <= to), got);
        Assert.Equal(all.Where(e => e.Instr >= from), Apply(path, PlogEntryFilter.Create(from: from)));
        var late = Apply(path, PlogEntryFilter.Create(from: ulong.MaxValue));
        Assert.Equal(ulong.MaxValue, Assert.Single(late).Instr);
    }

    [Fact]
    public void Filters_combine()
    {
        using var dir = new TempDir();
        var path = BuildPlog(dir);
        var got = Apply(path, PlogEntryFilter.Create(["nt_create_key,nt_open_key"], pid: 1232, from: 0, to: 1_000_000));
        Assert.Equal(3, got.Count);
        Assert.Empty(Apply(path, PlogEntryFilter.Create(["nt_create_key"], pid: 1316)));
    }
}
