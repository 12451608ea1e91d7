using System.Buffers.Binary;
using System.Text;
using K4os.Compression.LZ4.Streams;
using Win7Proc.Offline.Testing;

namespace Win7Proc.Offline.Simulator.Tests;

/// <summary>Scenarios run through the real recorder core (libw7rec.so) into trace.lz4 files, decoded here with K4os
/// and a minimal record walker (tracefmt/FORMAT.md §2).</summary>
public class EndToEndTests
{
    internal static byte[] Decode(string tracePath)
    {
        using var input = LZ4Stream.Decode(File.OpenRead(tracePath));
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    internal record Rec(ushort Type, int Offset, int Length);

    internal static List<Rec> Records(byte[] stream)
    {
        var list = new List<Rec>();
        for (int at = 0; at < stream.Length;)
        {
            Assert.True(at + 8 <= stream.Length, "truncated record header");
            var type = BinaryPrimitives.ReadUInt16LittleEndian(stream.AsSpan(at));
            var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(stream.AsSpan(at + 4));
            Assert.True(at + 8 + length <= stream.Length, "truncated record body");
            list.Add(new Rec(type, at + 8, length));
            at += 8 + length;
        }
        return list;
    }

    static string Str(byte[] s, ref int at)
    {
        var n = BinaryPrimitives.ReadUInt16LittleEndian(s.AsSpan(at));
        var text = Encoding.UTF8.GetString(s, at + 2, n);
        at += 2 + n;
        return text;
    }

    [Fact]
    public void A_scenario_becomes_a_trace_that_starts_with_header_and_ends_with_end()
    {
        var scenario = Scenario.Load(Path.Combine(RepoPaths.Samples, "files", "scenario.json"));
        var path = Path.Combine(Path.GetTempPath(), $"w7sim-e2e-{Environment.ProcessId}.lz4");
        try
        {
            var result = Simulation.Run(scenario, path);
            var stream = Decode(path);
            var records = Records(stream);
            var header = records[0];
            Assert.Equal(1, header.Type);
            Assert.Equal(0x52543757u, BinaryPrimitives.ReadUInt32LittleEndian(stream.AsSpan(header.Offset)));
            int at = header.Offset + 16;   // magic, major, minor, page_size, kernel_base
            Assert.Equal("windows_7_x86", Str(stream, ref at));
            Assert.Equal("win7proc-offline-simulate", Str(stream, ref at));
            Str(stream, ref at);
            Assert.Equal("files", Str(stream, ref at));
            var end = records[^1];
            Assert.Equal(5, end.Type);
            Assert.Equal(scenario.TotalInstr, BinaryPrimitives.ReadUInt64LittleEndian(stream.AsSpan(end.Offset)));
            Assert.Equal(1, stream[end.Offset + 8]);   // total_known: the simulator gives the total (ideal delivery)
            at = end.Offset + 8 + 1 + 9 * 8;            // FORMAT.md 2.0 END: total, known, nine u64 counters, reason
            Assert.Equal("simulated", Str(stream, ref at));
            // One SYSCALL record per enter and per return; one CONTEXT_SWITCH per switch.
            Assert.Equal(result.Counts.Syscalls + result.Counts.Returns, records.Count(r => r.Type == 3));
            Assert.Equal(result.Counts.ContextSwitches, records.Count(r => r.Type == 4));
            Assert.Equal((ulong)records.Count(r => r.Type == 2), result.Recorder.PageRecords);
            // The first syscall record is the first event's enter (instr − 1) with the NtCreateFile number.
            var first = records.First(r => r.Type == 3);
            Assert.Equal(scenario.Events.First(e => e.Op != "switch").Instr - 1, BinaryPrimitives.ReadUInt64LittleEndian(stream.AsSpan(first.Offset)));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Recording_is_deterministic()
    {
        var scenario = Scenario.Load(Path.Combine(RepoPaths.Samples, "ports", "scenario.json"));
        var a = Path.Combine(Path.GetTempPath(), $"w7sim-det-a-{Environment.ProcessId}.lz4");
        var b = Path.Combine(Path.GetTempPath(), $"w7sim-det-b-{Environment.ProcessId}.lz4");
        try
        {
            Simulation.Run(scenario, a);
            Simulation.Run(scenario, b);
            Assert.Equal(Decode(a), Decode(b));
        }
        finally { File.Delete(a); File.Delete(b); }
    }
}

/// <summary>Every committed sample trace is what its scenario produces today (compared as decoded record streams,
/// so a different LZ4 library or level cannot fail it).</summary>
public class SampleTests
{
    public static TheoryData<string> Samples()
    {
        var data = new TheoryData<string>();
        foreach (var dir in Directory.GetDirectories(RepoPaths.Samples).OrderBy(d => d, StringComparer.Ordinal))
            if (File.Exists(Path.Combine(dir, "scenario.json"))) data.Add(Path.GetFileName(dir));
        return data;
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void Committed_trace_matches_its_scenario(string name)
    {
        var dir = Path.Combine(RepoPaths.Samples, name);
        var committed = Path.Combine(dir, "trace.lz4");
        Assert.True(File.Exists(committed), $"{committed} is missing: run samples/regenerate.sh");
        Assert.True(new FileInfo(committed).Length < 2 * 1024 * 1024, "samples must stay under 2 MiB");
        var fresh = Path.Combine(Path.GetTempPath(), $"w7sim-sample-{name}-{Environment.ProcessId}.lz4");
        try
        {
            Simulation.Run(Scenario.Load(Path.Combine(dir, "scenario.json")), fresh, new SimulationOptions { CompressionLevel = 9 });
            var expected = EndToEndTests.Decode(committed);
            var actual = EndToEndTests.Decode(fresh);
            Assert.True(expected.AsSpan().SequenceEqual(actual),
                $"samples/{name}/trace.lz4 is stale ({expected.Length} vs {actual.Length} decoded bytes): run samples/regenerate.sh");
        }
        finally { File.Delete(fresh); }
    }

    [Fact]
    public void Seed_story_has_the_seed_births_and_deaths()
    {
        var scenario = Scenario.Load(Path.Combine(RepoPaths.Samples, "seed-story", "scenario.json"));
        Assert.Equal(9349975980ul, scenario.TotalInstr);
        var births = scenario.Events.Where(e => e.Op == "create_process").Select(e => (e.Instr, e.Number("child_pid"), e.Pid)).ToList();
        // From the seed's tree listing: (birth instr, pid, parent pid).
        Assert.Equal(new (ulong, uint, uint)[]
        {
            (702390220, 428, 1232), (3295106704, 1240, 1360), (3296266508, 1672, 1360), (3863058292, 1580, 1360),
            (3864065823, 1344, 1360), (5142012434, 740, 1360), (5148567550, 1240, 540), (5676871135, 1316, 1232),
            (5682605261, 1832, 332), (7155159439, 1968, 824), (8731220644, 2004, 1316), (9301579103, 560, 1360),
            (9311689913, 1344, 1360),
        }, births);
        var deaths = scenario.Events.Where(e => e.Op == "terminate_process").Select(e => e.Instr).ToList();
        Assert.Equal(new ulong[]
        {
            3258090694, 3359992160, 3797733522, 4801454245, 5016269325, 5071152352, 5127955252, 5976293438,
            7323653668, 8824826414, 9286134975, 9319514374,
        }, deaths);
        // The first events run the pre-existing processes in the seed listing's order.
        var listing = new uint[] { 1732, 1820, 824, 796, 780, 1048, 1232, 1208, 664, 424, 284, 1236, 932, 360, 332, 616, 408, 432, 1272, 540, 1848, 1748, 1324, 1836, 1876, 1360 };
        Assert.Equal(listing, scenario.Events.Take(listing.Length).Select(e => e.Op == "switch" ? e.Pid : 0));
    }
}
