using System.Diagnostics;
using Win7Proc.Offline.Analyzer.Windows7;

namespace Win7Proc.Offline.Analyzer.Tests.Windows7;

public sealed class ProcessListTests
{
    private const uint Cr3 = 0x1e000;
    private const uint Head = 0x82f85e98; // PsActiveProcessHead: a bare LIST_ENTRY, not an EPROCESS
    private static readonly uint[] s_eprocesses = [0x84000000, 0x84001000, 0x84002000];

    private readonly FakeGuest _guest = new();
    private readonly KernelBuilder _k;

    public ProcessListTests()
    {
        _k = new KernelBuilder(_guest);
        _k.Process(s_eprocesses[0], 4, 0, "System");
        _k.Process(s_eprocesses[1], 268, 4, "smss.exe");
        _k.Process(s_eprocesses[2], 2108, 1480, "evil.exe");
        // Head → System → smss → evil → Head
        uint[] ring = [Head, .. s_eprocesses.Select(e => e + 0xb8)];
        for (int i = 0; i < ring.Length; i++) _guest.U32(ring[i], ring[(i + 1) % ring.Length]);
    }

    [Fact]
    public void Walk_from_any_process_lists_all_and_skips_the_list_head()
    {
        var pids = new Win7Objects(_guest).WalkProcessList(Cr3, s_eprocesses[2]).Select(p => p.Pid);
        Assert.Equal([2108u, 4u, 268u], pids);
    }

    [Fact]
    public void Find_process_finds_system_for_kernel_handles()
    {
        Assert.Equal("System", new Win7Objects(_guest).FindProcess(Cr3, s_eprocesses[1], 4)?.Name);
        Assert.Null(new Win7Objects(_guest).FindProcess(Cr3, s_eprocesses[1], 999));
    }

    [Fact]
    public void Unreadable_link_stops_the_walk()
    {
        _guest.U32(s_eprocesses[1] + 0xb8, 0x86ff00b8);
        var pids = new Win7Objects(_guest).WalkProcessList(Cr3, s_eprocesses[0]).Select(p => p.Pid);
        Assert.Equal([4u, 268u], pids);
    }

    [Fact]
    public void Cycle_that_skips_the_start_is_bounded()
    {
        // evil → smss (a loop smss ⇄ evil that never returns to System)
        _guest.U32(s_eprocesses[2] + 0xb8, s_eprocesses[1] + 0xb8);
        var stopwatch = Stopwatch.StartNew();
        var pids = new Win7Objects(_guest).WalkProcessList(Cr3, s_eprocesses[0]).Select(p => p.Pid).ToList();
        Assert.True(stopwatch.ElapsedMilliseconds < 1000);
        Assert.Equal([4u, 268u, 2108u], pids);
    }

    [Fact]
    public void Walk_is_capped_by_max_processes()
    {
        var limits = new GuestLimits { MaxProcesses = 2 };
        Assert.Equal(2, new Win7Objects(_guest, limits).WalkProcessList(Cr3, s_eprocesses[0]).Count);
    }
}
