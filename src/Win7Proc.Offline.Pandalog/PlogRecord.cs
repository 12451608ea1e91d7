using System.Runtime.CompilerServices;
using Google.Protobuf;
using Win7Proc.Offline.Pandalog.Schema;

namespace Win7Proc.Offline.Pandalog;

/// <summary>
/// One record of a pandalog, decoded only as far as its envelope: pc, instr, asid and which LogEntry fields it holds.
/// Walking a record's top-level fields costs tens of nanoseconds; materialising a <see cref="LogEntry"/> (strings,
/// nested messages) costs a few hundred, so readers that need a few kinds of entry (procstory, <c>dump --kind</c>)
/// test records first and <see cref="Parse"/> only the ones they keep.
/// <para>A record is a view of the reader's chunk buffer, which is reused: use it before the enumeration moves on to
/// the next chunk. Later use throws <see cref="InvalidOperationException"/> rather than read another chunk's
/// bytes. <see cref="Parse"/> returns an entry that owns its data.</para>
/// </summary>
public readonly struct PlogRecord
{
    readonly PlogChunkView _chunk;
    readonly int _offset;
    readonly int _length;
    /// <summary>Bit n set when top-level field n (1..127) occurs in the record; field numbers above 127 set bit 0.</summary>
    readonly ulong _fieldsLow, _fieldsHigh;

    public ulong Pc { get; }
    public ulong Instr { get; }
    /// <summary>The asid field (asidstory's), 0 when absent; see <see cref="HasAsid"/>.</summary>
    public ulong Asid { get; }
    public bool HasAsid { get; }
    /// <summary>Position of the record in its chunk (0-based), as error messages count entries.</summary>
    public int IndexInChunk { get; }
    /// <summary>The chunk the record lies in; -1 for <c>default(PlogRecord)</c>.</summary>
    public int ChunkIndex => _chunk?.Index ?? -1;
    /// <summary>Length of the serialised LogEntry, without the u32 length prefix.</summary>
    public int Length => _length;

    internal PlogRecord(PlogChunkView chunk, int offset, int length, int indexInChunk, in PlogEnvelope envelope)
    {
        _chunk = chunk; _offset = offset; _length = length; IndexInChunk = indexInChunk;
        Pc = envelope.Pc; Instr = envelope.Instr; Asid = envelope.Asid; HasAsid = envelope.HasAsid;
        _fieldsLow = envelope.FieldsLow; _fieldsHigh = envelope.FieldsHigh;
    }

    /// <summary>The serialised LogEntry (without its length prefix).</summary>
    /// <exception cref="InvalidOperationException">the reader has moved on to another chunk</exception>
    public ReadOnlySpan<byte> Bytes
    {
        get
        {
            if (_chunk is null) throw new InvalidOperationException("default(PlogRecord) is no record of any plog");
            _chunk.ThrowIfReleased();
            return new ReadOnlySpan<byte>(_chunk.Data, _offset, _length);
        }
    }

    /// <summary>True when the record holds a top-level field with this number (any wire type). False means the parsed
    /// entry surely lacks the field; true means it has it unless the field was written with the wrong wire type
    /// (which the protobuf parser keeps as an unknown field).</summary>
    public bool MayHave(int fieldNumber) => fieldNumber switch
    {
        <= 0 => false,
        < 64 => (_fieldsLow & (1UL << fieldNumber)) != 0,
        < 128 => (_fieldsHigh & (1UL << (fieldNumber - 64))) != 0,
        _ => (_fieldsLow & 1) != 0,
    };

    /// <summary>True when the record may hold any of these top-level fields (see <see cref="MayHave"/>).</summary>
    public bool MayHaveAny(ReadOnlySpan<int> fieldNumbers)
    {
        foreach (var n in fieldNumbers)
            if (MayHave(n)) return true;
        return false;
    }

    /// <summary>PANDA's leading placeholder: pc = instr = UINT64_MAX and nothing else.</summary>
    public bool IsPlaceholder =>
        Pc == PandalogFormat.AfterReplayEnd && Instr == PandalogFormat.AfterReplayEnd && _fieldsLow == 0b110 && _fieldsHigh == 0 && _length == 22;

    /// <summary>The whole entry, with every proto2 <c>required</c> field checked (as PANDA's C++ reader does).</summary>
    /// <exception cref="PandalogFormatException">the record is not a valid LogEntry</exception>
    /// <exception cref="InvalidOperationException">the reader has moved on to another chunk</exception>
    public LogEntry Parse()
    {
        LogEntry entry;
        try { entry = LogEntry.Parser.ParseFrom(Bytes); }
        catch (InvalidProtocolBufferException e)
        {
            throw new PandalogFormatException($"{Where()} is not a valid LogEntry: {e.Message}", e);
        }
        // Google.Protobuf's C# parser does not enforce proto2 `required`; PANDA's C++ reader does.
        if (!RequiredFields.AreSet(entry))
            throw new PandalogFormatException($"{Where()} is not a valid LogEntry: required field {RequiredFields.FirstMissing(entry)} is missing");
        return entry;
    }

    string Where() => _chunk.DescribeEntry(IndexInChunk);
}

