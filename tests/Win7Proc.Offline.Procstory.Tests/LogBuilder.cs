using Win7Proc.Offline.Pandalog.Schema;

namespace Win7Proc.Offline.Procstory.Tests;

/// <summary>Writes LogEntry sequences the way the analyzer (or the original plugin) logs process events.</summary>
internal sealed class LogBuilder
{
    public List<LogEntry> Entries { get; } = new();

    public static Process P(uint pid, string name) => new() { Pid = pid, Name = name };

    public LogBuilder Seen(ulong instr, uint pid, string name) => Seen(instr, P(pid, name));

    public LogBuilder Seen(ulong instr, Process process)
    {
        Entries.Add(new LogEntry { Pc = 0x7777a5b2, Instr = instr, NewPid = process });
        return this;
    }

    public LogBuilder Create(ulong instr, Process by, Process child, string longName = "", bool? succeeded = null, string? commandLine = null)
    {
        var create = new NtCreateUserProcess { CurP = by, NewP = child, NewLongName = longName };
        if (commandLine is not null) create.CommandLine = commandLine;
        var entry = new LogEntry { Pc = 0x7777a5b2, Instr = instr, NtCreateUserProcess = create };
        if (succeeded is { } ok) entry.CallSucceeded = ok;
        Entries.Add(entry);
        return this;
    }

    public LogBuilder Terminate(ulong instr, Process by, Process target, bool? succeeded = null)
    {
        var entry = new LogEntry { Pc = 0x7777a5b2, Instr = instr, NtTerminateProcess = new NtTerminateProcess { CurP = by, TermP = target } };
        if (succeeded is { } ok) entry.CallSucceeded = ok;
        Entries.Add(entry);
        return this;
    }

    /// <summary>A process ending itself (NtTerminateProcess(-1)).</summary>
    public LogBuilder Exit(ulong instr, Process process) => Terminate(instr, process, process);

    public LogBuilder Total(ulong total, ulong instr = 0)
    {
        Entries.Add(new LogEntry { Pc = 0, Instr = instr, TotalInstr = total });
        return this;
    }

    public ProcessStory Story(ProcessStoryOptions? options = null) => ProcessStory.Build(Entries, options);

    public static ProcessStoryOptions ByPpid { get; } = new() { LinkByPpid = true };
}
