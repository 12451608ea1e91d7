using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text.RegularExpressions;
using Win7Proc.Offline.Pandalog;
using Win7Proc.Offline.Simulator;

namespace Win7Proc.Offline.Cli.Benchmarks;

/// <summary>One size of <c>bench --analysis</c>: what the workload made and what its analysis cost.</summary>
public sealed record AnalysisBenchmarkRow(
    int Calls, long Records, long SyscallRecords, long PageRecords, long TraceBytes, double SimulateSeconds,
    double AnalysisSeconds, long PeakRssBytes, bool PeakFromTime, double Lz4Seconds, double ZlibSeconds, long PlogRawBytes,
    int TempFilesLeft, double AnalysisCpuSeconds, double Lz4CpuSeconds)
{
    public double FloorSeconds => Lz4Seconds + ZlibSeconds;
    public double Ratio => AnalysisSeconds / FloorSeconds;
    /// <summary>CPU time (user + sys) of the analysis over that of the floor (zlib runs on one thread, so its wall
    /// time is its CPU time): steadier than wall time on a shared machine; NaN without /usr/bin/time.</summary>
    public double CpuRatio => AnalysisCpuSeconds / (Lz4CpuSeconds + ZlibSeconds);
}

/// <summary>
/// <c>win7proc-offline bench --analysis</c> (issue 12): for each size, records the busy-desktop workload
/// (<see cref="BusyDesktopWorkload"/>) through the real recorder core, then runs the analysis of that trace as a
/// <b>child process</b> (<c>dotnet win7proc-offline.dll TRACE -o PLOG</c>, so the simulation's memory is not counted)
/// and measures its wall time and peak RSS (<c>/usr/bin/time -f %M</c> when installed, else VmHWM polled from
/// /proc/PID/status). The floor, measured in the same run: the native <c>lz4 -d</c> of the trace (best of three) plus
/// single-threaded zlib level 9 of the plog's raw chunk bytes. The child gets an empty TMPDIR, checked afterwards: the
/// analysis must leave no temporary files.
/// </summary>
public static class AnalysisBenchmark
{
    public static readonly IReadOnlyList<int> DefaultCalls = [100_000, 400_000, 2_000_000];

