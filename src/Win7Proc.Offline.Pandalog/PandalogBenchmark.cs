using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using Win7Proc.Offline.Pandalog.Schema;
using Process = Win7Proc.Offline.Pandalog.Schema.Process;

namespace Win7Proc.Offline.Pandalog;

/// <summary>Figures of one <see cref="PandalogBenchmark"/> run. Times in seconds; bytes are uncompressed chunk bytes.
/// Read is <see cref="PandalogReader.ReadRecords"/> (every record framed and its pc, instr, asid and kinds decoded);
/// Parse is <see cref="PandalogReader.ReadAll"/> (every entry materialised as a LogEntry).</summary>
public sealed record PandalogBenchmarkResult(
    long Entries, long RawBytes, long FileBytes, int Chunks,
    double WriteSeconds, double ReadSeconds, double ParseSeconds, double FloorCompressSeconds, double FloorInflateSeconds,
    double WriteCpuSeconds, double ReadCpuSeconds, double ParseCpuSeconds, double FramingSeconds)
{
    public double WriteRatio => WriteSeconds / FloorCompressSeconds;
    public double ReadRatio => ReadSeconds / FloorInflateSeconds;
    public double ParseRatio => ParseSeconds / FloorInflateSeconds;
}

/// <summary>
/// Writes and reads N typical win7proc entries, and times plain zlib over the same raw chunk bytes (the floor any
/// pandalog writer/reader pays): target, write and read each within 1.5× the floor. "Read" is the record reader
/// (every record framed and its envelope decoded); materialising every entry is timed too, for reference.
/// </summary>
public static class PandalogBenchmark
{
    public static PandalogBenchmarkResult Run(long entries, string directory, TextWriter output, PandalogWriterOptions? options = null)
    {
        options ??= new PandalogWriterOptions();
        // Warm-up: let the JIT reach its optimised tier for the paths the floor (native zlib) does not need. Too short
        // a warm-up leaves the record decoder on unoptimised code and doubles the read figure.
        if (entries >= 500_000) Measure(200_000, directory, options);
        return Print(Measure(entries, directory, options), options.ZlibLevel, output);
    }

