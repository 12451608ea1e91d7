namespace Win7Proc.Offline.Analyzer.Windows7;

/// <summary>
/// Caps on every length, count and depth read from guest memory (which is hostile). Each must be positive; a
/// value out of range is a caller bug and throws <see cref="ArgumentOutOfRangeException"/> at construction.
/// </summary>
public sealed record GuestLimits
{
    public static GuestLimits Default { get; } = new();

    /// <summary>Largest string read in bytes; 65534 is the largest even UNICODE_STRING.Length.</summary>
    public int MaxStringBytes { get; init => field = Positive(value, Win7Layout.UnicodeStringMaxBytes); } = Win7Layout.UnicodeStringMaxBytes;

    /// <summary>Longest composed path (object directory chain, file + related files, key path), in chars.</summary>
    public int MaxPathChars { get; init => field = Positive(value, 1 << 20); } = 32767;

    /// <summary>Most KCB levels walked for a key path.</summary>
    public int MaxKeyDepth { get; init => field = Positive(value, 4096); } = 64;

    /// <summary>Most RelatedFileObject links followed for a file name.</summary>
    public int MaxRelatedFileDepth { get; init => field = Positive(value, 4096); } = 16;

    /// <summary>Most object-directory levels walked for an object name (\RPC Control\x is 2).</summary>
    public int MaxDirectoryDepth { get; init => field = Positive(value, 4096); } = 16;

    /// <summary>Most ActiveProcessLinks entries followed in one process-list walk.</summary>
    public int MaxProcesses { get; init => field = Positive(value, 1 << 20); } = 4096;

    /// <summary>Largest user handle value looked up (Windows caps a table at 2^24 handles, values below 2^26).</summary>
    public uint MaxHandleValue { get; init => field = value == 0 ? throw new ArgumentOutOfRangeException(nameof(MaxHandleValue)) : value; } = 1u << 24;

    private static int Positive(int value, int max) =>
        value > 0 && value <= max ? value : throw new ArgumentOutOfRangeException(nameof(value), value, $"must be in 1..{max}");
}
