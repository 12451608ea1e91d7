using System.Buffers.Binary;
using System.Globalization;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Text;

namespace Win7Proc.Offline.Trace;

/// <summary>
/// Streams the records of a trace (tracefmt/FORMAT.md) without loading the file: one LZ4 frame is decoded at a time.
/// <see cref="Open(string, TraceReaderOptions?)"/> reads the HEADER eagerly; <see cref="Records"/> then yields every
/// record in order, the header first (index 0) and END last. A file that ends early (crashed or running recording)
/// is not an error: enumeration stops after the last complete record and <see cref="Truncation"/> says where and why.
/// </summary>
public sealed class TraceReader : IDisposable
{
    public const ushort SupportedMajor = 2;
    public const uint HeaderMagic = 0x52543757; // "W7TR"
    public const int PageSize = 4096;
    /// <summary>Range of the header's <c>dedup_window</c> setting (FORMAT.md §3).</summary>
    public const uint MinDedupWindow = 1, MaxDedupWindow = 262144;
    /// <summary>Range of the header's kernel_base: page-aligned, 2 GiB (default) .. 3 GiB (/3GB boot).</summary>
    public const uint MinKernelBase = 0x80000000, MaxKernelBase = 0xC0000000;

    const int RecordHeaderBytes = 8;
    const int SyscallFixedBytes = 60, SwitchFixedBytes = 24, EndFixedBytes = 83, PageBodyBytes = 12 + PageSize;
    const int HeaderFixedBytes = 26, PageRefBytes = 12;

    readonly Stream _stream;
    readonly bool _ownsStream;
    readonly string _displayName;
    readonly TraceReaderOptions _options;
    readonly Lz4FrameSource _frames;
    readonly RecordBuffer _buffer;
    Lz4FrameSource.Outcome _lastOutcome = Lz4FrameSource.Outcome.Frame;
    long _recordIndex, _streamOffset;
    uint _newestContent, _window = MaxDedupWindow; // window rule state (FORMAT.md §4); the header sets _window
    bool _enumerated, _sawEnd;

    public TraceHeader Header { get; }
    /// <summary>Content id of the newest PAGE record read so far (0 before the first).</summary>
    public uint NewestContentId => _newestContent;
    /// <summary>Set once enumeration has ended early; null for a complete trace (or while enumerating).</summary>
    public TraceTruncation? Truncation { get; private set; }
    /// <summary>The END record, once read.</summary>
    public TraceEnd? End { get; private set; }
    public string DisplayName => _displayName;
    /// <summary>Compressed bytes consumed so far (for progress).</summary>
    public long BytesRead => _frames.FileOffset;
    /// <summary>Compressed file length now, or -1 when the stream cannot tell.</summary>
    public long Length => _stream.CanSeek ? _stream.Length : -1;
    /// <summary>Complete LZ4 frames decoded so far.</summary>
    public int FramesRead => _frames.FramesDecoded;
    /// <summary>Records delivered so far, header included.</summary>
    public long RecordCount => _recordIndex;

    TraceReader(Stream stream, bool ownsStream, string displayName, TraceReaderOptions? options)
    {
        _stream = stream;
        _ownsStream = ownsStream;
        _displayName = displayName;
        _options = options ?? TraceReaderOptions.Default;
        _frames = new Lz4FrameSource(stream, displayName, _options);
        _buffer = new RecordBuffer(_options.MaxDecodedFrameBytes);
        try
        {
            Header = ReadHeader();
        }
        catch
        {
            _frames.Dispose();
            if (ownsStream) stream.Dispose();
            throw;
        }
    }

