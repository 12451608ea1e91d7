using Win7Proc.Offline.Pandalog.Schema;
using static Win7Proc.Offline.Pandalog.Tests.PlogBytes;

namespace Win7Proc.Offline.Pandalog.Tests;

/// <summary><see cref="PandalogReader.ReadRecords"/>: records decoded as far as pc, instr, asid and the fields present
/// must agree with the fully parsed entries, fail like them on bad input, and refuse use after their chunk is gone.</summary>
public class RecordTests
{
    static string WriteEveryKind(TempDir dir, int chunkSize = 600)
    {
        var path = dir.File("every.plog");
        using var writer = PandalogWriter.Create(path, new PandalogWriterOptions { ChunkSize = chunkSize });
        foreach (var e in Entries.EveryKind()) writer.Write(e);
        writer.Complete();
        return path;
    }

    [Fact]
    public void Records_agree_with_parsed_entries_field_by_field_across_chunks()
    {
        using var dir = new TempDir();
        var path = WriteEveryKind(dir);
        using var reader = PandalogReader.Open(path);
        Assert.True(reader.Chunks.Count > 3);
        var expected = reader.ReadAll().ToList();

        int n = 0, lastChunk = 0, expectedIndex = 0;
        foreach (var record in reader.ReadRecords())
        {
            var entry = expected[n++];
            Assert.Equal(entry.Pc, record.Pc);
            Assert.Equal(entry.Instr, record.Instr);
            Assert.Equal(entry.HasAsid, record.HasAsid);
            Assert.Equal(entry.Asid, record.Asid);
            Assert.Equal(entry.CalculateSize(), record.Length);
            foreach (var field in LogEntry.Descriptor.Fields.InFieldNumberOrder())
                Assert.True(field.Accessor.HasValue(entry) == record.MayHave(field.FieldNumber),
                    $"entry {n - 1}: field {field.Name} set {field.Accessor.HasValue(entry)}, record says {record.MayHave(field.FieldNumber)}");
            Assert.False(record.MayHave(0));
            Assert.False(record.MayHave(200));
            Assert.Equal(entry, record.Parse());

            if (record.ChunkIndex != lastChunk) { Assert.Equal(lastChunk + 1, record.ChunkIndex); lastChunk = record.ChunkIndex; expectedIndex = 0; }
            Assert.Equal(expectedIndex++, record.IndexInChunk);
        }
        Assert.Equal(expected.Count, n);
        Assert.Equal(reader.Chunks.Count - 1, lastChunk);
        Assert.Contains(expected, e => e.HasAsid); // the comparison above covered an asid
    }

    [Fact]
    public void Leading_placeholder_is_recognised_and_ReadRecordsFrom_skips_it()
    {
        using var dir = new TempDir();
        var path = dir.File("panda.plog");
        var chunk0 = Records(Placeholder, NewPidEntry(0x82a1b2c3, 123, 1232, "explorer.exe"), NewPidEntry(0x82a1b2c3, 130, 4, "System"));
        var chunk1 = Records(NewPidEntry(0x82a10000, 200, 8, "smss.exe"), TotalInstrEntry(ulong.MaxValue, ulong.MaxValue, 9000));
        File.WriteAllBytes(path, Plog([new Chunk(ZlibLevel9(chunk0), 0, 3), new Chunk(ZlibLevel9(chunk1), 200, 2)]));
        using var reader = PandalogReader.Open(path);

        Assert.Equal(new[] { true, false, false, false, false }, reader.ReadRecords().Select(r => r.IsPlaceholder));
        Assert.Equal(new ulong[] { 123, 130, 200, ulong.MaxValue }, reader.ReadRecordsFrom(0).Select(r => r.Instr));
        Assert.Equal(new ulong[] { 200, ulong.MaxValue }, reader.ReadRecordsFrom(131).Select(r => r.Instr));
        Assert.Equal(reader.ReadFrom(124).Select(e => e.Instr), reader.ReadRecordsFrom(124).Select(r => r.Instr));
    }