    static PandalogBenchmarkResult Measure(long entries, string directory, PandalogWriterOptions options)
    {
        var path = Path.Combine(directory, $"bench-{Environment.ProcessId}.plog");
        try
        {
            var templates = Templates();
            var cpu = CpuSeconds();
            var clock = Stopwatch.StartNew();
            int chunks;
            using (var writer = PandalogWriter.Create(path, options))
            {
                ulong instr = 1_000_000;
                for (long i = 0; i < entries; i++)
                {
                    var entry = templates[(int)(i % templates.Length)];
                    instr += (ulong)(i % 7 == 0 ? 0 : 1 + (i * 2654435761 % 5000)); // some entries share an instr
                    entry.Instr = instr;
                    entry.Pc = 0x77000000 + (instr & 0xffff);
                    writer.Write(entry);
                }
                writer.Complete();
                chunks = writer.ChunksWritten;
            }
            double write = clock.Elapsed.TotalSeconds;
            double writeCpu = CpuSeconds() - cpu;

            var (readSeconds, readCpu) = Median(() =>
            {
                long read = 0;
                ulong lastInstr = 0;
                using var reader = PandalogReader.Open(path);
                foreach (var record in reader.ReadRecords())
                {
                    if (record.Instr < lastInstr) throw new InvalidOperationException($"record {read}: instr goes back");
                    lastInstr = record.Instr;
                    read++;
                }
                if (read != entries) throw new InvalidOperationException($"read {read} records, wrote {entries}");
            });
            var (parseSeconds, parseCpu) = Median(() =>
            {
                long parsed = 0;
                using var reader = PandalogReader.Open(path);
                foreach (var _ in reader.ReadAll()) parsed++;
                if (parsed != entries) throw new InvalidOperationException($"parsed {parsed} entries, wrote {entries}");
            });
            var (framing, _) = Median(() =>
            {
                using var reader = PandalogReader.Open(path);
                if (reader.CountRecordsWithoutParsing() != entries) throw new InvalidOperationException("record count differs");
            });

            var (floorCompress, floorInflate, rawBytes) = Floor(path, options.ZlibLevel);
            return new PandalogBenchmarkResult(entries, rawBytes, new FileInfo(path).Length, chunks,
                write, readSeconds, parseSeconds, floorCompress, floorInflate, writeCpu, readCpu, parseCpu, framing);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Reading is quick enough to repeat: the median of <see cref="ReadRuns"/> runs (wall and CPU seconds of
    /// that run), so one page-cache or scheduler hiccup does not decide the figure.</summary>
    static (double Seconds, double Cpu) Median(Action run)
    {
        var runs = new (double Seconds, double Cpu)[ReadRuns];
        for (int i = 0; i < runs.Length; i++)
        {
            double cpu = CpuSeconds();
            var clock = Stopwatch.StartNew();
            run();
            runs[i] = (clock.Elapsed.TotalSeconds, CpuSeconds() - cpu);
        }
        Array.Sort(runs);
        return runs[runs.Length / 2];
    }

    const int ReadRuns = 3;

    static double CpuSeconds() => System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    /// <summary>Plain single-threaded zlib over the chunks' bytes, file reads untimed. Inflate: every chunk once per
    /// pass from memory into a buffer already big enough (no growth, as the reader's reused buffers), the median of
    /// <see cref="ReadRuns"/> passes. Deflate: each inflated chunk compressed again at <paramref name="level"/>.</summary>
    static (double Compress, double Inflate, long RawBytes) Floor(string path, int level)
    {
        using var reader = PandalogReader.Open(path);
        var compressedChunks = new List<byte[]>();
        using (var file = File.OpenRead(path))
            foreach (var chunk in reader.Chunks)
            {
                var compressed = new byte[chunk.CompressedLength];
                file.Position = chunk.Position;
                file.ReadExactly(compressed);
                compressedChunks.Add(compressed);
            }

        var sizes = new int[compressedChunks.Count];
        var output = new byte[1 << 16];
        for (int i = 0; i < sizes.Length; i++)
        {
            using var z = new ZLibStream(new MemoryStream(compressedChunks[i]), CompressionMode.Decompress);
            var raw = new MemoryStream();
            z.CopyTo(raw);
            sizes[i] = (int)raw.Length;
            if (output.Length < raw.Length) output = new byte[raw.Length];
        }

        var passes = new double[ReadRuns];
        var clock = new Stopwatch();
        for (int pass = 0; pass < passes.Length; pass++)
        {
            clock.Restart();
            for (int i = 0; i < compressedChunks.Count; i++)
            {
                using var z = new ZLibStream(new MemoryStream(compressedChunks[i]), CompressionMode.Decompress);
                z.ReadExactly(output, 0, sizes[i]);
            }
            passes[pass] = clock.Elapsed.TotalSeconds;
        }
        Array.Sort(passes);

        double compress = 0;
        var packed = new MemoryStream();
        for (int i = 0; i < compressedChunks.Count; i++)
        {
            using (var z = new ZLibStream(new MemoryStream(compressedChunks[i]), CompressionMode.Decompress)) z.ReadExactly(output, 0, sizes[i]);
            packed.SetLength(0);
            clock.Restart();
            using (var z = new ZLibStream(packed, new ZLibCompressionOptions { CompressionLevel = level }, leaveOpen: true))
                z.Write(output, 0, sizes[i]);
            compress += clock.Elapsed.TotalSeconds;
        }
        return (compress, passes[passes.Length / 2], sizes.Sum(s => (long)s));
    }

    static PandalogBenchmarkResult Print(PandalogBenchmarkResult r, int level, TextWriter o)
    {
        var c = CultureInfo.InvariantCulture;
        double mb = r.RawBytes / 1e6;
        o.WriteLine(string.Create(c, $"entries {r.Entries}, raw {mb:F1} MB in {r.Chunks} chunks, file {r.FileBytes / 1e6:F1} MB (zlib level {level})"));
        o.WriteLine(string.Create(c, $"write        {r.WriteSeconds,8:F3} s  {r.Entries / r.WriteSeconds,12:N0} entries/s  {mb / r.WriteSeconds,8:F1} MB/s  (cpu {r.WriteCpuSeconds:F3} s, all threads)"));
        o.WriteLine(string.Create(c, $"read         {r.ReadSeconds,8:F3} s  {r.Entries / r.ReadSeconds,12:N0} entries/s  {mb / r.ReadSeconds,8:F1} MB/s  (cpu {r.ReadCpuSeconds:F3} s; records: pc, instr, asid, kinds)"));
        o.WriteLine(string.Create(c, $"read+parse   {r.ParseSeconds,8:F3} s  {r.Entries / r.ParseSeconds,12:N0} entries/s  {mb / r.ParseSeconds,8:F1} MB/s  (cpu {r.ParseCpuSeconds:F3} s; every entry a LogEntry)"));
        o.WriteLine(string.Create(c, $"read framing {r.FramingSeconds,8:F3} s  {r.Entries / r.FramingSeconds,12:N0} records/s  {mb / r.FramingSeconds,8:F1} MB/s  (inflate + u32 framing only)"));
        o.WriteLine(string.Create(c, $"zlib deflate {r.FloorCompressSeconds,8:F3} s  {"",12}             {mb / r.FloorCompressSeconds,8:F1} MB/s  (floor for write)"));
        o.WriteLine(string.Create(c, $"zlib inflate {r.FloorInflateSeconds,8:F3} s  {"",12}             {mb / r.FloorInflateSeconds,8:F1} MB/s  (floor for read)"));
        o.WriteLine(string.Create(c, $"write/floor {r.WriteRatio:F2}x  read/floor {r.ReadRatio:F2}x  (target <= 1.50x each)"));
        o.WriteLine(string.Create(c, $"  for reference: read+parse/floor {r.ParseRatio:F2}x, framing/floor {r.FramingSeconds / r.FloorInflateSeconds:F2}x"));
        return r;
    }

    /// <summary>A mix like a real win7proc log: mostly file and registry calls, some process events.</summary>
    static LogEntry[] Templates()
    {
        var names = new[] { "explorer.exe", "svchost.exe", "cmd.exe", "SearchIndexer.", "notepad.exe", "lsass.exe" };
        var list = new List<LogEntry>();
        var rnd = new Random(42);
        for (int i = 0; i < 256; i++)
        {
            uint pid = (uint)(4 * rnd.Next(50, 900));
            var proc = new Process { Pid = pid, Name = names[rnd.Next(names.Length)] };
            var e = new LogEntry { Pc = 0, Instr = 0, NtStatus = 0, CallSucceeded = true, Tid = pid + 4 };
            string file = $@"\Device\HarddiskVolume2\Users\bob\AppData\Local\Temp\file{rnd.Next(1000)}.tmp";
            string key = $@"\REGISTRY\MACHINE\SOFTWARE\MICROSOFT\WINDOWS\CURRENTVERSION\EXPLORER\KEY{rnd.Next(300)}";
            switch (rnd.Next(20))
            {
                case 0: e = new LogEntry { NewPid = proc }; break;
                case 1: e.NtCreateUserProcess = new NtCreateUserProcess { CurP = proc, NewP = new Process { Pid = pid + 8, Name = "cmd.exe" }, NewLongName = @"C:\Windows\system32\cmd.exe", CommandLine = "cmd.exe /c dir" }; break;
                case 2 or 3 or 4 or 5: e.NtCreateFile = new ProcessFile { Proc = proc, Filename = file, Handle = (uint)rnd.Next(1, 400) * 4, CreateDisposition = 1, IoResult = 1 }; break;
                case 6 or 7 or 8 or 9 or 10: e.NtOpenKey = new ProcessKey { Proc = proc, Keyname = key, Handle = (uint)rnd.Next(1, 400) * 4 }; break;
                case 11 or 12 or 13: e.NtWriteFile = new ProcessFile { Proc = proc, Filename = file, Handle = 0x40, BytesTransferred = 4096, RequestedLength = 4096 }; break;
                case 14 or 15 or 16: e.NtReadFile = new ProcessFile { Proc = proc, Filename = file, Handle = 0x44, BytesTransferred = 512, RequestedLength = 4096, ByteOffset = (ulong)rnd.Next() }; break;
                default: e.NtQueryValueKey = new ProcessKeyValue { Pk = new ProcessKey { Proc = proc, Keyname = key }, ValueName = "Value" + rnd.Next(50) }; break;
            }
            list.Add(e);
        }
        return list.ToArray();
    }
}
