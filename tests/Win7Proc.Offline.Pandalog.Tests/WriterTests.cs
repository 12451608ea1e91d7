using System.Buffers.Binary;
using CsCheck;
using Win7Proc.Offline.Pandalog.Schema;

namespace Win7Proc.Offline.Pandalog.Tests;

public class WriterTests
{
    static List<LogEntry> Sequence(int count, int perInstr = 3)
    {
        var list = new List<LogEntry>();
        for (int i = 0; i < count; i++)
            list.Add(i % 2 == 0
                ? Entries.NewPid((ulong)(1000 + i / perInstr * 10), (uint)(4 + i % 50), "proc" + i % 7)
                : Entries.CreateFile((ulong)(1000 + i / perInstr * 10), 1232, "explorer.exe", $@"\Device\HarddiskVolume2\f{i}.txt", (uint)i));
        return list;
    }

    static string Write(TempDir dir, IEnumerable<LogEntry> entries, PandalogWriterOptions? options = null, string name = "out.plog")
    {
        var path = dir.File(name);
        using var writer = PandalogWriter.Create(path, options);
        foreach (var e in entries) writer.Write(e);
        writer.Complete();
        return path;
    }

    [Fact]
    public void Round_trip_across_many_small_chunks()
    {
        using var dir = new TempDir();
        var entries = Sequence(2000);
        var path = dir.File("rt.plog");
        int chunks;
        using (var writer = PandalogWriter.Create(path, new PandalogWriterOptions { ChunkSize = 256 }))
        {
            foreach (var e in entries) writer.Write(e);
            writer.Complete();
            Assert.Equal(2000, writer.EntriesWritten);
            chunks = writer.ChunksWritten;
        }
        Assert.True(chunks > 50, $"only {chunks} chunks");

        using var reader = PandalogReader.Open(path);
        Assert.Equal(chunks, reader.Chunks.Count);
        Assert.Equal(256u, reader.ChunkSize);
        Assert.Equal(entries, reader.ReadAll().ToList());
        Assert.Equal(2000ul, (ulong)reader.Chunks.Sum(c => (long)c.EntryCount));
        Assert.Equal(0ul, reader.Chunks[0].StartInstr); // PANDA's chunk 0 start
        for (int i = 1; i < reader.Chunks.Count; i++)
            Assert.Equal(reader.ReadChunk(i)[0].Instr, reader.Chunks[i].StartInstr);
    }

