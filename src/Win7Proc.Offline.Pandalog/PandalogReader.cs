using System.Buffers.Binary;
using System.IO.Compression;
using Google.Protobuf;
using Microsoft.Win32.SafeHandles;
using Win7Proc.Offline.Pandalog.Schema;

namespace Win7Proc.Offline.Pandalog;

/// <summary>
/// Reads a pandalog written by PANDA or by <see cref="PandalogWriter"/>. Streaming: one chunk is in memory at a time.
/// Every length, position and count in the file is checked; a malformed file throws <see cref="PandalogFormatException"/>
/// naming what is wrong and where. Accepted PANDA quirks: the leading placeholder entry (returned by
/// <see cref="ReadAll"/>, skipped by <see cref="ReadFrom"/>), bytes after a chunk's zlib stream (PANDA's Python reader
/// reads the last chunk to EOF), and start_instr truncated to 32 bits.
/// </summary>
public sealed partial class PandalogReader : IDisposable
{
    readonly SafeFileHandle _handle;
    readonly PandalogChunkInfo[] _chunks;
    /// <summary>Directory start_instr unwrapped to 64 bits (PANDA stores only the low 32 bits).</summary>
    readonly ulong[] _unwrappedStarts;

    public string Path { get; }
    public long FileLength { get; }
    public uint Version { get; }
    public ulong DirectoryPosition { get; }
    /// <summary>chunk_size from the header (PANDA: 16 MiB).</summary>
    public uint ChunkSize { get; }
    public IReadOnlyList<PandalogChunkInfo> Chunks => _chunks;

    PandalogReader(string path, SafeFileHandle handle, long length, uint version, ulong dirPos, uint chunkSize,
        PandalogChunkInfo[] chunks)
    {
        Path = path; _handle = handle; FileLength = length; Version = version; DirectoryPosition = dirPos;
        ChunkSize = chunkSize; _chunks = chunks;
        _unwrappedStarts = UnwrapStarts(chunks);
    }

    /// <summary>The first four bytes of an LZ4 frame (a trace), named when a trace is given where a plog is expected.</summary>
    const uint Lz4FrameMagic = 0x184D2204;

