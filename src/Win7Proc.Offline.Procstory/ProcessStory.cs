using Win7Proc.Offline.Pandalog;
using Win7Proc.Offline.Pandalog.Schema;

namespace Win7Proc.Offline.Procstory;

/// <summary>
/// The processes of a replay, their births, deaths and parents, rebuilt from pandalog entries the way the original
/// <c>procstory.py</c> did (new_pid sightings, process creations and terminations), with its defects corrected
/// (see docs/procstory.md). Build one with <see cref="Build"/> or feed a <see cref="ProcessStoryBuilder"/>.
/// </summary>
public sealed class ProcessStory
{
    readonly Dictionary<ProcessInstance, bool> _interesting;

    internal ProcessStory(IReadOnlyList<ProcessInstance> processes, IReadOnlyList<UnresolvedTermination> unresolved,
        ulong maxInstr, ulong? totalInstr)
    {
        Processes = processes;
        UnresolvedTerminations = unresolved;
        MaxInstr = maxInstr;
        TotalInstr = totalInstr;
        _interesting = ComputeInteresting(processes);
    }

    /// <summary>The replay length the chart is scaled to: total_instr (or the last instr seen, if larger or absent).</summary>
    public ulong MaxInstr { get; }
    /// <summary>total_instr when the log has it.</summary>
    public ulong? TotalInstr { get; }
    /// <summary>Every instance in order of first mention.</summary>
    public IReadOnlyList<ProcessInstance> Processes { get; }
    public IReadOnlyList<UnresolvedTermination> UnresolvedTerminations { get; }

    /// <summary>Instances without a known parent, in order of first mention.</summary>
    public IEnumerable<ProcessInstance> Roots => Processes.Where(p => p.Parent is null);

    /// <summary>The last instruction of an instance's life: its death, else the instr at which its pid was taken over,
    /// else the end of the replay.</summary>
    public ulong LastInstr(ProcessInstance process) => process.Death ?? process.SupersededAt ?? MaxInstr;

    /// <summary>
    /// The original: a process is boring iff its creation and termination were both unseen and it has no children.
    /// Children linked only through <c>ppid</c> (a pre-existing child of a pre-existing parent) do not make their parent
    /// interesting unless they are interesting themselves; with creation-event parents only this is the original rule.
    /// </summary>
    public bool IsInteresting(ProcessInstance process) => _interesting[process];

    public bool IsBoring(ProcessInstance process) => !_interesting[process];

    /// <summary>Children sorted by first instruction (birth, or 0 if unseen), ties in order of first mention.</summary>
    public static IEnumerable<ProcessInstance> ChildrenInOrder(ProcessInstance process) =>
        process.Children.OrderBy(c => c.FirstInstr).ThenBy(c => c.MentionOrder);

    public static ProcessStory Build(IEnumerable<LogEntry> entries, ProcessStoryOptions? options = null)
    {
        var builder = new ProcessStoryBuilder(options);
        foreach (var entry in entries) builder.Add(entry);
        return builder.Build();
    }

    /// <summary>The same story from a plog's records, parsing only those that may hold a field the story reads.</summary>
    public static ProcessStory Build(IEnumerable<PlogRecord> records, ProcessStoryOptions? options = null)
    {
        var builder = new ProcessStoryBuilder(options);
        foreach (var record in records) builder.Add(record);
        return builder.Build();
    }

    static Dictionary<ProcessInstance, bool> ComputeInteresting(IReadOnlyList<ProcessInstance> processes)
    {
        // Interesting = birth or death seen, or an interesting child. Propagated upwards from every interesting
        // instance; parent chains are acyclic by construction (ProcessStoryBuilder refuses cycles).
        var result = processes.ToDictionary(p => p, p => p.Birth is not null || p.Death is not null);
        foreach (var process in processes)
        {
            if (!result[process]) continue;
            for (var up = process.Parent; up is not null && !result[up]; up = up.Parent)
                result[up] = true;
        }
        return result;
    }
}

/// <summary>How a story is built.</summary>
public sealed record ProcessStoryOptions
{
    /// <summary>
    /// Also place a process whose creation was not seen under the process its <c>ppid</c> names (when that pid was seen,
    /// and, if both carry <c>create_time</c>, the parent is not younger than the child: a reused pid is no parent).
    /// Off by default: the original drew such processes as roots, and pre-existing children make pre-existing parents
    /// look busy.
    /// </summary>
    public bool LinkByPpid { get; init; }

