using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;

namespace Win7Proc.Offline.Fuzz;

/// <summary>
/// Resource bounds as a property (docs/robustness.md): inputs crafted to blow up memory go through the CLI in a child
/// process, whose peak resident memory (VmHWM from /proc/self/status, printed by <c>w7fuzz cli-hwm</c> as it exits)
/// must stay under the documented bound, with the documented outcome (exit code, message).
/// </summary>
static class Bounds
{
    const long MiB = 1 << 20;

    sealed record Case(string Name, Func<string, string[]> Prepare, int Exit, string? Message, long BoundBytes);

    public static void Run(string scratch, bool full, string? only, TimeSpan timeout, Tally tally)
    {
        int bombMib = full ? 900 : 200;
        var cases = new List<Case>
        {
            new($"plog: one chunk inflating to {bombMib} MiB of tiny entries (dump --kind)", dir =>
                ["dump", Write(dir, "zbomb.plog", TinyEntryBomb(bombMib, (ulong)bombMib * MiB / 8)), "--kind", "nt_create_user_process"],
                0, null, 160 * MiB),
            new($"plog: the same bomb through procstory", dir =>
                ["procstory", Write(dir, "zbomb.plog", TinyEntryBomb(bombMib, (ulong)bombMib * MiB / 8))],
                0, null, 160 * MiB),
            new("plog: tiny-entry bomb whose directory says 1000 entries", dir =>
                ["dump", Write(dir, "zbomb-count.plog", TinyEntryBomb(900, 1000))],
                4, "holds more entries than the 1000 the directory says", 160 * MiB),
            new("plog: one entry with a 900 MiB field", dir =>
                ["procstory", Write(dir, "zbomb1.plog", OneHugeEntry(900 * MiB))],
                4, "entry 0 of chunk 0 (offset 128) claims", 160 * MiB),
            new("scenario: 100,000 listed processes", dir =>
                ["simulate", Write(dir, "procs.json", ListedProcesses(100_000)), "-o", Path.Combine(dir, "t.lz4")],
                4, "processes[4096]: more than 4096 listed processes", 256 * MiB),
            new($"scenario: {(full ? 100_000 : 40_000)} created processes", dir =>
                ["simulate", Write(dir, "created.json", CreatedProcesses(full ? 100_000 : 40_000)), "-o", Path.Combine(dir, "t.lz4")],
                4, "the simulated guest's", 768 * MiB),
            new("trace: one LZ4 frame of 5 × 64 MiB unknown records (1.3 MB file)", dir =>
                [Write(dir, "lz4bomb.lz4", Lz4Bomb(5)), "-o", Path.Combine(dir, "bomb.plog")],
                4, null, 1024 * MiB),
        };
        foreach (var c in cases)
        {
            if (only is not null && !c.Name.Contains(only, StringComparison.OrdinalIgnoreCase)) continue;
            string dir = Path.Combine(scratch, "bounds");
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            Directory.CreateDirectory(dir);
            var args = c.Prepare(dir);
            var (exit, stderr, peak, time) = RunMeasured(dir, args, timeout);
            string? problem = null;
            if (exit != c.Exit) problem = $"exit {exit}, expected {c.Exit}: {stderr.Split('\n').FirstOrDefault(l => l.StartsWith("error"))}";
            else if (c.Message is not null && !stderr.Contains(c.Message, StringComparison.Ordinal)) problem = $"message lacks '{c.Message}': {stderr.Trim()}";
            else if (peak is null) problem = "no VmHWM reported";
            else if (peak > c.BoundBytes) problem = $"peak {peak / MiB} MiB over the {c.BoundBytes / MiB} MiB bound";
            tally.Add(problem is null);
            Console.WriteLine($"{(problem is null ? "ok  " : "FAIL")} bound: {c.Name}: exit {exit}, peak {peak / MiB} MiB (bound {c.BoundBytes / MiB} MiB), {time.TotalSeconds:F1} s{(problem is null ? "" : ": " + problem)}");
            Directory.Delete(dir, recursive: true);
        }
    }

