using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using static Win7Proc.Offline.Pandalog.Tests.PlogBytes;

namespace Win7Proc.Offline.Pandalog.Tests;

/// <summary>Regression tests for the hostile plogs of issue 14 (inflation bombs, damaged directories), named after the
/// failure each one found. Inputs: hostile/*.plog (copied from the campaign) and bombs generated here.</summary>
[Collection(nameof(AllocationMeasuringCollection))]
public class HostilePlogTests
{
    static string Data(string name, [CallerFilePath] string here = "") => Path.Combine(Path.GetDirectoryName(here)!, "hostile", name);

    [Fact]
    public void Seed_c4k_reference_plog_reads_all_510_entries()
    {
        using var reader = PandalogReader.Open(Data("seed-c4k.plog"));
        Assert.Equal(22, reader.Chunks.Count);
        Assert.Equal(510, reader.ReadAll().Count());
    }

    [Fact]
    public void Plog_directory_chunk_count_lowered_to_0_is_an_error_not_an_empty_log()
    {
        var e = Assert.Throws<PandalogFormatException>(() => PandalogReader.Open(Data("plog-dir-n0.plog")));
        Assert.Contains("lists no chunks", e.Message);
        Assert.Contains("the directory is damaged", e.Message);
    }

    [Fact]
    public void Plog_directory_chunk_count_lowered_to_1_is_an_error_not_34_of_510_entries()
    {
        using var reader = PandalogReader.Open(Data("plog-dir-n1-of-22.plog"));
        int read = 0;
        var e = Assert.Throws<PandalogFormatException>(() => { foreach (var _ in reader.ReadRecords()) read++; });
        // The first chunk's stream ends where chunk 1 of the original starts: named with both offsets.
        using var good = PandalogReader.Open(Data("seed-c4k.plog"));
        Assert.Contains($"chunk 0 at offset 128: its zlib stream ends at offset {good.Chunks[1].Position}", e.Message);
        Assert.Contains("the directory lists fewer chunks than the data area holds", e.Message);
        Assert.Single(e.Message.Split('\n'));
        Assert.True(read <= 34, $"read {read} records before the error");
    }

