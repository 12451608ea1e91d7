namespace Win7Proc.Offline.Analyzer;

/// <summary>Joining and splitting NT object paths (backslash-separated, case kept as the guest gave it).</summary>
internal static class NtPath
{
    /// <summary>root + "\" + relative, without doubling the separator. An unknown root gives the relative name
    /// alone (marked as such by having no leading backslash); an empty relative name designates the root itself.</summary>
    public static string? Join(string? root, string? relative)
    {
        if (string.IsNullOrEmpty(relative)) return root;
        if (string.IsNullOrEmpty(root)) return relative;
        return root.TrimEnd('\\') + "\\" + relative.TrimStart('\\');
    }

    /// <summary>The directory part of a full path ("\a\b\c.txt" → "\a\b"), or null when there is none.</summary>
    public static string? Directory(string? path)
    {
        if (string.IsNullOrEmpty(path)) return null;
        int slash = path.TrimEnd('\\').LastIndexOf('\\');
        return slash <= 0 ? null : path[..slash];
    }
}

/// <summary>
/// DOS device prefixes (<c>\??\C:</c>) mapped to the device paths the kernel reports (<c>\Device\HarddiskVolume2</c>),
/// learned from successful opens: the requested name and the FILE_OBJECT's full name share everything after the drive.
/// (The trace does not capture the \GLOBAL?? symbolic links themselves.) A name seen before its drive was learned
/// keeps its <c>\??\</c> form.
/// </summary>
internal sealed class DosDeviceMap
{
    const string DosPrefix = @"\??\";
    /// <summary>More drive letters than exist: a hostile guest cannot grow the map.</summary>
    const int MaxDrives = 32;

    readonly Dictionary<string, string> _deviceByDrive = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Learns <c>\??\X:</c> from a requested name and the kernel's full name for the same file.</summary>
    public void Learn(string? requested, string? kernelName)
    {
        if (requested is null || kernelName is null || !IsDrivePath(requested)) return;
        var rest = requested[6..]; // after "\??\X:"
        if (rest.Length == 0 || !kernelName.EndsWith(rest, StringComparison.OrdinalIgnoreCase)) return;
        var device = kernelName[..^rest.Length];
        if (device.Length == 0 || !device.StartsWith(@"\Device\", StringComparison.OrdinalIgnoreCase)) return;
        var drive = requested[..6];
        if (_deviceByDrive.Count < MaxDrives || _deviceByDrive.ContainsKey(drive)) _deviceByDrive[drive] = device;
    }

    /// <summary>The name with a learned <c>\??\X:</c> prefix replaced by its device; otherwise unchanged.</summary>
    public string? Translate(string? name)
    {
        if (name is null || !IsDrivePath(name)) return name;
        return _deviceByDrive.TryGetValue(name[..6], out var device) ? device + name[6..] : name;
    }

    static bool IsDrivePath(string name) =>
        name.Length >= 6 && name.StartsWith(DosPrefix, StringComparison.Ordinal) && char.IsAsciiLetter(name[4]) && name[5] == ':'
        && (name.Length == 6 || name[6] == '\\');
}
