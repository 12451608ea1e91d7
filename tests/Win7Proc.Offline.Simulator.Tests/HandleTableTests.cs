using Win7Proc.Offline.Simulator.Guest;
using static Win7Proc.Offline.Simulator.Tests.Scenarios;

namespace Win7Proc.Offline.Simulator.Tests;

public class HandleTableTests
{
    static (GuestSimulation Sim, GuestProcess Proc, Win7Reader Reader) Explorer1232()
    {
        var sim = new GuestSimulation(Parse($"[{Explorer}]", "[]"));
        var proc = sim.Kernel.FindLive(1232)!;
        return (sim, proc, new Win7Reader(sim.Kernel.Memory, proc.Cr3));
    }

    static uint TableCode(Win7Reader r, GuestProcess p) => r.U32(r.U32(p.Eprocess + 0xf4));

    [Fact]
    public void Handles_are_multiples_of_4_skip_reserved_slot_0_and_reuse_the_lowest_free_slot()
    {
        var (_, proc, _) = Explorer1232();
        var obj = proc;   // any object will do
        Assert.Equal(4u, proc.HandleNames["hkcu"]);
        var handles = Enumerable.Range(0, 5).Select(_ => proc.Handles.Add(obj, 1)).ToList();
        Assert.Equal(new uint[] { 8, 12, 16, 20, 24 }, handles);
        proc.Handles.Remove(16);
        proc.Handles.Remove(12);
        Assert.Equal(12u, proc.Handles.Add(obj, 1));
        Assert.Equal(16u, proc.Handles.Add(obj, 1));
        Assert.Equal(28u, proc.Handles.Add(obj, 1));
    }

    [Fact]
    public void Closing_through_a_scenario_lets_the_next_open_take_the_same_value()
    {
        var sim = Run($"[{Explorer}]", """
            [ { "instr": 100, "pid": 1232, "op": "open_key", "root": "hkcu", "path": "A", "as": "a" },
              { "instr": 200, "pid": 1232, "op": "close", "handle": "a" },
              { "instr": 300, "pid": 1232, "op": "open_file", "path": "\\??\\C:\\b.txt", "as": "b" } ]
            """);
        Assert.Equal(8u, Handle(sim, 1232, "b"));
        var r = Reader(sim, 1232);
        Assert.Equal(28, r.TypeIndex(r.ObjectHeader(Eprocess(sim, 1232), 8)));
        Assert.False(sim.Kernel.FindLive(1232)!.HandleNames.ContainsKey("a"));
    }

    [Fact]
    public void Table_grows_from_level_0_to_1_and_entries_stay_reachable()
    {
        var (_, proc, r) = Explorer1232();
        Assert.Equal(0u, TableCode(r, proc) & 3);
        var handles = new List<uint>();
        for (int i = 0; i < 1200; i++) handles.Add(proc.Handles.Add(proc, (uint)i));
        Assert.Equal(1u, TableCode(r, proc) & 3);
        Assert.DoesNotContain(handles, h => h % 0x800 == 0);
        Assert.Equal(0x804u, handles[510]);   // 511 usable slots in the first page (4..0x7fc), then 0x804
        foreach (var h in new[] { handles[0], handles[510], handles[^1] })
            Assert.Equal(proc.Header, r.ObjectHeader(proc.Eprocess, h));
        Assert.Equal(1201u, r.U32(r.U32(proc.Eprocess + 0xf4) + 0x30));     // HandleCount
        Assert.Equal(1232u, r.U32(r.U32(proc.Eprocess + 0xf4) + 0x8));      // UniqueProcessId
    }

    [Fact]
    public void Table_grows_to_level_2_beyond_1024_entry_pages()
    {
        var (_, proc, r) = Explorer1232();
        uint last = 0;
        // 1024 pages × 511 usable entries fill level 1 (the hkcu handle already holds one); one more needs level 2.
        for (int i = 0; i < 1024 * 511; i++) last = proc.Handles.Add(proc, 0);
        Assert.Equal(2u, TableCode(r, proc) & 3);
        Assert.Equal(1024u * 512 * 4 + 4, last);
        Assert.Equal(proc.Header, r.ObjectHeader(proc.Eprocess, last));
        Assert.Equal(proc.Header, r.ObjectHeader(proc.Eprocess, 0x7fc));
        Assert.Equal(proc.Header, r.ObjectHeader(proc.Eprocess, 1023u * 512 * 4 + 8));
    }

    [Fact]
    public void Removing_a_handle_clears_its_entry_and_the_object_handle_count()
    {
        var (_, proc, r) = Explorer1232();
        var h = proc.Handles.Add(proc, 0x1fffff);
        var entry = r.HandleEntry(proc.Eprocess, h);
        Assert.Equal(0x1fffffu, r.U32(entry + 4));
        Assert.Equal(1u, r.U32(proc.Header + 0x4));
        Assert.True(proc.Handles.Remove(h));
        Assert.Equal(0u, r.U32(entry));
        Assert.Equal(0u, r.U32(proc.Header + 0x4));
        Assert.False(proc.Handles.Remove(h));
    }
}