    [Fact]
    public void Plog_dir_pos_at_a_zero_word_is_an_error()
    {
        // dir_pos pointed at a zero word inside the data area: count 0, data area not covered.
        var bytes = File.ReadAllBytes(Data("seed-c4k.plog"));
        int zero = FindZeroWord(bytes);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), (ulong)zero);
        var e = Damaged(bytes);
        Assert.Contains($"directory at offset {zero} lists no chunks", e.Message);
    }

    [Fact]
    public void Plog_first_chunk_not_at_128_is_an_error()
    {
        var bytes = Plog([new Chunk(ZlibLevel9(Records(Placeholder)), 0, 1), new Chunk(ZlibLevel9(Records(NewPidEntry(1, 5, 4, "System"))), 5, 1)]);
        long dirPos = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(8));
        // Drop directory row 0: the directory now starts at chunk 1.
        var cut = bytes[..(int)dirPos].Concat(BitConverter.GetBytes(1u)).Concat(bytes[(int)(dirPos + 4 + 24)..]).ToArray();
        Assert.Contains("chunk 0 starts at offset", Damaged(cut, readAll: false).Message);
    }

    [Fact]
    public void Plog_chunk_zlib_stream_cut_short_is_an_error()
    {
        var stream = ZlibLevel9(Records(NewPidEntry(1, 5, 4, "System"), NewPidEntry(2, 6, 8, "smss.exe")));
        var e = Damaged(Plog([new Chunk(stream[..^2], 0, 2)]));
        Assert.Contains("chunk 0 at offset 128", e.Message);
    }

    /// <summary>The campaign's zbomb1.plog: one entry with a 900 MiB unknown field made dump/procstory peak at 2.8 GB.
    /// Now its length prefix is refused before anything is inflated past the first piece.</summary>
    [Fact]
    public void Plog_inflation_bomb_single_900_MiB_entry_is_refused_naming_entry_chunk_and_offset()
    {
        using var dir = new TempDir();
        string path = dir.File("zbomb1.plog");
        File.WriteAllBytes(path, BombWithOneHugeEntry(900L << 20));
        long before = GC.GetTotalAllocatedBytes(precise: true);
        using var reader = PandalogReader.Open(path);
        var e = Assert.Throws<PandalogFormatException>(() => reader.ReadRecords().Count());
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.Contains($"entry 0 of chunk 0 (offset 128) claims {(900L << 20) + 6 + Varint(900UL << 20).Length} bytes, more than the {PandalogReader.MaxEntryBytes}-byte limit", e.Message);
        Assert.True(allocated < 64L << 20, $"allocated {allocated} bytes");
    }

    /// <summary>The campaign's zbomb.plog, scaled to 300 MiB: one chunk of tiny valid entries. The reader grew one buffer
    /// to the inflated size (and doubled it on the way); now it reads record by record in bounded pieces.</summary>
    [Fact]
    public void Plog_inflation_bomb_of_tiny_entries_reads_in_bounded_memory()
    {
        using var dir = new TempDir();
        string path = dir.File("zbomb.plog");
        const int Mib = 300;
        File.WriteAllBytes(path, BombOfTinyEntries(Mib, directoryCount: ((ulong)Mib << 20) / 8));
        long before = GC.GetTotalAllocatedBytes(precise: true);
        long count = 0;
        using (var reader = PandalogReader.Open(path))
            foreach (var record in reader.ReadRecords())
                if (record.Instr == 1) count++;
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.Equal(((long)Mib << 20) / 8, count);
        Assert.True(allocated < 2 * (PandalogReader.PieceBytes + (8L << 20)), $"allocated {allocated} bytes for a {Mib} MiB chunk");
    }

    [Fact]
    public void Plog_inflation_bomb_with_a_small_directory_count_stops_at_the_count()
    {
        using var dir = new TempDir();
        string path = dir.File("zbomb-count.plog");
        File.WriteAllBytes(path, BombOfTinyEntries(100, directoryCount: 1000));
        using var reader = PandalogReader.Open(path);
        int read = 0;
        var e = Assert.Throws<PandalogFormatException>(() => { foreach (var _ in reader.ReadRecords()) read++; });
        Assert.Contains("chunk 0 (offset 128) holds more entries than the 1000 the directory says", e.Message);
        Assert.Equal(1000, read);
    }

    /// <summary>All entries of one instruction share a chunk (PANDA's rule), so a chunk may inflate far beyond the chunk
    /// size: read in pieces, every entry is still there, in order, with its index in the chunk.</summary>
    [Fact]
    public void Legitimately_large_chunk_of_one_instruction_reads_in_pieces()
    {
        var entries = Enumerable.Range(0, 40_000).Select(i => CreateFileEntry(0x1000, 77, 4, "System", $"\\Device\\HarddiskVolume2\\f{i}", (uint)i)).ToArray();
        var bytes = Plog([new Chunk(ZlibLevel9(Records(entries)), 77, (ulong)entries.Length)], chunkSize: 4096);
        using var dir = new TempDir();
        string path = dir.File("big-chunk.plog");
        File.WriteAllBytes(path, bytes);
        using var reader = PandalogReader.Open(path);
        int i = 0;
        foreach (var record in reader.ReadRecords())
        {
            Assert.Equal(i, record.IndexInChunk);
            Assert.Equal((uint)i, record.Parse().NtCreateFile.Handle);
            i++;
        }
        Assert.Equal(entries.Length, i);
        Assert.Equal(entries.Length, reader.ReadChunk(0).Count);
        Assert.Equal(entries.Length, PandalogReader.ReadCompleteChunks(path).Count());
    }

    [Fact]
    public void Entry_larger_than_a_piece_but_under_the_entry_limit_reads()
    {
        var big = new byte[3 << 20];
        new Random(5).NextBytes(big);
        var entry = VarintField(1, 9).Concat(VarintField(2, 10)).Concat(BytesField(1000, big)).ToArray();
        var bytes = Plog([new Chunk(ZlibLevel9(Records(Placeholder, entry, NewPidEntry(1, 11, 4, "System"))), 0, 3)], chunkSize: 4096);
        using var dir = new TempDir();
        string path = dir.File("big-entry.plog");
        File.WriteAllBytes(path, bytes);
        using var reader = PandalogReader.Open(path);
        var records = reader.ReadRecords().Select(r => (r.Instr, r.Length)).ToList();
        Assert.Equal([(ulong.MaxValue, 22), (10UL, entry.Length), (11UL, NewPidEntry(1, 11, 4, "System").Length)], records);
    }

    [Fact]
    public void Plog_still_being_written_with_an_inflation_bomb_reads_in_bounded_memory()
    {
        using var dir = new TempDir();
        string path = dir.File("zbomb.plog.partial");
        var bytes = BombOfTinyEntries(16, directoryCount: 1, writeDirectory: false);
        bytes.AsSpan(0, 24).Clear(); // header still zero: read chunk by chunk
        File.WriteAllBytes(path, bytes);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        long count = PandalogReader.ReadCompleteChunks(path).LongCount();
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.Equal((16L << 20) / 8, count);
        // LogEntry objects die young; what matters is that no buffer grows to the chunk's 16 MiB.
        long perEntry = AllocatedPerParsedEntry(new byte[] { 8, 1, 16, 1 });
        long entryObjects = count * perEntry;
        Assert.True(allocated - entryObjects < 12L << 20, $"allocated {allocated} bytes beyond entries");
    }

    static long AllocatedPerParsedEntry(byte[] entry)
    {
        const int N = 10_000;
        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < N; i++) Schema.LogEntry.Parser.ParseFrom(entry);
        return (GC.GetTotalAllocatedBytes(precise: true) - before + N - 1) / N;
    }

    static int FindZeroWord(byte[] bytes)
    {
        for (int i = 256; i + 4 < bytes.Length; i++)
            if (bytes[i] == 0 && bytes[i + 1] == 0 && bytes[i + 2] == 0 && bytes[i + 3] == 0) return i;
        throw new InvalidOperationException("no zero word in the sample");
    }

    /// <summary>zbomb.plog's recipe: 8-byte records (u32 4 + pc=1, instr=1) repeated to <paramref name="mib"/> MiB in one chunk.</summary>
    internal static byte[] BombOfTinyEntries(int mib, ulong directoryCount, bool writeDirectory = true)
    {
        var block = new byte[8 << 17];
        for (int i = 0; i < block.Length; i += 8) { block[i] = 4; block[i + 4] = 8; block[i + 5] = 1; block[i + 6] = 16; block[i + 7] = 1; }
        var z = new MemoryStream();
        using (var zs = new ZLibStream(z, CompressionLevel.SmallestSize, leaveOpen: true))
            for (int i = 0; i < mib; i++) zs.Write(block);
        return Plog([new Chunk(z.ToArray(), 1, directoryCount)], writeDirectory: writeDirectory);
    }

    /// <summary>zbomb1.plog's recipe: one entry (pc=1, instr=1, field 1000 of <paramref name="fieldBytes"/> zeros).</summary>
    internal static byte[] BombWithOneHugeEntry(long fieldBytes)
    {
        var head = new byte[] { 8, 1, 16, 1, 0xC2, 0x3E }.Concat(Varint((ulong)fieldBytes)).ToArray();
        var z = new MemoryStream();
        using (var zs = new ZLibStream(z, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var prefix = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(prefix, (uint)(head.Length + fieldBytes));
            zs.Write(prefix);
            zs.Write(head);
            var zeros = new byte[1 << 20];
            for (long left = fieldBytes; left > 0; left -= zeros.Length) zs.Write(zeros, 0, (int)Math.Min(left, zeros.Length));
        }
        return Plog([new Chunk(z.ToArray(), 1, 1)]);
    }
}

/// <summary>Tests that measure allocation run alone.</summary>
[CollectionDefinition(nameof(AllocationMeasuringCollection), DisableParallelization = true)]
public class AllocationMeasuringCollection { }
