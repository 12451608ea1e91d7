namespace Win7Proc.Offline.Simulator.Guest;

public sealed class GuestThread : KernelObject
{
    public required uint Tid { get; init; }
    public required GuestProcess Process { get; init; }
    public uint Kthread => Body;
    public required uint Teb { get; init; }
    /// <summary>Top of the thread's user stack; each call's frame lies just below it.</summary>
    public required uint StackTop { get; init; }
    /// <summary>The user stack address of this thread's innermost call still inside the kernel (blocking calls and
    /// the calls nested in them); <see cref="StackTop"/> when none is.</summary>
    internal Stack<uint> FramesInKernel { get; } = new();
}

public sealed class GuestProcess : KernelObject
{
    public required uint Pid { get; init; }
    public required uint ParentPid { get; init; }
    public required string Image { get; init; }
    public required string CommandLine { get; init; }
    public required uint Cr3 { get; init; }
    public uint Eprocess => Body;
    public required uint Peb { get; init; }
    public HandleTable Handles { get; internal set; } = null!;
    public List<GuestThread> Threads { get; } = new();
    public bool Alive { get; internal set; } = true;
    /// <summary>Scenario handle names of this process → handle values.</summary>
    public Dictionary<string, uint> HandleNames { get; } = new(StringComparer.Ordinal);
    internal BumpAllocator Heap { get; init; } = null!;
    internal uint NextViewBase { get; set; } = GuestKernel.FirstViewBase;

    public override string ToString() => $"{Pid} {System.IO.Path.GetFileName(Image)}";
}
