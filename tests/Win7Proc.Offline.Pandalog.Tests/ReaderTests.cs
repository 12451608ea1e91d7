using System.Buffers.Binary;
using Win7Proc.Offline.Pandalog.Schema;
using static Win7Proc.Offline.Pandalog.Tests.PlogBytes;

namespace Win7Proc.Offline.Pandalog.Tests;

public class ReaderTests
{
    /// <summary>A PANDA-style log made by hand: placeholder first, a level-9 chunk and a hand-made stored chunk,
    /// start_instr of chunk 1 truncated to 32 bits as PANDA stores it.</summary>
    static byte[] HandBuiltPlog()
    {
        const ulong big = 0x1_0000_0010; // above 2^32: PANDA's directory keeps only 0x10
        var chunk0 = Records(Placeholder, NewPidEntry(0x82a1b2c3, 123, 1232, "explorer.exe"),
            CreateFileEntry(0x7777a5b2, 123, 1232, "explorer.exe", @"\Users\bob\a.txt", 0x24));
        var chunk1 = Records(NewPidEntry(0x82a10000, big, 4, "System"), TotalInstrEntry(ulong.MaxValue, ulong.MaxValue, 9349975980));
        return Plog([new Chunk(ZlibLevel9(chunk0), 0, 3), new Chunk(ZlibStored(chunk1, blockSize: 7), big & 0xffffffff, 2)]);
    }

    [Fact]
    public void Hand_built_plog_reads_every_entry_with_its_fields()
    {
        using var dir = new TempDir();
        var path = dir.File("hand.plog");
        File.WriteAllBytes(path, HandBuiltPlog());

        using var reader = PandalogReader.Open(path);
        Assert.Equal(2u, reader.Version);
        Assert.Equal(16u * 1024 * 1024, reader.ChunkSize);
        Assert.Equal(2, reader.Chunks.Count);
        Assert.Equal(128, reader.Chunks[0].Position);
        Assert.Equal(3ul, reader.Chunks[0].EntryCount);
        Assert.Equal(reader.Chunks[0].Position + reader.Chunks[0].CompressedLength, reader.Chunks[1].Position);

        var all = reader.ReadAll().ToList();
        Assert.Equal(5, all.Count);
        Assert.True(PandalogFormat.IsPlaceholder(all[0]));
        Assert.Equal(123ul, all[1].Instr);
        Assert.Equal(0x82a1b2c3ul, all[1].Pc);
        Assert.Equal(1232u, all[1].NewPid.Pid);
        Assert.Equal("explorer.exe", all[1].NewPid.Name);
        Assert.Equal(@"\Users\bob\a.txt", all[2].NtCreateFile.Filename);
        Assert.Equal(0x24u, all[2].NtCreateFile.Handle);
        Assert.Equal(0x1_0000_0010ul, all[3].Instr);
        Assert.Equal("System", all[3].NewPid.Name);
        Assert.Equal(9349975980ul, all[4].TotalInstr);
        Assert.Equal(ulong.MaxValue, all[4].Instr);
    }

    [Fact]
    public void ReadFrom_finds_chunks_despite_32_bit_start_instr_and_skips_the_placeholder()
    {
        using var dir = new TempDir();
        var path = dir.File("hand.plog");
        File.WriteAllBytes(path, HandBuiltPlog());
        using var reader = PandalogReader.Open(path);

        Assert.Equal(new ulong[] { 123, 123, 0x1_0000_0010, ulong.MaxValue }, reader.ReadFrom(0).Select(e => e.Instr));
        Assert.Equal(new ulong[] { 0x1_0000_0010, ulong.MaxValue }, reader.ReadFrom(124).Select(e => e.Instr));
        Assert.Equal(new ulong[] { 0x1_0000_0010, ulong.MaxValue }, reader.ReadFrom(0x1_0000_0000).Select(e => e.Instr));
        // 0x11 is below the truncated start (0x10) of chunk 1 read as 32-bit: the reader must not start in chunk 1 wrongly.
        Assert.Equal(new ulong[] { 123, 123, 0x1_0000_0010, ulong.MaxValue }, reader.ReadFrom(0x11).Select(e => e.Instr));
    }

    [Fact]
    public void Last_chunk_may_be_followed_by_bytes_as_when_read_to_EOF()
    {
        // PANDA's Python reader hands the last chunk plus the directory to zlib, which stops at the stream's end.
        using var dir = new TempDir();
        var path = dir.File("hand.plog");
        File.WriteAllBytes(path, HandBuiltPlog());
        using var reader = PandalogReader.Open(path);
        Assert.Equal(2, reader.ReadChunk(1).Count);
    }

    [Fact]
    public void Empty_panda_log_is_one_chunk_holding_the_placeholder()
    {
        using var dir = new TempDir();
        var path = dir.File("empty.plog");
        File.WriteAllBytes(path, Plog([new Chunk(ZlibLevel9(Records(Placeholder)), 0, 1)]));
        using var reader = PandalogReader.Open(path);
        var only = Assert.Single(reader.ReadAll());
        Assert.True(PandalogFormat.IsPlaceholder(only));
        Assert.Empty(reader.ReadFrom(0));
    }

    static byte[] Good() => Plog([new Chunk(ZlibLevel9(Records(NewPidEntry(1, 5, 4, "System"), NewPidEntry(2, 6, 8, "smss.exe"))), 0, 2)]);

