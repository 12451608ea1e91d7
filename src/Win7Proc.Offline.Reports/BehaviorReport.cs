using Win7Proc.Offline.Analyzer.Windows7;

namespace Win7Proc.Offline.Reports;

/// <summary>Which processes and events a report or export keeps. Null fields keep everything.</summary>
public sealed record ReportFilter
{
    public uint? Pid { get; init; }
    /// <summary>Process name (EPROCESS name or image file name), case-insensitive.</summary>
    public string? ProcessName { get; init; }
    public ulong? From { get; init; }
    public ulong? To { get; init; }
    /// <summary><c>--hide-system</c>: activity every Windows 7 boot shows.</summary>
    public SystemPatterns? Hide { get; init; }

    public static ReportFilter All { get; } = new();

    public bool KeepsProcess(ReportProcess p) =>
        (Pid is null || p.Pid == Pid)
        && (ProcessName is null || string.Equals(p.Name, ProcessName, StringComparison.OrdinalIgnoreCase)
            || string.Equals(p.ImageFileName, ProcessName, StringComparison.OrdinalIgnoreCase))
        && p.AliveWithin(From ?? 0, To ?? ulong.MaxValue);

    public bool KeepsEvent(ActivityEvent e, ProcmonPaths paths)
    {
        if (e.Instr < (From ?? 0) || e.Instr > (To ?? ulong.MaxValue)) return false;
        // A Process Exit row belongs to the process that exits (Procmon's convention), so filter on it.
        var owner = e.Operation == Operation.ProcessExit && e.Other is { } victim ? victim : e.Process;
        if (Pid is not null && owner.Pid != Pid && e.Process.Pid != Pid) return false;
        if (ProcessName is not null && !MatchesName(owner) && !MatchesName(e.Process)) return false;
        if (Hide is null) return true;
        if (Hide.HidesProcess(paths.File(e.Process.ImagePath))) return false;
        return e.Operation switch
        {
            Operation.FileCreate or Operation.FileOpen or Operation.FileRead or Operation.FileWrite or Operation.FileRename
                or Operation.FileDelete or Operation.FileDisposition or Operation.FileDeleteOnClose => !Hide.HidesFile(paths.File(e.Path)),
            Operation.KeyOpen or Operation.KeyCreate or Operation.KeyQuery or Operation.KeyDelete or Operation.KeyEnum
                or Operation.ValueEnum or Operation.ValueQuery or Operation.ValueSet or Operation.ValueDelete => !Hide.HidesKey(paths.Of(e)),
            _ => true,
        };
    }

    bool MatchesName(ReportProcess p) =>
        string.Equals(p.Name, ProcessName, StringComparison.OrdinalIgnoreCase)
        || string.Equals(p.ImageFileName, ProcessName, StringComparison.OrdinalIgnoreCase);
}

/// <summary>A file as one process used it. Paths as Procmon shows them.</summary>
public sealed class FileUse(string path)
{
    public string Path { get; } = path;
    public bool Created { get; internal set; }
    public bool Opened { get; internal set; }
    public int Reads { get; internal set; }
    public ulong BytesRead { get; internal set; }
    public int Writes { get; internal set; }
    public ulong BytesWritten { get; internal set; }
    /// <summary>How it was deleted: "NtDeleteFile", "FileDispositionInformation", "FILE_DELETE_ON_CLOSE"; null if not.</summary>
    public string? DeletedBy { get; internal set; }
    public List<string> RenamedTo { get; } = new();
}

/// <summary>A key as one process used it.</summary>
public sealed class KeyUse(string path)
{
    public string Path { get; } = path;
    public bool Opened { get; internal set; }
    public bool Created { get; internal set; }
    public bool Queried { get; internal set; }
    public bool Enumerated { get; internal set; }
    public bool Deleted { get; internal set; }
}

