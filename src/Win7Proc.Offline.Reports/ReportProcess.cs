namespace Win7Proc.Offline.Reports;

/// <summary>
/// One process instance: pid + the instruction of its creation (or first sighting). A reused pid is two instances.
/// Strings are guest data as logged: renderers make them printable.
/// </summary>
public sealed class ReportProcess
{
    internal ReportProcess(uint pid, ulong instance, string name, int order)
    {
        Pid = pid;
        Instance = instance;
        Name = name;
        Order = order;
    }

    public uint Pid { get; }
    /// <summary><c>Process.instance_instr</c>: the creation's instr, else the first sighting's. Pid + this = the key.</summary>
    public ulong Instance { get; }
    /// <summary>EPROCESS.ImageFileName (at most 14 characters).</summary>
    public string Name { get; }
    /// <summary>0 for the first instance the log mentions, 1 for the next, ...</summary>
    public int Order { get; }
    /// <summary>Full NT image path (<c>\Device\HarddiskVolume2\...</c>), or the Win32 path the creator gave.</summary>
    public string? ImagePath { get; internal set; }
    public string? CommandLine { get; internal set; }
    /// <summary>EPROCESS.InheritedFromUniqueProcessId.</summary>
    public uint? Ppid { get; internal set; }
    public ReportProcess? Parent { get; internal set; }
    /// <summary>EPROCESS.CreateTime (FILETIME, UTC).</summary>
    public ulong? CreateTime { get; internal set; }
    /// <summary>instr of the creation seen; null when the process already ran (or its creation was not logged).</summary>
    public ulong? Birth { get; internal set; }
    /// <summary>instr of the last termination seen; null when unseen.</summary>
    public ulong? Death { get; internal set; }
    public uint? ExitStatus { get; internal set; }
    /// <summary>Another process that terminated this one.</summary>
    public ReportProcess? TerminatedBy { get; internal set; }
    public ulong FirstSeen { get; internal set; }
    public ulong LastSeen { get; internal set; }

    /// <summary>"name pid" with the instance when the pid was reused: <c>svchost.exe 2600@13000000</c>.</summary>
    public string Label => $"{Name} {Pid}";

    /// <summary>The file name of the image path (what CAPE calls process_name), else the EPROCESS name.</summary>
    public string ImageFileName
    {
        get
        {
            var path = ImagePath;
            if (string.IsNullOrEmpty(path)) return Name;
            var slash = path.LastIndexOf('\\');
            return slash >= 0 && slash < path.Length - 1 ? path[(slash + 1)..] : path;
        }
    }

    /// <summary>Alive at some point of [from, to] (inclusive; unseen births and deaths are open ends).</summary>
    public bool AliveWithin(ulong from, ulong to) => (Birth ?? 0) <= to && (Death ?? ulong.MaxValue) >= from;

    public override string ToString() => $"{Name} {Pid}@{Instance}";
}
