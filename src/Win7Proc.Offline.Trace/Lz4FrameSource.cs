using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using K4os.Compression.LZ4;
using K4os.Hash.xxHash;

namespace Win7Proc.Offline.Trace;

/// <summary>
/// Splits the compressed file into whole LZ4 frames (walking the frame and block headers of the LZ4 frame format,
/// https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md) and decodes each complete frame, block by block with
/// K4os's block codec, into a <see cref="RecordBuffer"/>. Knowing frame boundaries ourselves is what lets the reader
/// tell a cut last frame (truncation) from a damaged file, retry a frame in follow mode, and say exactly what is wrong
/// with a damaged frame (which block, which checksum).
/// <para>With <see cref="TraceReaderOptions.DecodeAhead"/> (not in follow mode) a second thread reads and decodes the
/// following frames while the caller parses the current one: at most <see cref="AheadBytes"/> of decoded frames wait
/// (always at least one), handed over whole (no copy) in file order, with any error at the frame where it happened.
/// The outcome, offsets and errors are exactly those of the single-threaded path. Dispose stops the thread.</para>
/// </summary>
internal sealed class Lz4FrameSource : IDisposable
{
    const uint FrameMagic = 0x184D2204, LegacyMagic = 0x184C2102;
    const uint SkippableMagicMask = 0xFFFFFFF0, SkippableMagic = 0x184D2A50;
    /// <summary>Decoded bytes the decode-ahead thread may hold ready beyond the frame being parsed.</summary>
    public const int AheadBytes = 4 << 20;

    readonly Stream _stream;
    readonly string _displayName;
    readonly TraceReaderOptions _options;
    byte[] _frame = new byte[1 << 16];
    int _frameLength;
    bool _sawAnyFrame;
    readonly List<(int Offset, int Size, bool Stored)> _blocks = [];
    long _fileOffset, _frameStart;

    // Decode-ahead state (null when single-threaded).
    readonly DecodeAhead? _ahead;

    public Lz4FrameSource(Stream stream, string displayName, TraceReaderOptions options)
    {
        _stream = stream;
        _displayName = displayName;
        _options = options;
        if (options.DecodeAhead && !options.Follow) _ahead = new DecodeAhead(this);
    }

    public enum Outcome { Frame, EndOfFile, PartialFrame, Cancelled }

    /// <summary>Compressed bytes consumed so far (complete frames plus any partial tail read), as the caller sees it.</summary>
    public long FileOffset { get; private set; }
    /// <summary>File offset where the last frame (complete or partial) started, as the caller sees it.</summary>
    public long FrameStart { get; private set; }
    public int FramesDecoded { get; private set; }

    /// <summary>Reads the next complete frame and appends its decompressed content to <paramref name="target"/>.</summary>
    public Outcome DecodeNext(RecordBuffer target)
    {
        if (_ahead is not null) return _ahead.Next(target);
        var outcome = ReadFrame();
        if (outcome == Outcome.Frame)
        {
            target.BeginFrame();
            DecodeFrame(target);
            FramesDecoded++;
        }
        FileOffset = _fileOffset;
        FrameStart = _frameStart;
        return outcome;
    }

    public void Dispose() => _ahead?.Dispose();

    // ---- reading one frame (compressed) -------------------------------------------------------------------------