    [Fact]
    public void Bad_version_is_named()
    {
        var bytes = Good();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, 3);
        Assert.Contains("bad version 3", Damaged(bytes).Message);
    }

    [Fact]
    public void A_trace_given_as_a_plog_is_named_as_such()
    {
        var bytes = Good();
        bytes[0] = 0x04; bytes[1] = 0x22; bytes[2] = 0x4D; bytes[3] = 0x18; // an LZ4 frame's magic, as a trace starts
        Assert.Contains("an LZ4 file (a trace?), not a pandalog", Damaged(bytes).Message);
    }

    [Fact]
    public void Counting_records_stops_at_a_length_past_the_chunk_end()
    {
        // The benchmark's framing walk added the length as an int: 0xFFFFFFFC made it step by 0 forever.
        var records = Records(NewPidEntry(1, 5, 4, "System"));
        BinaryPrimitives.WriteUInt32LittleEndian(records, 0xFFFFFFFC);
        using var dir = new TempDir();
        var path = dir.File("bad-length.plog");
        File.WriteAllBytes(path, Plog([new Chunk(ZlibLevel9(records), 0, 1)]));
        using var reader = PandalogReader.Open(path);
        var count = Task.Run(() => Assert.Throws<PandalogFormatException>(() => reader.CountRecordsWithoutParsing()));
        Assert.True(count.Wait(TimeSpan.FromSeconds(10)), "CountRecordsWithoutParsing did not finish");
        Assert.Contains("framing", count.Result.Message);
    }

    [Fact]
    public void Zero_header_says_still_being_written()
    {
        var bytes = Plog([new Chunk(ZlibLevel9(Records(NewPidEntry(1, 5, 4, "System"))), 0, 1)], writeHeader: false);
        Assert.Contains("header is empty", Damaged(bytes).Message);
    }

    [Fact]
    public void Short_file_is_named()
    {
        Assert.Contains("too short", Damaged(new byte[40]).Message);
    }

    [Fact]
    public void Directory_position_out_of_range_is_named()
    {
        var bytes = Good();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), (ulong)bytes.Length + 100);
        Assert.Contains("directory position", Damaged(bytes).Message);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), 20);
        Assert.Contains("out of range", Damaged(bytes).Message);
    }

    [Fact]
    public void Directory_claiming_more_chunks_than_the_file_holds_is_named()
    {
        var bytes = Good();
        long dirPos = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(8));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan((int)dirPos), 0x10000000);
        var e = Damaged(bytes);
        Assert.Contains("claims 268435456 chunks", e.Message);
    }

    [Fact]
    public void Chunk_position_out_of_range_is_named()
    {
        var bytes = Good();
        long dirPos = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(8));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan((int)dirPos + 4 + 8), 64);
        Assert.Contains("chunk 0 position 64 out of range", Damaged(bytes).Message);
    }

    [Fact]
    public void Chunk_that_fails_to_inflate_is_named_with_its_offset()
    {
        var bytes = Good();
        bytes[128] = 0x12; // not a zlib header
        Assert.Contains("chunk 0 at offset 128 fails to inflate", Damaged(bytes).Message);
        bytes = Good();
        bytes[bytes.Length - 4 - 24 - 1] ^= 0xff; // last byte of the Adler-32 trailer
        Assert.Contains("chunk 0 at offset 128 fails to inflate", Damaged(bytes).Message);
    }

    [Fact]
    public void Truncated_entry_is_named_with_entry_and_chunk()
    {
        var records = Records(NewPidEntry(1, 5, 4, "System"), NewPidEntry(2, 6, 8, "smss.exe"));
        var cut = records[..^3];
        var e = Damaged(Plog([new Chunk(ZlibLevel9(cut), 0, 2)]));
        Assert.Contains("entry 1 of chunk 0", e.Message);
        Assert.Contains("truncated", e.Message);
        var prefixOnly = Records(NewPidEntry(1, 5, 4, "System")).Concat(new byte[] { 9, 0 }).ToArray();
        Assert.Contains("its length prefix needs 4", Damaged(Plog([new Chunk(ZlibLevel9(prefixOnly), 0, 2)])).Message);
    }

    [Fact]
    public void Entry_that_is_not_a_LogEntry_is_named()
    {
        // missing the required instr field
        var noInstr = VarintField(1, 5);
        Assert.Contains("entry 0 of chunk 0", Damaged(Plog([new Chunk(ZlibLevel9(Records(noInstr)), 0, 1)])).Message);
        var garbage = new byte[] { 0xff, 0xff, 0xff };
        Assert.Contains("not a valid LogEntry", Damaged(Plog([new Chunk(ZlibLevel9(Records(garbage)), 0, 1)])).Message);
    }

    [Fact]
    public void Entry_count_differing_from_the_directory_is_named()
    {
        var bytes = Plog([new Chunk(ZlibLevel9(Records(NewPidEntry(1, 5, 4, "System"))), 0, 2)]);
        Assert.Contains("holds 1 entries but the directory says 2", Damaged(bytes).Message);
    }

    [Fact]
    public void Empty_chunk_is_rejected()
    {
        var bytes = Plog([new Chunk(ZlibLevel9(Records(NewPidEntry(1, 5, 4, "System"))), 0, 0)]);
        Assert.Contains("has no entries", Damaged(bytes, readAll: false).Message);
        var e = Damaged(Plog([new Chunk(ZlibStored([]), 0, 1)]));
        Assert.True(e.Message.Contains("no data"), e.Message);
    }

    [Fact]
    public void Missing_file_is_an_IO_error_not_a_format_error()
    {
        Assert.ThrowsAny<IOException>(() => PandalogReader.Open("/nonexistent/dir/none.plog"));
        Assert.Throws<FileNotFoundException>(() => PandalogReader.Open(Path.Combine(Path.GetTempPath(), "no-such-file.plog")));
    }
}