public sealed record ValueSet(ulong Instr, string Key, string Name, uint? Type, object Data, uint? Size);
public sealed record ValueName(ulong Instr, string Key, string Name);
public sealed record SectionUse(ulong Instr, string How, string? Name, string? File, uint? SectionId, ReportProcess? Target, uint? BaseAddress, uint? ViewSize);
public sealed record PortUse(ulong Instr, string Role, string? Name, ReportProcess? Peer);
public sealed record MemoryAccess(ulong Instr, string How, ReportProcess Target, uint? Address, ulong? Bytes);
public sealed record ProcessLink(ulong Instr, ReportProcess Target, string? CommandLine = null);

/// <summary>Everything one process instance did (within the filter): the report's unit.</summary>
public sealed class ProcessBehavior(ReportProcess process)
{
    readonly Dictionary<string, FileUse> _files = new(StringComparer.OrdinalIgnoreCase);
    readonly Dictionary<string, KeyUse> _keys = new(StringComparer.OrdinalIgnoreCase);

    public ReportProcess Process { get; } = process;
    public List<FileUse> Files { get; } = new();
    public List<KeyUse> Keys { get; } = new();
    public List<ValueSet> ValuesSet { get; } = new();
    public List<ValueName> ValuesQueried { get; } = new();
    public List<ValueName> ValuesDeleted { get; } = new();
    public List<SectionUse> Sections { get; } = new();
    public List<PortUse> Ports { get; } = new();
    public List<MemoryAccess> Memory { get; } = new();
    public List<ProcessLink> Created { get; } = new();
    public List<ProcessLink> Opened { get; } = new();
    public List<ProcessLink> Terminated { get; } = new();
    /// <summary>Calls that did not succeed (NTSTATUS ≥ 0x80000000), by status name.</summary>
    public SortedDictionary<string, int> FailedCalls { get; } = new(StringComparer.Ordinal);

    internal FileUse File(string path)
    {
        if (!_files.TryGetValue(path, out var use)) { _files[path] = use = new FileUse(path); Files.Add(use); }
        return use;
    }

    internal KeyUse Key(string path)
    {
        if (!_keys.TryGetValue(path, out var use)) { _keys[path] = use = new KeyUse(path); Keys.Add(use); }
        return use;
    }
}

/// <summary>
/// The per-process report of a log: every process instance with its image, command line, parent, birth and death,
/// and what it did to files, keys, sections, ports, other processes' memory and other processes. Lists hold the
/// operations that succeeded; calls that did not are counted by status.
/// </summary>
public sealed class BehaviorReport
{
    BehaviorReport(ActivityLog log, ReportFilter filter, string input)
    {
        Log = log;
        Filter = filter;
        Input = input;
        Clock = GuestClock.From(log.Processes);
    }

    public ActivityLog Log { get; }
    public ReportFilter Filter { get; }
    /// <summary>The input file's name, as the user gave it.</summary>
    public string Input { get; }
    public GuestClock Clock { get; }
    public ProcmonPaths Paths => Log.Paths;
    public ulong MaxInstr => Math.Max(Log.TotalInstr ?? 0, Log.LastInstr);
    /// <summary>The processes the filter keeps, in order of first mention.</summary>
    public List<ProcessBehavior> Processes { get; } = new();

    public ProcessBehavior? Of(ReportProcess process) => Processes.FirstOrDefault(p => p.Process == process);

    /// <summary>Roots of the process tree (kept processes whose parent is not kept), in order of first mention.</summary>
    public IEnumerable<ProcessBehavior> Roots
    {
        get
        {
            var kept = Processes.Select(p => p.Process).ToHashSet();
            return Processes.Where(p => p.Process.Parent is not { } parent || !kept.Contains(parent));
        }
    }

    /// <summary>Children of a kept process among the kept ones, by birth then first mention.</summary>
    public IEnumerable<ProcessBehavior> ChildrenOf(ProcessBehavior parent) =>
        Processes.Where(p => p.Process.Parent == parent.Process)
            .OrderBy(p => p.Process.Birth ?? 0).ThenBy(p => p.Process.Order);

