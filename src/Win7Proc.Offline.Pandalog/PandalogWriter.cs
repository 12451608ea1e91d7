using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.IO.Compression;
using Google.Protobuf;
using Win7Proc.Offline.Pandalog.Schema;

namespace Win7Proc.Offline.Pandalog;

/// <summary>Settings of <see cref="PandalogWriter"/>.</summary>
public sealed record PandalogWriterOptions
{
    /// <summary>Uncompressed bytes after which a chunk is flushed (PANDA's rule, see <see cref="PandalogWriter"/>).</summary>
    public int ChunkSize { get; init; } = PandalogFormat.DefaultChunkSize;
    /// <summary>zlib level 0–9; PANDA uses 9 (Z_BEST_COMPRESSION).</summary>
    public int ZlibLevel { get; init; } = 9;
    /// <summary>Filled chunks that may wait for the compressor before <see cref="PandalogWriter.Write"/> blocks.</summary>
    public int ChunksInFlight { get; init; } = 2;

    /// <summary>The <c>fast</c> setting: zlib level 1 (larger file, several times quicker).</summary>
    public static PandalogWriterOptions Fast { get; } = new() { ZlibLevel = 1 };

    internal void Validate()
    {
        if (ChunkSize <= 0) throw new ArgumentOutOfRangeException(nameof(ChunkSize), ChunkSize, "must be positive");
        if (ZlibLevel is < 0 or > 9) throw new ArgumentOutOfRangeException(nameof(ZlibLevel), ZlibLevel, "must be 0..9");
        if (ChunksInFlight is < 1 or > 16) throw new ArgumentOutOfRangeException(nameof(ChunksInFlight), ChunksInFlight, "must be 1..16");
    }
}

/// <summary>
/// Writes a pandalog in the same file format and with the same record bytes as PANDA's <c>PandaLog</c>
/// (panda/src/plog-cc.cpp), though not a byte-identical file (PANDA adds a placeholder first entry): header version 2 in a
/// 128-byte hole, zlib chunks of <c>u32 length + LogEntry</c> records, directory at the end, header written last.
/// Entries sharing one <c>instr</c> always land in one chunk: before appending an n-byte entry the chunk is flushed only
/// if the previous instr is not UINT64_MAX, differs from the new one, and <c>used + n &gt;= ChunkSize</c> (so a chunk
/// may exceed ChunkSize). Chunks are compressed on a worker thread while the caller fills the next one.
/// The file is written as <c>&lt;path&gt;.partial</c> and renamed by <see cref="Complete"/>; disposing without
/// completing deletes it, so an interrupted run never leaves a complete-looking plog.
/// </summary>
public sealed class PandalogWriter : IDisposable
{
    readonly record struct PendingChunk(byte[] Buffer, int Length, ulong StartInstr, int Entries);

    readonly string _targetPath;
    readonly string _partialPath;
    readonly PandalogWriterOptions _options;
    readonly FileStream _file;
    readonly BlockingCollection<PendingChunk> _queue;
    readonly ConcurrentBag<byte[]> _freeBuffers = new();
    readonly CancellationTokenSource _abort = new();
    readonly Thread _compressor;
    readonly List<(ulong StartInstr, long Position, ulong Entries)> _directory = new();
    Exception? _compressorFailure;

    byte[] _chunk;
    int _used;
    int _entriesInChunk;
    ulong _chunkStartInstr;
    ulong _lastInstr = PandalogFormat.AfterReplayEnd;
    int _chunksQueued;
    bool _completed, _disposed;

    /// <summary>Path of the file being written (<c>target.partial</c>) until <see cref="Complete"/>.</summary>
    public string PartialPath => _partialPath;
    public long EntriesWritten { get; private set; }
    /// <summary>Chunks handed to the file so far (all of them once <see cref="Complete"/> returned).</summary>
    public int ChunksWritten => Volatile.Read(ref _chunksWritten);
    int _chunksWritten;

    PandalogWriter(string path, PandalogWriterOptions options)
    {
        _targetPath = Path.GetFullPath(path);
        _partialPath = _targetPath + ".partial";
        _options = options;
        _file = new FileStream(_partialPath, FileMode.Create, FileAccess.Write, FileShare.Read | FileShare.Delete, 1 << 16);
        try
        {
            _file.Write(new byte[PandalogFormat.HeaderHoleSize]); // header comes last; readers of the .partial see zeros
            _chunk = new byte[Math.Min(options.ChunkSize, 1 << 20) + 64];
            _queue = new BlockingCollection<PendingChunk>(options.ChunksInFlight);
            _compressor = new Thread(CompressLoop) { IsBackground = true, Name = "plog-compress" };
            _compressor.Start();
        }
        catch
        {
            _file.Dispose();
            File.Delete(_partialPath);
            throw;
        }
    }

    /// <summary>Starts writing <paramref name="path"/> (as <c>path.partial</c> until <see cref="Complete"/>).</summary>
    public static PandalogWriter Create(string path, PandalogWriterOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new PandalogWriterOptions();
        options.Validate();
        return new PandalogWriter(path, options);
    }

