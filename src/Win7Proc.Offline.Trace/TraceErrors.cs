namespace Win7Proc.Offline.Trace;

/// <summary>
/// The file is not a valid trace container: not LZ4, bad magic, unsupported major version, a record body shorter
/// than its fixed fields, a count that exceeds its body or a configured limit. The message says what and where.
/// (A file that merely ends early is not an error: see <see cref="TraceTruncation"/>.)
/// </summary>
public class TraceFormatException : Exception
{
    public TraceFormatException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>The trace's major version is not one this reader knows (1.x traces are no longer read).</summary>
public sealed class TraceVersionException(string message) : TraceFormatException(message);

/// <summary>A resource limit (<see cref="TraceReaderOptions"/>, <see cref="TraceGuestMemory"/>) was exceeded.</summary>
public sealed class TraceLimitException(string message) : TraceFormatException(message);

public enum TruncationKind
{
    /// <summary>The file ends inside an LZ4 frame (a crashed or still-running recording).</summary>
    PartialFrame,
    /// <summary>The record stream ends inside a record.</summary>
    PartialRecord,
    /// <summary>Every record is complete but there is no END record.</summary>
    MissingEnd,
    /// <summary>Follow mode was cancelled before END arrived.</summary>
    Cancelled,
}

/// <summary>
/// Where and why a trace stopped early. <see cref="RecordsDelivered"/> complete records were delivered (the header
/// included); <see cref="FileOffset"/> is the compressed-file offset of the frame that was cut (or of the end of file);
/// <see cref="StreamOffset"/> is the record-stream offset just after the last complete record.
/// </summary>
public sealed record TraceTruncation(TruncationKind Kind, long RecordsDelivered, long FileOffset, long StreamOffset, string Reason)
{
    public override string ToString() => Reason;
}

/// <summary>Bounds applied to everything the reader takes from the file (the file is untrusted input).</summary>
public sealed record TraceReaderOptions
{
    /// <summary>Largest SYSCALL argument count accepted (FORMAT.md §5: 0..17).</summary>
    public int MaxArgs { get; init; } = 17;
    /// <summary>Largest page map (entries) in one record.</summary>
    public int MaxPagesPerRecord { get; init; } = 1 << 20;
    /// <summary>Largest string (bytes) accepted; the format's u16 length already caps it at 65535.</summary>
    public int MaxStringBytes { get; init; } = ushort.MaxValue;
    /// <summary>Largest record (header + body) accepted.</summary>
    public int MaxRecordBytes { get; init; } = 64 << 20;
    /// <summary>Largest compressed LZ4 frame accepted.</summary>
    public int MaxFrameBytes { get; init; } = 256 << 20;
    /// <summary>Largest decompressed content of one LZ4 frame (guards against decompression bombs).</summary>
    public int MaxDecodedFrameBytes { get; init; } = 256 << 20;
    /// <summary>Check each PAGE's XXH3-64 hash against its data (a damaged PAGE is then a format error).</summary>
    public bool VerifyPageHashes { get; init; }
    /// <summary>Largest number of header settings accepted.</summary>
    public int MaxSettings { get; init; } = 4096;

    /// <summary>Follow a file still being written: at end of file without END, wait and read again.</summary>
    public bool Follow { get; init; }
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(250);
    /// <summary>Stops following (and any wait); the reader then ends cleanly with a <see cref="TruncationKind.Cancelled"/> truncation.</summary>
    public CancellationToken CancellationToken { get; init; }

    /// <summary>Decode the following LZ4 frames on a second thread while records are parsed (not in follow mode).
    /// Same records, offsets and errors as without; false = single-threaded.</summary>
    public bool DecodeAhead { get; init; } = true;

    /// <summary>PAGE records' <see cref="PageRecord.Data"/> points into the reader's buffer and is valid only until the
    /// next record is read (no 4 KiB array per page): for consumers that copy it at once (TraceGuestMemory).</summary>
    public bool BorrowPageData { get; init; }

    public static TraceReaderOptions Default { get; } = new();
}
