namespace Win7Proc.Offline.Simulator.Guest;

/// <summary>A bump allocator over a fixed virtual range: deterministic addresses, no reuse (the simulator never
/// needs to free pool memory for the short scenarios it runs).</summary>
internal sealed class BumpAllocator
{
    readonly uint _start, _limit;
    uint _next;
    readonly string _what;

    public BumpAllocator(uint start, uint limit, string what) { _start = _next = start; _limit = limit; _what = what; }

    public uint Allocate(uint size, uint align = 8)
    {
        var at = (_next + align - 1) & ~(align - 1);
        var end = (ulong)at + Math.Max(size, 1u);
        if (end > _limit) throw new ScenarioException($"the simulated guest's {_what} is exhausted ({size} bytes requested; its address range 0x{_start:x8}..0x{_limit:x8} is the simulator's bound)");
        _next = (uint)end;
        return at;
    }

    public uint AllocatePage() => Allocate(GuestMemory.PageSize, GuestMemory.PageSize);

    /// <summary>Forget every allocation (per-call scratch areas).</summary>
    public void Reset() => _next = _start;
}
