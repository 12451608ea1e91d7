using System.Buffers.Binary;
using System.IO.Compression;

namespace Win7Proc.Offline.Pandalog.Tests;

/// <summary>
/// Builds plog bytes by hand from the format description (reference notes §4), independent of PandalogWriter:
/// protobuf wire format written field by field, zlib streams either from ZLibStream or as hand-made stored blocks.
/// </summary>
static class PlogBytes
{
    /// <summary>Opens (and with <paramref name="readAll"/> reads) a damaged plog; returns the format error it must give.</summary>
    public static PandalogFormatException Damaged(byte[] bytes, bool readAll = true)
    {
        using var dir = new TempDir();
        var path = dir.File("damaged.plog");
        File.WriteAllBytes(path, bytes);
        return Assert.Throws<PandalogFormatException>(() =>
        {
            using var reader = PandalogReader.Open(path);
            if (readAll) reader.ReadAll().ToList();
        });
    }

    // --- protobuf wire format (varint = type 0, length-delimited = type 2) ---
    public static byte[] Varint(ulong value)
    {
        var bytes = new List<byte>();
        do
        {
            byte b = (byte)(value & 0x7f);
            value >>= 7;
            bytes.Add(value != 0 ? (byte)(b | 0x80) : b);
        } while (value != 0);
        return bytes.ToArray();
    }

    public static byte[] VarintField(int number, ulong value) => [.. Varint((ulong)(number << 3)), .. Varint(value)];

    public static byte[] BytesField(int number, byte[] payload) =>
        [.. Varint((ulong)(number << 3 | 2)), .. Varint((ulong)payload.Length), .. payload];

    public static byte[] StringField(int number, string s) => BytesField(number, System.Text.Encoding.UTF8.GetBytes(s));

    public static byte[] Process(uint pid, string name) => [.. VarintField(1, pid), .. StringField(2, name)];

    /// <summary>LogEntry { pc=1, instr=2, new_pid=11 }.</summary>
    public static byte[] NewPidEntry(ulong pc, ulong instr, uint pid, string name) =>
        [.. VarintField(1, pc), .. VarintField(2, instr), .. BytesField(11, Process(pid, name))];

    /// <summary>LogEntry { pc, instr, nt_create_file=14 ProcessFile{proc, filename, handle} }.</summary>
    public static byte[] CreateFileEntry(ulong pc, ulong instr, uint pid, string name, string file, uint handle) =>
        [.. VarintField(1, pc), .. VarintField(2, instr),
         .. BytesField(14, [.. BytesField(1, Process(pid, name)), .. StringField(2, file), .. VarintField(3, handle)])];

    /// <summary>LogEntry { pc, instr, total_instr=65 }.</summary>
    public static byte[] TotalInstrEntry(ulong pc, ulong instr, ulong total) =>
        [.. VarintField(1, pc), .. VarintField(2, instr), .. VarintField(65, total)];

    /// <summary>PANDA's leading placeholder: pc = instr = UINT64_MAX, 22 bytes.</summary>
    public static readonly byte[] Placeholder =
        [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];

    /// <summary>Chunk content: each record as u32 LE length + bytes.</summary>
    public static byte[] Records(params byte[][] entries)
    {
        var ms = new MemoryStream();
        var len = new byte[4];
        foreach (var e in entries)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(len, (uint)e.Length);
            ms.Write(len);
            ms.Write(e);
        }
        return ms.ToArray();
    }

    public static byte[] ZlibLevel9(byte[] data)
    {
        var ms = new MemoryStream();
        using (var z = new ZLibStream(ms, new ZLibCompressionOptions { CompressionLevel = 9 }, leaveOpen: true)) z.Write(data);
        return ms.ToArray();
    }

    /// <summary>A zlib stream made by hand: header 78 01, stored deflate blocks (RFC 1951 §3.2.4), Adler-32 big-endian.</summary>
    public static byte[] ZlibStored(byte[] data, int blockSize = 1000)
    {
        var ms = new MemoryStream();
        ms.WriteByte(0x78); ms.WriteByte(0x01); // (0x78*256+0x01) % 31 == 0
        int offset = 0;
        do
        {
            int n = Math.Min(blockSize, data.Length - offset);
            bool last = offset + n == data.Length;
            ms.WriteByte((byte)(last ? 1 : 0));
            ms.WriteByte((byte)n); ms.WriteByte((byte)(n >> 8));
            ms.WriteByte((byte)~n); ms.WriteByte((byte)(~n >> 8));
            ms.Write(data, offset, n);
            offset += n;
        } while (offset < data.Length);
        uint a = 1, b = 0;
        foreach (var x in data) { a = (a + x) % 65521; b = (b + a) % 65521; }
        uint adler = b << 16 | a;
        ms.WriteByte((byte)(adler >> 24)); ms.WriteByte((byte)(adler >> 16)); ms.WriteByte((byte)(adler >> 8)); ms.WriteByte((byte)adler);
        return ms.ToArray();
    }

    public sealed record Chunk(byte[] Compressed, ulong StartInstr, ulong Entries);

    /// <summary>Header (version 2, dir_pos, chunk_size) in the 128-byte hole, chunks back to back, directory at the end.</summary>
    public static byte[] Plog(IReadOnlyList<Chunk> chunks, uint chunkSize = 16 * 1024 * 1024, uint version = 2, bool writeHeader = true, bool writeDirectory = true)
    {
        var ms = new MemoryStream();
        ms.Write(new byte[128]);
        var positions = new List<long>();
        foreach (var c in chunks) { positions.Add(ms.Position); ms.Write(c.Compressed); }
        long dirPos = ms.Position;
        if (writeDirectory)
        {
            var w = new BinaryWriter(ms);
            w.Write((uint)chunks.Count);
            for (int i = 0; i < chunks.Count; i++) { w.Write(chunks[i].StartInstr); w.Write((ulong)positions[i]); w.Write(chunks[i].Entries); }
            w.Flush();
        }
        var bytes = ms.ToArray();
        if (writeHeader)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(0), version);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), 0xdeadbeef); // padding: uninitialised in PANDA, must be ignored
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), (ulong)dirPos);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(16), chunkSize);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(20), 0xcafef00d);
        }
        return bytes;
    }
}

/// <summary>A temporary directory deleted after the test.</summary>
sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("plogtest-").FullName;
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() { try { Directory.Delete(Path, recursive: true); } catch (IOException) { } }
}