    /// <summary>Opens a plog and validates its header and directory.</summary>
    /// <exception cref="PandalogFormatException">not a well-formed pandalog</exception>
    /// <exception cref="IOException">missing or unreadable file (FileNotFoundException etc.)</exception>
    public static PandalogReader Open(string path)
    {
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        try
        {
            long length = RandomAccess.GetLength(handle);
            Span<byte> header = stackalloc byte[PandalogFormat.HeaderSize];
            if (length < PandalogFormat.HeaderHoleSize + 4 || RandomAccess.Read(handle, header, 0) != header.Length)
                throw new PandalogFormatException($"{path}: file too short for a pandalog ({length} bytes; header and first chunk start at {PandalogFormat.HeaderHoleSize})");
            uint version = BinaryPrimitives.ReadUInt32LittleEndian(header);
            ulong dirPos = BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
            uint chunkSize = BinaryPrimitives.ReadUInt32LittleEndian(header[16..]);
            if (version != PandalogFormat.Version)
                throw new PandalogFormatException(version == 0 && dirPos == 0
                    ? $"{path}: header is empty (a pandalog still being written, or cut short: its header is written last)"
                    : version == Lz4FrameMagic
                        ? $"{path}: an LZ4 file (a trace?), not a pandalog: analyse a trace into a pandalog first (win7proc-offline TRACE -o OUT.plog)"
                        : $"{path}: bad version {version} at offset 0 (expected {PandalogFormat.Version})");
            if (dirPos < PandalogFormat.HeaderHoleSize || dirPos > (ulong)length - 4)
                throw new PandalogFormatException($"{path}: directory position {dirPos} out of range (file is {length} bytes, chunks start at {PandalogFormat.HeaderHoleSize})");

            Span<byte> countBytes = stackalloc byte[4];
            RandomAccess.Read(handle, countBytes, (long)dirPos);
            uint count = BinaryPrimitives.ReadUInt32LittleEndian(countBytes);
            long directoryBytes = (long)count * PandalogFormat.DirectoryEntrySize;
            if ((long)dirPos + 4 + directoryBytes > length || directoryBytes > Array.MaxLength)
                throw new PandalogFormatException($"{path}: directory at offset {dirPos} claims {count} chunks ({directoryBytes} bytes) but the file ends at {length}");
            var rows = new byte[directoryBytes];
            if (RandomAccess.Read(handle, rows, (long)dirPos + 4) != rows.Length)
                throw new PandalogFormatException($"{path}: directory at offset {dirPos} is cut short");

            var chunks = new PandalogChunkInfo[count];
            for (int i = 0; i < count; i++)
            {
                var row = rows.AsSpan(i * PandalogFormat.DirectoryEntrySize);
                ulong start = BinaryPrimitives.ReadUInt64LittleEndian(row);
                ulong pos = BinaryPrimitives.ReadUInt64LittleEndian(row[8..]);
                ulong entries = BinaryPrimitives.ReadUInt64LittleEndian(row[16..]);
                ulong next = i + 1 < count ? BinaryPrimitives.ReadUInt64LittleEndian(rows.AsSpan((i + 1) * PandalogFormat.DirectoryEntrySize + 8)) : dirPos;
                if (pos < PandalogFormat.HeaderHoleSize || pos >= dirPos)
                    throw new PandalogFormatException($"{path}: chunk {i} position {pos} out of range (chunks lie between {PandalogFormat.HeaderHoleSize} and the directory at {dirPos})");
                if (next <= pos || next > dirPos)
                    throw new PandalogFormatException($"{path}: chunk {i} at offset {pos} has no room: the next chunk or the directory starts at {next}");
                if (next - pos > PandalogFormat.MaxInflatedChunkBytes)
                    throw new PandalogFormatException($"{path}: chunk {i} at offset {pos} is {next - pos} bytes, more than the {PandalogFormat.MaxInflatedChunkBytes}-byte limit");
                if (entries == 0)
                    throw new PandalogFormatException($"{path}: chunk {i} at offset {pos} has no entries (PANDA never writes an empty chunk)");
                chunks[i] = new PandalogChunkInfo(i, start, (long)pos, (long)(next - pos), entries);
            }
            return new PandalogReader(path, handle, length, version, dirPos, chunkSize, chunks);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Every entry in file order, the PANDA placeholder included.</summary>
    public IEnumerable<LogEntry> ReadAll()
    {
        foreach (var record in ReadRecords()) yield return record.Parse();
    }

    /// <summary>Entries with instr &gt;= <paramref name="instr"/>, found by binary search of the directory (entries are
    /// in instr order, as PANDA logs them; UINT64_MAX entries after the replay end are included, the leading
    /// placeholder is not).</summary>
    public IEnumerable<LogEntry> ReadFrom(ulong instr)
    {
        foreach (var record in ReadRecordsFrom(instr)) yield return record.Parse();
    }

    /// <summary>Every record in file order, the PANDA placeholder included, decoded only as far as pc, instr, asid and
    /// the fields present (<see cref="PlogRecord"/>); <see cref="PlogRecord.Parse"/> the ones you need. Framing and
    /// each record's top level are checked here, the rest of an entry when it is parsed.</summary>
    public PlogRecordSequence ReadRecords() => new(() => InflatedChunks(0));

    /// <summary>Records with instr &gt;= <paramref name="instr"/> (see <see cref="ReadFrom"/>), none of them parsed.</summary>
    public IEnumerable<PlogRecord> ReadRecordsFrom(ulong instr)
    {
        if (_chunks.Length == 0) yield break;
        int first = LastChunkStartingAtOrBefore(instr);
        // The directory may understate 64-bit starts (PANDA truncates them): the chunk's real first instr decides.
        var buffers = new ChunkBuffers();
        while (first > 0)
        {
            if (ChunkView(first, buffers).Records().First().Instr <= instr) break;
            first--;
        }
        foreach (var record in new PlogRecordSequence(() => InflatedChunks(first)))
        {
            bool leadingPlaceholder = record.ChunkIndex == 0 && record.IndexInChunk == 0 && record.IsPlaceholder;
            if (!leadingPlaceholder && record.Instr >= instr) yield return record;
        }
    }

    /// <summary>Chunks from <paramref name="first"/> on, each inflated one ahead on a worker thread while the caller
    /// reads the current one (two chunk buffers in memory), so reading uses both cores. A chunk's view is released
    /// before its buffer is refilled. Entries are parsed on the caller's thread on purpose: materialising whole
    /// chunks of entries makes them outlive gen-0 and costs several times more in GC than the parsing itself.
    /// (Measured: reading two chunks ahead with three buffers was no faster.)</summary>
    IEnumerable<PlogChunkView> InflatedChunks(int first)
    {
        if (first >= _chunks.Length) yield break;
        var current = new ChunkBuffers();
        var spare = new ChunkBuffers();
        var pending = Task.Run(() => InflateChunk(first, current));
        PlogChunkView? previous = null;
        try
        {
            for (int i = first; i < _chunks.Length; i++)
            {
                int length = pending.GetAwaiter().GetResult();
                var ready = current;
                previous?.Release(); // its buffer is `spare`, refilled next
                if (i + 1 < _chunks.Length)
                {
                    int next = i + 1;
                    var target = spare;
                    pending = Task.Run(() => InflateChunk(next, target));
                }
                previous = new PlogChunkView(Path, i, _chunks[i].Position, ready.Inflated, length, _chunks[i].EntryCount);
                yield return previous;
                (current, spare) = (spare, current);
            }
        }
        finally
        {
            previous?.Release();
            // The caller may stop early: let the read-ahead finish before the buffers and handle go away.
            try { pending.Wait(); } catch (AggregateException) { }
        }
    }

    /// <summary>Walks every record's framing without decoding it (the container's own cost, for the benchmark).</summary>
    internal long CountRecordsWithoutParsing()
    {
        long count = 0;
        foreach (var chunk in InflatedChunks(0))
        {
            var data = chunk.Data;
            int offset = 0, length = chunk.Length;
            while (offset + 4 <= length)
            {
                uint size = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(offset));
                if (size > (uint)(length - offset - 4)) break; // a length past the chunk's end (reported below)
                offset += 4 + (int)size;
                count++;
            }
            if (offset != length) throw new PandalogFormatException($"{Path}: chunk {chunk.Index} framing does not end at the chunk's end");
        }
        return count;
    }

    /// <summary>The entries of one chunk.</summary>
    public IReadOnlyList<LogEntry> ReadChunk(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _chunks.Length);
        return ChunkView(index, new ChunkBuffers()).Records().Select(r => r.Parse()).ToList();
    }

