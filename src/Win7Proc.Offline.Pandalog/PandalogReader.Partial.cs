using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using Win7Proc.Offline.Pandalog.Schema;

namespace Win7Proc.Offline.Pandalog;

/// <summary>The entries of one complete chunk of a plog still being written, and where the next chunk starts.</summary>
public sealed record PandalogChunkBatch(int Index, long Offset, long NextOffset, IReadOnlyList<LogEntry> Entries);

public sealed partial class PandalogReader
{
    const int FirstReadWindow = 1 << 20;

    /// <summary>
    /// Reads a plog that is still being written (<c>foo.plog.partial</c>: no directory, header still zero) chunk by
    /// chunk from offset 128, and stops quietly at the first chunk not yet written in full. Works on a finished plog
    /// too (stops at its directory). Used by <c>procstory --follow</c>.
    /// </summary>
    /// <exception cref="PandalogFormatException">a chunk is damaged (not merely unfinished)</exception>
    public static IEnumerable<LogEntry> ReadCompleteChunks(string partialPath)
    {
        // Parsed lazily (not via batches): entries that die young keep the GC cheap, and a chunk that inflates far
        // (a zlib bomb, or one instruction's many entries) is read piece by piece.
        foreach (var chunk in CompleteChunks(partialPath, PandalogFormat.HeaderHoleSize, 0))
            foreach (var record in chunk.Records)
                yield return record.Parse();
    }

    /// <summary>Like <see cref="ReadCompleteChunks(string)"/>, chunk by chunk, starting at <paramref name="startOffset"/>
    /// (a previous batch's <see cref="PandalogChunkBatch.NextOffset"/>, to resume following a growing file). Each
    /// batch holds one chunk's entries in memory.</summary>
    public static IEnumerable<PandalogChunkBatch> ReadCompleteChunkBatches(string partialPath, long startOffset = PandalogFormat.HeaderHoleSize, int firstChunkIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(startOffset, (long)PandalogFormat.HeaderHoleSize);
        foreach (var chunk in CompleteChunks(partialPath, startOffset, firstChunkIndex))
            yield return new PandalogChunkBatch(chunk.Index, chunk.Offset, chunk.NextOffset,
                chunk.Records.Select(r => r.Parse()).ToList());
    }

    /// <summary>Compressed bytes of one chunk of a plog still being written that are read at once to find where its
    /// zlib stream ends (the finished plog's directory-based reader streams instead and has no such limit).</summary>
    public const int MaxPartialChunkCompressedBytes = 256 << 20;

    readonly record struct CompleteChunk(int Index, long Offset, long NextOffset, PlogRecordSequence Records);

    /// <summary>Each complete chunk is found in two passes: the managed inflater measures its zlib stream (complete?
    /// valid? how long?) keeping only a 64 KiB window, then the native inflater streams its records piece by piece.</summary>
    static IEnumerable<CompleteChunk> CompleteChunks(string partialPath, long startOffset, int firstChunkIndex)
    {
        using var handle = File.OpenHandle(partialPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var header = new byte[PandalogFormat.HeaderSize];
        int headerRead = RandomAccess.Read(handle, header, 0);
        long directoryPosition = long.MaxValue; // unknown while the header is still zero
        uint chunkSize = PandalogFormat.DefaultChunkSize;
        if (headerRead == header.Length && BinaryPrimitives.ReadUInt32LittleEndian(header) == PandalogFormat.Version)
        {
            ulong dirPos = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(8));
            if (dirPos >= PandalogFormat.HeaderHoleSize && dirPos <= (ulong)RandomAccess.GetLength(handle)) directoryPosition = (long)dirPos;
            chunkSize = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(16));
        }

        long offset = startOffset;
        int index = firstChunkIndex;
        byte[] input = Array.Empty<byte>();
        while (true)
        {
            long end = Math.Min(RandomAccess.GetLength(handle), directoryPosition);
            if (offset >= end) yield break;
            long available = end - offset;
            int window = (int)Math.Min(available, FirstReadWindow);
            ZlibStreamInflater.Outcome outcome;
            long inflated;
            int consumed;
            string? error;
            while (true)
            {
                if (input.Length < window) input = new byte[window];
                int read = RandomAccess.Read(handle, input.AsSpan(0, window), offset);
                outcome = ZlibStreamInflater.Measure(input, 0, read, out inflated, out consumed, out error);
                if (outcome != ZlibStreamInflater.Outcome.NeedsMoreInput || read < window || window >= available) break;
                // Not all of the stream is in the window: grow it and measure again (a chunk still being written
                // stays incomplete until its last byte arrives).
                if (window >= MaxPartialChunkCompressedBytes) break;
                window = (int)Math.Min(Math.Min(available, (long)window * 4), MaxPartialChunkCompressedBytes);
            }
            if (outcome == ZlibStreamInflater.Outcome.NeedsMoreInput)
            {
                if (window >= MaxPartialChunkCompressedBytes)
                    throw new PandalogFormatException($"{partialPath}: chunk {index} at offset {offset} is still incomplete after {MaxPartialChunkCompressedBytes} compressed bytes (the limit for a plog still being written)");
                yield break; // not written in full yet
            }
            if (outcome == ZlibStreamInflater.Outcome.Invalid)
                throw new PandalogFormatException($"{partialPath}: chunk {index} at offset {offset} fails to inflate: {error}");
            if (inflated == 0)
                throw new PandalogFormatException($"{partialPath}: chunk {index} at offset {offset} is empty");
            var chunk = new PandalogChunkInfo[] { new(index, 0, offset, consumed, ulong.MaxValue) };
            yield return new CompleteChunk(index, offset, offset + consumed,
                new PlogRecordSequence(() => Pieces(handle, partialPath, chunkSize, chunk)));
            offset += consumed;
            index++;
        }
    }

    static IEnumerable<PlogChunkView> Pieces(SafeFileHandle handle, string path, uint chunkSize, PandalogChunkInfo[] chunk)
    {
        using var pieces = new ChunkPieces(handle, path, chunkSize, chunk, 0, 0);
        var buffers = new[] { new PieceBuffer(), new PieceBuffer() };
        PlogChunkView? previous = null;
        try
        {
            for (int i = 0; ; i++)
            {
                var view = pieces.Fill(buffers[i & 1]);
                previous?.Release();
                if (view is null) yield break;
                previous = view;
                yield return view;
            }
        }
        finally { previous?.Release(); }
    }
}