/// <summary>Inflated records of one chunk as records see them (the whole chunk, or one piece of it: see
/// <see cref="PandalogReader.ChunkPieces"/>), in a buffer the reader reuses once it moves on.
/// <paramref name="expectedEntries"/> is the directory's count, checked at the chunk's end
/// (<paramref name="endsChunk"/>); <paramref name="firstEntryIndex"/> numbers the piece's first record within its
/// chunk; <paramref name="failure"/>, when set, is thrown once the piece's records are walked.</summary>
internal sealed class PlogChunkView(string source, int index, long fileOffset, byte[] data, int length, ulong? expectedEntries,
    int firstEntryIndex = 0, bool endsChunk = true, string? failure = null)
{
    public string Source { get; } = source;
    public int Index { get; } = index;
    public long FileOffset { get; } = fileOffset;
    public byte[] Data { get; } = data;
    public int Length { get; } = length;
    public ulong? ExpectedEntries { get; } = expectedEntries;
    public int FirstEntryIndex { get; } = firstEntryIndex;
    public bool EndsChunk { get; } = endsChunk;
    public string? Failure { get; } = failure;
    bool _released;

    /// <summary>Called before the buffer is refilled: records of this chunk stop working.</summary>
    public void Release() => _released = true;

    public void ThrowIfReleased()
    {
        if (_released) Throw(Index);

        [MethodImpl(MethodImplOptions.NoInlining)]
        static void Throw(int index) => throw new InvalidOperationException(
            $"a record of chunk {index} was used after the reader moved on to another chunk: parse the records you keep while enumerating");
    }

    public string DescribeEntry(long indexInChunk) => $"{Source}: entry {indexInChunk} of chunk {Index} (offset {FileOffset})";

    /// <summary>The chunk's records (a sequence of one chunk).</summary>
    public PlogRecordSequence Records() => new(() => [this]);

    /// <summary>Decodes the u32-framed record at <paramref name="offset"/> and moves past it.</summary>
    public PlogRecord Next(ref int offset, int index)
    {
        int left = Length - offset;
        if (left < 4)
            throw new PandalogFormatException($"{DescribeEntry(index)} truncated: {left} bytes left, its length prefix needs 4");
        uint size = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(Data.AsSpan(offset));
        if (size > (uint)(left - 4))
            throw new PandalogFormatException($"{DescribeEntry(index)} truncated: needs {size} bytes, {left - 4} left");
        int start = offset + 4;
        if (!PlogEnvelope.TryDecode(new ReadOnlySpan<byte>(Data, start, (int)size), out var envelope, out var error))
            throw new PandalogFormatException($"{DescribeEntry(index)} is not a valid LogEntry: {error}");
        offset = start + (int)size;
        return new PlogRecord(this, start, (int)size, index, envelope);
    }

    /// <summary>Checks the directory's entry count once the chunk's records are all walked: a mismatch means a chunk
    /// cut short at a record boundary.</summary>
    public void CheckCount(ulong walked)
    {
        if (ExpectedEntries is { } want && want != walked)
            throw new PandalogFormatException($"{Source}: chunk {Index} (offset {FileOffset}) holds {walked} entries but the directory says {want}");
    }
}

