using System.Text;

namespace Win7Proc.Offline.Analyzer;

/// <summary>
/// The original's grab_files: the data of each successful NtWriteFile is appended to one host file per
/// (pid, process name, guest file name) in a directory. Guest names are hostile: the host file name is built only
/// from [A-Za-z0-9._-] (everything else becomes '_'), never starts with '.', is bounded in length, and carries a
/// hash of the original names when anything was replaced or cut, so distinct guest files stay distinct.
/// A guest also decides how many files and bytes it writes: past <see cref="MaxFiles"/> new files or
/// <see cref="MaxBytes"/> bytes in all, writes are skipped and counted (<see cref="SkippedWrites"/>) instead of filling
/// the host's disk.
/// Each run starts its files afresh: the first write of a run to a host file replaces what an earlier run left there,
/// later writes append, so re-running an analysis gives the same files and the report's sizes are what is on disk.
/// (The CLI also refuses a non-empty directory unless --force: files of an earlier run that this one does not write
/// would otherwise stay beside its own.)
/// </summary>
public sealed class WriteExtractor
{
    /// <summary>Longest host file name we make (most file systems allow 255 bytes).</summary>
    public const int MaxFileNameLength = 200;
    public const int DefaultMaxFiles = 10_000;
    public const long DefaultMaxBytes = 1L << 30;

    readonly string _directory;
    readonly Dictionary<string, string> _pathByKey = new(StringComparer.Ordinal);

    public WriteExtractor(string directory, int maxFiles = DefaultMaxFiles, long maxBytes = DefaultMaxBytes)
    {
        _directory = Path.GetFullPath(directory);
        MaxFiles = maxFiles;
        MaxBytes = maxBytes;
        Directory.CreateDirectory(_directory);
    }

    public string DirectoryPath => _directory;
    public int MaxFiles { get; }
    public long MaxBytes { get; }
    public long BytesWritten { get; private set; }
    public int FilesWritten => _pathByKey.Count;
    /// <summary>Writes not extracted because <see cref="MaxFiles"/> or <see cref="MaxBytes"/> was reached.</summary>
    public long SkippedWrites { get; private set; }

    /// <summary>Appends <paramref name="data"/> to the host file for this process and guest file; returns its path, or
    /// null when a limit was reached (the write is counted in <see cref="SkippedWrites"/>).</summary>
    public string? Append(uint pid, string processName, string guestFileName, ReadOnlySpan<byte> data)
    {
        var key = Key(pid, processName, guestFileName);
        bool known = _pathByKey.TryGetValue(key, out var path);
        if ((!known && _pathByKey.Count >= MaxFiles) || BytesWritten + data.Length > MaxBytes)
        {
            SkippedWrites++;
            return null;
        }
        if (!known)
        {
            path = Path.Combine(_directory, HostFileName(pid, processName, guestFileName));
            // Belt and braces: the name has no separators, but never write outside the directory.
            if (!string.Equals(Path.GetDirectoryName(Path.GetFullPath(path)), Path.TrimEndingDirectorySeparator(_directory), StringComparison.Ordinal))
                throw new InvalidOperationException($"extracted file name escaped {_directory}: {path}");
            _pathByKey[key] = path;
        }
        try
        {
            // FileMode.Create on this run's first write to the file: never append to an earlier run's data.
            using var stream = new FileStream(path!, known ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.Read);
            stream.Write(data);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot write {path} (--extract-writes): {(e is UnauthorizedAccessException ? "permission denied" : e.Message)}", e);
        }
        BytesWritten += data.Length;
        return path;
    }

    /// <summary><c>PID_PROCESS_FILE</c> made safe: see the class summary.</summary>
    public static string HostFileName(uint pid, string processName, string guestFileName)
    {
        var raw = $"{pid}_{processName}_{guestFileName}";
        var safe = new StringBuilder(raw.Length);
        foreach (var c in raw)
            safe.Append(c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-' or '_' ? c : '_');
        bool changed = !string.Equals(safe.ToString(), raw, StringComparison.Ordinal);
        // A leading digit (the pid) already rules out "." and ".."; dots elsewhere are harmless without separators.
        const int hashLength = 17; // "_" + 16 hex digits
        if (changed || safe.Length > MaxFileNameLength)
        {
            if (safe.Length > MaxFileNameLength - hashLength) safe.Length = MaxFileNameLength - hashLength;
            // Hashed with separators that cannot occur in the parts: ("a_b", "c") and ("a", "b_c") join to the same raw name.
            safe.Append('_').Append(Fnv1a64(Key(pid, processName, guestFileName)).ToString("x16"));
        }
        return safe.ToString();
    }

    static string Key(uint pid, string processName, string guestFileName) => $"{pid}\0{processName}\0{guestFileName}";

    static ulong Fnv1a64(string text)
    {
        ulong hash = 0xcbf29ce484222325;
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            hash ^= b;
            hash *= 0x100000001b3;
        }
        return hash;
    }
}
