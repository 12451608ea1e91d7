using System.Buffers;
using System.Buffers.Binary;
using K4os.Compression.LZ4.Streams;

namespace Win7Proc.Offline.Trace;

/// <summary>
/// Splits the compressed file into whole LZ4 frames (walking the frame and block headers of the LZ4 frame format,
/// https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md) and decodes each complete frame into a
/// <see cref="RecordBuffer"/>. Knowing frame boundaries ourselves is what lets the reader tell a cut last frame
/// (truncation) from a damaged file, and retry a frame in follow mode.
/// </summary>
internal sealed class Lz4FrameSource(Stream stream, string displayName, TraceReaderOptions options)
{
    const uint FrameMagic = 0x184D2204, LegacyMagic = 0x184C2102;
    const uint SkippableMagicMask = 0xFFFFFFF0, SkippableMagic = 0x184D2A50;

    byte[] _frame = new byte[1 << 16];
    int _frameLength;
    bool _sawAnyFrame;

    public enum Outcome { Frame, EndOfFile, PartialFrame, Cancelled }

    /// <summary>Compressed bytes consumed so far (complete frames plus any partial tail read).</summary>
    public long FileOffset { get; private set; }
    /// <summary>File offset where the last frame (complete or partial) started.</summary>
    public long FrameStart { get; private set; }
    public int FramesDecoded { get; private set; }

    /// <summary>Reads the next complete frame and appends its decompressed content to <paramref name="target"/>.</summary>
    public Outcome DecodeNext(RecordBuffer target)
    {
        while (true)
        {
            FrameStart = FileOffset;
            _frameLength = 0;
            var magicRead = ReadInto(4);
            if (magicRead == ReadResult.Cancelled) return Outcome.Cancelled;
            if (magicRead == ReadResult.Eof)
                return _frameLength == 0 ? Outcome.EndOfFile : Outcome.PartialFrame;

            uint magic = BinaryPrimitives.ReadUInt32LittleEndian(_frame);
            if ((magic & SkippableMagicMask) == SkippableMagic)
            {
                // Skippable frame: u32 size then that many bytes of user data.
                var r = ReadInto(4);
                if (r != ReadResult.Ok) return r == ReadResult.Cancelled ? Outcome.Cancelled : Outcome.PartialFrame;
                uint size = BinaryPrimitives.ReadUInt32LittleEndian(_frame.AsSpan(4));
                CheckFrameSize(8L + size);
                r = ReadInto((int)size);
                if (r != ReadResult.Ok) return r == ReadResult.Cancelled ? Outcome.Cancelled : Outcome.PartialFrame;
                continue;
            }
            if (magic == LegacyMagic)
                throw new TraceFormatException(
                    $"{displayName}: the legacy LZ4 format (lz4 -l) at file offset {FrameStart} is not supported: traces use LZ4 frames");
            if (magic != FrameMagic)
                throw new TraceFormatException(_sawAnyFrame
                    ? $"{displayName}: damaged trace: no LZ4 frame at file offset {FrameStart} (found 0x{magic:x8})"
                    : $"{displayName}: not a trace: not an LZ4 file (starts with 0x{magic:x8}, expected an LZ4 frame 0x{FrameMagic:x8})");
            _sawAnyFrame = true;

            var outcome = ReadFrameBody();
            if (outcome != Outcome.Frame) return outcome;
            Decode(target);
            FramesDecoded++;
            return Outcome.Frame;
        }
    }

    Outcome ReadFrameBody()
    {
        // Frame descriptor: FLG, BD, [content size u64], [dict id u32], HC.
        var r = ReadInto(2);
        if (r != ReadResult.Ok) return Map(r);
        byte flg = _frame[4], bd = _frame[5];
        if (flg >> 6 != 1 || (flg & 0x02) != 0)
            throw Bad($"unsupported LZ4 frame descriptor (FLG 0x{flg:x2})");
        bool blockChecksum = (flg & 0x10) != 0, contentSize = (flg & 0x08) != 0;
        bool contentChecksum = (flg & 0x04) != 0, dictId = (flg & 0x01) != 0;
        int blockSizeCode = (bd >> 4) & 7;
        if (blockSizeCode < 4 || (bd & 0x8F) != 0) throw Bad($"bad LZ4 block descriptor (BD 0x{bd:x2})");
        int maxBlock = 1 << (8 + 2 * blockSizeCode); // 4 → 64 KiB … 7 → 4 MiB
        if (dictId) throw Bad("LZ4 frames with a dictionary id are not used by trace writers");
        r = ReadInto((contentSize ? 8 : 0) + 1);
        if (r != ReadResult.Ok) return Map(r);

        while (true)
        {
            r = ReadInto(4);
            if (r != ReadResult.Ok) return Map(r);
            uint blockWord = BinaryPrimitives.ReadUInt32LittleEndian(_frame.AsSpan(_frameLength - 4));
            if (blockWord == 0) break; // EndMark
            int size = (int)(blockWord & 0x7FFFFFFF);
            if (size > maxBlock) throw Bad($"LZ4 block of {size} bytes exceeds the frame's {maxBlock}-byte block size");
            r = ReadInto(size + (blockChecksum ? 4 : 0));
            if (r != ReadResult.Ok) return Map(r);
        }
        if (contentChecksum)
        {
            r = ReadInto(4);
            if (r != ReadResult.Ok) return Map(r);
        }
        return Outcome.Frame;

        static Outcome Map(ReadResult r) => r == ReadResult.Cancelled ? Outcome.Cancelled : Outcome.PartialFrame;
    }