    Outcome ReadFrame()
    {
        while (true)
        {
            _frameStart = _fileOffset;
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
                    $"{_displayName}: the legacy LZ4 format (lz4 -l) at file offset {_frameStart} is not supported: traces use LZ4 frames");
            if (magic != FrameMagic)
                throw new TraceFormatException(_sawAnyFrame
                    ? $"{_displayName}: damaged trace: no LZ4 frame at file offset {_frameStart} (found 0x{magic:x8})"
                    : $"{_displayName}: not a trace: not an LZ4 file (starts with 0x{magic:x8}, expected an LZ4 frame 0x{FrameMagic:x8})");
            _sawAnyFrame = true;
            return ReadFrameBody();
        }
    }

    // Frame descriptor fields of the frame just read.
    bool _blockChecksum, _contentChecksum, _linkedBlocks;
    int _maxBlock;

    Outcome ReadFrameBody()
    {
        // Frame descriptor: FLG, BD, [content size u64], [dict id u32], HC.
        var r = ReadInto(2);
        if (r != ReadResult.Ok) return Map(r);
        byte flg = _frame[4], bd = _frame[5];
        if (flg >> 6 != 1 || (flg & 0x02) != 0)
            throw Bad($"unsupported LZ4 frame descriptor (FLG 0x{flg:x2})");
        _blockChecksum = (flg & 0x10) != 0;
        _linkedBlocks = (flg & 0x20) == 0;
        bool contentSize = (flg & 0x08) != 0;
        _contentChecksum = (flg & 0x04) != 0;
        bool dictId = (flg & 0x01) != 0;
        int blockSizeCode = (bd >> 4) & 7;
        if (blockSizeCode < 4 || (bd & 0x8F) != 0) throw Bad($"bad LZ4 block descriptor (BD 0x{bd:x2})");
        _maxBlock = 1 << (8 + 2 * blockSizeCode); // 4 → 64 KiB … 7 → 4 MiB
        if (dictId) throw Bad("LZ4 frames with a dictionary id are not used by trace writers");
        r = ReadInto((contentSize ? 8 : 0) + 1);
        if (r != ReadResult.Ok) return Map(r);
        // HC: second byte of XXH32 of the descriptor (FLG .. content size).
        byte expectedHc = (byte)(XXH32.DigestOf(_frame.AsSpan(4, _frameLength - 5)) >> 8);
        if (_frame[_frameLength - 1] != expectedHc)
            throw Bad($"the LZ4 frame descriptor's checksum 0x{_frame[_frameLength - 1]:x2} does not match 0x{expectedHc:x2}");

        _blocks.Clear();
        while (true)
        {
            r = ReadInto(4);
            if (r != ReadResult.Ok) return Map(r);
            uint blockWord = BinaryPrimitives.ReadUInt32LittleEndian(_frame.AsSpan(_frameLength - 4));
            if (blockWord == 0) break; // EndMark
            int size = (int)(blockWord & 0x7FFFFFFF);
            if (size > _maxBlock) throw Bad($"LZ4 block {_blocks.Count} of {size} bytes exceeds the frame's {_maxBlock}-byte block size");
            int offset = _frameLength;
            r = ReadInto(size + (_blockChecksum ? 4 : 0));
            if (r != ReadResult.Ok) return Map(r);
            _blocks.Add((offset, size, (blockWord & 0x80000000) != 0));
        }
        if (_contentChecksum)
        {
            r = ReadInto(4);
            if (r != ReadResult.Ok) return Map(r);
        }
        return Outcome.Frame;

        static Outcome Map(ReadResult r) => r == ReadResult.Cancelled ? Outcome.Cancelled : Outcome.PartialFrame;
    }

    // ---- decoding one frame ---------------------------------------------------------------------------------------

    /// <summary>Decodes the frame just read into <paramref name="target"/>, block by block, checking the block and
    /// content checksums the frame declares. Every failure names the block and says what is wrong.</summary>
    void DecodeFrame(RecordBuffer target)
    {
        int frameBase = target.WrittenEnd;
        for (int b = 0; b < _blocks.Count; b++)
        {
            var (offset, size, stored) = _blocks[b];
            var block = _frame.AsSpan(offset, size);
            if (_blockChecksum)
            {
                uint expected = BinaryPrimitives.ReadUInt32LittleEndian(_frame.AsSpan(offset + size, 4));
                if (XXH32.DigestOf(block) != expected)
                    throw Bad($"LZ4 block {b} (of {_blocks.Count}) fails its checksum: its bytes are damaged");
            }
            int written;
            if (stored)
            {
                block.CopyTo(target.Room(size));
                written = size;
            }
            else
            {
                // Linked blocks may refer to the previous 64 KiB of this frame's output, which precede the room.
                var dictionary = _linkedBlocks ? target.FrameTail(frameBase, 64 << 10) : default;
                // Decode into the room there is (a block is usually far below the frame's maximum block size); only a
                // block that does not fit gets the full maximum, so buffers stay near the frame size.
                written = Decode(block, target.Room(Math.Min(_maxBlock, Math.Max(size * 2, 64 << 10))), dictionary);
                if (written < 0)
                {
                    dictionary = _linkedBlocks ? target.FrameTail(frameBase, 64 << 10) : default;
                    written = Decode(block, target.Room(_maxBlock), dictionary);
                }
                if (written < 0 || written > _maxBlock)
                    throw Bad($"LZ4 block {b} (of {_blocks.Count}) does not decode: its compressed data is damaged");
            }
            target.Advance(written, this);
        }
        if (_contentChecksum)
        {
            uint expected = BinaryPrimitives.ReadUInt32LittleEndian(_frame.AsSpan(_frameLength - 4, 4));
            uint actual = XXH32.DigestOf(target.FrameTail(frameBase, int.MaxValue));
            if (actual != expected)
                throw Bad($"the LZ4 frame's content checksum 0x{actual:x8} does not match the recorded 0x{expected:x8}: its data is damaged");
        }
    }

    static int Decode(ReadOnlySpan<byte> block, Span<byte> output, ReadOnlySpan<byte> dictionary) =>
        dictionary.IsEmpty ? LZ4Codec.Decode(block, output) : LZ4Codec.Decode(block, output, dictionary);

    internal TraceFormatException Bad(string what, Exception? inner = null) =>
        new($"{_displayName}: damaged trace: {what} in the frame at file offset {_frameStart}", inner);

    internal TraceLimitException DecodedLimit(int limit) =>
        new($"{_displayName}: LZ4 frame at file offset {_frameStart}: its decompressed content exceeds the {limit}-byte limit");

    void CheckFrameSize(long needed)
    {
        if (needed > _options.MaxFrameBytes)
            throw new TraceLimitException(
                $"{_displayName}: LZ4 frame at file offset {_frameStart} is larger than the {_options.MaxFrameBytes}-byte limit");
    }

    enum ReadResult { Ok, Eof, Cancelled }

    /// <summary>Appends exactly <paramref name="count"/> bytes of the file to the frame buffer. In follow mode a short
    /// read waits for the writer and retries; otherwise it reports end of file (the bytes read so far stay counted).</summary>
    ReadResult ReadInto(int count)
    {
        long needed = (long)_frameLength + count;
        CheckFrameSize(needed);
        if (needed > _frame.Length)
            Array.Resize(ref _frame, (int)Math.Min(Math.Max(needed, (long)_frame.Length * 2), _options.MaxFrameBytes));
        while (count > 0)
        {
            int n = _stream.Read(_frame, _frameLength, count);
            if (n > 0)
            {
                _frameLength += n;
                _fileOffset += n;
                count -= n;
                continue;
            }
            if (!_options.Follow) return ReadResult.Eof;
            if (_options.CancellationToken.IsCancellationRequested) return ReadResult.Cancelled;
            if (_options.CancellationToken.WaitHandle.WaitOne(_options.PollInterval)) return ReadResult.Cancelled;
        }
        return ReadResult.Ok;
    }

    // ---- decode-ahead ----------------------------------------------------------------------------------------------

    /// <summary>One frame decoded ahead: its outcome, where the caller's offsets stand after it, its bytes (a buffer
    /// the caller adopts) or the error to raise at that point.</summary>
    sealed record Ahead(Outcome Outcome, long FileOffset, long FrameStart, RecordBuffer? Decoded, ExceptionDispatchInfo? Error);

    sealed class DecodeAhead : IDisposable
    {
        readonly Lz4FrameSource _source;
        readonly BlockingCollection<Ahead> _ready = new();
        readonly ConcurrentBag<RecordBuffer> _spare = new();
        readonly SemaphoreSlim _room = new(0);
        readonly CancellationTokenSource _stop = new();
        Thread? _thread;
        const int MaxSpare = 4;
        long _readyBytes;
        int _spareCount;
        bool _finished;

        public DecodeAhead(Lz4FrameSource source) => _source = source;

        public Outcome Next(RecordBuffer target)
        {
            if (_finished) return Outcome.EndOfFile;
            if (_thread is null)
            {
                _thread = new Thread(Produce) { IsBackground = true, Name = "trace-lz4-decode" };
                _thread.Start();
            }
            var item = _ready.Take();
            if (item.Decoded is { } decoded)
            {
                Interlocked.Add(ref _readyBytes, -decoded.Available);
                _room.Release();
            }
            _source.FileOffset = item.FileOffset;
            _source.FrameStart = item.FrameStart;
            if (item.Error is { } error)
            {
                _finished = true;
                error.Throw();
            }
            if (item.Outcome != Outcome.Frame)
            {
                _finished = true;
                return item.Outcome;
            }
            var old = target.Adopt(item.Decoded!);
            if (old is not null && Interlocked.Increment(ref _spareCount) <= MaxSpare) _spare.Add(old);
            else if (old is not null) Interlocked.Decrement(ref _spareCount);
            _source.FramesDecoded++;
            return Outcome.Frame;
        }

        void Produce()
        {
            var stop = _stop.Token;
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    Outcome outcome;
                    RecordBuffer? decoded = null;
                    try
                    {
                        outcome = _source.ReadFrame();
                        if (outcome == Outcome.Frame)
                        {
                            if (_spare.TryTake(out decoded)) Interlocked.Decrement(ref _spareCount);
                            else decoded = new RecordBuffer(_source._options.MaxDecodedFrameBytes);
                            decoded.Reset();
                            _source.DecodeFrame(decoded);
                        }
                    }
                    catch (Exception e) when (e is not OperationCanceledException || !stop.IsCancellationRequested)
                    {
                        _ready.Add(new Ahead(Outcome.Frame, _source._fileOffset, _source._frameStart, null, ExceptionDispatchInfo.Capture(e)));
                        return;
                    }
                    _ready.Add(new Ahead(outcome, _source._fileOffset, _source._frameStart, decoded, null));
                    if (outcome != Outcome.Frame) return;
                    // Wait while more than the budget is ready (at least one frame always waits ready).
                    if (Interlocked.Add(ref _readyBytes, decoded!.Available) > AheadBytes)
                        while (Interlocked.Read(ref _readyBytes) > AheadBytes && _ready.Count > 0) _room.Wait(stop);
                }
            }
            catch (OperationCanceledException) { }
            catch (ObjectDisposedException) { }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _thread?.Join();
            _stop.Dispose();
        }
    }
}

