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

    /// <summary>Largest serialised LogEntry the reader accepts. Google's C++ protobuf parser refused messages over
    /// 64 MiB by default (CodedInputStream's total-bytes limit), so PANDA's own reader never read a larger entry; a
    /// length prefix above it is a format error naming entry, chunk and offset.</summary>
    public const int MaxEntryBytes = 64 << 20;

    /// <summary>Inflated bytes handed to the record walk at a time (a piece holds whole records; a chunk larger than
    /// this, such as one instruction's many entries, is read as several pieces). Two pieces are in memory at once,
    /// each grown only as far as one entry needs: the reader's buffers peak at 2 × (<see cref="MaxEntryBytes"/> + 4)
    /// whatever a chunk inflates to.</summary>
    public const int PieceBytes = 16 << 20;

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
            // The chunks must cover the data area (128 .. dir_pos) exactly: a damaged directory (count lowered,
            // dir_pos moved) would otherwise hide entries silently. Each chunk's zlib stream must also end exactly
            // where the next chunk starts (checked while inflating, see ChunkInput).
            if (count == 0 && dirPos != PandalogFormat.HeaderHoleSize)
                throw new PandalogFormatException($"{path}: directory at offset {dirPos} lists no chunks, but the data area 128..{dirPos} holds {dirPos - PandalogFormat.HeaderHoleSize} bytes: the directory is damaged");
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
                if (entries == 0)
                    throw new PandalogFormatException($"{path}: chunk {i} at offset {pos} has no entries (PANDA never writes an empty chunk)");
                chunks[i] = new PandalogChunkInfo(i, start, (long)pos, (long)(next - pos), entries);
            }
            if (count > 0 && chunks[0].Position != PandalogFormat.HeaderHoleSize)
                throw new PandalogFormatException($"{path}: chunk 0 starts at offset {chunks[0].Position}, not at {PandalogFormat.HeaderHoleSize} where the data area begins: the directory is damaged");
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
    public PlogRecordSequence ReadRecords() => new(() => InflatedPieces(0, _chunks.Length - 1));

    /// <summary>Records with instr &gt;= <paramref name="instr"/> (see <see cref="ReadFrom"/>), none of them parsed.</summary>
    public IEnumerable<PlogRecord> ReadRecordsFrom(ulong instr)
    {
        if (_chunks.Length == 0) yield break;
        int first = LastChunkStartingAtOrBefore(instr);
        // The directory may understate 64-bit starts (PANDA truncates them): the chunk's real first instr decides.
        while (first > 0)
        {
            if (FirstInstrOfChunk(first) <= instr) break;
            first--;
        }
        foreach (var record in new PlogRecordSequence(() => InflatedPieces(first, _chunks.Length - 1)))
        {
            bool leadingPlaceholder = record.ChunkIndex == 0 && record.IndexInChunk == 0 && record.IsPlaceholder;
            if (!leadingPlaceholder && record.Instr >= instr) yield return record;
        }
    }

    ulong FirstInstrOfChunk(int index)
    {
        using var pieces = new ChunkPieces(_handle, Path, ChunkSize, _chunks, index, index);
        var view = pieces.Fill(new PieceBuffer()) ?? throw new PandalogFormatException($"{Path}: chunk {index} is empty");
        foreach (var record in view.Records()) return record.Instr;
        throw new PandalogFormatException($"{Path}: chunk {index} (offset {_chunks[index].Position}) holds no entry");
    }

    /// <summary>The inflated data of chunks <paramref name="first"/>..<paramref name="last"/> as pieces of whole
    /// records (<see cref="ChunkPieces"/>), each inflated one ahead on a worker thread while the caller reads the
    /// current one (two piece buffers in memory), so reading uses both cores. A piece's view is released before its
    /// buffer is refilled. Entries are parsed on the caller's thread on purpose: materialising whole chunks of entries
    /// makes them outlive gen-0 and costs several times more in GC than the parsing itself.
    /// (Measured: reading two pieces ahead with three buffers was no faster.)</summary>
    IEnumerable<PlogChunkView> InflatedPieces(int first, int last)
    {
        if (first > last) yield break;
        using var pieces = new ChunkPieces(_handle, Path, ChunkSize, _chunks, first, last);
        var current = new PieceBuffer();
        var spare = new PieceBuffer();
        var pending = Task.Run(() => pieces.Fill(current));
        PlogChunkView? previous = null;
        try
        {
            while (true)
            {
                var view = pending.GetAwaiter().GetResult();
                if (view is null) yield break;
                previous?.Release(); // its buffer is `spare`, refilled next
                var target = spare;
                pending = Task.Run(() => pieces.Fill(target));
                previous = view;
                yield return view;
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
        foreach (var piece in InflatedPieces(0, _chunks.Length - 1))
        {
            var data = piece.Data;
            int offset = 0, length = piece.Length;
            while (offset + 4 <= length)
            {
                uint size = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(offset));
                if (size > (uint)(length - offset - 4)) break; // a length past the chunk's end (reported below)
                offset += 4 + (int)size;
                count++;
            }
            if (offset != length || piece.Failure is not null)
                throw new PandalogFormatException($"{Path}: chunk {piece.Index} framing does not end at the chunk's end"
                    + (piece.Failure is { } failure ? $" ({failure[(Path.Length + 2)..]})" : ""));
        }
        return count;
    }

    /// <summary>The entries of one chunk.</summary>
    public IReadOnlyList<LogEntry> ReadChunk(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _chunks.Length);
        return new PlogRecordSequence(() => InflatedPieces(index, index)).Select(r => r.Parse()).ToList();
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

    internal sealed class PieceBuffer
    {
        public byte[] Data = Array.Empty<byte>();
    }

    /// <summary>
    /// Inflates chunks as a stream and cuts the inflated bytes into pieces of whole records, so memory stays bounded
    /// however far a chunk inflates (a 1 MB zlib bomb may inflate to gigabytes). The bytes of a record cut at a
    /// piece's end are carried to the start of the next piece; a piece buffer grows only when one record does not
    /// fit, up to <see cref="MaxEntryBytes"/>. Errors found while cutting (an oversized length prefix, more entries
    /// than the directory says, damaged zlib data) end the piece: the records before them are still read, then the
    /// error is thrown. Not thread-safe: <see cref="Fill"/> calls must not overlap (the reader runs one at a time).
    /// </summary>
    internal sealed class ChunkPieces(SafeFileHandle handle, string path, uint chunkSize, PandalogChunkInfo[] chunks, int first, int last) : IDisposable
    {
        int _chunk = first;
        ChunkInput? _input;
        System.IO.Compression.ZLibStream? _zlib;
        int _entriesSoFar;
        bool _failed;
        byte[]? _carrySource;
        int _carryStart, _carryLength;

        /// <summary>The next piece, in <paramref name="target"/>'s buffer; null after the last chunk or an error.</summary>
        public PlogChunkView? Fill(PieceBuffer target)
        {
            if (_failed) return null;
            if (_zlib is null)
            {
                if (_chunk > last) return null;
                var info = chunks[_chunk];
                _input = new ChunkInput(handle, info.Position, info.CompressedLength);
                _zlib = new System.IO.Compression.ZLibStream(_input, System.IO.Compression.CompressionMode.Decompress);
                _entriesSoFar = 0;
                _carryLength = 0;
            }
            var chunk = chunks[_chunk];
            string where = $"{path}: chunk {chunk.Index} at offset {chunk.Position}";
            int pieceSize = (int)Math.Clamp((long)chunkSize + (chunkSize >> 4), 1 << 16, PieceBytes);
            if (target.Data.Length < pieceSize) target.Data = new byte[pieceSize];
            var buffer = target.Data;
            if (_carryLength > 0) Buffer.BlockCopy(_carrySource!, _carryStart, buffer, 0, _carryLength);
            int filled = _carryLength;
            _carryLength = 0;

            int walked = 0, records = 0;
            string? failure = null;
            bool ended = false;
            while (true)
            {
                // Inflate until the buffer is full or the stream ends.
                while (filled < buffer.Length)
                {
                    int n;
                    try { n = _zlib.Read(buffer, filled, buffer.Length - filled); }
                    catch (InvalidDataException)
                    {
                        failure = $"{where} fails to inflate: damaged zlib data after {_input!.Handed} compressed bytes";
                        ended = true;
                        break;
                    }
                    if (n == 0) { ended = true; break; }
                    filled += n;
                }
                if (ended && failure is null)
                    failure = filled == 0 && _entriesSoFar == 0 && _input!.Handed > 0
                        ? $"{where} fails to inflate: no data"
                        : _input!.EndProblem(where, chunk.Position + chunk.CompressedLength, _chunk + 1 < chunks.Length);

                // Cut after the last whole record, checking each length prefix and the directory's entry count.
                while (walked + 4 <= filled)
                {
                    uint size = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(walked));
                    int index = _entriesSoFar + records;
                    if (size > MaxEntryBytes)
                    {
                        failure = $"{path}: entry {index} of chunk {chunk.Index} (offset {chunk.Position}) claims {size} bytes, more than the {MaxEntryBytes}-byte limit for one entry";
                        break;
                    }
                    if ((ulong)index >= chunk.EntryCount) // ulong.MaxValue: no directory (a plog still being written)
                    {
                        failure = $"{path}: chunk {chunk.Index} (offset {chunk.Position}) holds more entries than the {chunk.EntryCount} the directory says";
                        break;
                    }
                    if (size > (uint)(filled - walked - 4)) break;
                    walked += 4 + (int)size;
                    records++;
                }
                if (failure is not null || ended) break;
                if (records > 0) break;
                // One record larger than the buffer: grow it (bounded by the length check above) and inflate on.
                uint need = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(0)) + 4u;
                var grown = new byte[(int)Math.Max(need, Math.Min((long)buffer.Length * 2, MaxEntryBytes + 4L))];
                Buffer.BlockCopy(buffer, 0, grown, 0, filled);
                target.Data = buffer = grown;
            }

            var view = new PlogChunkView(path, chunk.Index, chunk.Position, buffer, ended && failure is null ? filled : walked,
                chunk.EntryCount == ulong.MaxValue ? null : chunk.EntryCount, _entriesSoFar, endsChunk: ended || failure is not null, failure);
            _entriesSoFar += records;
            if (failure is not null) { _failed = true; CloseChunk(); }
            else if (ended) { CloseChunk(); _chunk++; }
            else { _carrySource = buffer; _carryStart = walked; _carryLength = filled - walked; }
            return view;
        }

        void CloseChunk()
        {
            _zlib?.Dispose();
            _zlib = null;
            _input = null;
        }

        public void Dispose() => CloseChunk();
    }

    /// <summary>
    /// A chunk's compressed bytes as a stream for <see cref="System.IO.Compression.ZLibStream"/>, which does not say
    /// where the zlib stream ended: the last <see cref="ExactTail"/> bytes are handed over one at a time, so that when
    /// the stream ends, the bytes handed over are exactly the bytes it used (zlib consumes all input it is given until
    /// the stream ends), and a request past the chunk's end means the stream is cut short.
    /// </summary>
    internal sealed class ChunkInput(SafeFileHandle handle, long position, long length) : Stream
    {
        const int ExactTail = 64;
        readonly byte[] _buffer = new byte[Math.Min(length, 256 << 10)];
        int _bufferStart, _bufferEnd;
        public long Handed { get; private set; }
        bool _starved;

        /// <summary>After the stream ended: null when it ended exactly at the chunk's end, else what is wrong.</summary>
        public string? EndProblem(string where, long chunkEnd, bool nextIsChunk)
        {
            if (_starved || Handed == 0)
                return Handed == 0 ? $"{where} fails to inflate: no data (not a zlib stream, or cut short)"
                    : $"{where} fails to inflate: its zlib stream is cut short at offset {chunkEnd}";
            if (Handed < length)
                return $"{where}: its zlib stream ends at offset {position + ExactStreamLength()}, but the {(nextIsChunk ? "next chunk" : "directory")} starts at {chunkEnd}: the directory lists fewer chunks than the data area holds (damaged directory or chunk)";
            return null;
        }

        /// <summary>Where the stream really ended: the native inflater may have been handed a block past its end, so
        /// the managed one measures it (error path only; bounded by what was handed, at most 64 MiB).</summary>
        long ExactStreamLength()
        {
            var bytes = new byte[Math.Min(Handed, 64 << 20)];
            int read = RandomAccess.Read(handle, bytes, position);
            return ZlibStreamInflater.Measure(bytes, 0, read, out _, out int consumed, out _) == ZlibStreamInflater.Outcome.Complete
                ? consumed : Handed;
        }

        public override int Read(byte[] destination, int offset, int count) => Read(destination.AsSpan(offset, count));

        public override int Read(Span<byte> destination)
        {
            long left = length - Handed;
            if (left <= 0) { _starved = true; return 0; }
            if (destination.IsEmpty) return 0;
            int n = left <= ExactTail ? 1 : (int)Math.Min(destination.Length, left - ExactTail);
            if (_bufferStart == _bufferEnd)
            {
                int want = (int)Math.Min(_buffer.Length, left);
                int read = RandomAccess.Read(handle, _buffer.AsSpan(0, want), position + Handed);
                if (read <= 0) { _starved = true; return 0; } // the file shrank under us
                _bufferStart = 0;
                _bufferEnd = read;
            }
            n = Math.Min(n, _bufferEnd - _bufferStart);
            _buffer.AsSpan(_bufferStart, n).CopyTo(destination);
            _bufferStart += n;
            Handed += n;
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => Handed; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
