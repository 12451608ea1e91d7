using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using K4os.Compression.LZ4;
using K4os.Compression.LZ4.Streams;
using Win7Proc.Offline.Analyzer;
using Win7Proc.Offline.Cli.Benchmarks;
using Win7Proc.Offline.Simulator;
using Win7Proc.Offline.Trace;

namespace Win7Proc.Offline.Cli.Tests;

/// <summary>Issue 12: the analysis's threads change nothing in its output, and its memory stays within the documented
/// bound on hostile traces (measured in a child process, as a user would run it).</summary>
public sealed class ScaleTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("w7-scale-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Multi_threaded_analysis_writes_byte_for_byte_the_plog_of_a_single_threaded_one()
    {
        // Small LZ4 frames (4 KiB) so the decode-ahead thread has hundreds of frames to run ahead on.
        var trace = Path.Combine(_dir, "busy.trace.lz4");
        Simulation.Run(Scenario.Parse(BusyDesktopWorkload.Build(3000), "busy"), trace, new SimulationOptions { FrameSize = 4096 });
        using (var reader = TraceReader.Open(trace)) Assert.True(reader.Records().Count() > 10_000);

        var single = Path.Combine(_dir, "single.plog");
        var multi = Path.Combine(_dir, "multi.plog");
        var singleReport = TraceAnalyzer.AnalyzeToPandalog(trace, single, new AnalyzerOptions { SingleThreaded = true, AllSyscalls = true });
        var multiReport = TraceAnalyzer.AnalyzeToPandalog(trace, multi, new AnalyzerOptions { AllSyscalls = true });

        Assert.True(singleReport.EntriesWritten > 3000, $"{singleReport.EntriesWritten} entries"); // every call at least once (--all-syscalls)
        Assert.Equal(singleReport.RecordsRead, multiReport.RecordsRead);
        Assert.Equal(File.ReadAllBytes(single), File.ReadAllBytes(multi));
    }

    [Fact]
    public void A_truncated_trace_gives_the_same_records_and_truncation_with_and_without_decode_ahead()
    {
        var trace = Path.Combine(_dir, "cut.trace.lz4");
        Simulation.Run(Scenario.Parse(BusyDesktopWorkload.Build(500), "busy"), trace, new SimulationOptions { FrameSize = 4096 });
        var bytes = File.ReadAllBytes(trace);
        File.WriteAllBytes(trace, bytes[..(bytes.Length * 2 / 3)]);

        (long Records, string? Truncation) Read(bool ahead)
        {
            using var reader = TraceReader.Open(trace, new TraceReaderOptions { DecodeAhead = ahead });
            long n = reader.Records().LongCount();
            return (n, reader.Truncation?.Reason);
        }
        var single = Read(ahead: false);
        Assert.NotNull(single.Truncation);
        Assert.Equal(single, Read(ahead: true));
    }

    [Fact]
    public void A_trace_naming_a_content_outside_the_window_is_refused_with_the_record_named()
    {
        var trace = Path.Combine(_dir, "window.trace.lz4");
        HostileTraces.WriteWindowBreach(trace, window: 2);
        var stderr = new StringWriter();
        Assert.True(Commands.AnalyzeCommand.TryCreateInvocation(Program.BuildRootCommand().Parse([trace, "-o", Path.Combine(_dir, "w.plog")]),
            out var invocation, out _));
        int exit = Commands.AnalyzeCommand.Run(invocation, stderr, interactive: false);
        // Records: #0 HEADER, #1-#3 PAGE 1..3, #4 the SYSCALL naming content 1 (newest 3: 3 - 1 is not < 2).
        Assert.Contains("record #4 (SYSCALL at instr 5000): page content 1 is outside the window (newest 3, window 2)", stderr.ToString());
        Assert.Equal(ExitCodes.InvalidInput, exit);
        Assert.Single(stderr.ToString().Trim().Split('\n'));
        Assert.False(File.Exists(Path.Combine(_dir, "w.plog")));
    }

    [Fact]
    public void Millions_of_distinct_pages_keep_the_analysis_within_its_memory_bound()
    {
        // 16 context switches of 524,288 distinct (space, page) pairs each: 8.4 million pairs, four times the page-map
        // cap (the shape of the hostile-input campaign's 2.2 GB reproducer, issue 14).
        const int Switches = 16, PairsPerSwitch = 1 << 19;
        var trace = Path.Combine(_dir, "map.trace.lz4");
        HostileTraces.WriteManyDistinctPages(trace, Switches, PairsPerSwitch);

        var (exit, peak, stderr) = CliChild.Run(_dir, trace, "-o", Path.Combine(_dir, "map.plog"));

        Assert.True(exit == ExitCodes.Success, stderr);
        Assert.Contains($"records read: {Switches + 3} ", stderr);
        Assert.Contains("page-map entries dropped at the cap of 2097152", stderr); // counted, not silent
        // Map: 2^21 pairs, at most ~100 MiB with the dictionary's overhead; ring: one content; runtime ~40 MiB.
        Assert.True(peak is > 0 and <= 300L << 20, $"peak RSS {peak >> 20} MiB; {stderr}");
    }
}