    [Fact]
    public void File_layout_matches_PANDA_header_directory_and_zlib_level_9()
    {
        using var dir = new TempDir();
        var path = Write(dir, Sequence(100), new PandalogWriterOptions { ChunkSize = 512 });
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(bytes));
        ulong dirPos = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(8));
        Assert.Equal(512u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(16)));
        Assert.All(bytes[24..128], b => Assert.Equal(0, b));
        Assert.Equal(0x78, bytes[128]);
        Assert.Equal(0xDA, bytes[129]); // zlib header of level 9
        uint n = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((int)dirPos));
        Assert.Equal(bytes.Length, (int)dirPos + 4 + (int)n * 24); // directory is the end of the file
        Assert.Equal(128ul, BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan((int)dirPos + 4 + 8)));

        var fast = Write(dir, Sequence(100), PandalogWriterOptions.Fast with { ChunkSize = 512 }, "fast.plog");
        Assert.Equal(0x01, File.ReadAllBytes(fast)[129]); // zlib header FLEVEL 0 (fastest)
    }

    [Fact]
    public void Entries_sharing_an_instr_never_span_chunks_and_a_chunk_may_exceed_the_size()
    {
        using var dir = new TempDir();
        var entries = new List<LogEntry>();
        for (int group = 0; group < 40; group++)
            for (int k = 0; k < 1 + group % 9; k++)
                entries.Add(Entries.CreateFile((ulong)(5000 + group), 4, "System", new string('f', 10 + k * 7), (uint)k));
        var path = Write(dir, entries, new PandalogWriterOptions { ChunkSize = 100 });

        using var reader = PandalogReader.Open(path);
        var chunkOfInstr = new Dictionary<ulong, int>();
        bool someChunkExceeds = false;
        for (int i = 0; i < reader.Chunks.Count; i++)
        {
            var chunk = reader.ReadChunk(i);
            Assert.NotEmpty(chunk);
            someChunkExceeds |= chunk.Sum(e => 4 + e.CalculateSize()) > 100;
            foreach (var e in chunk)
            {
                if (chunkOfInstr.TryGetValue(e.Instr, out var other)) Assert.Equal(other, i);
                else chunkOfInstr[e.Instr] = i;
            }
        }
        Assert.True(someChunkExceeds);
        Assert.True(reader.Chunks.Count >= 20);
        Assert.Equal(entries, reader.ReadAll().ToList());
    }

    [Fact]
    public void Empty_log_has_one_chunk_with_the_placeholder()
    {
        using var dir = new TempDir();
        var path = dir.File("empty.plog");
        using (var writer = PandalogWriter.Create(path))
        {
            writer.Complete();
            Assert.Equal(0, writer.EntriesWritten);
            Assert.Equal(1, writer.ChunksWritten);
        }
        using var reader = PandalogReader.Open(path);
        var chunk = Assert.Single(reader.Chunks);
        Assert.Equal(1ul, chunk.EntryCount);
        var only = Assert.Single(reader.ReadAll());
        Assert.Equal(PlogBytes.Placeholder, Google.Protobuf.MessageExtensions.ToByteArray(only));
    }

    [Fact]
    public void Target_appears_only_on_Complete_and_an_abandoned_writer_leaves_nothing()
    {
        using var dir = new TempDir();
        var path = dir.File("run.plog");
        File.WriteAllText(path, "old output"); // replaced only by a complete log
        string partial;
        using (var writer = PandalogWriter.Create(path, new PandalogWriterOptions { ChunkSize = 64 }))
        {
            foreach (var e in Sequence(50)) writer.Write(e);
            partial = writer.PartialPath!; // unique per run: run.plog.<pid>-<random>.partial
            Assert.StartsWith(path + ".", partial);
            Assert.EndsWith(".partial", partial);
            Assert.True(File.Exists(partial));
            Assert.Equal("old output", File.ReadAllText(path));
        } // disposed without Complete: interrupted run
        Assert.False(File.Exists(partial));
        Assert.Equal("old output", File.ReadAllText(path));

        using (var writer = PandalogWriter.Create(path))
        {
            writer.Write(Entries.NewPid(1, 4, "System"));
            partial = writer.PartialPath!;
            writer.Complete();
        }
        Assert.False(File.Exists(partial));
        using var reader = PandalogReader.Open(path);
        Assert.Equal("System", Assert.Single(reader.ReadAll()).NewPid.Name);
    }

    [Fact]
    public void Partial_file_is_readable_chunk_by_chunk_while_being_written()
    {
        using var dir = new TempDir();
        var path = dir.File("live.plog");
        var entries = Sequence(400, perInstr: 1);
        using var writer = PandalogWriter.Create(path, new PandalogWriterOptions { ChunkSize = 200 });
        foreach (var e in entries) writer.Write(e);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (writer.ChunksWritten < 10 && DateTime.UtcNow < deadline) Thread.Sleep(5);
        int chunksOnDisk = writer.ChunksWritten;

        var seen = PandalogReader.ReadCompleteChunks(writer.PartialPath!).ToList();
        Assert.True(seen.Count > 0);
        Assert.Equal(entries.Take(seen.Count), seen); // a prefix, in order
        Assert.True(seen.Count < entries.Count); // the last chunk is still in memory
        Assert.Throws<PandalogFormatException>(() => PandalogReader.Open(writer.PartialPath!)); // no header yet

        writer.Complete();
        Assert.Equal(entries, PandalogReader.ReadCompleteChunks(path).ToList()); // stops at the directory
        _ = chunksOnDisk;
    }

    [Fact]
    public void Partial_file_cut_inside_a_chunk_yields_the_complete_chunks_quietly()
    {
        using var dir = new TempDir();
        var entries = Sequence(300, perInstr: 1);
        var path = Write(dir, entries, new PandalogWriterOptions { ChunkSize = 300 });
        using var reader = PandalogReader.Open(path);
        var third = reader.Chunks[2];
        var bytes = File.ReadAllBytes(path);
        Array.Clear(bytes, 0, 24); // as before Complete: zero header
        var cut = dir.File("cut.plog.partial");
        File.WriteAllBytes(cut, bytes[..(int)(third.Position + third.CompressedLength / 2)]);

        var batches = PandalogReader.ReadCompleteChunkBatches(cut).ToList();
        Assert.Equal(2, batches.Count);
        Assert.Equal(reader.Chunks[1].Position, batches[0].NextOffset);
        Assert.Equal(third.Position, batches[1].NextOffset);
        Assert.Equal(reader.ReadChunk(0).Concat(reader.ReadChunk(1)), batches.SelectMany(b => b.Entries));
        // resuming from an offset gives the rest
        Assert.Empty(PandalogReader.ReadCompleteChunkBatches(cut, batches[1].NextOffset, 2));

        var damaged = bytes[..(int)third.Position];
        damaged[(int)reader.Chunks[1].Position + 5] ^= 0x55;
        File.WriteAllBytes(cut, damaged);
        var e = Assert.Throws<PandalogFormatException>(() => PandalogReader.ReadCompleteChunks(cut).ToList());
        Assert.Contains($"chunk 1 at offset {reader.Chunks[1].Position}", e.Message);
    }

    [Fact]
    public void Stopping_a_read_early_is_clean_and_readers_can_run_side_by_side()
    {
        using var dir = new TempDir();
        var entries = Sequence(500, perInstr: 1);
        var path = Write(dir, entries, new PandalogWriterOptions { ChunkSize = 300 });
        using var reader = PandalogReader.Open(path);
        Assert.Equal(entries.Take(3), reader.ReadAll().Take(3));
        using var a = reader.ReadAll().GetEnumerator();
        using var b = reader.ReadFrom(entries[250].Instr).GetEnumerator();
        Assert.True(a.MoveNext() && b.MoveNext());
        Assert.Equal(entries[0], a.Current);
        Assert.Equal(entries[250], b.Current);
    }

    [Fact]
    public void Entry_missing_a_required_field_is_refused()
    {
        using var dir = new TempDir();
        using var writer = PandalogWriter.Create(dir.File("x.plog"));
        var bad = Entries.At(5);
        bad.NewPid = new Process { Pid = 4 }; // name is required
        Assert.Throws<ArgumentException>(() => writer.Write(bad));
    }

    static readonly Gen<LogEntry> GenEntry =
        Gen.Select(Gen.Int[0, 3], Gen.UInt[0, 5000], Gen.String[Gen.Char.AlphaNumeric, 0, 40], Gen.ULong, Gen.Bool)
            .Select((kind, pid, text, pc, flag) =>
            {
                var e = new LogEntry { Pc = pc, Instr = 0 };
                switch (kind)
                {
                    case 0: e.NewPid = new Process { Pid = pid, Name = text }; break;
                    case 1: e.NtCreateFile = new ProcessFile { Proc = new Process { Pid = pid, Name = "p" }, Filename = text, Handle = pid * 4 }; break;
                    case 2: e.NtOpenKey = new ProcessKey { Proc = new Process { Pid = pid, Name = text }, Keyname = text + text }; if (flag) e.NtStatus = 0xC0000034; break;
                    default: e.NtAnySyscall = pid; if (flag) e.SyscallName = text; break;
                }
                return e;
            });

    static readonly Gen<(List<LogEntry> Entries, int ChunkSize)> GenLog =
        Gen.Select(GenEntry.Array[0, 120], Gen.Int[0, 3].Array[120], Gen.Int[1, 2000], Gen.Bool)
            .Select((entries, steps, chunkSize, endMarker) =>
            {
                ulong instr = 1;
                for (int i = 0; i < entries.Length; i++) { instr += (ulong)steps[i]; entries[i].Instr = instr; }
                if (endMarker && entries.Length > 0) entries[^1].Instr = PandalogFormat.AfterReplayEnd;
                return (entries.ToList(), chunkSize);
            });

    [Fact]
    public void Property_any_sequence_round_trips_keeps_the_invariant_and_ReadFrom_agrees()
    {
        using var dir = new TempDir();
        int run = 0;
        GenLog.Sample(log =>
        {
            var path = dir.File($"p{run++}.plog");
            using (var writer = PandalogWriter.Create(path, new PandalogWriterOptions { ChunkSize = log.ChunkSize, ZlibLevel = 1 }))
            {
                foreach (var e in log.Entries) writer.Write(e);
                writer.Complete();
            }
            using var reader = PandalogReader.Open(path);
            var all = reader.ReadAll().ToList();
            if (log.Entries.Count == 0) return all.Count == 1 && PandalogFormat.IsPlaceholder(all[0]);
            if (!all.SequenceEqual(log.Entries)) return false;
            if (!reader.ReadRecords().Select(r => (r.Pc, r.Instr, r.Asid)).SequenceEqual(all.Select(e => (e.Pc, e.Instr, e.Asid)))) return false;
            var owner = new Dictionary<ulong, int>();
            for (int i = 0; i < reader.Chunks.Count; i++)
                foreach (var e in reader.ReadChunk(i))
                    if (owner.TryGetValue(e.Instr, out var o) && o != i) return false;
                    else owner[e.Instr] = i;
            ulong from = log.Entries[log.Entries.Count / 2].Instr;
            return reader.ReadFrom(from).SequenceEqual(log.Entries.Where(e => e.Instr >= from));
        }, iter: 150);
    }
}
