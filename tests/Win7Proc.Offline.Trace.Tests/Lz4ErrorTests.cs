using System.Buffers.Binary;
using K4os.Compression.LZ4;
using K4os.Compression.LZ4.Streams;

namespace Win7Proc.Offline.Trace.Tests;

/// <summary>Issue 14: a damaged LZ4 frame is reported in the project's words (which block, which checksum, where),
/// never with .NET's own text; and decode-ahead reports it at the same place as the single-threaded reader.</summary>
public class Lz4ErrorTests
{
    static byte[] Trace(LZ4EncoderSettings settings)
    {
        var b = new TraceBuilder { FrameSettings = settings }.Header(settings: [("dedup_window", "16")]).EndFrame();
        for (uint id = 1; id <= 3; id++) b.Page(id, TraceBuilder.FilledPage((byte)id));
        return b.End().ToArray();
    }

    static string ErrorOf(byte[] file, bool ahead)
    {
        var e = Assert.ThrowsAny<TraceFormatException>(() =>
        {
            using var reader = TraceReader.Open(new MemoryStream(file), "t.lz4", new TraceReaderOptions { DecodeAhead = ahead });
            foreach (var _ in reader.Records()) { }
        });
        Assert.DoesNotContain("Operation is not valid", e.Message);
        Assert.DoesNotContain("System.", e.Message);
        return e.Message;
    }

    /// <summary>File offset of the first block's data in the second frame, walking the first frame by the LZ4
    /// frame format (magic 4, FLG, BD, HC, then size-prefixed blocks, EndMark, optional content checksum).</summary>
    static int SecondFrameFirstBlock(byte[] file)
    {
        byte flg = file[4];
        bool blockChecksum = (flg & 0x10) != 0, contentChecksum = (flg & 0x04) != 0;
        int offset = 7;
        while (true)
        {
            uint word = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(offset));
            offset += 4;
            if (word == 0) break;
            offset += (int)(word & 0x7FFFFFFF) + (blockChecksum ? 4 : 0);
        }
        if (contentChecksum) offset += 4;
        return offset + 7 + 4;
    }

    [Fact]
    public void Damaged_compressed_data_names_the_block_and_the_frame()
    {
        var file = Trace(new LZ4EncoderSettings { ContentChecksum = true, BlockSize = 64 << 10, ChainBlocks = false });
        int block = SecondFrameFirstBlock(file);
        file[block] = 0xFF; // the first token now claims 15+ literals and a long match: the block cannot decode
        file[block + 1] = 0xFF;
        file[block + 2] = 0xFF;
        var message = ErrorOf(file, ahead: false);
        Assert.Matches(@"^t\.lz4: damaged trace: LZ4 block 0 \(of \d+\) does not decode: its compressed data is damaged in the frame at file offset \d+$", message);
        Assert.Equal(message, ErrorOf(file, ahead: true));
    }

    [Fact]
    public void A_content_checksum_mismatch_says_so()
    {
        var file = Trace(new LZ4EncoderSettings { ContentChecksum = true, BlockSize = 64 << 10 });
        int checksumAt = file.Length - 4; // the last frame's content checksum
        file[checksumAt] ^= 0x5A;
        var message = ErrorOf(file, ahead: false);
        Assert.Contains("content checksum", message);
        Assert.Contains("does not match", message);
        Assert.Equal(message, ErrorOf(file, ahead: true));
    }

    [Fact]
    public void A_block_checksum_mismatch_names_the_block()
    {
        var file = Trace(new LZ4EncoderSettings { BlockChecksum = true, ContentChecksum = false, BlockSize = 64 << 10 });
        int block = SecondFrameFirstBlock(file);
        file[block + 5] ^= 0x01;
        var message = ErrorOf(file, ahead: false);
        Assert.Contains("LZ4 block 0 (of", message);
        Assert.Contains("fails its checksum", message);
        Assert.Equal(message, ErrorOf(file, ahead: true));
    }

    [Fact]
    public void A_damaged_frame_descriptor_is_caught_by_its_header_checksum()
    {
        var file = Trace(new LZ4EncoderSettings { ContentChecksum = true });
        file[5] ^= 0x10; // BD of the first frame: another valid block size, but HC no longer matches
        Assert.Contains("frame descriptor's checksum", ErrorOf(file, ahead: false));
    }

    [Fact]
    public void Linked_blocks_decode_across_block_boundaries()
    {
        // Chained 64 KiB blocks refer back into the previous block: the decoder must hand it over as dictionary.
        var settings = new LZ4EncoderSettings { ChainBlocks = true, BlockSize = 64 << 10, ContentChecksum = true, CompressionLevel = LZ4Level.L09_HC };
        var b = new TraceBuilder { FrameSettings = settings }.Header(settings: [("dedup_window", "64")]);
        var random = new Random(7);
        var page = new byte[4096];
        random.NextBytes(page);
        for (uint id = 1; id <= 40; id++) b.Page(id, page); // identical pages: matches reach into earlier blocks
        var file = b.End().ToArray();
        foreach (var ahead in new[] { false, true })
        {
            using var reader = TraceReader.Open(new MemoryStream(file), "t", new TraceReaderOptions { DecodeAhead = ahead });
            var pages = reader.Records().OfType<PageRecord>().ToList();
            Assert.Equal(40, pages.Count);
            Assert.All(pages, p => Assert.Equal(page, p.Data.ToArray()));
        }
    }
}
