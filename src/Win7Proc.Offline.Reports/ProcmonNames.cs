using System.Globalization;
using System.Text;
using Win7Proc.Offline.Analyzer.Windows7;

namespace Win7Proc.Offline.Reports;

/// <summary>
/// Names as Process Monitor users know them. Paths: <c>\Device\HarddiskVolume2\x</c> becomes <c>C:\x</c> once the log
/// shows that mapping (a creation whose Win32 ImagePathName and the kernel's device image path name the same file),
/// <c>\??\C:\x</c> becomes <c>C:\x</c>; keys: <c>\REGISTRY\MACHINE\SOFTWARE\CLASSES</c> → <c>HKCR</c>,
/// <c>\REGISTRY\MACHINE</c> → <c>HKLM</c>, <c>\REGISTRY\USER</c> → <c>HKU</c> (<c>HKCU</c> would need the process's
/// user, which the trace does not show).
/// </summary>
public sealed class ProcmonPaths
{
    /// <summary>Most drive mappings kept (there are 26 letters; a hostile log cannot grow this).</summary>
    const int MaxDrives = 26;

    readonly Dictionary<string, string> _driveByDevice = new(StringComparer.OrdinalIgnoreCase);

    public IReadOnlyDictionary<string, string> Drives => _driveByDevice;