/// <summary>A growable byte buffer that LZ4 decodes into and records are parsed from (consumed from the front).</summary>
internal sealed class RecordBuffer(int maxFrameBytes)
{
    byte[] _buffer = new byte[1 << 16]; // grows to the largest frame seen (plus one block of room)
    int _start, _end, _frameBase;

    /// <summary>Compacts, then starts counting the decompressed bytes of one frame against the limit.</summary>
    public void BeginFrame()
    {
        Compact();
        _frameBase = _end;
    }

    /// <summary>Empties the buffer (kept allocated) for the next frame.</summary>
    public void Reset() => _start = _end = _frameBase = 0;

    public int Available => _end - _start;
    public int WrittenEnd => _end;
    public ReadOnlySpan<byte> Data => _buffer.AsSpan(_start, _end - _start);
    public void Consume(int count) => _start += count;

    /// <summary>Unconsumed bytes [offset, offset + length) as memory, valid until the buffer is next filled.</summary>
    public ReadOnlyMemory<byte> Borrow(int offset, int length) => _buffer.AsMemory(_start + offset, length);

    /// <summary>Moves unconsumed bytes to the front so the buffer does not grow with the file.</summary>
    public void Compact()
    {
        if (_start == 0) return;
        Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
        _end -= _start;
        _start = 0;
    }