    public static ProcessStoryOptions Default { get; } = new();
}

/// <summary>Builds a <see cref="ProcessStory"/> entry by entry (the order of the log).</summary>
public sealed class ProcessStoryBuilder(ProcessStoryOptions? options = null)
{
    readonly ProcessStoryOptions _options = options ?? ProcessStoryOptions.Default;

    /// <summary>PANDA's instr for entries written outside the replay (the placeholder, entries after the end).</summary>
    public const ulong OutsideReplay = ulong.MaxValue;
    /// <summary>pid the original logged for a failed creation or an unresolved handle.</summary>
    const uint InvalidPid = 0xFFFFFFFF;
    /// <summary>Characters of the name kept in a short name (the original's rule).</summary>
    const int ShortNameLength = 10;

    readonly List<ProcessInstance> _processes = new();
    readonly Dictionary<uint, ProcessInstance> _latestByPid = new();
    readonly Dictionary<string, int> _shortNameCounters = new(StringComparer.Ordinal);
    readonly List<UnresolvedTermination> _unresolved = new();
    ulong? _totalInstr;
    ulong _lastInstr;

    /// <summary>The LogEntry fields <see cref="Add(LogEntry)"/> reads besides instr: any other entry only moves the
    /// chart's end.</summary>
    public static ReadOnlySpan<int> FieldsRead =>
    [
        LogEntry.NewPidFieldNumber, LogEntry.NtCreateUserProcessFieldNumber, LogEntry.NtTerminateProcessFieldNumber,
        LogEntry.TotalInstrFieldNumber, LogEntry.NtCreateProcessExFieldNumber,
    ];

    /// <summary>Adds a plog record, parsing it only when it may hold one of <see cref="FieldsRead"/>.</summary>
    public void Add(PlogRecord record)
    {
        if (record.MayHaveAny(FieldsRead)) Add(record.Parse());
        else if (record.Instr != OutsideReplay && record.Instr > _lastInstr) _lastInstr = record.Instr;
    }

    public void Add(LogEntry entry)
    {
        if (entry.HasTotalInstr) _totalInstr = entry.TotalInstr;
        if (entry.Instr == OutsideReplay) return;
        var instr = entry.Instr;
        if (instr > _lastInstr) _lastInstr = instr;

        if (entry.NewPid is { } sighting && IsKnownPid(sighting.Pid))
            Mention(sighting, instr);
        if (entry.NtCreateUserProcess is { } create)
            AddCreation(create, instr, entry);
        if (entry.NtCreateProcessEx is { } createEx)
            AddCreation(createEx, instr, entry);
        if (entry.NtTerminateProcess is { } terminate)
            AddTermination(terminate, instr, entry);
    }

    /// <summary>The story of the entries added so far. Call it after the last <see cref="Add"/>: the instances are
    /// shared, so adding more afterwards would change a story already built.</summary>
    public ProcessStory Build()
    {
        var max = Math.Max(_totalInstr ?? 0, _lastInstr);
        return new ProcessStory(_processes.ToArray(), _unresolved.ToArray(), max, _totalInstr);
    }

    void AddCreation(NtCreateUserProcess create, ulong instr, LogEntry entry)
    {
        var creator = create.CurP is { } cur && IsKnownPid(cur.Pid) ? Mention(cur, instr) : null;
        if (entry.HasCallSucceeded && !entry.CallSucceeded) return; // a failed creation made nothing
        if (create.NewP is not { } born || !IsKnownPid(born.Pid)) return;

        ProcessInstance child;
        if (_latestByPid.TryGetValue(born.Pid, out var latest) && latest.Birth is null && latest.Parent is null
            && born.HasInstanceInstr && latest.InstanceKey == born.InstanceInstr)
        {
            child = latest; // sighted before the creation was logged: the same instance by the analyzer's key
        }
        else
        {
            // A creation is authoritative: whatever held this pid before has ended, seen or not.
            if (latest is not null && latest.Death is null) latest.SupersededAt ??= instr;
            child = NewInstance(born, instr);
        }
        child.Birth = instr;
        if (creator is not null && creator != child) SetParent(child, creator, fromPpid: false);
        Enrich(child, born);
        if (child.ImagePath is null && !string.IsNullOrEmpty(create.NewLongName)) child.ImagePath = create.NewLongName;
        if (child.CommandLine is null && create.HasCommandLine && create.CommandLine.Length > 0) child.CommandLine = create.CommandLine;
    }