    /// <summary>Learns "X:" = device from a Win32 path and the device path of the same file.</summary>
    public void LearnDrive(string? win32Path, string? devicePath)
    {
        if (win32Path is null || devicePath is null || _driveByDevice.Count >= MaxDrives) return;
        if (win32Path.StartsWith(@"\??\", StringComparison.Ordinal)) win32Path = win32Path[4..];
        if (win32Path.Length < 4 || win32Path[1] != ':' || win32Path[2] != '\\' || !char.IsAsciiLetter(win32Path[0])) return;
        var rest = win32Path[2..];
        if (!devicePath.StartsWith(@"\Device\", StringComparison.OrdinalIgnoreCase)
            || !devicePath.EndsWith(rest, StringComparison.OrdinalIgnoreCase) || devicePath.Length == rest.Length) return;
        var device = devicePath[..^rest.Length];
        if (device.Contains('\\', StringComparison.Ordinal) && device.IndexOf('\\', 8) < 0)
            _driveByDevice.TryAdd(device, char.ToUpperInvariant(win32Path[0]) + ":");
    }

    /// <summary>A file path as Procmon shows it.</summary>
    public string File(string? path)
    {
        if (string.IsNullOrEmpty(path)) return "";
        if (path.StartsWith(@"\??\", StringComparison.Ordinal) && path.Length >= 6 && path[5] == ':') return path[4..];
        foreach (var (device, drive) in _driveByDevice)
            if (path.StartsWith(device, StringComparison.OrdinalIgnoreCase) && (path.Length == device.Length || path[device.Length] == '\\'))
                return drive + (path.Length == device.Length ? "\\" : path[device.Length..]);
        return path;
    }

    static readonly (string Prefix, string Root)[] s_hives =
    [
        (@"\REGISTRY\MACHINE\SOFTWARE\CLASSES", "HKCR"),
        (@"\REGISTRY\MACHINE", "HKLM"),
        (@"\REGISTRY\USER", "HKU"),
    ];

    /// <summary>A registry key path as Procmon shows it.</summary>
    public static string Key(string? path)
    {
        if (string.IsNullOrEmpty(path)) return "";
        foreach (var (prefix, root) in s_hives)
            if (path.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && (path.Length == prefix.Length || path[prefix.Length] == '\\'))
                return root + path[prefix.Length..];
        return path;
    }

    /// <summary>The path of an event as Procmon shows it: files and images as files, keys (with the value name for
    /// value operations) as keys, other objects as named.</summary>
    public string Of(ActivityEvent e) => e.Operation switch
    {
        Operation.ProcessCreate => File(e.Path),
        Operation.ProcessExit or Operation.ProcessOpen => e.Other is { } other ? File(other.ImagePath) : "",
        Operation.KeyOpen or Operation.KeyCreate or Operation.KeyQuery or Operation.KeyDelete or Operation.KeyEnum or Operation.ValueEnum => Key(e.Path),
        Operation.ValueQuery or Operation.ValueSet or Operation.ValueDelete => Key(e.Path) + "\\" + e.ValueName,
        Operation.MemoryRead or Operation.MemoryWrite => e.Other is { } target ? File(target.ImagePath) : "",
        Operation.SectionCreate or Operation.SectionOpen or Operation.SectionMap => File(e.Path),
        _ => File(e.Path),
    };
}

/// <summary>Process Monitor's operation names, Result words and Detail forms.</summary>
public static class ProcmonNames
{
    /// <summary>Procmon's operation name where it has one (upstream-checks §4, Noriben's parser); ours otherwise.</summary>
    public static string Operation(Operation op) => op switch
    {
        Reports.Operation.ProcessCreate => "Process Create",
        Reports.Operation.ProcessExit => "Process Exit",
        Reports.Operation.ProcessOpen => "OpenProcess",
        Reports.Operation.FileCreate or Reports.Operation.FileOpen => "CreateFile",
        Reports.Operation.FileRead => "ReadFile",
        Reports.Operation.FileWrite => "WriteFile",
        Reports.Operation.FileRename => "SetRenameInformationFile",
        Reports.Operation.FileDisposition => "SetDispositionInformationFile",
        Reports.Operation.FileDelete => "DeleteFile",
        Reports.Operation.FileDeleteOnClose => "CloseFile",
        Reports.Operation.KeyOpen => "RegOpenKey",
        Reports.Operation.KeyCreate => "RegCreateKey",
        Reports.Operation.KeyQuery => "RegQueryKey",
        Reports.Operation.KeyDelete => "RegDeleteKey",
        Reports.Operation.KeyEnum => "RegEnumKey",
        Reports.Operation.ValueQuery => "RegQueryValue",
        Reports.Operation.ValueSet => "RegSetValue",
        Reports.Operation.ValueDelete => "RegDeleteValue",
        Reports.Operation.ValueEnum => "RegEnumValue",
        Reports.Operation.SectionCreate => "CreateSection",
        Reports.Operation.SectionOpen => "OpenSection",
        Reports.Operation.SectionMap => "MapViewOfSection",
        Reports.Operation.PortCreate => "CreatePort",
        Reports.Operation.PortConnect => "ConnectPort",
        Reports.Operation.PortAccept => "AcceptConnectPort",
        Reports.Operation.PortListen => "ListenPort",
        Reports.Operation.PortMessage => "PortMessage",
        Reports.Operation.MemoryRead => "ReadProcessMemory",
        Reports.Operation.MemoryWrite => "WriteProcessMemory",
        _ => op.ToString(),
    };

    // Procmon's words for the statuses it names differently from "the name without STATUS_, with spaces".
    static readonly Dictionary<uint, string> s_results = new()
    {
        [0x00000000] = "SUCCESS",
        [0xC0000034] = "NAME NOT FOUND",
        [0xC000003A] = "PATH NOT FOUND",
        [0xC0000022] = "ACCESS DENIED",
        [0xC0000035] = "NAME COLLISION",
        [0xC0000043] = "SHARING VIOLATION",
        [0x80000005] = "BUFFER OVERFLOW",
        [0xC0000023] = "BUFFER TOO SMALL",
        [0x8000001A] = "NO MORE ENTRIES",
        [0x80000006] = "NO MORE FILES",
        [0xC000000D] = "INVALID PARAMETER",
        [0xC0000033] = "NAME INVALID",
        [0xC0000039] = "PATH INVALID",
        [0xC00000BA] = "IS DIRECTORY",
        [0xC0000056] = "DELETE PENDING",
        [0xC0000011] = "END OF FILE",
        [0x00000104] = "REPARSE",
        [0x40000000] = "NAME EXISTS",
    };

    /// <summary>Result column: <c>SUCCESS</c>, Procmon's word, else the status name without <c>STATUS_</c> and with
    /// spaces, else its hex value. Empty when the status is unknown.</summary>
    public static string Result(uint? status)
    {
        if (status is not uint s) return "";
        if (s_results.TryGetValue(s, out var word)) return word;
        var name = StatusName(s);
        return name.StartsWith("STATUS_", StringComparison.Ordinal) ? name[7..].Replace('_', ' ') : name;
    }

    /// <summary>The STATUS_ name of a status (the analyzer's table, and the few it lacks), else its hex value.</summary>
    public static string StatusName(uint status) => status switch
    {
        0x8000000D => "STATUS_PARTIAL_COPY",
        0xC0000005 => "STATUS_ACCESS_VIOLATION",
        0xC000012D => "STATUS_COMMITMENT_LIMIT",
        0xC0000041 => "STATUS_PORT_CONNECTION_REFUSED",
        _ => NtStatus.Describe(status),
    };

    public static string TypeName(uint type) => type switch
    {
        0 => "REG_NONE", 1 => "REG_SZ", 2 => "REG_EXPAND_SZ", 3 => "REG_BINARY", 4 => "REG_DWORD",
        5 => "REG_DWORD_BIG_ENDIAN", 6 => "REG_LINK", 7 => "REG_MULTI_SZ", 8 => "REG_RESOURCE_LIST",
        9 => "REG_FULL_RESOURCE_DESCRIPTOR", 10 => "REG_RESOURCE_REQUIREMENTS_LIST", 11 => "REG_QWORD",
        _ => "0x" + type.ToString("X", CultureInfo.InvariantCulture),
    };

    /// <summary>Registry data decoded by its type: strings as text (up to the first NUL), DWORD/QWORD as numbers,
    /// anything else (or a short capture) as hex bytes.</summary>
    public static object DecodeValue(uint? type, byte[]? data)
    {
        data ??= [];
        switch (type)
        {
            case 1 or 2 or 6:
                return Utf16(data).Split('\0')[0];
            case 7:
                return Utf16(data).Split('\0').TakeWhile(s => s.Length > 0).ToArray();
            case 4 when data.Length >= 4:
                return (ulong)BitConverter.ToUInt32(data, 0);
            case 5 when data.Length >= 4:
                return (ulong)(uint)(data[0] << 24 | data[1] << 16 | data[2] << 8 | data[3]);
            case 11 when data.Length >= 8:
                return BitConverter.ToUInt64(data, 0);
            default:
                return Convert.ToHexString(data);
        }
    }

    static string Utf16(byte[] data) => Encoding.Unicode.GetString(data, 0, data.Length & ~1);

    /// <summary>Data as Procmon prints it in Detail: text, numbers in decimal, binary as spaced hex (first 16 bytes).</summary>
    public static string DataText(uint? type, byte[]? data) => DecodeValue(type, data) switch
    {
        string s when type is 1 or 2 or 6 => s,
        string[] parts => string.Join(", ", parts),
        ulong n => n.ToString(CultureInfo.InvariantCulture),
        _ => string.Join(' ', (data ?? []).Take(16).Select(b => b.ToString("X2", CultureInfo.InvariantCulture)))
             + ((data?.Length ?? 0) > 16 ? " ..." : ""),
    };

    static string N(ulong value) => value.ToString("N0", CultureInfo.InvariantCulture); // Procmon groups digits: 4,096

    static readonly string[] s_dispositions = ["Supersede", "Open", "Create", "OpenIf", "Overwrite", "OverwriteIf"];
    static readonly string[] s_openResults = ["Superseded", "Opened", "Created", "Overwritten", "Exists", "DoesNotExist"];

    /// <summary>The Detail column: Procmon's forms where it has them (Process Create <c>PID: N, Command line: ...</c>,
    /// RegSetValue <c>Type: REG_SZ, Length: N, Data: ...</c>, ...), the same style for ours.</summary>
    public static string Detail(ActivityEvent e, ProcmonPaths paths)
    {
        var parts = new List<string>();
        switch (e.Operation)
        {
            case Reports.Operation.ProcessCreate:
                if (e.Other is { } child) parts.Add($"PID: {child.Pid}");
                parts.Add($"Command line: {e.CommandLine ?? e.Other?.CommandLine ?? ""}");
                break;
            case Reports.Operation.ProcessExit:
                if (e.ExitStatus is uint exit) parts.Add($"Exit Status: {exit}");
                if (e.Other is { } victim && victim != e.Process) parts.Add($"Target PID: {victim.Pid}");
                break;
            case Reports.Operation.ProcessOpen:
                if (e.Other is { } target) parts.Add($"Target PID: {target.Pid}");
                if (e.DesiredAccess is uint access) parts.Add($"Desired Access: 0x{access:X8}");
                break;
            case Reports.Operation.FileCreate or Reports.Operation.FileOpen:
                var disposition = e.Operation == Reports.Operation.FileOpen ? 1u : e.CreateDisposition;
                if (disposition is uint d) parts.Add($"Disposition: {(d < s_dispositions.Length ? s_dispositions[d] : "0x" + d.ToString("X", CultureInfo.InvariantCulture))}");
                if (e.IoResult is uint r) parts.Add($"OpenResult: {(r < s_openResults.Length ? s_openResults[r] : r.ToString(CultureInfo.InvariantCulture))}");
                break;
            case Reports.Operation.FileRead or Reports.Operation.FileWrite:
                if (e.Offset is ulong offset) parts.Add($"Offset: {N(offset)}");
                if ((e.Bytes ?? e.Length) is ulong length) parts.Add($"Length: {N(length)}");
                break;
            case Reports.Operation.FileRename:
                parts.Add($"FileName: {paths.File(e.SecondPath)}");
                break;
            case Reports.Operation.FileDisposition or Reports.Operation.FileDelete:
                parts.Add($"Delete: {(e.Delete ?? true ? "True" : "False")}");
                break;
            case Reports.Operation.FileDeleteOnClose:
                parts.Add("Delete On Close: True");
                break;
            case Reports.Operation.ValueSet:
                if (e.ValueType is uint type) parts.Add($"Type: {TypeName(type)}");
                if ((e.ValueSize ?? (uint?)e.ValueData?.Length) is uint size) parts.Add($"Length: {N(size)}");
                parts.Add($"Data: {DataText(e.ValueType, e.ValueData)}");
                break;
            case Reports.Operation.KeyEnum or Reports.Operation.ValueEnum:
                if (e.Index is uint index) parts.Add($"Index: {index}");
                break;
            case Reports.Operation.SectionCreate or Reports.Operation.SectionOpen or Reports.Operation.SectionMap:
                if (e.ObjectId is uint id) parts.Add($"Section: 0x{id:X8}");
                if (e.SecondPath is not null && e.SecondPath != e.Path) parts.Add($"File: {paths.File(e.SecondPath)}");
                if (e.Operation == Reports.Operation.SectionMap && e.Other is { } into) parts.Add($"Target PID: {into.Pid}");
                if (e.Address is uint view) parts.Add($"Base: 0x{view:X8}");
                if (e.Length is uint viewSize) parts.Add($"Size: {N(viewSize)}");
                break;
            case Reports.Operation.PortCreate or Reports.Operation.PortConnect or Reports.Operation.PortAccept
                or Reports.Operation.PortListen or Reports.Operation.PortMessage:
                if (e.Other is { } peer) parts.Add($"Peer PID: {peer.Pid}");
                break;
            case Reports.Operation.MemoryRead or Reports.Operation.MemoryWrite:
                if (e.Other is { } mt) parts.Add($"Target PID: {mt.Pid}");
                if (e.Address is uint address) parts.Add($"Address: 0x{address:X8}");
                if ((e.Bytes ?? e.Length) is ulong count) parts.Add($"Length: {N(count)}");
                break;
        }
        return string.Join(", ", parts);
    }
}