    [Fact]
    public void A_record_used_after_the_reader_moved_to_another_chunk_throws_instead_of_reading_other_bytes()
    {
        using var dir = new TempDir();
        var path = WriteEveryKind(dir);
        using var reader = PandalogReader.Open(path);
        var kept = reader.ReadRecords().ToList(); // enumeration finished: every chunk buffer is released
        var e = Assert.Throws<InvalidOperationException>(() => kept[1].Parse());
        Assert.Contains("after the reader moved on", e.Message);
        Assert.Throws<InvalidOperationException>(() => kept[^1].Bytes.Length);
        Assert.Throws<InvalidOperationException>(() => default(PlogRecord).Parse());
        Assert.Equal(-1, default(PlogRecord).ChunkIndex);

        // Within the enumeration, records of the current chunk stay usable; of the chunk before, not.
        PlogRecord? previousChunk = null;
        foreach (var record in reader.ReadRecords())
        {
            Assert.Equal(record.Instr, record.Parse().Instr);
            if (previousChunk is { } old && old.ChunkIndex == record.ChunkIndex - 1)
            {
                Assert.Throws<InvalidOperationException>(() => old.Parse());
                break;
            }
            if (record.ChunkIndex == 0) previousChunk = record;
        }
        Assert.NotNull(previousChunk);
    }

    static byte[] PcInstr => [.. VarintField(1, 0x7777a5b2), .. VarintField(2, 1234)];

    public static TheoryData<string, byte[], string> BadEnvelopes => new()
    {
        { "no pc", VarintField(2, 5), "required field pc is missing" },
        { "no instr", VarintField(1, 5), "required field instr is missing" },
        { "pc with the wrong wire type", [.. BytesField(1, [1]), .. VarintField(2, 5)], "required field pc is missing" },
        { "length past the end", [.. PcInstr, 0x72, 0x10, 0x01], "its length runs past the entry's end" },
        { "invalid wire type", [.. PcInstr, 0x0f], "invalid wire type" },
        { "truncated varint", [.. PcInstr, 0x18, 0x80], "truncated or overlong varint" },
        { "overlong varint", [.. PcInstr, 0x18, .. Enumerable.Repeat((byte)0xff, 11), 0x01], "truncated or overlong varint" },
        { "field number 0", [0x00, 0x01, .. PcInstr], "invalid field number 0" },
        { "truncated fixed64", [.. PcInstr, 0x19, 1, 2, 3], "truncated fixed-size value" },
    };

    [Theory]
    [MemberData(nameof(BadEnvelopes))]
    public void Bad_record_is_named_with_entry_chunk_and_problem(string because, byte[] entry, string problem)
    {
        using var dir = new TempDir();
        var path = dir.File("bad.plog");
        File.WriteAllBytes(path, Plog([new Chunk(ZlibLevel9(Records(NewPidEntry(1, 5, 4, "System"), entry)), 0, 2)]));
        using var reader = PandalogReader.Open(path);
        var e = Assert.Throws<PandalogFormatException>(() => reader.ReadRecords().ToList());
        Assert.Contains("entry 1 of chunk 0", e.Message);
        Assert.True(e.Message.Contains(problem), $"{because}: {e.Message}");
        Assert.Throws<PandalogFormatException>(() => reader.ReadAll().ToList()); // the parsing path agrees
    }

    [Fact]
    public void Field_with_an_unexpected_wire_type_may_be_present_but_parses_as_unknown()
    {
        // nt_create_file (14) written as a varint: the protobuf parser keeps it as an unknown field.
        byte[] entry = [.. PcInstr, .. VarintField(14, 3)];
        using var dir = new TempDir();
        var path = dir.File("odd.plog");
        File.WriteAllBytes(path, Plog([new Chunk(ZlibLevel9(Records(entry)), 0, 1)]));
        using var reader = PandalogReader.Open(path);
        foreach (var record in reader.ReadRecords())
        {
            Assert.True(record.MayHave(LogEntry.NtCreateFileFieldNumber));
            Assert.Null(record.Parse().NtCreateFile);
        }
    }

    [Fact]
    public void Deprecated_group_is_skipped_by_falling_back_to_the_full_parser()
    {
        const int field = 100; // unknown to the schema
        byte[] entry = [.. PcInstr, .. Varint(field << 3 | 3), .. VarintField(1, 7), .. Varint(field << 3 | 4), .. VarintField(3, 0x1000)];
        using var dir = new TempDir();
        var path = dir.File("group.plog");
        File.WriteAllBytes(path, Plog([new Chunk(ZlibLevel9(Records(entry)), 0, 1)]));
        using var reader = PandalogReader.Open(path);
        var record = Assert.Single(reader.ReadRecords().Select(r => (r.Pc, r.Instr, r.Asid, r.HasAsid)));
        Assert.Equal((0x7777a5b2ul, 1234ul, 0x1000ul, true), record);
    }
}