    void Decode(RecordBuffer target)
    {
        target.BeginFrame();
        try
        {
            LZ4Frame.Decode(_frame.AsSpan(0, _frameLength), target);
        }
        catch (TraceLimitException e)
        {
            throw new TraceLimitException($"{displayName}: LZ4 frame at file offset {FrameStart}: {e.Message}");
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or IndexOutOfRangeException
                                      or InvalidOperationException or NotSupportedException or EndOfStreamException)
        {
            throw Bad($"LZ4 frame does not decode ({e.Message})", e);
        }
    }

    TraceFormatException Bad(string what, Exception? inner = null) =>
        new($"{displayName}: damaged trace: {what} in the frame at file offset {FrameStart}", inner);

    void CheckFrameSize(long needed)
    {
        if (needed > options.MaxFrameBytes)
            throw new TraceLimitException(
                $"{displayName}: LZ4 frame at file offset {FrameStart} is larger than the {options.MaxFrameBytes}-byte limit");
    }

    enum ReadResult { Ok, Eof, Cancelled }

    /// <summary>Appends exactly <paramref name="count"/> bytes of the file to the frame buffer. In follow mode a short
    /// read waits for the writer and retries; otherwise it reports end of file (the bytes read so far stay counted).</summary>
    ReadResult ReadInto(int count)
    {
        long needed = (long)_frameLength + count;
        CheckFrameSize(needed);
        if (needed > _frame.Length)
            Array.Resize(ref _frame, (int)Math.Min(Math.Max(needed, (long)_frame.Length * 2), options.MaxFrameBytes));
        while (count > 0)
        {
            int n = stream.Read(_frame, _frameLength, count);
            if (n > 0)
            {
                _frameLength += n;
                FileOffset += n;
                count -= n;
                continue;
            }
            if (!options.Follow) return ReadResult.Eof;
            if (options.CancellationToken.IsCancellationRequested) return ReadResult.Cancelled;
            if (options.CancellationToken.WaitHandle.WaitOne(options.PollInterval)) return ReadResult.Cancelled;
        }
        return ReadResult.Ok;
    }
}

/// <summary>A growable byte buffer that LZ4 decodes into and records are parsed from (consumed from the front).</summary>
internal sealed class RecordBuffer(int maxFrameBytes) : IBufferWriter<byte>
{
    byte[] _buffer = new byte[1 << 16]; // grows to the largest frame seen
    int _start, _end, _frameBase;

    /// <summary>Compacts, then starts counting the decompressed bytes of one frame against the limit.</summary>
    public void BeginFrame()
    {
        Compact();
        _frameBase = _end;
    }

    public int Available => _end - _start;
    public int WrittenEnd => _end;
    public ReadOnlySpan<byte> Data => _buffer.AsSpan(_start, _end - _start);
    public void Consume(int count) => _start += count;

    /// <summary>Moves unconsumed bytes to the front so the buffer does not grow with the file.</summary>
    public void Compact()
    {
        if (_start == 0) return;
        Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
        _end -= _start;
        _start = 0;
    }

    public void Advance(int count)
    {
        _end += count;
        if (_end - _frameBase > maxFrameBytes)
            throw new TraceLimitException($"its decompressed content exceeds the {maxFrameBytes}-byte limit");
    }

    public Memory<byte> GetMemory(int sizeHint = 0) { Ensure(sizeHint); return _buffer.AsMemory(_end); }
    public Span<byte> GetSpan(int sizeHint = 0) { Ensure(sizeHint); return _buffer.AsSpan(_end); }

    void Ensure(int sizeHint)
    {
        sizeHint = Math.Max(sizeHint, 1);
        if (_buffer.Length - _end >= sizeHint) return;
        long needed = (long)_end + sizeHint;
        if (needed > Array.MaxLength) throw new TraceLimitException("decompressed data exceeds the largest buffer");
        long want = Math.Min(Math.Max((long)_buffer.Length * 2, needed), Array.MaxLength);
        Array.Resize(ref _buffer, (int)want);
    }
}
