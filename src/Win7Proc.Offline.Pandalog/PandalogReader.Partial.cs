using System.Buffers.Binary;
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
        // Parsed lazily (not via batches): entries that die young keep the GC cheap.
        foreach (var chunk in CompleteChunks(partialPath, PandalogFormat.HeaderHoleSize, 0))
            foreach (var record in chunk.View.Records())
                yield return record.Parse();
    }

    /// <summary>Like <see cref="ReadCompleteChunks(string)"/>, chunk by chunk, starting at <paramref name="startOffset"/>
    /// (a previous batch's <see cref="PandalogChunkBatch.NextOffset"/>, to resume following a growing file).</summary>
    public static IEnumerable<PandalogChunkBatch> ReadCompleteChunkBatches(string partialPath, long startOffset = PandalogFormat.HeaderHoleSize, int firstChunkIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(startOffset, (long)PandalogFormat.HeaderHoleSize);
        foreach (var chunk in CompleteChunks(partialPath, startOffset, firstChunkIndex))
            yield return new PandalogChunkBatch(chunk.View.Index, chunk.View.FileOffset, chunk.NextOffset,
                chunk.View.Records().Select(r => r.Parse()).ToList());
    }

    readonly record struct InflatedPartialChunk(PlogChunkView View, long NextOffset);

    static IEnumerable<InflatedPartialChunk> CompleteChunks(string partialPath, long startOffset, int firstChunkIndex)
    {
        using var handle = File.OpenHandle(partialPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var header = new byte[PandalogFormat.HeaderSize];
        int headerRead = RandomAccess.Read(handle, header, 0);
        long directoryPosition = long.MaxValue; // unknown while the header is still zero
        if (headerRead == header.Length && BinaryPrimitives.ReadUInt32LittleEndian(header) == PandalogFormat.Version)
        {
            ulong dirPos = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(8));
            if (dirPos >= PandalogFormat.HeaderHoleSize && dirPos <= (ulong)RandomAccess.GetLength(handle)) directoryPosition = (long)dirPos;
        }

        long offset = startOffset;
        int index = firstChunkIndex;
        byte[] input = Array.Empty<byte>();
        byte[] output = new byte[1 << 16];
        PlogChunkView? previous = null;
        while (true)
        {
            long end = Math.Min(RandomAccess.GetLength(handle), directoryPosition);
            if (offset >= end) yield break;
            previous?.Release(); // its buffer, `output`, is refilled in place below
            long available = end - offset;
            int window = (int)Math.Min(available, FirstReadWindow);
            ZlibStreamInflater.Outcome outcome;
            int written, consumed;
            string? error;
            while (true)
            {
                if (input.Length < window) input = new byte[window];
                int read = RandomAccess.Read(handle, input.AsSpan(0, window), offset);
                outcome = ZlibStreamInflater.Inflate(input, 0, read, ref output, PandalogFormat.MaxInflatedChunkBytes,
                    out written, out consumed, out error);
                if (outcome != ZlibStreamInflater.Outcome.NeedsMoreInput || read < window || window >= available) break;
                // A chunk's compressed size is bounded like its inflated size; grow the window and start over.
                if (window >= PandalogFormat.MaxInflatedChunkBytes) break;
                window = (int)Math.Min(Math.Min(available, (long)window * 4), PandalogFormat.MaxInflatedChunkBytes);
            }
            if (outcome == ZlibStreamInflater.Outcome.NeedsMoreInput) yield break; // not written in full yet
            if (outcome == ZlibStreamInflater.Outcome.Invalid)
                throw new PandalogFormatException($"{partialPath}: chunk {index} at offset {offset} fails to inflate: {error}");
            if (written == 0)
                throw new PandalogFormatException($"{partialPath}: chunk {index} at offset {offset} is empty");
            previous = new PlogChunkView(partialPath, index, offset, output, written, expectedEntries: null);
            yield return new InflatedPartialChunk(previous, offset + consumed);
            offset += consumed;
            index++;
        }
    }
}
