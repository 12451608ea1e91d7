namespace Win7Proc.Offline.Pandalog;

/// <summary>
/// A small managed zlib (RFC 1950) / deflate (RFC 1951) decoder that, unlike <see cref="System.IO.Compression.ZLibStream"/>,
/// tells how many input bytes the stream used and whether it is complete. Needed to walk a plog that has no directory
/// yet (chunks back to back from offset 128). Code construction and validity checks as in zlib's contrib/puff (facts only), decoding by table lookup.
/// Slower than the native inflater, so the directory-based reader does not use it.
/// </summary>
internal sealed class ZlibStreamInflater
{
    public enum Outcome { Complete, NeedsMoreInput, Invalid }

    const int MaxBits = 15;
    static readonly ushort[] LengthBase = { 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258 };
    static readonly byte[] LengthExtra = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0 };
    static readonly ushort[] DistanceBase = { 1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577 };
    static readonly byte[] DistanceExtra = { 0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13 };
    static readonly byte[] CodeLengthOrder = { 16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15 };

    /// <summary>A canonical code: counts per length and symbols in code order (for <see cref="Construct"/>), and a
    /// lookup table indexed by the next <see cref="TableBits"/> input bits (deflate packs codes bit-reversed), each
    /// entry <c>symbol &lt;&lt; 4 | length</c>, 0 where no code matches.</summary>
    sealed class Huffman(int symbols)
    {
        public readonly short[] Count = new short[MaxBits + 1];
        public readonly short[] Symbol = new short[symbols];
        public int[] Table = Array.Empty<int>();
        public int TableBits;

        public void BuildTable(ReadOnlySpan<short> lengths)
        {
            int maxLength = 0;
            foreach (var l in lengths) maxLength = Math.Max(maxLength, l);
            TableBits = maxLength;
            if (Table.Length != 1 << maxLength) Table = new int[1 << maxLength];
            else Array.Clear(Table);
            Span<int> nextCode = stackalloc int[MaxBits + 2];
            int code = 0;
            for (int len = 1; len <= MaxBits; len++)
            {
                code = (code + (len == 1 ? 0 : Count[len - 1])) << 1;
                nextCode[len] = code;
            }
            for (int symbol = 0; symbol < lengths.Length; symbol++)
            {
                int len = lengths[symbol];
                if (len == 0) continue;
                int reversed = Reverse(nextCode[len]++, len);
                for (int i = reversed; i < Table.Length; i += 1 << len) Table[i] = symbol << 4 | len;
            }
        }

        static int Reverse(int code, int length)
        {
            int result = 0;
            for (int i = 0; i < length; i++) { result = result << 1 | (code & 1); code >>= 1; }
            return result;
        }
    }

    sealed class NeedMoreInput : Exception { }
    sealed class Malformed(string reason) : Exception(reason) { }

    readonly byte[] _input;
    readonly int _inputEnd;
    readonly int _maxOutput;
    int _position;
    ulong _bitBuffer;
    int _bitCount;
    byte[] _output;
    int _written;
    /// <summary>Measuring mode (<see cref="Measure"/>): the output is a ring of the last <see cref="RingBytes"/>
    /// inflated bytes (deflate refers back at most 32 KiB), Adler-32 is summed as bytes leave it, and
    /// <see cref="_total"/> counts everything inflated.</summary>
    readonly bool _ring;
    long _total, _adlerDone;
    uint _adlerA = 1, _adlerB;
    const int RingBytes = 1 << 16, RingMask = RingBytes - 1;

    ZlibStreamInflater(byte[] input, int start, int end, byte[] output, int maxOutput)
    {
        _input = input; _position = start; _inputEnd = end; _output = output; _maxOutput = maxOutput;
    }

    /// <summary>Checks the zlib stream starting at <paramref name="start"/> without keeping its output (memory stays
    /// at a 64 KiB ring however far it inflates): whether it is complete, valid (Adler-32 included), how many input
    /// bytes it takes (<paramref name="consumed"/>) and how many bytes it inflates to.</summary>
    public static Outcome Measure(byte[] input, int start, int end, out long inflated, out int consumed, out string? error)
    {
        var inflater = new ZlibStreamInflater(input, start, end, new byte[RingBytes], int.MaxValue, ring: true);
        inflated = consumed = 0;
        error = null;
        try
        {
            inflater.Run();
            inflated = inflater._total;
            consumed = inflater._position - (inflater._bitCount >> 3) - start;
            return Outcome.Complete;
        }
        catch (NeedMoreInput) { return Outcome.NeedsMoreInput; }
        catch (Malformed e) { error = e.Message; return Outcome.Invalid; }
    }

    ZlibStreamInflater(byte[] input, int start, int end, byte[] output, int maxOutput, bool ring) : this(input, start, end, output, maxOutput)
        => _ring = ring;

    /// <summary>Inflates the zlib stream starting at <paramref name="start"/>. On <see cref="Outcome.Complete"/>,
    /// <paramref name="consumed"/> counts header, deflate data and Adler-32 trailer (checked).</summary>
    public static Outcome Inflate(byte[] input, int start, int end, ref byte[] output, int maxOutput,
        out int written, out int consumed, out string? error)
    {
        var inflater = new ZlibStreamInflater(input, start, end, output, maxOutput);
        written = consumed = 0;
        error = null;
        try
        {
            inflater.Run();
            output = inflater._output;
            written = inflater._written;
            consumed = inflater._position - (inflater._bitCount >> 3) - start; // whole bytes still buffered were read ahead
            return Outcome.Complete;
        }
        catch (NeedMoreInput) { return Outcome.NeedsMoreInput; }
        catch (Malformed e) { error = e.Message; return Outcome.Invalid; }
    }

    void Run()
    {
        int cmf = Byte(), flg = Byte();
        if ((cmf & 0x0f) != 8 || (cmf >> 4) > 7 || (cmf * 256 + flg) % 31 != 0)
            throw new Malformed($"no zlib header (bytes {cmf:x2} {flg:x2})");
        if ((flg & 0x20) != 0) throw new Malformed("zlib preset dictionary is not supported");
        bool last;
        do
        {
            last = Bits(1) == 1;
            switch (Bits(2))
            {
                case 0: Stored(); break;
                case 1: Fixed(); break;
                case 2: Dynamic(); break;
                default: throw new Malformed("invalid deflate block type 3");
            }
        } while (!last);
        ByteAlign(); // the Adler-32 trailer starts on a byte boundary
        uint expected = (uint)(Bits(8) << 24 | Bits(8) << 16 | Bits(8) << 8 | Bits(8));
        uint actual = _ring ? RingAdler(final: true) : Adler32(_output.AsSpan(0, _written));
        if (expected != actual) throw new Malformed($"Adler-32 mismatch (stored {expected:x8}, computed {actual:x8})");
    }

    int Byte()
    {
        if (_position >= _inputEnd) throw new NeedMoreInput();
        return _input[_position++];
    }

    int Bits(int need)
    {
        while (_bitCount < need)
        {
            _bitBuffer |= (ulong)Byte() << _bitCount;
            _bitCount += 8;
        }
        int value = (int)(_bitBuffer & ((1UL << need) - 1));
        _bitBuffer >>= need;
        _bitCount -= need;
        return value;
    }

    void ByteAlign()
    {
        int drop = _bitCount & 7;
        _bitBuffer >>= drop;
        _bitCount -= drop;
    }

    /// <summary>Ring mode: folds the bytes inflated since the last call into Adler-32 (called at least every 32 KiB,
    /// before the ring overwrites them).</summary>
    uint RingAdler(bool final)
    {
        const uint Mod = 65521;
        while (_adlerDone < _total)
        {
            int n = (int)Math.Min(_total - _adlerDone, 5552);
            for (int i = 0; i < n; i++) { _adlerA += _output[(int)(_adlerDone + i) & RingMask]; _adlerB += _adlerA; }
            _adlerA %= Mod; _adlerB %= Mod;
            _adlerDone += n;
        }
        return final ? _adlerB << 16 | _adlerA : 0;
    }

    void RingPut(byte value)
    {
        _output[(int)_total & RingMask] = value;
        if (++_total - _adlerDone >= RingBytes / 2) RingAdler(final: false);
    }

    void Put(byte value)
    {
        if (_ring) { RingPut(value); return; }
        if (_written == _output.Length) Grow(1);
        _output[_written++] = value;
    }

    void Grow(int atLeast)
    {
        long wanted = Math.Max((long)_output.Length * 2, (long)_written + atLeast);
        if ((long)_written + atLeast > _maxOutput) throw new Malformed($"inflates to more than {_maxOutput} bytes");
        Array.Resize(ref _output, (int)Math.Min(Math.Max(wanted, 4096), _maxOutput));
    }

    void Stored()
    {
        ByteAlign();
        int length = Bits(16);
        int complement = Bits(16);
        if (length != (~complement & 0xffff)) throw new Malformed("stored block length does not match its complement");
        if (_ring)
        {
            while (length > 0 && _bitCount > 0) { RingPut((byte)Bits(8)); length--; }
            if (_inputEnd - _position < length) throw new NeedMoreInput();
            while (length-- > 0) RingPut(_input[_position++]);
            return;
        }
        if (_output.Length - _written < length) Grow(length);
        while (length > 0 && _bitCount > 0) { _output[_written++] = (byte)Bits(8); length--; } // bytes already buffered
        if (_inputEnd - _position < length) throw new NeedMoreInput();
        _input.AsSpan(_position, length).CopyTo(_output.AsSpan(_written));
        _position += length;
        _written += length;
    }

    int Decode(Huffman h)
    {
        while (_bitCount < h.TableBits && _position < _inputEnd)
        {
            _bitBuffer |= (ulong)_input[_position++] << _bitCount;
            _bitCount += 8;
        }
        int entry = h.Table[(int)(_bitBuffer & ((1UL << h.TableBits) - 1))];
        int length = entry & 15;
        if (length == 0 || length > _bitCount)
        {
            // Too few bits can only mean the input ended; otherwise the bits match no code.
            if (_bitCount < h.TableBits) throw new NeedMoreInput();
            throw new Malformed("invalid Huffman code");
        }
        _bitBuffer >>= length;
        _bitCount -= length;
        return entry >> 4;
    }

    /// <summary>Builds a canonical code; returns 0 if complete, &lt;0 if over-subscribed, &gt;0 if incomplete.</summary>
    static int Construct(Huffman h, ReadOnlySpan<short> lengths)
    {
        Array.Clear(h.Count);
        foreach (var l in lengths) h.Count[l]++;
        if (h.Count[0] == lengths.Length) return 0;
        int left = 1;
        for (int len = 1; len <= MaxBits; len++)
        {
            left <<= 1;
            left -= h.Count[len];
            if (left < 0) return left;
        }
        Span<short> offsets = stackalloc short[MaxBits + 1];
        offsets[1] = 0;
        for (int len = 1; len < MaxBits; len++) offsets[len + 1] = (short)(offsets[len] + h.Count[len]);
        for (short symbol = 0; symbol < lengths.Length; symbol++)
            if (lengths[symbol] != 0) h.Symbol[offsets[lengths[symbol]]++] = symbol;
        return left;
    }

    void Codes(Huffman lengthCode, Huffman distanceCode)
    {
        while (true)
        {
            int symbol = Decode(lengthCode);
            if (symbol < 256) { Put((byte)symbol); continue; }
            if (symbol == 256) return;
            symbol -= 257;
            if (symbol >= 29) throw new Malformed("invalid length symbol");
            int length = LengthBase[symbol] + Bits(LengthExtra[symbol]);
            symbol = Decode(distanceCode);
            if (symbol >= 30) throw new Malformed("invalid distance symbol");
            int distance = DistanceBase[symbol] + Bits(DistanceExtra[symbol]);
            if (_ring)
            {
                if (distance > _total) throw new Malformed("distance too far back");
                for (int i = 0; i < length; i++) RingPut(_output[(int)(_total - distance) & RingMask]);
                continue;
            }
            if (distance > _written) throw new Malformed("distance too far back");
            if (_output.Length - _written < length) Grow(length);
            for (int i = 0; i < length; i++, _written++) _output[_written] = _output[_written - distance];
        }
    }

    static Huffman? s_fixedLength, s_fixedDistance;

    void Fixed()
    {
        if (s_fixedLength is null)
        {
            var lengths = new short[288];
            for (int i = 0; i < 144; i++) lengths[i] = 8;
            for (int i = 144; i < 256; i++) lengths[i] = 9;
            for (int i = 256; i < 280; i++) lengths[i] = 7;
            for (int i = 280; i < 288; i++) lengths[i] = 8;
            var length = new Huffman(288);
            Construct(length, lengths);
            length.BuildTable(lengths);
            var distances = new short[30];
            Array.Fill(distances, (short)5);
            var distance = new Huffman(30);
            Construct(distance, distances);
            distance.BuildTable(distances);
            s_fixedDistance = distance;
            s_fixedLength = length;
        }
        Codes(s_fixedLength, s_fixedDistance!);
    }

    void Dynamic()
    {
        int lengthCount = Bits(5) + 257, distanceCount = Bits(5) + 1, codeCount = Bits(4) + 4;
        if (lengthCount > 286 || distanceCount > 30) throw new Malformed("too many length or distance codes");
        Span<short> lengths = stackalloc short[286 + 30];
        lengths.Clear();
        for (int i = 0; i < codeCount; i++) lengths[CodeLengthOrder[i]] = (short)Bits(3);
        var lengthCode = new Huffman(286);
        var distanceCode = new Huffman(30);
        if (Construct(lengthCode, lengths[..19]) != 0) throw new Malformed("incomplete code-length code");
        lengthCode.BuildTable(lengths[..19]);
        int index = 0;
        lengths.Clear();
        while (index < lengthCount + distanceCount)
        {
            int symbol = Decode(lengthCode);
            if (symbol < 16) { lengths[index++] = (short)symbol; continue; }
            short repeated = 0;
            int times;
            if (symbol == 16)
            {
                if (index == 0) throw new Malformed("repeat with no previous length");
                repeated = lengths[index - 1];
                times = 3 + Bits(2);
            }
            else times = symbol == 17 ? 3 + Bits(3) : 11 + Bits(7);
            if (index + times > lengthCount + distanceCount) throw new Malformed("too many code lengths");
            while (times-- > 0) lengths[index++] = repeated;
        }
        if (lengths[256] == 0) throw new Malformed("no end-of-block code");
        int err = Construct(lengthCode, lengths[..lengthCount]);
        if (err < 0 || (err > 0 && lengthCount - lengthCode.Count[0] != 1)) throw new Malformed("bad literal/length code");
        lengthCode.BuildTable(lengths[..lengthCount]);
        err = Construct(distanceCode, lengths.Slice(lengthCount, distanceCount));
        if (err < 0 || (err > 0 && distanceCount - distanceCode.Count[0] != 1)) throw new Malformed("bad distance code");
        distanceCode.BuildTable(lengths.Slice(lengthCount, distanceCount));
        Codes(lengthCode, distanceCode);
    }

    internal static uint Adler32(ReadOnlySpan<byte> data)
    {
        const uint Mod = 65521;
        uint a = 1, b = 0;
        while (data.Length > 0)
        {
            int n = Math.Min(data.Length, 5552); // largest n with no uint overflow before the modulo (zlib's NMAX)
            foreach (var value in data[..n]) { a += value; b += a; }
            a %= Mod; b %= Mod;
            data = data[n..];
        }
        return b << 16 | a;
    }
}
