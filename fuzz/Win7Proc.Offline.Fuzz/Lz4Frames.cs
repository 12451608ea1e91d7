using System.Buffers.Binary;
using K4os.Compression.LZ4.Streams;

namespace Win7Proc.Offline.Fuzz;

/// <summary>
/// The LZ4 frames of a trace file (tracefmt/FORMAT.md §1: a trace is a sequence of standard LZ4 frames), found from
/// the frame format alone (lz4's doc/lz4_Frame_format.md: magic, FLG/BD descriptor, optional content size and
/// dictionary id, header checksum, size-prefixed blocks, end mark, optional content checksum; skippable frames
/// 0x184D2A50..5F). Knows nothing of the records inside, so the mutations keep working whatever the trace format
/// version is.
/// </summary>
static class Lz4Frames
{
    const uint Magic = 0x184D2204;

    /// <summary>(start, end) of every complete frame from the file's start; stops at the first thing that is not one.</summary>
    public static List<(int Start, int End)> Scan(ReadOnlySpan<byte> file)
    {
        var frames = new List<(int, int)>();
        int p = 0;
        while (p + 4 <= file.Length)
        {
            uint magic = BinaryPrimitives.ReadUInt32LittleEndian(file[p..]);
            int start = p;
            if ((magic & 0xFFFFFFF0) == 0x184D2A50)
            {
                if (p + 8 > file.Length) break;
                long size = BinaryPrimitives.ReadUInt32LittleEndian(file[(p + 4)..]);
                if (p + 8 + size > file.Length) break;
                p += 8 + (int)size;
                frames.Add((start, p));
                continue;
            }
            if (magic != Magic || p + 7 > file.Length) break;
            byte flg = file[p + 4];
            bool blockChecksum = (flg & 0x10) != 0, contentSize = (flg & 0x08) != 0, contentChecksum = (flg & 0x04) != 0, dictId = (flg & 0x01) != 0;
            p += 4 + 2 + (contentSize ? 8 : 0) + (dictId ? 4 : 0) + 1;
            bool ok = false;
            while (p + 4 <= file.Length)
            {
                uint block = BinaryPrimitives.ReadUInt32LittleEndian(file[p..]);
                p += 4;
                if (block == 0) { ok = true; break; }
                p += (int)(block & 0x7FFFFFFF) + (blockChecksum ? 4 : 0);
                if (p > file.Length) break;
            }
            if (!ok) break;
            if (contentChecksum) p += 4;
            if (p > file.Length) break;
            frames.Add((start, p));
        }
        return frames;
    }

    public static byte[] Decode(ReadOnlySpan<byte> frame)
    {
        using var input = LZ4Stream.Decode(new MemoryStream(frame.ToArray()));
        var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    public static byte[] Encode(ReadOnlySpan<byte> content)
    {
        var output = new MemoryStream();
        using (var lz4 = LZ4Stream.Encode(output, leaveOpen: true)) lz4.Write(content);
        return output.ToArray();
    }
}
