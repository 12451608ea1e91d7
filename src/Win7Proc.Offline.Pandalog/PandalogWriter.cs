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
/// <para>Where it goes (see <see cref="Create"/>): a regular file is written under a name unique to this run,
/// <c>&lt;path&gt;.&lt;pid&gt;-&lt;random&gt;.partial</c> beside it, and renamed onto <c>path</c> by <see cref="Complete"/>;
/// disposing without completing deletes it, so an interrupted run never leaves a complete-looking plog, and two runs
/// with one <c>path</c> never write into each other's file. A symbolic link is followed (the link stays a link, its
/// target gets the plog). <c>-</c> (stdout), a FIFO or a character device cannot seek back to the header, so the plog
/// is built in memory, at most <see cref="MaxInMemoryBytes"/>, and written through at the end. Anything else (a
/// directory, a block device, a socket) is refused.</para>
/// </summary>
public sealed class PandalogWriter : IDisposable
{
    readonly record struct PendingChunk(byte[] Buffer, int Length, ulong StartInstr, int Entries);

    /// <summary>Largest plog built in memory for an output that cannot seek (<c>-</c>, a FIFO, a character device).</summary>
    public const long MaxInMemoryBytes = 1L << 30;
    /// <summary>The in-progress name ends so: <c>OUT.plog.&lt;pid&gt;-&lt;random&gt;.partial</c>.</summary>
    public const string PartialSuffix = ".partial";

    /// <summary>In-progress files of every writer of this process not yet completed or disposed, for
    /// <see cref="DeleteUnfinishedFiles"/>.</summary>
    static readonly ConcurrentDictionary<string, byte> s_unfinished = new(StringComparer.Ordinal);

    readonly string _userPath;
    readonly string _targetPath;
    readonly string? _partialPath;
    readonly Func<Stream>? _openSink;
    readonly PandalogWriterOptions _options;
    readonly Stream _file;
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

    /// <summary>Path of the file being written (unique to this writer) until <see cref="Complete"/>; null when the plog
    /// is built in memory.</summary>
    public string? PartialPath => _partialPath;
    /// <summary>The file that receives the plog: the path given, or a symbolic link's final target; <c>-</c> for stdout.</summary>
    public string TargetPath => _targetPath;
    public long EntriesWritten { get; private set; }
    /// <summary>Chunks handed to the file so far (all of them once <see cref="Complete"/> returned).</summary>
    public int ChunksWritten => Volatile.Read(ref _chunksWritten);
    int _chunksWritten;

