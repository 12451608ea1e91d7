namespace Win7Proc.Offline.Procstory;

/// <summary>
/// One process instance: a (pid, name) from its creation or first sighting until its termination. A pid reused
/// after that is another instance with its own <see cref="ShortName"/>. Strings are as logged (guest data):
/// renderers sanitise them.
/// </summary>
public sealed class ProcessInstance
{
    readonly List<ProcessInstance> _children = new();

    internal ProcessInstance(uint pid, string name, string shortName, ulong firstMention, int mentionOrder, ulong? instanceKey)
    {
        Pid = pid;
        Name = name;
        ShortName = shortName;
        FirstMention = firstMention;
        MentionOrder = mentionOrder;
        InstanceKey = instanceKey;
    }

    public uint Pid { get; }
    /// <summary>EPROCESS.ImageFileName as logged (at most 14 characters in PANDA's logs).</summary>
    public string Name { get; }
    /// <summary>First 10 characters of the name without <c>.exe</c>/<c>.dll</c>, plus a per-name counter: <c>cmd3</c>.</summary>
    public string ShortName { get; }
    /// <summary>instr of the creation event we saw; null when the process already existed (or its creation was missed).</summary>
    public ulong? Birth { get; internal set; }
    /// <summary>instr of the (last) termination we saw; null when unseen.</summary>
    public ulong? Death { get; internal set; }
    /// <summary>Set when the pid was taken by another instance although no termination was seen: the instr at which
    /// that happened, an upper bound of this instance's end.</summary>
    public ulong? SupersededAt { get; internal set; }
    /// <summary>instr of the first entry that mentions this instance.</summary>
    public ulong FirstMention { get; }
    /// <summary>0 for the first instance the log mentions, 1 for the next, ...</summary>
    public int MentionOrder { get; }
    /// <summary><c>Process.instance_instr</c> when the log carries it (pid + this identifies an instance).</summary>
    public ulong? InstanceKey { get; internal set; }
    public ProcessInstance? Parent { get; internal set; }
    /// <summary>True when <see cref="Parent"/> comes from <c>Process.ppid</c> rather than a create event we saw.</summary>
    public bool ParentFromPpid { get; internal set; }
    /// <summary><c>Process.ppid</c> when logged (EPROCESS.InheritedFromUniqueProcessId).</summary>
    public uint? Ppid { get; internal set; }
    /// <summary>Full image path when logged (<c>image_path</c>, else the creation's <c>new_long_name</c>).</summary>
    public string? ImagePath { get; internal set; }
    public string? CommandLine { get; internal set; }
    /// <summary><c>Process.create_time</c> (EPROCESS.CreateTime, FILETIME) when logged.</summary>
    public ulong? CreateTime { get; internal set; }
    /// <summary>Children in the order the log mentions them (renderers sort them by first instruction).</summary>
    public IReadOnlyList<ProcessInstance> Children => _children;

    internal void AddChild(ProcessInstance child) => _children.Add(child);
    internal void RemoveChild(ProcessInstance child) => _children.Remove(child);

    /// <summary>Birth, or 0 when unseen (the process was there from the start as far as we know).</summary>
    public ulong FirstInstr => Birth ?? 0;

    public override string ToString() => $"{ShortName} {Pid}-{Name}";
}

/// <summary>A termination whose target could not be identified (pid 0 or -1, as the original logged for handles it
/// could not resolve). Shown as a note; never turned into a process.</summary>
public sealed record UnresolvedTermination(ulong Instr, ProcessInstance? By, uint LoggedPid, string LoggedName);
