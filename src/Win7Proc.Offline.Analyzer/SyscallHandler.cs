using Win7Proc.Offline.Trace;

namespace Win7Proc.Offline.Analyzer;

/// <summary>
/// How one system call is turned into pandalog entries. <see cref="AtEnter"/> reads the inputs from the enter
/// record's memory (names behind argument handles, OBJECT_ATTRIBUTES, buffers) and returns them as state;
/// <see cref="AtReturn"/> reads the outputs from the return's memory and logs. A return without a recorded enter runs
/// both on the return's memory. A call with <see cref="LogsAtEnter"/> (NtTerminateProcess) logs from AtEnter.
/// </summary>
internal sealed class SyscallHandler
{
    public required string SyscallName { get; init; }
    public required SyscallFamily Family { get; init; }
    public Func<SyscallCall, object?> AtEnter { get; init; } = _ => null;
    public Action<SyscallCall, object?> AtReturn { get; init; } = (_, _) => { };
    public bool LogsAtEnter { get; init; }

    /// <summary>A handler whose enter state has type <typeparamref name="TState"/>.</summary>
    public static SyscallHandler Create<TState>(string name, SyscallFamily family,
        Func<SyscallCall, TState> atEnter, Action<SyscallCall, TState> atReturn) where TState : class => new()
    {
        SyscallName = name,
        Family = family,
        AtEnter = call => atEnter(call),
        AtReturn = (call, state) => atReturn(call, (TState)state!),
    };

    /// <summary>A handler that needs nothing from the enter record.</summary>
    public static SyscallHandler AtReturnOnly(string name, SyscallFamily family, Action<SyscallCall> atReturn) => new()
    {
        SyscallName = name,
        Family = family,
        AtReturn = (call, _) => atReturn(call),
    };
}

/// <summary>The handlers by system call number, built from every family's registrations.</summary>
internal sealed class HandlerTable
{
    readonly Dictionary<uint, SyscallHandler> _byNumber = new();

    public HandlerTable(SyscallTable table, IEnumerable<SyscallHandler> handlers)
    {
        foreach (var handler in handlers)
        {
            var info = table.ByName(handler.SyscallName)
                ?? throw new InvalidOperationException($"handler for {handler.SyscallName}, which is not in the syscall table");
            _byNumber.Add(info.Number, handler);
        }
    }

    public SyscallHandler? For(uint callNo) => _byNumber.GetValueOrDefault(callNo);

    public static HandlerTable Windows7(AnalyzerOptions options) => new(SyscallTable.Windows7X86,
        ProcessHandlers.All()
            .Concat(FileHandlers.All())
            .Concat(RegistryHandlers.All())
            .Concat(SectionHandlers.All())
            .Concat(PortHandlers.All())
            .Concat(VirtualMemoryHandlers.All())
            .Where(h => options.Wants(h.Family))
            .Concat(HandleLifetime.All()));
}