/// <summary>Traces built byte by byte (tracefmt/FORMAT.md 2.0) to stress the reader's bounds.</summary>
internal static class HostileTraces
{
    /// <summary>HEADER, one PAGE, <paramref name="switches"/> CONTEXT_SWITCH records mapping
    /// <paramref name="pairsPerSwitch"/> new user pages each (space = 0x1000 × (n + 1)), END. One LZ4 frame per record.</summary>
    public static void WriteManyDistinctPages(string path, int switches, int pairsPerSwitch)
    {
        using var file = File.Create(path);
        void Frame(byte[] records)
        {
            using var encoder = LZ4Stream.Encode(file, new LZ4EncoderSettings { CompressionLevel = LZ4Level.L00_FAST, ContentChecksum = true }, leaveOpen: true);
            encoder.Write(records);
        }
        Frame(Record(1, Header()));
        var page = new byte[12 + 4096];
        BinaryPrimitives.WriteUInt32LittleEndian(page, 1);
        Frame(Record(2, page));
        for (int n = 0; n < switches; n++)
        {
            uint space = 0x1000u * (uint)(n + 1);
            var body = new byte[24 + 12 * pairsPerSwitch];
            BinaryPrimitives.WriteUInt64LittleEndian(body, 10 + (ulong)n);
            BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(12), space);
            BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(20), (uint)pairsPerSwitch);
            for (int i = 0; i < pairsPerSwitch; i++)
            {
                var e = body.AsSpan(24 + 12 * i);
                BinaryPrimitives.WriteUInt32LittleEndian(e, space);
                BinaryPrimitives.WriteUInt32LittleEndian(e[4..], (uint)i);     // user pages below 0x80000
                BinaryPrimitives.WriteUInt32LittleEndian(e[8..], 1);
            }
            Frame(Record(4, body));
        }
        var end = new MemoryStream();
        var w = new BinaryWriter(end);
        w.Write(1000UL); w.Write((byte)1);
        for (int i = 0; i < 9; i++) w.Write(0UL);
        w.Write((ushort)9); w.Write("simulated"u8);
        Frame(Record(5, end.ToArray()));
    }

    /// <summary>HEADER (window <paramref name="window"/>), PAGE 1..window+1, then a SYSCALL at instr 5000 naming content 1.</summary>
    public static void WriteWindowBreach(string path, int window)
    {
        var records = new MemoryStream();
        records.Write(Record(1, Header(window)));
        for (uint id = 1; id <= window + 1; id++)
        {
            var page = new byte[12 + 4096];
            BinaryPrimitives.WriteUInt32LittleEndian(page, id);
            records.Write(Record(2, page));
        }
        var call = new byte[56 + 4 + 12];                                             // fixed fields, npages, one entry
        BinaryPrimitives.WriteUInt64LittleEndian(call, 5000);
        BinaryPrimitives.WriteUInt32LittleEndian(call.AsSpan(12), 0x3f0a1000);       // cr3
        call[21] = 1;                                                                 // capture: watched
        BinaryPrimitives.WriteUInt32LittleEndian(call.AsSpan(24), 0x42);              // NtCreateFile
        BinaryPrimitives.WriteUInt32LittleEndian(call.AsSpan(56), 1);                 // npages (nargs = 0)
        BinaryPrimitives.WriteUInt32LittleEndian(call.AsSpan(60), 0x3f0a1000);
        BinaryPrimitives.WriteUInt32LittleEndian(call.AsSpan(64), 0x12f);
        BinaryPrimitives.WriteUInt32LittleEndian(call.AsSpan(68), 1);                 // content 1: out of the window
        records.Write(Record(3, call));
        using var file = File.Create(path);
        using var encoder = LZ4Stream.Encode(file, new LZ4EncoderSettings { ContentChecksum = true });
        encoder.Write(records.ToArray());
    }

    static byte[] Header(int window = 16384)
    {
        var s = new MemoryStream();
        var w = new BinaryWriter(s);
        w.Write(0x52543757u); w.Write((ushort)2); w.Write((ushort)0); w.Write(4096u); w.Write(0x80000000u);
        void Str(string v) { var b = Encoding.UTF8.GetBytes(v); w.Write((ushort)b.Length); w.Write(b); }
        Str("windows_7_x86"); Str("hostile"); Str("0"); Str("map");
        w.Write((ushort)1); Str("dedup_window"); Str(window.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return s.ToArray();
    }

    static byte[] Record(ushort type, byte[] body)
    {
        var r = new byte[8 + body.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(r, type);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(4), (uint)body.Length);
        body.CopyTo(r, 8);
        return r;
    }
}

/// <summary>Runs the built CLI (<c>dotnet win7proc-offline.dll ...</c>) as a child process and measures its peak
/// RSS (VmHWM from /proc/PID/status, polled until it exits).</summary>
internal static class CliChild
{
    public static (int Exit, long PeakBytes, string Stderr) Run(string tempDirectory, params string[] args)
    {
        var dll = typeof(AnalysisBenchmark).Assembly.Location;
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h : "dotnet";
        var info = new ProcessStartInfo(host) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["TMPDIR"] = tempDirectory;
        using var child = Process.Start(info)!;
        var stderr = child.StandardError.ReadToEndAsync();
        var stdout = child.StandardOutput.ReadToEndAsync();
        long peak = 0;
        while (!child.WaitForExit(5)) peak = Math.Max(peak, AnalysisBenchmark.PolledPeak(child.Id));
        child.WaitForExit();
        _ = stdout.Result;
        return (child.ExitCode, peak, stderr.Result);
    }
}