    PandalogWriter(string userPath, string targetPath, Func<Stream>? openSink, PandalogWriterOptions options)
    {
        _userPath = userPath;
        _targetPath = targetPath;
        _openSink = openSink;
        _options = options;
        if (openSink is null)
        {
            _partialPath = UniquePartialPath(targetPath);
            try
            {
                _file = new FileStream(_partialPath, FileMode.CreateNew, FileAccess.Write, FileShare.Read | FileShare.Delete, 1 << 16);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new IOException($"cannot write {userPath}: {Reason(e)}", e);
            }
            s_unfinished.TryAdd(_partialPath, 0);
        }
        else
            _file = new BoundedMemoryStream(MaxInMemoryBytes, userPath);
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
            DeletePartial();
            throw;
        }
    }

    /// <summary>
    /// Starts writing a plog to <paramref name="path"/>: a regular file (new or replaced), a symbolic link (followed),
    /// <c>-</c> (stdout, through <paramref name="openStdout"/>), a FIFO or a character device (built in memory, then
    /// written through). See the class summary.
    /// </summary>
    /// <exception cref="IOException">the path names something a plog cannot be written to, or cannot be created; the
    /// message is one line naming <paramref name="path"/> as given</exception>
    public static PandalogWriter Create(string path, PandalogWriterOptions? options = null, Func<Stream>? openStdout = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new PandalogWriterOptions();
        options.Validate();
        if (path == "-")
            return new PandalogWriter(path, "-", openStdout ?? OpenStdout, options);
        var target = Path.GetFullPath(path);
        if (OutputPath.KindOf(target, followLinks: false) == FileKind.SymbolicLink)
        {
            FileSystemInfo? final;
            try { final = File.ResolveLinkTarget(target, returnFinalTarget: true); }
            catch (IOException e) { throw new IOException($"cannot write {path}: its symbolic link cannot be followed ({e.Message})", e); }
            if (final is not null) target = final.FullName;
        }
        switch (OutputPath.KindOf(target))
        {
            case FileKind.Missing or FileKind.Regular or FileKind.Unknown:
                if (Path.GetDirectoryName(target) is { } directory && !Directory.Exists(directory))
                    throw new IOException($"cannot write {path}: directory {directory} does not exist");
                return new PandalogWriter(path, target, null, options);
            case FileKind.Fifo or FileKind.CharacterDevice:
                var device = target;
                return new PandalogWriter(path, target,
                    () => new FileStream(device, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1, FileOptions.None), options);
            case var kind:
                throw new IOException($"cannot write {path}: it is {OutputPath.Describe(kind)} (a pandalog goes to a regular file, " +
                                      "a FIFO, a character device or - for stdout)");
        }
    }

    /// <summary>Descriptor 1 as a plain stream (.NET's console stream would switch a terminal into keypad mode).</summary>
    static Stream OpenStdout() =>
        new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(1, ownsHandle: false), FileAccess.Write, bufferSize: 0);

    /// <summary><c>target.&lt;pid&gt;-&lt;random&gt;.partial</c>: unique per run, and found from <c>target</c> by
    /// <c>procstory --follow</c> (any <c>target.*.partial</c>).</summary>
    static string UniquePartialPath(string target) =>
        $"{target}.{Environment.ProcessId}-{Random.Shared.Next():x8}{PartialSuffix}";

    /// <summary>Deletes the in-progress files of writers not yet completed or disposed (for a process that must exit
    /// at once, on a second Ctrl+C); the files of finished writers are not touched.</summary>
    public static void DeleteUnfinishedFiles()
    {
        foreach (var path in s_unfinished.Keys)
        {
            try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            s_unfinished.TryRemove(path, out _);
        }
    }

    /// <summary>One line for a failed file operation, without .NET's internal paths.</summary>
    static string Reason(Exception e) => e switch
    {
        UnauthorizedAccessException => "permission denied",
        DirectoryNotFoundException => "its directory does not exist",
        PathTooLongException => "the name is too long",
        _ => FirstLine(e.Message),
    };

    static string FirstLine(string message)
    {
        var line = message.Split('\n', 2)[0].Trim();
        // .NET appends " : 'path'" (our in-progress name) to OS errors; the user's path is named by the caller.
        int quote = line.IndexOf(" : '", StringComparison.Ordinal);
        return quote > 0 ? line[..quote] : line;
    }

    void DeletePartial()
    {
        if (_partialPath is null) return;
        try { File.Delete(_partialPath); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        s_unfinished.TryRemove(_partialPath, out _);
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
        try
        {
            _file.Write(directory);
            var header = new byte[PandalogFormat.HeaderSize];
            PandalogFormat.WriteHeader(header, (ulong)directoryPosition, (uint)_options.ChunkSize);
            _file.Position = 0;
            _file.Write(header);
            if (_partialPath is not null)
            {
                ((FileStream)_file).Flush(flushToDisk: true);
                _file.Dispose();
                File.Move(_partialPath, _targetPath, overwrite: true);
                s_unfinished.TryRemove(_partialPath, out _);
            }
            else
            {
                var memory = (MemoryStream)_file;
                using (var sink = _openSink!())
                {
                    sink.Write(memory.GetBuffer(), 0, (int)memory.Length);
                    sink.Flush();
                }
                memory.Dispose();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot write {_userPath}: {Reason(e)}", e);
        }
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
            DeletePartial();
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
            throw new IOException($"cannot write {_userPath}: {Reason(failure)}", failure);
    }

    /// <summary>A memory stream that refuses to grow past a bound, with a message naming the output.</summary>
    sealed class BoundedMemoryStream(long limit, string userPath) : MemoryStream
    {
        // Only the array overload: for a subclass, MemoryStream's span overload goes through Stream's, which calls this.
        public override void Write(byte[] buffer, int offset, int count)
        {
            if (Position + count > limit)
                throw new IOException($"the pandalog for {userPath} would exceed {limit >> 20} MiB, the most kept in memory for an " +
                                      "output that cannot seek (-, a FIFO, a device): write it to a regular file");
            base.Write(buffer, offset, count);
        }
    }
}
