using System.Buffers.Binary;
using System.IO.Compression;
using Google.Protobuf;
using Win7Proc.Offline.Pandalog.Schema;

namespace Win7Proc.Offline.Procstory.Tests;

/// <summary>Writes a plog the way the analyzer does, one step at a time and synchronously: <c>X.partial</c> with a zero
/// header hole, zlib chunks appended, then directory + header and the rename to <c>X</c>.</summary>
internal sealed class GrowingPlog
{
    readonly string _target;
    readonly List<(long Position, ulong StartInstr, ulong Entries)> _directory = new();

    public GrowingPlog(string target)
    {
        _target = target;
        File.WriteAllBytes(PartialPath, new byte[128]);
    }

    public string PartialPath => _target + ".partial";

    public void AppendChunk(IReadOnlyList<LogEntry> entries) => AppendBytes(Chunk(entries, out _), entries);

    /// <summary>Appends only the first half of a chunk (the writer caught mid-write).</summary>
    public byte[] AppendHalfChunk(IReadOnlyList<LogEntry> entries)
    {
        var bytes = Chunk(entries, out _);
        using (var file = new FileStream(PartialPath, FileMode.Append)) file.Write(bytes, 0, bytes.Length / 2);
        return bytes;
    }

    /// <summary>Writes the rest of a chunk begun with <see cref="AppendHalfChunk"/>.</summary>
    public void FinishHalfChunk(byte[] bytes, IReadOnlyList<LogEntry> entries)
    {
        long position;
        using (var file = new FileStream(PartialPath, FileMode.Append))
        {
            position = file.Position - bytes.Length / 2;
            file.Write(bytes, bytes.Length / 2, bytes.Length - bytes.Length / 2);
        }
        _directory.Add((position, entries[0].Instr, (ulong)entries.Count));
    }

    void AppendBytes(byte[] bytes, IReadOnlyList<LogEntry> entries)
    {
        using var file = new FileStream(PartialPath, FileMode.Append);
        _directory.Add((file.Position, entries[0].Instr, (ulong)entries.Count));
        file.Write(bytes);
    }

    public void Complete()
    {
        using (var file = new FileStream(PartialPath, FileMode.Open, FileAccess.ReadWrite))
        {
            var directoryPosition = file.Seek(0, SeekOrigin.End);
            var directory = new byte[4 + 24 * _directory.Count];
            BinaryPrimitives.WriteUInt32LittleEndian(directory, (uint)_directory.Count);
            for (var i = 0; i < _directory.Count; i++)
            {
                var row = directory.AsSpan(4 + 24 * i);
                BinaryPrimitives.WriteUInt64LittleEndian(row, _directory[i].StartInstr);
                BinaryPrimitives.WriteUInt64LittleEndian(row[8..], (ulong)_directory[i].Position);
                BinaryPrimitives.WriteUInt64LittleEndian(row[16..], _directory[i].Entries);
            }
            file.Write(directory);
            var header = new byte[24];
            BinaryPrimitives.WriteUInt32LittleEndian(header, 2);
            BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(8), (ulong)directoryPosition);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), 16 << 20);
            file.Position = 0;
            file.Write(header);
        }
        File.Move(PartialPath, _target);
    }

    static byte[] Chunk(IReadOnlyList<LogEntry> entries, out int rawLength)
    {
        var raw = new MemoryStream();
        var length = new byte[4];
        foreach (var entry in entries)
        {
            var bytes = entry.ToByteArray();
            BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)bytes.Length);
            raw.Write(length);
            raw.Write(bytes);
        }
        rawLength = (int)raw.Length;
        var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
            raw.WriteTo(zlib);
        return compressed.ToArray();
    }
}
