using Win7Proc.Offline.Simulator.Guest;

namespace Win7Proc.Offline.Simulator.Tests;

/// <summary>What the simulated CPU did, with a hook to inspect guest memory at each moment.</summary>
internal sealed class RecordingSink : ISyscallSink
{
    public sealed record Item(string Kind, CpuState Cpu, uint OldCr3 = 0, uint NewCr3 = 0, uint CallNo = 0, uint ReturnAddress = 0);
    public List<Item> Items { get; } = new();
    public Action<Item>? OnItem { get; init; }

    public void SyscallEnter(in CpuState cpu, uint returnAddress) => Add(new Item("enter", cpu, CallNo: cpu.Eax, ReturnAddress: returnAddress));
    public void SyscallReturn(in CpuState cpu, uint callNo) => Add(new Item("return", cpu, CallNo: callNo));
    public void ContextSwitch(in CpuState cpu, uint oldCr3, uint newCr3) => Add(new Item("switch", cpu, oldCr3, newCr3));
    /// <summary>Thread switches inside one process are kept apart ("thread") so format-1 expectations stay as they were.</summary>
    public void ThreadSwitch(in CpuState cpu) => Add(new Item("thread", cpu, cpu.Cr3, cpu.Cr3));
    void Add(Item item) { Items.Add(item); OnItem?.Invoke(item); }
}

internal static class Scenarios
{
    /// <summary>A scenario with the given processes (JSON array text) and events (JSON array text).</summary>
    public static string Json(string processes, string events, ulong total = 1_000_000_000) =>
        $$"""{ "format": 1, "name": "test", "total_instr": {{total}}, "processes": {{processes}}, "events": {{events}} }""";

    /// <summary>The same in format 2; <paramref name="top"/> adds top-level fields (with a trailing comma).</summary>
    public static string Json2(string processes, string events, string top = "", ulong total = 1_000_000_000) =>
        $$"""{ "format": 2, {{top}} "name": "test", "total_instr": {{total}}, "processes": {{processes}}, "events": {{events}} }""";

    public const string Explorer =
        """{ "pid": 1232, "ppid": 1196, "image": "C:\\Windows\\explorer.exe", "cmdline": "C:\\Windows\\Explorer.EXE", "handles": [ { "as": "hkcu", "key": "\\REGISTRY\\USER\\S-1-5-21-1-1000" } ] }""";

    public static Scenario Parse(string processes, string events) => Scenario.Parse(Json(processes, events), "test.json");

    /// <summary>Runs a scenario to its end on the model only and returns the simulation for inspection.</summary>
    public static GuestSimulation Run(string processes, string events, RecordingSink? sink = null)
    {
        var sim = new GuestSimulation(Parse(processes, events));
        sim.Run(sink ?? new RecordingSink());
        return sim;
    }

    public static Win7Reader Reader(GuestSimulation sim, uint pid) =>
        new(sim.Kernel.Memory, sim.Kernel.AllProcesses.Last(p => p.Pid == pid).Cr3);

    public static uint Handle(GuestSimulation sim, uint pid, string name) =>
        sim.Kernel.AllProcesses.Last(p => p.Pid == pid).HandleNames[name];

    public static uint Eprocess(GuestSimulation sim, uint pid) => sim.Kernel.AllProcesses.Last(p => p.Pid == pid).Eprocess;
}