    public static IReadOnlyList<AnalysisBenchmarkRow> Run(IReadOnlyList<int> callCounts, string directory, TextWriter output,
        bool keepFiles = false)
    {
        var c = CultureInfo.InvariantCulture;
        var rows = new List<AnalysisBenchmarkRow>();
        output.WriteLine("workload: busy desktop (6 processes, <= 50 open keys/files each; per call 5% switch, 25% open key, 25% query value,");
        output.WriteLine("          10% close key, 10% create file, 10% write 0-199 bytes, 5% read, 5% close file, 10% NtYieldExecution)");
        output.WriteLine("analysis: `dotnet win7proc-offline.dll TRACE -o PLOG` as a child process; floor: `lz4 -d` + zlib-9 of the plog's raw chunks");
        output.WriteLine();
        output.WriteLine("| calls | records | syscall rec | pages | trace MB | analysis s | records/s | syscall rec/s | MB/s | peak RSS MiB | lz4 -d s | zlib-9 s | ratio | CPU s: analysis / floor | CPU ratio | temp files |");
        output.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var calls in callCounts)
        {
            var row = Measure(calls, directory, keepFiles);
            rows.Add(row);
            output.WriteLine(string.Format(c,
                "| {0:N0} | {1:N0} | {2:N0} | {3:N0} | {4:N1} | {5:F2} | {6:N0} | {7:N0} | {8:N1} | {9:N0}{10} | {11:F2} | {12:F2} | {13:F2}x | {15:F2} / {16:F2} | {17:F2}x | {14} |",
                row.Calls, row.Records, row.SyscallRecords, row.PageRecords, row.TraceBytes / 1e6, row.AnalysisSeconds,
                row.Records / row.AnalysisSeconds, row.SyscallRecords / row.AnalysisSeconds, row.TraceBytes / 1e6 / row.AnalysisSeconds,
                row.PeakRssBytes / (1024.0 * 1024.0), row.PeakFromTime ? "" : "*", row.Lz4Seconds, row.ZlibSeconds, row.Ratio,
                row.TempFilesLeft, row.AnalysisCpuSeconds, row.Lz4CpuSeconds + row.ZlibSeconds, row.CpuRatio));
            output.Flush();
        }
        output.WriteLine();
        foreach (var row in rows)
            output.WriteLine(string.Format(c, "{0:N0} calls: simulate + record {1:F1} s ({2:N0} calls/s, C# guest model + recorder core), {3:N0} trace bytes per call",
                row.Calls, row.SimulateSeconds, row.Calls / row.SimulateSeconds, (double)row.TraceBytes / row.Calls));
        if (rows.Any(r => !r.PeakFromTime)) output.WriteLine("* peak RSS polled from /proc/PID/status VmHWM (install `time` for /usr/bin/time -f %M)");
        output.WriteLine("recorder capture cost per call: build/recorder/bench/w7rec_bench (see src/recorder/README.md)");
        return rows;
    }

    static AnalysisBenchmarkRow Measure(int calls, string directory, bool keepFiles)
    {
        // The child's own temporary folder: must stay empty.
        var childTemp = Directory.CreateDirectory(Path.Combine(directory, $"w7bench-tmp-{Environment.ProcessId}-{calls}"));
        var trace = Path.Combine(directory, $"w7bench-{Environment.ProcessId}-{calls}.trace.lz4");
        var plog = Path.Combine(directory, $"w7bench-{Environment.ProcessId}-{calls}.plog");
        try
        {
            var scenario = Scenario.Parse(BusyDesktopWorkload.Build(calls), "busy-desktop");
            var clock = Stopwatch.StartNew();
            Simulation.Run(scenario, trace);
            double simulateSeconds = clock.Elapsed.TotalSeconds;
            scenario = null;
            GC.Collect();

            var analysis = RunAnalysisChild(trace, plog, childTemp.FullName);
            var counts = RecordCounts(analysis.Stderr);
            var lz4Runs = Enumerable.Range(0, 3).Select(_ => TimeLz4Decode(trace)).ToList();
            double lz4 = lz4Runs.Min(r => r.Wall), lz4Cpu = lz4Runs.Min(r => r.Cpu);
            var (zlib, raw) = TimeZlibFloor(plog);
            return new AnalysisBenchmarkRow(calls, counts.Records, counts.Syscalls, counts.Pages, new FileInfo(trace).Length,
                simulateSeconds, analysis.Seconds, analysis.PeakRss, analysis.FromTime, lz4, zlib, raw,
                childTemp.EnumerateFileSystemInfos("*", SearchOption.AllDirectories).Count(), analysis.CpuSeconds, lz4Cpu);
        }
        finally
        {
            if (!keepFiles)
            {
                File.Delete(trace);
                File.Delete(plog);
            }
            childTemp.Delete(recursive: true);
        }
    }

    sealed record ChildRun(double Seconds, long PeakRss, bool FromTime, string Stderr, double CpuSeconds);

    /// <summary>The CLI's own dll (this assembly) run by the dotnet host.</summary>
    static (string Host, string Dll) CliCommand()
    {
        var dll = typeof(AnalysisBenchmark).Assembly.Location;
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (string.IsNullOrEmpty(host) || !File.Exists(host))
            host = Path.GetFileNameWithoutExtension(Environment.ProcessPath ?? "") == "dotnet" ? Environment.ProcessPath! : "dotnet";
        return (host, dll);
    }

    static ChildRun RunAnalysisChild(string trace, string plog, string tempDirectory)
    {
        var (host, dll) = CliCommand();
        bool useTime = File.Exists("/usr/bin/time");
        var info = new ProcessStartInfo(useTime ? "/usr/bin/time" : host)
        {
            RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
        };
        if (useTime) { info.ArgumentList.Add("-f"); info.ArgumentList.Add("W7BENCH-PEAK-KB %M CPU %U %S"); info.ArgumentList.Add(host); }
        foreach (var a in new[] { dll, trace, "-o", plog }) info.ArgumentList.Add(a);
        info.Environment["TMPDIR"] = tempDirectory;
        info.Environment["DOTNET_gcServer"] = "0";

        var clock = Stopwatch.StartNew();
        using var child = Process.Start(info) ?? throw new IOException($"cannot start {info.FileName}");
        var stderr = child.StandardError.ReadToEndAsync();
        var stdout = child.StandardOutput.ReadToEndAsync();
        long polledPeak = 0;
        while (!child.WaitForExit(10))
            polledPeak = Math.Max(polledPeak, PolledPeak(child.Id)); // with /usr/bin/time this is the time process: unused
        child.WaitForExit();
        double seconds = clock.Elapsed.TotalSeconds;
        var err = stderr.Result;
        _ = stdout.Result;
        if (child.ExitCode != 0)
            throw new IOException($"the analysis child exited {child.ExitCode}: {err.Trim().Split('\n').LastOrDefault()}");
        if (useTime)
        {
            var m = Regex.Match(err, @"W7BENCH-PEAK-KB (\d+) CPU ([\d.]+) ([\d.]+)");
            if (m.Success)
                return new ChildRun(seconds, long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) * 1024, true, err,
                    double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) + double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture));
        }
        return new ChildRun(seconds, polledPeak, false, err, double.NaN);
    }

    /// <summary>VmHWM of a running process, in bytes (0 when gone).</summary>
    public static long PolledPeak(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        return 0;
    }

    static (long Records, long Syscalls, long Pages) RecordCounts(string report)
    {
        var m = Regex.Match(report, @"records read: (\d+) \((\d+) syscall, (\d+) context switch, (\d+) page\)");
        if (!m.Success) throw new IOException("the analysis child printed no 'records read' line");
        long N(int g) => long.Parse(m.Groups[g].Value, CultureInfo.InvariantCulture);
        return (N(1), N(2), N(4));
    }

    /// <summary>Wall and CPU time of <c>lz4 -d</c> of the trace to /dev/null (Debian package lz4).</summary>
    static (double Wall, double Cpu) TimeLz4Decode(string trace)
    {
        var info = new ProcessStartInfo("sh") { UseShellExecute = false, RedirectStandardError = true };
        bool useTime = File.Exists("/usr/bin/time");
        var command = (useTime ? "exec /usr/bin/time -f 'W7BENCH-CPU %U %S' " : "exec ") + "lz4 -d -c -q \"$1\" > /dev/null";
        foreach (var a in new[] { "-c", command, "sh", trace }) info.ArgumentList.Add(a);
        var clock = Stopwatch.StartNew();
        using var p = Process.Start(info) ?? throw new IOException("cannot start sh");
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        double seconds = clock.Elapsed.TotalSeconds;
        if (p.ExitCode != 0) throw new IOException($"lz4 -d failed (is the Debian package lz4 installed?): {err.Trim()}");
        var m = Regex.Match(err, @"W7BENCH-CPU ([\d.]+) ([\d.]+)");
        return (seconds, m.Success
            ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) + double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)
            : double.NaN);
    }

    /// <summary>Single-threaded zlib level 9 of every chunk's raw bytes (inflated first, untimed).</summary>
    static (double Seconds, long RawBytes) TimeZlibFloor(string plog)
    {
        using var reader = PandalogReader.Open(plog);
        using var file = File.OpenRead(plog);
        double seconds = 0;
        long raw = 0;
        var packed = new MemoryStream();
        var clock = new Stopwatch();
        foreach (var chunk in reader.Chunks)
        {
            var compressed = new byte[chunk.CompressedLength];
            file.Position = chunk.Position;
            file.ReadExactly(compressed);
            var bytes = new MemoryStream();
            using (var z = new ZLibStream(new MemoryStream(compressed), CompressionMode.Decompress)) z.CopyTo(bytes);
            raw += bytes.Length;
            packed.SetLength(0);
            clock.Restart();
            using (var z = new ZLibStream(packed, new ZLibCompressionOptions { CompressionLevel = 9 }, leaveOpen: true))
                z.Write(bytes.GetBuffer(), 0, (int)bytes.Length);
            seconds += clock.Elapsed.TotalSeconds;
        }
        return (seconds, raw);
    }
}
