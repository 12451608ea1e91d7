using Win7Proc.Offline.Trace;
using Win7Proc.Offline.Simulator.Guest;

namespace Win7Proc.Offline.Simulator.Calls;

/// <summary>One event being turned into a call: the acting process and thread, and handle-name resolution.</summary>
internal sealed class CallContext(GuestSimulation sim, ScenarioEvent e, GuestProcess process, GuestThread thread)
{
    public const uint CurrentProcessHandle = 0xffffffff;

    public GuestSimulation Sim { get; } = sim;
    public GuestKernel Kernel => Sim.Kernel;
    public GuestMemory Memory => Sim.Kernel.Memory;
    public ScenarioEvent Event { get; } = e;
    public GuestProcess Process { get; } = process;
    public GuestThread Thread { get; } = thread;

    public CallFrame Frame(string syscallName) => new(Memory, Thread,
        SyscallTable.Windows7X86.ByName(syscallName) ?? throw new InvalidOperationException($"{syscallName} is not in the Windows 7 syscall table"),
        Sim.FrameLimit(Thread));

    /// <summary>The handle value a handle-name field refers to ("self" = the current-process pseudo-handle).</summary>
    public uint HandleValue(string field) => HandleValueIn(Process, Event.Text(field), field);

    uint HandleValueIn(GuestProcess owner, string name, string field)
    {
        if (name == "self") return CurrentProcessHandle;
        if (!owner.HandleNames.TryGetValue(name, out var h))
            throw Event.Error($"'{field}': process {owner.Pid} has no open handle named '{name}'");
        return h;
    }

    public uint OptHandleValue(string field) => Event.Has(field) ? HandleValue(field) : 0;

    public T Object<T>(string field) where T : KernelObject
    {
        var name = Event.Text(field);
        if (name == "self")
            return Process as T ?? throw Event.Error($"'{field}': \"self\" is a process, not a {KindOf(typeof(T))}");
        var h = HandleValue(field);
        var obj = Process.Handles.Lookup(h) ?? throw Event.Error($"'{field}': handle '{name}' is closed");
        return obj as T ?? throw Event.Error($"'{field}': handle '{name}' is a {KindOf(obj.GetType())}, not a {KindOf(typeof(T))}");
    }

    /// <summary>The scenario's word for an object kind, for error messages.</summary>
    static string KindOf(Type t) => t.Name switch
    {
        nameof(GuestProcess) => "process", nameof(GuestThread) => "thread", nameof(FileObjectModel) => "file",
        nameof(KeyObject) => "key", nameof(SectionObjectModel) => "section", nameof(PortObject) => "port",
        nameof(TransactionObject) => "transaction", nameof(KernelObject) => "handle", _ => t.Name,
    };

    public T? OptObject<T>(string field) where T : KernelObject => Event.Has(field) ? Object<T>(field) : null;

    /// <summary>A process handle field (absent or "self" = the caller).</summary>
    public GuestProcess TargetProcess(string field) => Event.Has(field) ? Object<GuestProcess>(field) : Process;
    public uint TargetProcessHandle(string field) => Event.Has(field) ? HandleValue(field) : CurrentProcessHandle;

    /// <summary>Adds a handle in <paramref name="owner"/> (default: the caller) and names it by the event's 'as'.</summary>
    public uint AddHandle(KernelObject obj, uint access, GuestProcess? owner = null, string asField = "as")
    {
        owner ??= Process;
        var h = owner.Handles.Add(obj, access);
        var name = Event.OptText(asField);
        if (name is not null)
        {
            if (name == "self") throw Event.Error("'self' cannot name a handle");
            owner.HandleNames[name] = h;
        }
        return h;
    }

    public void CloseHandle(GuestProcess owner, uint handle)
    {
        owner.Handles.Remove(handle);
        foreach (var stale in owner.HandleNames.Where(kv => kv.Value == handle).Select(kv => kv.Key).ToList())
            owner.HandleNames.Remove(stale);
    }
}

internal static class CallFamilies
{
    public static PreparedCall Prepare(CallContext ctx) => ctx.Event.Op switch
    {
        "create_process" or "terminate_process" or "open_process" => ProcessCalls.Prepare(ctx),
        "create_file" or "open_file" or "read_file" or "write_file" or "delete_file" or "rename_file" or "set_disposition_file" => FileCalls.Prepare(ctx),
        "create_key" or "open_key" or "open_key_ex" or "create_key_transacted" or "open_key_transacted" or "delete_key"
            or "query_key" or "query_value_key" or "delete_value_key" or "enumerate_key" or "enumerate_value_key"
            or "set_value_key" => RegistryCalls.Prepare(ctx),
        "create_section" or "open_section" or "map_view_of_section" => SectionCalls.Prepare(ctx),
        "read_virtual_memory" or "write_virtual_memory" => MemoryCalls.Prepare(ctx),
        "close" or "duplicate_object" => HandleCalls.Prepare(ctx),
        "syscall" => OtherCalls.Prepare(ctx),
        _ => PortCalls.Prepare(ctx),
    };
}