/// <summary>The records of a plog, in file order (<see cref="PandalogReader.ReadRecords"/>). <c>foreach</c> binds to
/// the concrete <see cref="Enumerator"/>, so the per-record calls are direct: a record costs tens of nanoseconds to
/// decode, and interface dispatch would add half as much again.</summary>
public sealed class PlogRecordSequence : IEnumerable<PlogRecord>
{
    readonly Func<IEnumerable<PlogChunkView>> _chunks;

    internal PlogRecordSequence(Func<IEnumerable<PlogChunkView>> chunks) => _chunks = chunks;

    public Enumerator GetEnumerator() => new(_chunks().GetEnumerator());
    IEnumerator<PlogRecord> IEnumerable<PlogRecord>.GetEnumerator() => GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public sealed class Enumerator : IEnumerator<PlogRecord>
    {
        readonly IEnumerator<PlogChunkView> _chunks;
        PlogChunkView? _chunk;
        int _offset;
        int _index;
        PlogRecord _current;

        internal Enumerator(IEnumerator<PlogChunkView> chunks) => _chunks = chunks;

        public PlogRecord Current => _current;
        object System.Collections.IEnumerator.Current => _current;

        public bool MoveNext()
        {
            var chunk = _chunk;
            if (chunk is not null && _offset < chunk.Length)
            {
                _current = chunk.Next(ref _offset, _index++);
                return true;
            }
            return MoveToNextChunk();
        }

        bool MoveToNextChunk()
        {
            while (true)
            {
                if (_chunk is { } chunk)
                {
                    if (_offset < chunk.Length)
                    {
                        _current = chunk.Next(ref _offset, _index++);
                        return true;
                    }
                    if (chunk.Failure is { } failure) throw new PandalogFormatException(failure);
                    if (chunk.EndsChunk) chunk.CheckCount((ulong)_index);
                    _chunk = null;
                }
                if (!_chunks.MoveNext()) return false;
                _chunk = _chunks.Current;
                _offset = 0;
                _index = _chunk.FirstEntryIndex;
            }
        }

        public void Reset() => throw new NotSupportedException();
        public void Dispose() => _chunks.Dispose();
    }
}

/// <summary>
/// The top level of a serialised LogEntry, walked without materialising it: pc (1), instr (2), asid (3) and which
/// field numbers occur. Wire format per https://protobuf.dev/programming-guides/encoding/ ; a repeated scalar
/// field keeps its last value, as protobuf parsers do. Every length is bounded by the record.
/// </summary>
internal struct PlogEnvelope
{
    public ulong Pc, Instr, Asid;
    public bool HasPc, HasInstr, HasAsid;
    public ulong FieldsLow, FieldsHigh;

    /// <summary>Records that field <paramref name="field"/> occurs (the bit layout <see cref="PlogRecord.MayHave"/> reads).</summary>
    void Mark(ulong field)
    {
        if (field < 64) FieldsLow |= 1UL << (int)field;
        else if (field < 128) FieldsHigh |= 1UL << (int)(field - 64);
        else FieldsLow |= 1;
    }

    const int WireVarint = 0, WireFixed64 = 1, WireLengthDelimited = 2, WireStartGroup = 3, WireEndGroup = 4, WireFixed32 = 5;

    /// <summary>Decodes the envelope; on failure <paramref name="error"/> says what is wrong and at which byte.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> message, out PlogEnvelope envelope, out string? error)
    {
        var problem = Walk(message, out envelope, out int at, out ulong field);
        error = problem switch
        {
            Problem.None => null,
            Problem.Group => null,
            _ => Describe(problem, at, field, message.Length),
        };
        return problem switch
        {
            Problem.None => true,
            // Deprecated groups never occur in a pandalog; the full parser knows how to skip them.
            Problem.Group => TryDecodeWithParser(message, out envelope, out error),
            _ => false,
        };
    }

    enum Problem { None, BadTag, BadFieldNumber, TruncatedVarint, TruncatedFixed, LengthPastEnd, BadWireType, Group, NoPc, NoInstr }

