using System.Buffers.Binary;

namespace Win7Proc.Offline.Pandalog;

/// <summary>
/// Constants of the pandalog (.plog) container, as PANDA writes it (panda/src/plog-cc.cpp, plog.c;
/// research notes /work/shared/reference/panda-plugin-api-and-pandalog.md §4).
/// Layout: 24-byte header at 0 inside a 128-byte hole; zlib chunks from offset 128, back to back, each holding
/// records of <c>u32 length + serialised LogEntry</c>; the directory at dir_pos: <c>u32 n</c> then n × {u64 start_instr,
/// u64 pos, u64 num_entries}.
/// </summary>
public static class PandalogFormat
{
    /// <summary>PL_CURRENT_VERSION.</summary>
    public const uint Version = 2;
    /// <summary>PL_HEADER_SIZE: the first chunk starts here.</summary>
    public const int HeaderHoleSize = 128;
    /// <summary>sizeof(PlHeader) on x86-64: <c>&lt;IIQII</c> = version, pad, dir_pos, chunk_size, pad.</summary>
    public const int HeaderSize = 24;
    /// <summary>PL_CHUNKSIZE. PANDA's C++ reader sizes its buffers from it: keep 16 MiB for PANDA-readable files.</summary>
    public const int DefaultChunkSize = 16 * 1024 * 1024;
    /// <summary>One directory row: start_instr, pos, num_entries.</summary>
    public const int DirectoryEntrySize = 24;
    /// <summary>pc and instr of entries logged outside the replay's main loop (and of the placeholder record).</summary>
    public const ulong AfterReplayEnd = ulong.MaxValue;
    /// <summary>Bound on one chunk's inflated size when reading (hostile input: a zlib bomb must not exhaust memory).
    /// PANDA chunks are ~16 MiB; one instruction's entries may exceed that, but never by this much.</summary>
    public const int MaxInflatedChunkBytes = 1 << 30;

    internal static void WriteHeader(Span<byte> header, ulong directoryPosition, uint chunkSize)
    {
        header[..HeaderSize].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(header, Version);
        BinaryPrimitives.WriteUInt64LittleEndian(header[8..], directoryPosition);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], chunkSize);
    }

    /// <summary>The entry PANDA writes first in every log (pc = instr = UINT64_MAX); also the sole entry of an empty log.</summary>
    public static Schema.LogEntry Placeholder() => new() { Pc = AfterReplayEnd, Instr = AfterReplayEnd };

    /// <summary>True for an entry with nothing but pc = instr = UINT64_MAX (PANDA's leading placeholder).</summary>
    public static bool IsPlaceholder(Schema.LogEntry entry) =>
        entry.Pc == AfterReplayEnd && entry.Instr == AfterReplayEnd && entry.CalculateSize() == 22;
}

/// <summary>A pandalog that is not well formed. The message names what is wrong and where (offset, chunk, entry).</summary>
public sealed class PandalogFormatException : Exception
{
    public PandalogFormatException(string message) : base(message) { }
    public PandalogFormatException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>One row of the directory. <see cref="StartInstr"/> is as stored (PANDA truncates it to 32 bits).</summary>
public readonly record struct PandalogChunkInfo(int Index, ulong StartInstr, long Position, long CompressedLength, ulong EntryCount);