    /// <summary>Appends one entry. Its pc and instr are written as given; every required field must be set.</summary>
    public void Write(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed) throw new InvalidOperationException("the pandalog is already complete");
        ThrowIfCompressorFailed();
        // PANDA's C++ reader rejects an entry with a required field missing; catch it here, not in a consumer.
        if (!RequiredFields.AreSet(entry))
            throw new ArgumentException($"entry at instr {entry.Instr} lacks required field {RequiredFields.FirstMissing(entry)}: {entry}", nameof(entry));

        int size = entry.CalculateSize();
        ulong instr = entry.Instr;
        if (_entriesInChunk > 0 && _lastInstr != PandalogFormat.AfterReplayEnd && instr != _lastInstr
            && (long)_used + size >= _options.ChunkSize)
            FlushChunk();

        EnsureRoom(4 + size);
        if (_entriesInChunk == 0) _chunkStartInstr = instr;
        BinaryPrimitives.WriteUInt32LittleEndian(_chunk.AsSpan(_used), (uint)size);
        entry.WriteTo(_chunk.AsSpan(_used + 4, size));
        _used += 4 + size;
        _entriesInChunk++;
        _lastInstr = instr;
        EntriesWritten++;
    }

    /// <summary>Flushes the last chunk, writes directory and header, and renames the file to its target name.
    /// A log with no entries gets PANDA's placeholder entry, so it still has one non-empty chunk.</summary>
    public void Complete()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed) return;
        if (_chunksQueued == 0 && _entriesInChunk == 0)
        {
            Write(PandalogFormat.Placeholder());
            EntriesWritten--; // the placeholder is framing, not one of the caller's entries
        }
        if (_entriesInChunk > 0) FlushChunk();
        _queue.CompleteAdding();
        _compressor.Join();
        ThrowIfCompressorFailed();

        long directoryPosition = _file.Position;
        var directory = new byte[4 + _directory.Count * PandalogFormat.DirectoryEntrySize];
        BinaryPrimitives.WriteUInt32LittleEndian(directory, (uint)_directory.Count);
        for (int i = 0; i < _directory.Count; i++)
        {
            var row = directory.AsSpan(4 + i * PandalogFormat.DirectoryEntrySize);
            // PANDA writes start_instr = 0 for chunk 0 (the count when the log was opened); later chunks: first entry's instr.
            BinaryPrimitives.WriteUInt64LittleEndian(row, i == 0 ? 0 : _directory[i].StartInstr);
            BinaryPrimitives.WriteUInt64LittleEndian(row[8..], (ulong)_directory[i].Position);
            BinaryPrimitives.WriteUInt64LittleEndian(row[16..], _directory[i].Entries);
        }
        _file.Write(directory);
        var header = new byte[PandalogFormat.HeaderSize];
        PandalogFormat.WriteHeader(header, (ulong)directoryPosition, (uint)_options.ChunkSize);
        _file.Position = 0;
        _file.Write(header);
        _file.Flush(flushToDisk: true);
        _file.Dispose();
        File.Move(_partialPath, _targetPath, overwrite: true);
        _completed = true;
    }

    /// <summary>Without <see cref="Complete"/>: stops the compressor and deletes the partial file.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (!_completed)
        {
            _abort.Cancel();
            _queue.CompleteAdding();
            _compressor.Join();
            _file.Dispose();
            try { File.Delete(_partialPath); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        _queue.Dispose();
        _abort.Dispose();
    }

    void EnsureRoom(int bytes)
    {
        if (_chunk.Length - _used >= bytes) return;
        long wanted = Math.Max((long)_chunk.Length * 2, (long)_used + bytes);
        if (wanted > Array.MaxLength) throw new InvalidOperationException("one instruction's entries exceed the largest possible chunk");
        Array.Resize(ref _chunk, (int)wanted);
    }

    void FlushChunk()
    {
        var pending = new PendingChunk(_chunk, _used, _chunkStartInstr, _entriesInChunk);
        try { _queue.Add(pending, _abort.Token); }
        catch (OperationCanceledException) { ThrowIfCompressorFailed(); throw; }
        _chunksQueued++;
        _chunk = _freeBuffers.TryTake(out var recycled) ? recycled : new byte[_chunk.Length];
        _used = 0;
        _entriesInChunk = 0;
    }

    void CompressLoop()
    {
        var compressed = new MemoryStream();
        var zlib = new ZLibCompressionOptions { CompressionLevel = _options.ZlibLevel };
        try
        {
            foreach (var chunk in _queue.GetConsumingEnumerable(_abort.Token))
            {
                compressed.SetLength(0);
                using (var z = new ZLibStream(compressed, zlib, leaveOpen: true))
                    z.Write(chunk.Buffer, 0, chunk.Length);
                long position = _file.Position;
                _file.Write(compressed.GetBuffer(), 0, (int)compressed.Length);
                _file.Flush(); // whole chunks reach the OS at once, so followers of the .partial see them
                lock (_directory) _directory.Add((chunk.StartInstr, position, (ulong)chunk.Entries));
                if (_freeBuffers.Count < _options.ChunksInFlight + 1) _freeBuffers.Add(chunk.Buffer);
                Interlocked.Increment(ref _chunksWritten);
            }
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested) { }
        catch (Exception e)
        {
            _compressorFailure = e;
            _abort.Cancel(); // unblocks a producer waiting for queue room
        }
    }

    void ThrowIfCompressorFailed()
    {
        if (_compressorFailure is { } failure)
            throw new IOException($"writing {_partialPath} failed: {failure.Message}", failure);
    }
}
