using Win7Proc.Offline.Pandalog;
using Win7Proc.Offline.Pandalog.Schema;
using Win7Proc.Offline.Simulator;

namespace Win7Proc.Offline.Analyzer.Tests.Samples;

/// <summary>
/// Conditions of a real replay that samples/real-world does not show (it uses PANDA's delivery with the glue's
/// hooks): an ideal recording that starts mid-call and stops while calls (one a cross-process termination) are
/// pending, and PANDA's syscalls2 without hooks, whose lost returns the recorder infers. Each scenario is simulated
/// with the real recorder core, analysed, and checked against <see cref="ScenarioFacts"/> exactly like a sample.
/// </summary>
public class HardWorldScenarioTests
{
    const string Processes = """
        [ { "pid": 1232, "ppid": 1196, "image": "C:\\Windows\\explorer.exe",
            "handles": [ { "as": "hkcu", "key": "\\REGISTRY\\USER\\S-1-5-21-1-1000" } ] },
          { "pid": 2000, "ppid": 1232, "image": "C:\\Tools\\tool.exe" },
          { "pid": 3000, "ppid": 1232, "image": "C:\\Tools\\victim.exe" } ]
        """;

    static (AnalysisReport Report, List<LogEntry> Entries, ScenarioFacts Facts) SimulateAndAnalyse(string name, string top, string events, ulong total)
    {
        var dir = Directory.CreateTempSubdirectory("w7-hardworld-");
        try
        {
            var json = $$"""{ "format": 2, {{top}} "name": "{{name}}", "total_instr": {{total}}, "processes": {{Processes}}, "events": {{events}} }""";
            var scenarioPath = Path.Combine(dir.FullName, "scenario.json");
            File.WriteAllText(scenarioPath, json);
            var tracePath = Path.Combine(dir.FullName, "trace.lz4");
            Simulation.Run(Scenario.Load(scenarioPath), tracePath);
            var entries = new List<LogEntry>();
            var report = TraceAnalyzer.Analyze(tracePath, new AnalyzerOptions(), entries.Add);
            return (report, entries, new ScenarioFacts(scenarioPath));
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void A_recording_that_starts_mid_call_and_stops_while_calls_are_pending()
    {
        var (report, entries, facts) = SimulateAndAnalyse("late-start", "\"recording_starts_at\": 5000,", """
            [ { "instr": 1000, "pid": 1232, "tid": 1240, "op": "open_file", "path": "\\??\\C:\\late.txt", "as": "late", "returns_at": 6000 },
              { "instr": 2000, "pid": 1232, "op": "open_key", "root": "hkcu", "path": "Early" },
              { "instr": 7000, "pid": 1232, "op": "open_key", "root": "hkcu", "path": "Software" },
              { "instr": 7500, "pid": 1232, "op": "query_key", "handle": "hkcu", "unreadable": ["handle_table"] },
              { "instr": 8000, "pid": 2000, "op": "terminate_process" },
              { "instr": 9000, "pid": 1232, "tid": 1240, "op": "read_file", "handle": "late", "returns_at": 20000 },
              { "instr": 10000, "pid": 1232, "op": "open_process", "target_pid": 3000, "as": "v" },
              { "instr": 11000, "pid": 1232, "op": "terminate_process", "process": "v", "returns_at": 16000 },
              { "instr": 12000, "pid": 1232, "op": "open_file", "path": "\\??\\C:\\last.txt" } ]
            """, total: 15000);
        SampleTests.AssertHoldsEveryFact("late-start", facts, entries);
        SampleTests.AssertNothingContradicted(facts, report, entries);
        // What the scenario implies, spelled out: the open that began before the recording returns without enter;
        // the self-kill, the read still waiting and the termination cut by the end never return.
        Assert.Equal((1L, 0L, 3L, 2L), (report.UnmatchedReturns, report.ReturnsInferred, report.EntersWithoutReturn, report.EntriesWithUnknownStatus));
        // The handle-table page of a handle opened before the recording is unreadable: the key's name is unknown.
        Assert.Equal(ScenarioFacts.Unknown, Assert.Single(entries, e => e.NtQueryKey is not null).NtQueryKey.Keyname);
        var term = Assert.Single(entries, e => e.NtTerminateProcess?.TermP.Pid == 3000);
        Assert.False(term.HasNtStatus);
        Assert.Equal(15000ul, entries[^1].TotalInstr);
    }

    [Fact]
    public void Syscalls2_without_hooks_loses_concurrent_returns_and_the_recorder_infers_them()
    {
        var (report, entries, facts) = SimulateAndAnalyse("no-hooks", "\"panda_delivery\": true, \"return_hooks\": false,", """
            [ { "instr": 1000, "pid": 1232, "tid": 1240, "op": "syscall", "name": "NtWaitForSingleObject", "returns_at": 5000 },
              { "instr": 2000, "pid": 1232, "tid": 1244, "op": "syscall", "name": "NtWaitForSingleObject", "returns_at": 4000 },
              { "instr": 6000, "pid": 1232, "tid": 1240, "op": "open_key", "root": "hkcu", "path": "After" },
              { "instr": 7000, "pid": 1232, "tid": 1250, "op": "open_key", "root": "hkcu", "path": "A", "returns_at": 9000 },
              { "instr": 7100, "pid": 1232, "tid": 1252, "op": "open_key", "root": "hkcu", "path": "B", "returns_at": 8000 },
              { "instr": 10000, "pid": 1232, "tid": 1250, "op": "open_key", "root": "hkcu", "path": "A2" },
              { "instr": 10100, "pid": 1232, "tid": 1254, "op": "open_key", "root": "hkcu", "path": "C", "returns_at": 11000 },
              { "instr": 10200, "pid": 1232, "tid": 1256, "op": "open_key", "root": "hkcu", "path": "D", "returns_at": 12000 },
              { "instr": 13000, "pid": 2000, "op": "syscall", "name": "NtYieldExecution" } ]
            """, total: 20000);
        SampleTests.AssertHoldsEveryFact("no-hooks", facts, entries);
        SampleTests.AssertNothingContradicted(facts, report, entries);
        // 1240's wait and 1250's open of A are inferred at their threads' next enters; 1256's open of D is pending.
        Assert.Equal((0L, 2L, 1L, 2L), (report.UnmatchedReturns, report.ReturnsInferred, report.EntersWithoutReturn, report.EntriesWithUnknownStatus));
        var a = Assert.Single(entries, e => e.NtOpenKey?.Keyname.EndsWith(@"\A", StringComparison.OrdinalIgnoreCase) == true);
        Assert.Equal(9999ul, a.Instr);   // the enter of 1250's next call
        Assert.False(a.HasCallSucceeded);
        Assert.Equal(13000ul, entries[^1].TotalInstr);   // unknown to the recorder: the last instruction seen
    }
}