    /// <summary>Opens a trace file. Missing/unreadable files throw the usual IO exceptions; invalid content throws
    /// <see cref="TraceFormatException"/>.</summary>
    public static TraceReader Open(string path, TraceReaderOptions? options = null)
    {
        // ReadWrite sharing: the recorder may still be writing the file (follow mode, or a peek at a running recording).
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete,
            bufferSize: 1 << 16, FileOptions.SequentialScan);
        return new TraceReader(stream, ownsStream: true, path, options);
    }

    /// <summary>Reads a trace from a stream (left open unless <paramref name="leaveOpen"/> is false).</summary>
    public static TraceReader Open(Stream stream, string displayName, TraceReaderOptions? options = null, bool leaveOpen = true) =>
        new(stream, ownsStream: !leaveOpen, displayName, options);

    /// <summary>Follows a file still being written: at end of file without END it waits <paramref name="pollInterval"/>
    /// and reads again, until END arrives or <paramref name="cancellationToken"/> is cancelled (then enumeration ends
    /// cleanly with a <see cref="TruncationKind.Cancelled"/> truncation). Also waits for the header.</summary>
    public static TraceReader Follow(string path, TimeSpan pollInterval, CancellationToken cancellationToken, TraceReaderOptions? options = null) =>
        Open(path, (options ?? TraceReaderOptions.Default) with
        {
            Follow = true, PollInterval = pollInterval, CancellationToken = cancellationToken,
        });

    public void Dispose()
    {
        _frames.Dispose(); // stops the decode-ahead thread before its stream goes
        if (_ownsStream) _stream.Dispose();
    }

    /// <summary>Every record in order, the header first. Single pass: a second call throws.</summary>
    public IEnumerable<TraceRecord> Records()
    {
        if (_enumerated) throw new InvalidOperationException("TraceReader.Records() can be enumerated only once.");
        _enumerated = true;
        return Enumerate();
    }

    IEnumerable<TraceRecord> Enumerate()
    {
        yield return Header;
        while (!(_sawEnd && _options.Follow))
        {
            var record = Next();
            if (record is null) yield break;
            yield return record;
        }
    }

    TraceHeader ReadHeader()
    {
        if (Next() is TraceHeader header) return header;
        if (_lastOutcome == Lz4FrameSource.Outcome.Cancelled)
            throw new OperationCanceledException($"{_displayName}: cancelled while waiting for the HEADER record", _options.CancellationToken);
        var why = _frames.FileOffset == 0
            ? "the file is empty (no HEADER record)"
            : "the file ends before the HEADER record is complete";
        throw new TraceFormatException($"{_displayName}: not a usable trace: {why}");
    }

    /// <summary>The next complete record, or null at the end (then <see cref="Truncation"/> is set if it was early).</summary>
    TraceRecord? Next()
    {
        if (!Ensure(RecordHeaderBytes)) return Stop();
        var head = _buffer.Data;
        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(head);
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(head[4..]);
        if (length > (uint)(_options.MaxRecordBytes - RecordHeaderBytes))
            throw Limit(type, $"record length {length} exceeds the {_options.MaxRecordBytes}-byte limit");
        int total = RecordHeaderBytes + (int)length;
        if (!Ensure(total)) return Stop();

        var body = _buffer.Data.Slice(RecordHeaderBytes, (int)length);
        if (_recordIndex == 0 && type != 1)
            throw Bad(type, "the first record is not a HEADER (is this a trace?)");
        TraceRecord record = type switch
        {
            1 when _recordIndex == 0 => ParseHeader(body),
            1 => throw Bad(type, "a second HEADER record"),
            2 => ParsePage(body),
            3 => ParseSyscall(body),
            4 => ParseSwitch(body),
            5 => ParseEnd(body),
            _ => new UnknownRecord(type, (int)length) { Index = _recordIndex },
        };
        _buffer.Consume(total);
        _recordIndex++;
        _streamOffset += total;
        if (record is TraceEnd end) { _sawEnd = true; End = end; }
        return record;
    }

    /// <summary>Makes <paramref name="count"/> bytes of the record stream available, decoding frames as needed.</summary>
    bool Ensure(int count)
    {
        while (_buffer.Available < count)
        {
            if (_lastOutcome != Lz4FrameSource.Outcome.Frame) return false;
            _lastOutcome = _frames.DecodeNext(_buffer);
        }
        return true;
    }

    TraceRecord? Stop()
    {
        Truncation = _lastOutcome switch
        {
            Lz4FrameSource.Outcome.PartialFrame => new TraceTruncation(TruncationKind.PartialFrame, _recordIndex,
                _frames.FrameStart, _streamOffset,
                $"{_displayName}: truncated: the file ends inside the LZ4 frame at file offset {_frames.FrameStart} " +
                $"({_frames.FileOffset - _frames.FrameStart} bytes of it present); kept {_recordIndex} complete records"),
            Lz4FrameSource.Outcome.Cancelled => new TraceTruncation(TruncationKind.Cancelled, _recordIndex,
                _frames.FileOffset, _streamOffset,
                $"{_displayName}: stopped following at file offset {_frames.FileOffset} before END; kept {_recordIndex} complete records"),
            _ when _buffer.Available > 0 => new TraceTruncation(TruncationKind.PartialRecord, _recordIndex,
                _frames.FileOffset, _streamOffset,
                $"{_displayName}: truncated: record {_recordIndex} at stream offset {_streamOffset} is incomplete " +
                $"({_buffer.Available} bytes present); kept {_recordIndex} complete records"),
            _ when !_sawEnd => new TraceTruncation(TruncationKind.MissingEnd, _recordIndex, _frames.FileOffset,
                _streamOffset, $"{_displayName}: truncated: no END record after {_recordIndex} records (the recording did not finish)"),
            _ => null,
        };
        return null;
    }

    // ---- record bodies ------------------------------------------------------------------------------------------

    TraceHeader ParseHeader(ReadOnlySpan<byte> body)
    {
        var r = new BodyReader(body, this, 1, HeaderFixedBytes);
        uint magic = r.U32();
        if (magic != HeaderMagic)
            throw Bad(1, $"bad HEADER magic 0x{magic:x8} (expected 0x{HeaderMagic:x8}, \"W7TR\")");
        ushort major = r.U16(), minor = r.U16();
        if (major < SupportedMajor)
            throw new TraceVersionException(
                $"{_displayName}: trace format {major}.{minor} is no longer read (this reader needs {SupportedMajor}.x): " +
                "re-record it with win7rec 0.2 or later");
        if (major != SupportedMajor)
            throw new TraceVersionException(
                $"{_displayName}: trace format version {major}.{minor} is not supported (this reader reads major version {SupportedMajor})");
        uint pageSize = r.U32();
        if (pageSize != PageSize) throw Bad(1, $"page size {pageSize} is not supported (only {PageSize})");
        uint kernelBase = r.U32();
        if (kernelBase % PageSize != 0 || kernelBase < MinKernelBase || kernelBase > MaxKernelBase)
            throw Bad(1, $"kernel_base 0x{kernelBase:x8} is not a page-aligned address in 0x{MinKernelBase:x8}..0x{MaxKernelBase:x8}");
        string profile = r.Str(), recorderName = r.Str(), recorderVersion = r.Str(), replayName = r.Str();
        int n = r.U16();
        if (n > _options.MaxSettings) throw Bad(1, $"{n} settings exceed the limit of {_options.MaxSettings}");
        var settings = new KeyValuePair<string, string>[n];
        for (int i = 0; i < n; i++)
        {
            var key = r.Str();
            settings[i] = new(key, r.Str());
        }
        string? window = null, returns = null;
        foreach (var (key, value) in settings)
        {
            if (key == "dedup_window") window = value;
            else if (key == "returns") returns = value;
        }
        if (window is null) throw Bad(1, "the required setting dedup_window is missing");
        if (!uint.TryParse(window, NumberStyles.None, CultureInfo.InvariantCulture, out var dedupWindow) ||
            dedupWindow < MinDedupWindow || dedupWindow > MaxDedupWindow)
            throw Bad(1, $"dedup_window \"{window}\" is not a decimal number in {MinDedupWindow}..{MaxDedupWindow}");
        _window = dedupWindow;
        return new TraceHeader(major, minor, pageSize, kernelBase, profile, recorderName, recorderVersion, replayName, settings)
            { Index = _recordIndex, DedupWindow = dedupWindow, Returns = returns };
    }

    PageRecord ParsePage(ReadOnlySpan<byte> body)
    {
        var r = new BodyReader(body, this, 2, PageBodyBytes);
        uint id = r.U32();
        if (id == 0) throw Bad(2, "PAGE with content id 0 (0 means unreadable and is never a content id)");
        if (id != _newestContent + 1)
            throw Bad(2, $"PAGE content id {id} does not follow the previous one ({_newestContent}): ids go 1, 2, 3, ...");
        ulong hash = r.U64();
        var data = r.Bytes(PageSize);
        if (_options.VerifyPageHashes && PageHash(data) is var actual && actual != hash)
            throw Bad(2, $"PAGE {id}: XXH3-64 hash 0x{actual:x16} of the data does not match the recorded 0x{hash:x16}");
        _newestContent = id;
        // Borrowed: the bytes stay in the decoded frame (no 4 KiB copy per page) until the next record is read.
        var bytes = _options.BorrowPageData ? _buffer.Borrow(RecordHeaderBytes + 12, PageSize) : data.ToArray();
        return new PageRecord(id, hash, bytes) { Index = _recordIndex };
    }

    SyscallRecord ParseSyscall(ReadOnlySpan<byte> body)
    {
        var r = new BodyReader(body, this, 3, SyscallFixedBytes);
        ulong instr = r.U64();
        uint pc = r.U32(), cr3 = r.U32(), thread = r.U32();
        byte phase = r.U8(), capture = r.U8();
        int nargs = r.U16();
        if (phase > 1) throw Bad(3, $"phase {phase} is neither 0 (enter) nor 1 (return)");
        if (nargs > _options.MaxArgs) throw Bad(3, $"nargs {nargs} exceeds the maximum of {_options.MaxArgs}");
        uint callNo = r.U32(), eax = r.U32(), edx = r.U32(), esp = r.U32(), fsBase = r.U32(), gdtBase = r.U32();
        ulong enterInstr = r.U64();
        var args = nargs == 0 ? [] : new uint[nargs];
        var argBytes = r.Bytes(4 * nargs, "nargs");
        for (int i = 0; i < nargs; i++) args[i] = BinaryPrimitives.ReadUInt32LittleEndian(argBytes[(4 * i)..]);
        var pages = ReadPageMap(ref r, instr);
        return new SyscallRecord(instr, pc, cr3, thread, (SyscallPhase)phase, capture, callNo, eax, edx, esp,
            fsBase, gdtBase, enterInstr, args, pages) { Index = _recordIndex };
    }

    ContextSwitchRecord ParseSwitch(ReadOnlySpan<byte> body)
    {
        var r = new BodyReader(body, this, 4, SwitchFixedBytes);
        ulong instr = r.U64();
        uint oldCr3 = r.U32(), newCr3 = r.U32(), thread = r.U32();
        return new ContextSwitchRecord(instr, oldCr3, newCr3, thread, ReadPageMap(ref r, instr)) { Index = _recordIndex };
    }

    PageRef[] ReadPageMap(ref BodyReader r, ulong instr)
    {
        uint n = r.U32();
        if (n > (uint)_options.MaxPagesPerRecord)
            throw Limit(r.Type, $"npages {n} exceeds the limit of {_options.MaxPagesPerRecord}");
        if (n == 0) return [];
        var bytes = r.Bytes((int)n * PageRefBytes, "npages");
        var pages = new PageRef[n];
        for (int i = 0; i < pages.Length; i++)
        {
            var e = bytes.Slice(i * PageRefBytes, PageRefBytes);
            uint content = BinaryPrimitives.ReadUInt32LittleEndian(e[8..]);
            // Window rule (FORMAT.md §4): 0 (unreadable) or a content among the newest `dedup_window` ones.
            if (content != 0 && (content > _newestContent || _newestContent - content >= _window))
                throw new TraceFormatException(
                    $"{_displayName}: damaged trace: record #{_recordIndex} ({TypeName(r.Type)} at instr {instr}): page content {content} " +
                    $"is outside the window (newest {_newestContent}, window {_window})");
            pages[i] = new PageRef(BinaryPrimitives.ReadUInt32LittleEndian(e),
                BinaryPrimitives.ReadUInt32LittleEndian(e[4..]), content);
        }
        return pages;
    }

    TraceEnd ParseEnd(ReadOnlySpan<byte> body)
    {
        var r = new BodyReader(body, this, 5, EndFixedBytes);
        ulong total = r.U64();
        byte totalKnown = r.U8();
        if (totalKnown > 1) throw Bad(5, $"total_known {totalKnown} is neither 0 nor 1");
        ulong syscalls = r.U64(), switches = r.U64(), pages = r.U64(), refs = r.U64(), unreadable = r.U64(),
            unmatched = r.U64(), inferred = r.U64(), byHook = r.U64(), pending = r.U64();
        return new TraceEnd(total, totalKnown == 1, syscalls, switches, pages, refs, unreadable, unmatched, inferred, byHook,
            pending, r.Str()) { Index = _recordIndex };
    }

    /// <summary>The PAGE record hash (FORMAT.md §4): XXH3-64 with seed 0.</summary>
    public static ulong PageHash(ReadOnlySpan<byte> data) => XxHash3.HashToUInt64(data);

    // ---- errors -------------------------------------------------------------------------------------------------

    internal static string TypeName(ushort type) => type switch
    {
        1 => "HEADER", 2 => "PAGE", 3 => "SYSCALL", 4 => "CONTEXT_SWITCH", 5 => "END", _ => $"type {type}",
    };

    internal TraceFormatException Bad(ushort type, string what) =>
        new($"{_displayName}: damaged trace: record {_recordIndex} ({TypeName(type)}) at stream offset {_streamOffset}: {what}");

    TraceLimitException Limit(ushort type, string what) =>
        new($"{_displayName}: record {_recordIndex} ({TypeName(type)}) at stream offset {_streamOffset}: {what}");

    internal string DecodeString(ReadOnlySpan<byte> utf8, ushort type)
    {
        if (utf8.Length > _options.MaxStringBytes)
            throw Bad(type, $"string of {utf8.Length} bytes exceeds the limit of {_options.MaxStringBytes}");
        return Encoding.UTF8.GetString(utf8);
    }

    /// <summary>Little-endian reader over one record body. The fixed part is checked once up front; variable
    /// parts (strings, arrays) are checked where they are read. Every failure names the record.</summary>
    ref struct BodyReader
    {
        readonly ReadOnlySpan<byte> _body;
        readonly TraceReader _owner;
        int _pos;
        public readonly ushort Type;

        public BodyReader(ReadOnlySpan<byte> body, TraceReader owner, ushort type, int fixedBytes)
        {
            _body = body;
            _owner = owner;
            Type = type;
            if (body.Length < fixedBytes)
                throw owner.Bad(type, $"body of {body.Length} bytes is shorter than its {fixedBytes} fixed bytes");
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        ReadOnlySpan<byte> Take(int count, string? what = null)
        {
            if ((uint)count > (uint)(_body.Length - _pos)) ThrowShort(count, what);
            var s = _body.Slice(_pos, count);
            _pos += count;
            return s;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        readonly void ThrowShort(int count, string? what) =>
            throw _owner.Bad(Type, what is null
                ? $"body of {_body.Length} bytes ends at offset {_pos} where {count} more bytes are needed"
                : $"{what} needs {count} bytes but only {_body.Length - _pos} remain in the {_body.Length}-byte body");

        public byte U8() => Take(1)[0];
        public ushort U16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));
        public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));
        public ulong U64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
        public ReadOnlySpan<byte> Bytes(int count, string? what = null) => Take(count, what);
        public string Str()
        {
            int n = U16();
            return _owner.DecodeString(Take(n, "string"), Type);
        }
    }
}
