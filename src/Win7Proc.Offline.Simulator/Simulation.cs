using Win7Proc.Offline.Simulator.Recording;

namespace Win7Proc.Offline.Simulator;

public sealed record SimulationOptions
{
    public const string Version = "0.1.0";
    /// <summary>Bytes of NtWriteFile/NtSetValueKey data the recorder captures (null = the core's default).</summary>
    public uint? DataCap { get; init; }
    public uint? PageBudget { get; init; }
    public uint? FrameSize { get; init; }
    public bool WatchAll { get; init; }
    /// <summary>LZ4 frame compression level (0 = fast; the committed samples use 9).</summary>
    public int CompressionLevel { get; init; }
}

public sealed record SimulationResult(SimulationCounts Counts, RecorderStats Recorder, string TracePath)
{
    public int Events => Counts.Events;
    public int Syscalls => Counts.Syscalls;
    public int ContextSwitches => Counts.ContextSwitches;
}

/// <summary>Runs a scenario and records it with the real recorder core into a trace.lz4.</summary>
public static class Simulation
{
    public static SimulationResult Run(Scenario scenario, string tracePath, SimulationOptions? options = null)
    {
        options ??= new SimulationOptions();
        var sim = new GuestSimulation(scenario);
        var returns = !scenario.PandaDelivery ? "simulated" : scenario.ReturnHooks ? "hooks+syscalls2" : "syscalls2";
        var recorder = new NativeRecorder(tracePath, sim.Kernel.Memory, options, scenario.Name, returns);
        try
        {
            // PANDA frees its replay log before plugins unload: the glue never learns the total (upstream-checks §1).
            if (!scenario.PandaDelivery) recorder.SetTotalInstr(scenario.TotalInstr);
            var counts = sim.Run(RecorderDelivery.For(scenario, recorder));
            recorder.Close("simulated");
            return new SimulationResult(counts, recorder.Stats, tracePath);
        }
        catch
        {
            recorder.Dispose();
            try { File.Delete(tracePath); } catch (IOException) { }   // leave no half-written trace behind
            throw;
        }
    }
}
