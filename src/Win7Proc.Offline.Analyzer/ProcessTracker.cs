using Win7Proc.Offline.Analyzer.Windows7;
using Win7Proc.Offline.Pandalog.Schema;

namespace Win7Proc.Offline.Analyzer;

/// <summary>One life of a process: a pid is reused after exit, so (pid, instance_instr) is the key.</summary>
internal sealed class ProcessInstance(uint pid, ulong instanceInstr)
{
    public uint Pid { get; } = pid;
    public ulong InstanceInstr { get; set; } = instanceInstr;
    public string Name { get; set; } = ProcessTracker.UnknownName;
    public uint? ParentPid { get; set; }
    public string? ImagePath { get; set; }
    public string? CommandLine { get; set; }
    /// <summary>EPROCESS.CreateTime; 0 when unread.</summary>
    public ulong CreateTime { get; set; }
    public bool CreationSeen { get; set; }
    public bool Terminated { get; set; }
}

/// <summary>
/// The process instances seen so far, keyed by pid. A sighting whose EPROCESS.CreateTime differs from the known
/// instance's, or any sighting of a pid whose instance terminated, starts a new instance.
/// </summary>
internal sealed class ProcessTracker
{
    public const string UnknownName = "unknown";

    readonly Dictionary<uint, ProcessInstance> _current = new();

    public int InstancesSeen { get; private set; }

    /// <summary>The instance <paramref name="info"/> belongs to (creating it at <paramref name="instr"/> if new).</summary>
    public ProcessInstance Observe(ProcessInfo info, ulong instr)
    {
        if (!_current.TryGetValue(info.Pid, out var instance) || IsNewInstance(instance, info))
        {
            instance = new ProcessInstance(info.Pid, instr);
            _current[info.Pid] = instance;
            InstancesSeen++;
        }
        Update(instance, info);
        return instance;
    }

    /// <summary>A creation we saw (NtCreateUserProcess / NtCreateProcessEx returned it): its instr is the instance key.</summary>
    public ProcessInstance RegisterCreation(ProcessInfo info, ulong instr, string? commandLine)
    {
        var instance = Observe(info, instr);
        if (!instance.CreationSeen)
        {
            instance.CreationSeen = true;
            instance.InstanceInstr = instr;
        }
        instance.CommandLine ??= commandLine;
        return instance;
    }

    public void MarkTerminated(ProcessInfo info, ulong instr) => Observe(info, instr).Terminated = true;

    public ProcessInstance? Find(uint pid) => _current.GetValueOrDefault(pid);

    static bool IsNewInstance(ProcessInstance known, ProcessInfo seen)
    {
        if (known.CreateTime != 0 && seen.CreateTime != 0) return known.CreateTime != seen.CreateTime;
        // Without creation times, a terminated pid seen alive again is a reuse.
        return known.Terminated && seen.ExitTime == 0;
    }

    static void Update(ProcessInstance instance, ProcessInfo info)
    {
        if (!string.IsNullOrEmpty(info.Name)) instance.Name = info.Name;
        if (info.CreateTime != 0) instance.CreateTime = info.CreateTime;
        instance.ParentPid ??= info.ParentPid;
        if (!string.IsNullOrEmpty(info.ImagePath)) instance.ImagePath = info.ImagePath;
    }

    /// <summary>The pandalog Process message for an instance. <paramref name="withCommandLine"/> for creations and new_pid only.</summary>
    public static Process ToMessage(ProcessInstance instance, bool withCommandLine = false)
    {
        var message = new Process { Pid = instance.Pid, Name = instance.Name, InstanceInstr = instance.InstanceInstr };
        if (instance.ParentPid is uint ppid) message.Ppid = ppid;
        if (instance.ImagePath is not null) message.ImagePath = instance.ImagePath;
        if (instance.CreateTime != 0) message.CreateTime = instance.CreateTime;
        if (withCommandLine && instance.CommandLine is not null) message.CommandLine = instance.CommandLine;
        return message;
    }

    /// <summary>A process we could not read: pid when known, name "unknown".</summary>
    public static Process Unknown(uint pid = 0) => new() { Pid = pid, Name = UnknownName };
}