    public void Dispose() => _handle.Dispose();

    int LastChunkStartingAtOrBefore(ulong instr)
    {
        int lo = 0, hi = _chunks.Length - 1, found = 0;
        while (lo <= hi)
        {
            int mid = lo + (hi - lo) / 2;
            if (_unwrappedStarts[mid] <= instr) { found = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        return found;
    }

    static ulong[] UnwrapStarts(PandalogChunkInfo[] chunks)
    {
        var starts = new ulong[chunks.Length];
        ulong previous = 0;
        for (int i = 0; i < chunks.Length; i++)
        {
            ulong value = chunks[i].StartInstr;
            // A 32-bit value below the previous start means the count passed a multiple of 2^32.
            if (value <= uint.MaxValue && previous > uint.MaxValue || value < previous)
            {
                ulong candidate = (previous & ~(ulong)uint.MaxValue) | value;
                if (candidate < previous) candidate += 1UL << 32;
                value = candidate < previous ? previous : candidate;
            }
            starts[i] = previous = value;
        }
        return starts;
    }

    internal sealed class ChunkBuffers
    {
        public byte[] Compressed = Array.Empty<byte>();
        public byte[] Inflated = Array.Empty<byte>();
    }

    PlogChunkView ChunkView(int index, ChunkBuffers buffers)
    {
        int length = InflateChunk(index, buffers);
        return new PlogChunkView(Path, index, _chunks[index].Position, buffers.Inflated, length, _chunks[index].EntryCount);
    }

    int InflateChunk(int index, ChunkBuffers buffers)
    {
        var chunk = _chunks[index];
        if (buffers.Compressed.Length < chunk.CompressedLength) buffers.Compressed = new byte[chunk.CompressedLength];
        int read = RandomAccess.Read(_handle, buffers.Compressed.AsSpan(0, (int)chunk.CompressedLength), chunk.Position);
        if (read != chunk.CompressedLength)
            throw new PandalogFormatException($"{Path}: chunk {index} at offset {chunk.Position} is cut short ({read} of {chunk.CompressedLength} bytes)");
        int hint = (int)Math.Clamp((long)ChunkSize + (ChunkSize >> 4), 1 << 16, PandalogFormat.MaxInflatedChunkBytes);
        return Inflate(buffers, (int)chunk.CompressedLength, hint, $"{Path}: chunk {index} at offset {chunk.Position}");
    }

    internal static int Inflate(ChunkBuffers buffers, int compressedLength, int sizeHint, string where)
    {
        if (buffers.Inflated.Length == 0)
            buffers.Inflated = new byte[(int)Math.Clamp((long)compressedLength * 4, 1 << 16, sizeHint)];
        try
        {
            using var z = new ZLibStream(new MemoryStream(buffers.Compressed, 0, compressedLength, writable: false), CompressionMode.Decompress);
            int total = 0;
            while (true)
            {
                if (total == buffers.Inflated.Length)
                {
                    if (total >= PandalogFormat.MaxInflatedChunkBytes)
                        throw new PandalogFormatException($"{where} inflates to more than {PandalogFormat.MaxInflatedChunkBytes} bytes");
                    Array.Resize(ref buffers.Inflated, (int)Math.Min((long)total * 2, PandalogFormat.MaxInflatedChunkBytes));
                }
                int n = z.Read(buffers.Inflated, total, buffers.Inflated.Length - total);
                if (n == 0) break;
                total += n;
            }
            if (total == 0)
                throw new PandalogFormatException($"{where} fails to inflate: no data (not a zlib stream, or cut short)");
            return total;
        }
        catch (InvalidDataException e)
        {
            throw new PandalogFormatException($"{where} fails to inflate: {e.Message}", e);
        }
    }
}
