using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using Win7Proc.Offline.Pandalog.Schema;
using Process = Win7Proc.Offline.Pandalog.Schema.Process;

namespace Win7Proc.Offline.Pandalog;

/// <summary>Figures of one <see cref="PandalogBenchmark"/> run. Times in seconds; bytes are uncompressed chunk bytes.</summary>
public sealed record PandalogBenchmarkResult(
    long Entries, long RawBytes, long FileBytes, int Chunks,
    double WriteSeconds, double ReadSeconds, double FloorCompressSeconds, double FloorInflateSeconds,
    double WriteCpuSeconds, double ReadCpuSeconds, double FramingSeconds)
{
    public double WriteRatio => WriteSeconds / FloorCompressSeconds;
    public double ReadRatio => ReadSeconds / FloorInflateSeconds;
}

/// <summary>
/// Writes and reads N typical win7proc entries, and times plain zlib over the same raw chunk bytes (the floor any
/// pandalog writer/reader pays): target, write and read each within 1.5× the floor.
/// </summary>
public static class PandalogBenchmark
{
    public static PandalogBenchmarkResult Run(long entries, string directory, TextWriter output, PandalogWriterOptions? options = null)
    {
        options ??= new PandalogWriterOptions();
        if (entries >= 100_000) Measure(50_000, directory, options); // warm-up: JIT the paths the floor (native zlib) does not need
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

            cpu = CpuSeconds();
            clock.Restart();
            long read = 0;
            using (var reader = PandalogReader.Open(path))
                foreach (var _ in reader.ReadAll()) read++;
            double readSeconds = clock.Elapsed.TotalSeconds;
            double readCpu = CpuSeconds() - cpu;
            if (read != entries) throw new InvalidOperationException($"read {read} entries, wrote {entries}");

            clock.Restart();
            using (var reader = PandalogReader.Open(path))
                if (reader.CountRecordsWithoutParsing() != entries) throw new InvalidOperationException("record count differs");
            double framing = clock.Elapsed.TotalSeconds;

            var (floorCompress, floorInflate, rawBytes) = Floor(path, options.ZlibLevel);
            return new PandalogBenchmarkResult(entries, rawBytes, new FileInfo(path).Length, chunks,
                write, readSeconds, floorCompress, floorInflate, writeCpu, readCpu, framing);
        }
        finally
        {
            File.Delete(path);
        }
    }

    static double CpuSeconds() => System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    /// <summary>Plain single-threaded zlib over each chunk's raw bytes: inflate it as stored, then deflate it again.</summary>
    static (double Compress, double Inflate, long RawBytes) Floor(string path, int level)
    {
        double compress = 0, inflate = 0;
        long rawBytes = 0;
        using var reader = PandalogReader.Open(path);
        using var file = File.OpenRead(path);
        var raw = new MemoryStream();
        var packed = new MemoryStream();
        var clock = new Stopwatch();
        foreach (var chunk in reader.Chunks)
        {
            var compressed = new byte[chunk.CompressedLength];
            file.Position = chunk.Position;
            file.ReadExactly(compressed);
            raw.SetLength(0);
            clock.Restart();
            using (var z = new ZLibStream(new MemoryStream(compressed), CompressionMode.Decompress)) z.CopyTo(raw);
            inflate += clock.Elapsed.TotalSeconds;
            rawBytes += raw.Length;
            packed.SetLength(0);
            clock.Restart();
            using (var z = new ZLibStream(packed, new ZLibCompressionOptions { CompressionLevel = level }, leaveOpen: true))
                z.Write(raw.GetBuffer(), 0, (int)raw.Length);
            compress += clock.Elapsed.TotalSeconds;
        }
        return (compress, inflate, rawBytes);
    }

    static PandalogBenchmarkResult Print(PandalogBenchmarkResult r, int level, TextWriter o)
    {
        var c = CultureInfo.InvariantCulture;
        double mb = r.RawBytes / 1e6;
        o.WriteLine(string.Create(c, $"entries {r.Entries}, raw {mb:F1} MB in {r.Chunks} chunks, file {r.FileBytes / 1e6:F1} MB (zlib level {level})"));
        o.WriteLine(string.Create(c, $"write        {r.WriteSeconds,8:F3} s  {r.Entries / r.WriteSeconds,12:N0} entries/s  {mb / r.WriteSeconds,8:F1} MB/s  (cpu {r.WriteCpuSeconds:F3} s, all threads)"));
        o.WriteLine(string.Create(c, $"read         {r.ReadSeconds,8:F3} s  {r.Entries / r.ReadSeconds,12:N0} entries/s  {mb / r.ReadSeconds,8:F1} MB/s  (cpu {r.ReadCpuSeconds:F3} s, all threads)"));
        o.WriteLine(string.Create(c, $"read framing {r.FramingSeconds,8:F3} s  {r.Entries / r.FramingSeconds,12:N0} records/s  {mb / r.FramingSeconds,8:F1} MB/s  (inflate + record framing, no protobuf parse)"));
        o.WriteLine(string.Create(c, $"zlib deflate {r.FloorCompressSeconds,8:F3} s  {"",12}             {mb / r.FloorCompressSeconds,8:F1} MB/s  (floor for write)"));
        o.WriteLine(string.Create(c, $"zlib inflate {r.FloorInflateSeconds,8:F3} s  {"",12}             {mb / r.FloorInflateSeconds,8:F1} MB/s  (floor for read)"));
        o.WriteLine(string.Create(c, $"write/floor {r.WriteRatio:F2}x  read/floor {r.ReadRatio:F2}x  framing/floor {r.FramingSeconds / r.FloorInflateSeconds:F2}x  (target <= 1.50x each)"));
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