    public static BehaviorReport Build(ActivityLog log, ReportFilter? filter = null, string input = "")
    {
        filter ??= ReportFilter.All;
        var report = new BehaviorReport(log, filter, input);
        var paths = log.Paths;
        var byProcess = new Dictionary<ReportProcess, ProcessBehavior>();
        foreach (var process in log.Processes)
        {
            if (!filter.KeepsProcess(process)) continue;
            if (filter.Hide?.HidesProcess(paths.File(process.ImagePath)) == true) continue;
            var behavior = new ProcessBehavior(process);
            byProcess[process] = behavior;
            report.Processes.Add(behavior);
        }
        foreach (var e in log.Events)
        {
            if (!byProcess.TryGetValue(e.Process, out var b) || !filter.KeepsEvent(e, paths)) continue;
            if (!e.Succeeded)
            {
                var name = e.Status is uint s ? ProcmonNames.StatusName(s) : "unknown";
                b.FailedCalls[name] = b.FailedCalls.GetValueOrDefault(name) + 1;
                continue;
            }
            Record(b, e, paths);
        }
        return report;
    }

    static void Record(ProcessBehavior b, ActivityEvent e, ProcmonPaths paths)
    {
        switch (e.Operation)
        {
            case Operation.ProcessCreate when e.Other is { } child:
                b.Created.Add(new ProcessLink(e.Instr, child, e.CommandLine ?? child.CommandLine));
                break;
            case Operation.ProcessExit when e.Other is { } victim:
                if (victim != b.Process) b.Terminated.Add(new ProcessLink(e.Instr, victim));
                break;
            case Operation.ProcessOpen when e.Other is { } target:
                b.Opened.Add(new ProcessLink(e.Instr, target));
                break;
            case Operation.FileCreate:
                var created = b.File(paths.File(e.Path));
                // IO_STATUS_BLOCK.Information 2 = FILE_CREATED; without it, a create counts as one.
                if (e.IoResult is null or 2 or 0 or 3) created.Created = true; else created.Opened = true;
                break;
            case Operation.FileOpen:
                b.File(paths.File(e.Path)).Opened = true;
                break;
            case Operation.FileRead:
                var read = b.File(paths.File(e.Path));
                read.Reads++;
                read.BytesRead += e.Bytes ?? 0;
                break;
            case Operation.FileWrite:
                var written = b.File(paths.File(e.Path));
                written.Writes++;
                written.BytesWritten += e.Bytes ?? 0;
                break;
            case Operation.FileRename:
                b.File(paths.File(e.Path)).RenamedTo.Add(paths.File(e.SecondPath));
                break;
            case Operation.FileDelete:
                b.File(paths.File(e.Path)).DeletedBy = "NtDeleteFile";
                break;
            case Operation.FileDisposition when e.Delete != false:
                b.File(paths.File(e.Path)).DeletedBy = "FileDispositionInformation";
                break;
            case Operation.FileDeleteOnClose:
                b.File(paths.File(e.Path)).DeletedBy = "FILE_DELETE_ON_CLOSE";
                break;
            case Operation.KeyOpen: b.Key(ProcmonPaths.Key(e.Path)).Opened = true; break;
            case Operation.KeyCreate: b.Key(ProcmonPaths.Key(e.Path)).Created = true; break;
            case Operation.KeyQuery: b.Key(ProcmonPaths.Key(e.Path)).Queried = true; break;
            case Operation.KeyEnum or Operation.ValueEnum: b.Key(ProcmonPaths.Key(e.Path)).Enumerated = true; break;
            case Operation.KeyDelete: b.Key(ProcmonPaths.Key(e.Path)).Deleted = true; break;
            case Operation.ValueSet:
                b.ValuesSet.Add(new ValueSet(e.Instr, ProcmonPaths.Key(e.Path), e.ValueName ?? "", e.ValueType,
                    ProcmonNames.DecodeValue(e.ValueType, e.ValueData), e.ValueSize));
                break;
            case Operation.ValueQuery:
                b.ValuesQueried.Add(new ValueName(e.Instr, ProcmonPaths.Key(e.Path), e.ValueName ?? ""));
                break;
            case Operation.ValueDelete:
                b.ValuesDeleted.Add(new ValueName(e.Instr, ProcmonPaths.Key(e.Path), e.ValueName ?? ""));
                break;
            case Operation.SectionCreate or Operation.SectionOpen:
                b.Sections.Add(new SectionUse(e.Instr, e.Operation == Operation.SectionCreate ? "created" : "opened",
                    e.Path, e.SecondPath is null ? null : paths.File(e.SecondPath), e.ObjectId, null, null, null));
                break;
            case Operation.SectionMap:
                b.Sections.Add(new SectionUse(e.Instr, "mapped", e.Path, e.SecondPath is null ? null : paths.File(e.SecondPath),
                    e.ObjectId, e.Other, e.Address, e.Length));
                break;
            case Operation.PortCreate: b.Ports.Add(new PortUse(e.Instr, "served", e.Path, null)); break;
            case Operation.PortConnect: b.Ports.Add(new PortUse(e.Instr, "connected", e.Path, e.Other)); break;
            case Operation.PortAccept: b.Ports.Add(new PortUse(e.Instr, "accepted", e.Path, e.Other)); break;
            case Operation.PortListen: b.Ports.Add(new PortUse(e.Instr, "listened", e.Path, e.Other)); break;
            case Operation.PortMessage: b.Ports.Add(new PortUse(e.Instr, "message", e.Path, e.Other)); break;
            case Operation.MemoryRead or Operation.MemoryWrite when e.Other is { } target && target != b.Process:
                b.Memory.Add(new MemoryAccess(e.Instr, e.Operation == Operation.MemoryRead ? "read" : "write", target, e.Address, e.Bytes ?? e.Length));
                break;
        }
    }