    /// <summary>The hot loop: no strings, no allocation; errors are described by <see cref="Describe"/>. (Measured:
    /// inline fast paths for short varints and word-at-a-time skipping made it slower, not faster.)</summary>
    static Problem Walk(ReadOnlySpan<byte> message, out PlogEnvelope envelope, out int at, out ulong field)
    {
        envelope = default;
        field = 0;
        at = 0;
        int p = 0;
        while (p < message.Length)
        {
            at = p;
            if (!TryReadVarint(message, ref p, out ulong tag)) return Problem.BadTag;
            field = tag >> 3;
            if (field == 0 || field > MaxFieldNumber) return Problem.BadFieldNumber;
            switch ((int)tag & 7)
            {
                case WireVarint:
                    if (!TryReadVarint(message, ref p, out ulong value)) return Problem.TruncatedVarint;
                    if (field == 1) { envelope.Pc = value; envelope.HasPc = true; }
                    else if (field == 2) { envelope.Instr = value; envelope.HasInstr = true; }
                    else if (field == 3) { envelope.Asid = value; envelope.HasAsid = true; }
                    break;
                case WireFixed64:
                    if (message.Length - p < 8) return Problem.TruncatedFixed;
                    p += 8;
                    break;
                case WireFixed32:
                    if (message.Length - p < 4) return Problem.TruncatedFixed;
                    p += 4;
                    break;
                case WireLengthDelimited:
                    if (!TryReadVarint(message, ref p, out ulong length)) return Problem.TruncatedVarint;
                    if (length > (ulong)(message.Length - p)) return Problem.LengthPastEnd;
                    p += (int)length;
                    break;
                case WireStartGroup or WireEndGroup:
                    return Problem.Group;
                default:
                    return Problem.BadWireType;
            }
            envelope.Mark(field);
        }
        at = message.Length;
        if (!envelope.HasPc) return Problem.NoPc;
        if (!envelope.HasInstr) return Problem.NoInstr;
        return Problem.None;
    }

    static string Describe(Problem problem, int at, ulong field, int length) => problem switch
    {
        Problem.BadTag => $"truncated or overlong tag at byte {at}",
        Problem.BadFieldNumber => $"invalid field number {field} at byte {at}",
        Problem.TruncatedVarint => $"field {field} at byte {at}: truncated or overlong varint",
        Problem.TruncatedFixed => $"field {field} at byte {at}: truncated fixed-size value",
        Problem.LengthPastEnd => $"field {field} at byte {at}: its length runs past the entry's end ({length} bytes)",
        Problem.BadWireType => $"field {field} at byte {at}: invalid wire type",
        Problem.NoPc => "required field pc is missing",
        Problem.NoInstr => "required field instr is missing",
        _ => problem.ToString(),
    };

    /// <summary>Largest protobuf field number (2^29 - 1).</summary>
    const ulong MaxFieldNumber = 536_870_911;

    static bool TryReadVarint(ReadOnlySpan<byte> data, ref int p, out ulong value)
    {
        value = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            if ((uint)p >= (uint)data.Length) return false;
            byte b = data[p++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80) return true;
        }
        return false; // more than 10 bytes
    }

    static bool TryDecodeWithParser(ReadOnlySpan<byte> message, out PlogEnvelope envelope, out string? error)
    {
        envelope = default;
        error = null;
        LogEntry entry;
        try { entry = LogEntry.Parser.ParseFrom(message); }
        catch (InvalidProtocolBufferException e) { error = e.Message; return false; }
        if (!entry.HasPc) { error = "required field pc is missing"; return false; }
        if (!entry.HasInstr) { error = "required field instr is missing"; return false; }
        envelope.Pc = entry.Pc; envelope.HasPc = true;
        envelope.Instr = entry.Instr; envelope.HasInstr = true;
        envelope.Asid = entry.Asid; envelope.HasAsid = entry.HasAsid;
        foreach (var f in LogEntry.Descriptor.Fields.InFieldNumberOrder())
        {
            if (f.Accessor.HasValue(entry)) envelope.Mark((ulong)f.FieldNumber);
        }
        envelope.FieldsLow |= 1; // unknown fields may be anywhere: MayHave answers true for any number above 127
        return true;
    }
}