    void AddTermination(NtTerminateProcess terminate, ulong instr, LogEntry entry)
    {
        var caller = terminate.CurP is { } cur && IsKnownPid(cur.Pid) ? Mention(cur, instr) : null;
        if (entry.HasCallSucceeded && !entry.CallSucceeded) return; // the target lives on
        if (terminate.TermP is not { } target) return;
        if (!IsKnownPid(target.Pid))
        {
            _unresolved.Add(new UnresolvedTermination(instr, caller, target.Pid, target.Name));
            return;
        }
        var victim = Mention(target, instr);
        // Exiting takes two calls (other threads first, then itself): the last one is the death.
        if (victim.Death is null || instr > victim.Death) victim.Death = instr;
    }

    /// <summary>The instance a Process message refers to at <paramref name="instr"/>, new if the pid is unknown or
    /// now belongs to another process.</summary>
    ProcessInstance Mention(Process process, ulong instr)
    {
        if (_latestByPid.TryGetValue(process.Pid, out var latest))
        {
            if (IsSameInstance(latest, process))
            {
                Enrich(latest, process);
                return latest;
            }
            if (latest.Death is null) latest.SupersededAt ??= instr;
        }
        var instance = NewInstance(process, instr);
        Enrich(instance, process);
        return instance;
    }

    /// <summary>pid 0 (the idle process never calls the kernel) and -1 are what the original logged when it could not
    /// tell which process a call was about.</summary>
    static bool IsKnownPid(uint pid) => pid is not (0 or InvalidPid);

    static bool IsSameInstance(ProcessInstance instance, Process process)
    {
        if (process.HasInstanceInstr && instance.InstanceKey is { } key) return key == process.InstanceInstr;
        return string.Equals(instance.Name, process.Name, StringComparison.Ordinal);
    }

    ProcessInstance NewInstance(Process process, ulong instr)
    {
        var name = process.Name ?? "";
        var instance = new ProcessInstance(process.Pid, name, NextShortName(name), instr, _processes.Count,
            process.HasInstanceInstr ? process.InstanceInstr : null);
        _processes.Add(instance);
        _latestByPid[process.Pid] = instance;
        return instance;
    }

    string NextShortName(string name)
    {
        var stem = ShortNameStem(name);
        _shortNameCounters.TryGetValue(stem, out var count);
        _shortNameCounters[stem] = ++count;
        return stem + count.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The original's rule: the name without <c>.exe</c>/<c>.dll</c>, cut to 10 characters.</summary>
    internal static string ShortNameStem(string name)
    {
        if (name.EndsWith(".exe", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            name = name[..^4];
        if (name.Length > ShortNameLength) name = name[..ShortNameLength];
        return name.Length == 0 ? "?" : name;
    }

    void Enrich(ProcessInstance instance, Process process)
    {
        if (instance.InstanceKey is null && process.HasInstanceInstr) instance.InstanceKey = process.InstanceInstr;
        if (instance.ImagePath is null && process.HasImagePath && process.ImagePath.Length > 0) instance.ImagePath = process.ImagePath;
        if (instance.CommandLine is null && process.HasCommandLine && process.CommandLine.Length > 0) instance.CommandLine = process.CommandLine;
        if (instance.CreateTime is null && process.HasCreateTime) instance.CreateTime = process.CreateTime;
        if (process.HasPpid && instance.Ppid is null)
        {
            instance.Ppid = process.Ppid;
            if (_options.LinkByPpid && instance.Parent is null && process.Ppid != instance.Pid && IsKnownPid(process.Ppid)
                && _latestByPid.TryGetValue(process.Ppid, out var parent)
                && !(parent.CreateTime is { } parentTime && instance.CreateTime is { } childTime && parentTime > childTime))
                SetParent(instance, parent, fromPpid: true);
        }
    }

    static void SetParent(ProcessInstance child, ProcessInstance parent, bool fromPpid)
    {
        // Hostile or confused logs (pid reuse, forged ppids) could close a loop: refuse any link that would.
        for (var up = parent; up is not null; up = up.Parent)
            if (up == child) return;
        child.Parent?.RemoveChild(child);
        child.Parent = parent;
        child.ParentFromPpid = fromPpid;
        parent.AddChild(child);
    }
}