    /// <summary>Takes over <paramref name="next"/>'s bytes after whatever is still unconsumed here (a record never
    /// spans frames in a valid trace, so normally nothing is and the arrays are just swapped). Returns the buffer now
    /// free for reuse, if any.</summary>
    public RecordBuffer? Adopt(RecordBuffer next)
    {
        if (Available == 0)
        {
            (_buffer, next._buffer) = (next._buffer, _buffer);
            (_start, _end) = (next._start, next._end);
            _frameBase = _start;
            next.Reset();
            return next;
        }
        Compact();
        _frameBase = _end;
        int n = next.Available;
        EnsureRoom(n);
        next.Data.CopyTo(_buffer.AsSpan(_end));
        _end += n;
        next.Reset();
        return next;
    }

    /// <summary>All the free room at the end, at least <paramref name="count"/> bytes (not yet counted: see
    /// <see cref="Advance"/>). May move the buffer: spans taken before are stale.</summary>
    public Span<byte> Room(int count)
    {
        EnsureRoom(count);
        return _buffer.AsSpan(_end);
    }

    public void Advance(int count, Lz4FrameSource source)
    {
        _end += count;
        if (_end - _frameBase > maxFrameBytes) throw source.DecodedLimit(maxFrameBytes);
    }

    /// <summary>The last (at most) <paramref name="maxBytes"/> bytes written since <paramref name="frameBase"/>.</summary>
    public ReadOnlySpan<byte> FrameTail(int frameBase, int maxBytes)
    {
        int length = Math.Min(_end - frameBase, maxBytes);
        return _buffer.AsSpan(_end - length, length);
    }

    void EnsureRoom(int count)
    {
        if (_buffer.Length - _end >= count) return;
        long needed = (long)_end + count;
        if (needed > Array.MaxLength) throw new TraceLimitException("decompressed data exceeds the largest buffer");
        long want = Math.Min(Math.Max((long)_buffer.Length * 2, needed), Array.MaxLength);
        Array.Resize(ref _buffer, (int)want);
    }
}