    static (int Exit, string Stderr, long? Peak, TimeSpan Time) RunMeasured(string dir, string[] args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = dir, RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(typeof(Bounds).Assembly.Location);
        start.ArgumentList.Add("cli-hwm");
        foreach (var a in args) start.ArgumentList.Add(a);
        var watch = Stopwatch.StartNew();
        using var p = Process.Start(start)!;
        var outTask = Task.Run(() => { var b = new char[65536]; while (p.StandardOutput.Read(b) > 0) { } });
        var err = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout)) { p.Kill(true); return (-1, "timeout", null, watch.Elapsed); }
        p.WaitForExit();
        outTask.Wait();
        var m = Regex.Match(err.Result, @"w7fuzz: VmHWM (\d+) kB");
        return (p.ExitCode, err.Result, m.Success ? long.Parse(m.Groups[1].Value) * 1024 : null, watch.Elapsed);
    }

    /// <summary>Peak resident memory of this process so far (Linux).</summary>
    public static long? VmHwmKb()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        return null;
    }

    static string Write(string dir, string name, byte[] bytes)
    {
        string path = Path.Combine(dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>A plog (PANDA layout: 128-byte header hole, one zlib chunk, directory) around one chunk's content.</summary>
    static byte[] Plog(byte[] compressed, ulong entries)
    {
        var plog = new byte[128 + compressed.Length + 4 + 24];
        BinaryPrimitives.WriteUInt32LittleEndian(plog, 2);
        BinaryPrimitives.WriteUInt64LittleEndian(plog.AsSpan(8), (ulong)(128 + compressed.Length));
        BinaryPrimitives.WriteUInt32LittleEndian(plog.AsSpan(16), 16 << 20);
        compressed.CopyTo(plog, 128);
        var dir = plog.AsSpan(128 + compressed.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(dir, 1);
        BinaryPrimitives.WriteUInt64LittleEndian(dir[4..], 1);
        BinaryPrimitives.WriteUInt64LittleEndian(dir[12..], 128);
        BinaryPrimitives.WriteUInt64LittleEndian(dir[20..], entries);
        return plog;
    }

    /// <summary>The campaign's zbomb.plog: 8-byte records (u32 4, pc=1, instr=1) to <paramref name="mib"/> MiB in one chunk.</summary>
    public static byte[] TinyEntryBomb(int mib, ulong directoryCount)
    {
        var block = new byte[1 << 20];
        for (int i = 0; i < block.Length; i += 8) { block[i] = 4; block[i + 4] = 8; block[i + 5] = 1; block[i + 6] = 16; block[i + 7] = 1; }
        var z = new MemoryStream();
        using (var zs = new ZLibStream(z, CompressionLevel.SmallestSize, leaveOpen: true))
            for (int i = 0; i < mib; i++) zs.Write(block);
        return Plog(z.ToArray(), directoryCount);
    }

    /// <summary>The campaign's zbomb1.plog: one entry (pc=1, instr=1, unknown field 1000 of <paramref name="bytes"/> zeros).</summary>
    public static byte[] OneHugeEntry(long bytes)
    {
        var head = new List<byte> { 8, 1, 16, 1, 0xC2, 0x3E };
        for (ulong v = (ulong)bytes; ; ) { byte b = (byte)(v & 0x7f); v >>= 7; head.Add(v != 0 ? (byte)(b | 0x80) : b); if (v == 0) break; }
        var z = new MemoryStream();
        using (var zs = new ZLibStream(z, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var prefix = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(prefix, (uint)(head.Count + bytes));
            zs.Write(prefix);
            zs.Write(head.ToArray());
            var zeros = new byte[1 << 20];
            for (long left = bytes; left > 0; left -= zeros.Length) zs.Write(zeros, 0, (int)Math.Min(left, zeros.Length));
        }
        return Plog(z.ToArray(), 1);
    }

    static string Header(string processes, string events) =>
        $$"""{ "format": 1, "name": "bounds", "total_instr": 100000000000, "processes": [{{processes}}], "events": [{{events}}] }""";

    public static byte[] ListedProcesses(int n) => Encoding.UTF8.GetBytes(Header(
        string.Join(",", Enumerable.Range(0, n).Select(i => $$"""{ "pid": {{8 + 4 * i}}, "image": "C:\\p{{i}}.exe" }""")), ""));

    public static byte[] CreatedProcesses(int n) => Encoding.UTF8.GetBytes(Header(
        """{ "pid": 2100, "ppid": 1232, "image": "C:\\Windows\\notepad.exe" }""",
        string.Join(",", Enumerable.Range(0, n).Select(i =>
            $$"""{ "instr": {{100 + 10 * i}}, "pid": 2100, "op": "create_process", "child_pid": {{100_000 + 4 * i}}, "image": "C:\\c{{i}}.exe", "cmdline": "{{new string('x', 3000)}}" }"""))));

    /// <summary>The campaign's make_lz4_bomb.py: one LZ4 frame with a v1 header record and n unknown records of 64 MiB
    /// of zeros (record layout u16 type, u16 flags, u32 length, from tracefmt/FORMAT.md v1.0).</summary>
    public static byte[] Lz4Bomb(int n)
    {
        static byte[] Str(string s) { var b = Encoding.ASCII.GetBytes(s); return [.. BitConverter.GetBytes((ushort)b.Length), .. b]; }
        static byte[] Rec(ushort type, byte[] body) => [.. BitConverter.GetBytes(type), 0, 0, .. BitConverter.GetBytes((uint)body.Length), .. body];
        byte[] header = Rec(1, [.. BitConverter.GetBytes(0x52543757u), .. BitConverter.GetBytes((ushort)1), 0, 0, .. BitConverter.GetBytes(4096u),
            .. BitConverter.GetBytes(0x80000000u), .. Str("windows_7_x86"), .. Str("repro"), .. Str("0"), .. Str("bomb"), 0, 0]);
        var output = new MemoryStream();
        using (var lz4 = K4os.Compression.LZ4.Streams.LZ4Stream.Encode(output, leaveOpen: true))
        {
            lz4.Write(header);
            var big = new byte[(64 << 20) - 8 - 1];
            for (int i = 0; i < n; i++) lz4.Write(Rec(99, big));
        }
        return output.ToArray();
    }
}