    // ---- CAPE's behavior.summary lists (modules/processing/behavior.py Summary), over the kept processes ----

    public IEnumerable<string> AllFiles => Distinct(Processes.SelectMany(p => p.Files.Select(f => f.Path)
        .Concat(p.Files.SelectMany(f => f.RenamedTo))));
    public IEnumerable<string> ReadFiles => Distinct(Processes.SelectMany(p => p.Files.Where(f => f.Reads > 0 || (f.Opened && !f.Created && f.Writes == 0)).Select(f => f.Path)));
    public IEnumerable<string> WriteFiles => Distinct(Processes.SelectMany(p => p.Files.Where(f => f.Writes > 0 || f.Created).Select(f => f.Path)
        .Concat(p.Files.SelectMany(f => f.RenamedTo))));
    public IEnumerable<string> DeleteFiles => Distinct(Processes.SelectMany(p => p.Files.Where(f => f.DeletedBy is not null || f.RenamedTo.Count > 0).Select(f => f.Path)));
    public IEnumerable<string> AllKeys => Distinct(Processes.SelectMany(p => p.Keys.Select(k => k.Path)
        .Concat(p.ValuesSet.Select(v => v.Key + "\\" + v.Name)).Concat(p.ValuesQueried.Select(v => v.Key + "\\" + v.Name))
        .Concat(p.ValuesDeleted.Select(v => v.Key + "\\" + v.Name))));
    public IEnumerable<string> ReadKeys => Distinct(Processes.SelectMany(p => p.Keys.Where(k => k.Queried || k.Enumerated).Select(k => k.Path)
        .Concat(p.ValuesQueried.Select(v => v.Key + "\\" + v.Name))));
    public IEnumerable<string> WriteKeys => Distinct(Processes.SelectMany(p => p.Keys.Where(k => k.Created).Select(k => k.Path)
        .Concat(p.ValuesSet.Select(v => v.Key + "\\" + v.Name))));
    public IEnumerable<string> DeleteKeys => Distinct(Processes.SelectMany(p => p.Keys.Where(k => k.Deleted).Select(k => k.Path)
        .Concat(p.ValuesDeleted.Select(v => v.Key + "\\" + v.Name))));
    public IEnumerable<string> ExecutedCommands => Distinct(Processes.SelectMany(p => p.Created)
        .Select(c => c.CommandLine ?? c.Target.ImagePath ?? c.Target.Name).Where(c => !string.IsNullOrEmpty(c))!);

    static IEnumerable<string> Distinct(IEnumerable<string> items) => items.Distinct(StringComparer.OrdinalIgnoreCase);
}
