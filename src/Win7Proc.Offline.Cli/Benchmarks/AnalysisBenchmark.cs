using System.Diagnostics;
using System.Globalization;
using System.Text;
using Win7Proc.Offline.Analyzer;
using Win7Proc.Offline.Simulator;

namespace Win7Proc.Offline.Cli.Benchmarks;

/// <summary>
/// <c>win7proc-offline bench --analysis</c>: records a synthetic workload of watched calls (files, registry, context
/// switches across three processes) through the real recorder core, then times the analysis of that trace —
/// the "re-run the analysis in seconds" promise, measured.
/// </summary>
public static class AnalysisBenchmark
{
    public static void Run(int calls, string directory, TextWriter output)
    {
        var scenario = Scenario.Parse(BuildScenario(calls), "bench-analysis");
        var trace = Path.Combine(directory, $"w7-bench-{Environment.ProcessId}.trace.lz4");
        var plog = Path.Combine(directory, $"w7-bench-{Environment.ProcessId}.plog");
        try
        {
            var clock = Stopwatch.StartNew();
            var simulated = Simulation.Run(scenario, trace);
            var simulateTime = clock.Elapsed;
            long traceBytes = new FileInfo(trace).Length;

            TraceAnalyzer.Analyze(trace, new AnalyzerOptions(), _ => { }); // warm-up: JIT, file cache
            long entries = 0;
            clock.Restart();
            var report = TraceAnalyzer.Analyze(trace, new AnalyzerOptions(), _ => entries++);
            var analyzeTime = clock.Elapsed;

            clock.Restart();
            TraceAnalyzer.AnalyzeToPandalog(trace, plog, new AnalyzerOptions());
            var toPlogTime = clock.Elapsed;

            var c = CultureInfo.InvariantCulture;
            output.WriteLine(string.Format(c, "workload: {0:N0} calls ({1:N0} syscall records, {2:N0} context switches), trace {3:N1} MB",
                simulated.Counts.Syscalls, report.SyscallRecords, report.ContextSwitchRecords, traceBytes / 1e6));
            output.WriteLine(string.Format(c, "simulate + record  {0,7:F2} s  {1,12:N0} calls/s   (C# guest model + recorder core capture)",
                simulateTime.TotalSeconds, simulated.Counts.Syscalls / simulateTime.TotalSeconds));
            output.WriteLine(string.Format(c, "analyse            {0,7:F2} s  {1,12:N0} records/s  {2,8:N1} MB/s of trace   {3:N0} entries",
                analyzeTime.TotalSeconds, report.RecordsRead / analyzeTime.TotalSeconds, traceBytes / 1e6 / analyzeTime.TotalSeconds, entries));
            output.WriteLine(string.Format(c, "analyse to plog    {0,7:F2} s  {1,12:N0} records/s  (plog {2:N1} MB, zlib level 9)",
                toPlogTime.TotalSeconds, report.RecordsRead / toPlogTime.TotalSeconds, new FileInfo(plog).Length / 1e6));
        }
        finally
        {
            File.Delete(trace);
            File.Delete(plog);
        }
    }

    /// <summary>A scenario (samples/README.md format) of about <paramref name="calls"/> watched calls.</summary>
    public static string BuildScenario(int calls)
    {
        var pids = new[] { 1232u, 2100u, 2344u };
        var sb = new StringBuilder();
        sb.Append("{\"format\":1,\"name\":\"bench-analysis\",\"processes\":[");
        for (int p = 0; p < pids.Length; p++)
        {
            if (p > 0) sb.Append(',');
            sb.Append(CultureInfo.InvariantCulture, $"{{\"pid\":{pids[p]},\"ppid\":396,\"image\":\"C:\\\\Windows\\\\system32\\\\app{p}.exe\",\"cmdline\":\"app{p}.exe\",")
              .Append("\"handles\":[{\"as\":\"hklm\",\"key\":\"\\\\REGISTRY\\\\MACHINE\"}]}");
        }
        sb.Append("],\"events\":[");
        ulong instr = 1000;
        int written = 0;
        void Event(string json)
        {
            if (written++ > 0) sb.Append(',');
            sb.Append(CultureInfo.InvariantCulture, $"{{\"instr\":{instr},").Append(json).Append('}');
            instr += 1000;
        }
        for (int round = 0; written < calls; round++)
        {
            var pid = pids[round % pids.Length];
            Event($"\"pid\":{pid},\"op\":\"create_file\",\"path\":\"\\\\??\\\\C:\\\\Users\\\\bob\\\\f{round % 97}.txt\",\"as\":\"f\"");
            Event($"\"pid\":{pid},\"op\":\"write_file\",\"handle\":\"f\",\"data\":\"round {round}\"");
            Event($"\"pid\":{pid},\"op\":\"close\",\"handle\":\"f\"");
            Event($"\"pid\":{pid},\"op\":\"open_key\",\"root\":\"hklm\",\"path\":\"SOFTWARE\\\\Vendor{round % 13}\\\\App\",\"as\":\"k\"");
            Event($"\"pid\":{pid},\"op\":\"query_value_key\",\"handle\":\"k\",\"value\":\"Setting{round % 7}\"");
            Event($"\"pid\":{pid},\"op\":\"close\",\"handle\":\"k\"");
        }
        sb.Append(CultureInfo.InvariantCulture, $"],\"total_instr\":{instr + 1000}}}");
        return sb.ToString();
    }
}
