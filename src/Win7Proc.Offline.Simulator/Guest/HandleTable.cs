using static Win7Proc.Offline.Simulator.Guest.HandleTableLayout;

namespace Win7Proc.Offline.Simulator.Guest;

/// <summary>
/// A process's <c>_HANDLE_TABLE</c> as Windows 7 keeps it: TableCode level 0 (one page of 8-byte entries), growing to
/// level 1 (a page of pointers to entry pages) and level 2 (a page of pointers to pointer pages) as handles are added.
/// Entry 0 of every entry page is reserved (WRK handle.c), so handle values that are multiples of 0x800 never occur.
/// Freed slots are reused lowest first.
/// </summary>
public sealed class HandleTable
{
    readonly GuestMemory _memory;
    readonly Func<uint> _allocatePage;
    readonly SortedSet<uint> _freeIndices = new();
    readonly Dictionary<uint, (KernelObject Object, uint Access)> _entries = new();
    uint _nextIndex = 1;
    uint _top;          // page at the top of the current level

    public uint Address { get; }
    public int Level { get; private set; }
    public int Count => _entries.Count;

    internal HandleTable(GuestMemory memory, BumpAllocator pool, Func<uint> allocatePage, uint pid, uint eprocess)
    {
        _memory = memory;
        _allocatePage = allocatePage;
        Address = pool.Allocate(Size);
        _top = allocatePage();
        memory.Map(0, _top);
        memory.WriteU32(0, Address + QuotaProcess, eprocess);
        memory.WriteU32(0, Address + UniqueProcessId, pid);
        WriteTableCode();
    }

    void WriteTableCode() => _memory.WriteU32(0, Address + TableCode, _top | (uint)Level);

    public KernelObject? Lookup(uint handle) =>
        (handle & 3) == 0 && _entries.TryGetValue(handle >> 2, out var e) ? e.Object : null;

    public IEnumerable<(uint Handle, KernelObject Object)> Handles =>
        _entries.OrderBy(kv => kv.Key).Select(kv => (kv.Key << 2, kv.Value.Object));

    /// <summary>Adds a handle to <paramref name="obj"/> and returns its value.</summary>
    public uint Add(KernelObject obj, uint access)
    {
        uint index;
        if (_freeIndices.Count > 0) { index = _freeIndices.Min; _freeIndices.Remove(index); }
        else
        {
            index = _nextIndex++;
            if (index % EntriesPerPage == 0) index = _nextIndex++;   // reserved slot 0 of each entry page
        }
        var entry = EnsureEntry(index);
        _memory.WriteU32(0, entry + EntryObject, obj.Header | EntryUnlockedBit);
        _memory.WriteU32(0, entry + EntryGrantedAccess, access);
        _entries[index] = (obj, access);
        ChangeHandleCount(obj, +1);
        _memory.WriteU32(0, Address + HandleCount, (uint)_entries.Count);
        return index << 2;
    }

    public bool Remove(uint handle)
    {
        if ((handle & 3) != 0 || !_entries.Remove(handle >> 2, out var e)) return false;
        var entry = EntryAddress(handle >> 2);
        _memory.WriteU32(0, entry + EntryObject, 0);
        _memory.WriteU32(0, entry + EntryGrantedAccess, 0);
        _freeIndices.Add(handle >> 2);
        ChangeHandleCount(e.Object, -1);
        _memory.WriteU32(0, Address + HandleCount, (uint)_entries.Count);
        return true;
    }

    void ChangeHandleCount(KernelObject obj, int delta)
    {
        var at = obj.Header + ObjectHeader.HandleCount;
        _memory.WriteU32(0, at, (uint)((int)_memory.ReadU32(0, at) + delta));
        var pc = obj.Header + ObjectHeader.PointerCount;
        _memory.WriteU32(0, pc, (uint)((int)_memory.ReadU32(0, pc) + delta));
    }

    /// <summary>The kernel address of the entry behind a live <paramref name="handle"/> (null when not open).</summary>
    internal uint? EntryAddressOf(uint handle) =>
        (handle & 3) == 0 && _entries.ContainsKey(handle >> 2) ? EntryAddress(handle >> 2) : null;

    uint EntryAddress(uint index)
    {
        var low = index % EntriesPerPage;
        var page = index / EntriesPerPage;
        uint entryPage = Level switch
        {
            0 => _top,
            1 => _memory.ReadU32(0, _top + 4 * page),
            _ => _memory.ReadU32(0, _memory.ReadU32(0, _top + 4 * (page / PointersPerPage)) + 4 * (page % PointersPerPage)),
        };
        return entryPage + EntrySize * low;
    }

    uint EnsureEntry(uint index)
    {
        var page = index / EntriesPerPage;
        if (Level == 0 && page >= 1) GrowTo(1);
        if (Level == 1 && page >= PointersPerPage) GrowTo(2);
        if (page >= PointersPerPage * PointersPerPage) throw new ScenarioException("handle table full");
        if (Level == 1)
        {
            var slot = _top + 4 * page;
            if (_memory.ReadU32(0, slot) == 0) _memory.WriteU32(0, slot, NewZeroPage());
        }
        else if (Level == 2)
        {
            var midSlot = _top + 4 * (page / PointersPerPage);
            if (_memory.ReadU32(0, midSlot) == 0) _memory.WriteU32(0, midSlot, NewZeroPage());
            var lowSlot = _memory.ReadU32(0, midSlot) + 4 * (page % PointersPerPage);
            if (_memory.ReadU32(0, lowSlot) == 0) _memory.WriteU32(0, lowSlot, NewZeroPage());
        }
        return EntryAddress(index);
    }

    uint NewZeroPage() { var p = _allocatePage(); _memory.Map(0, p); return p; }

    void GrowTo(int level)
    {
        // The old top page becomes the first child of a new top page (as ExpAllocateHandleTableEntrySlow does).
        var newTop = NewZeroPage();
        _memory.WriteU32(0, newTop, _top);
        _top = newTop;
        Level = level;
        WriteTableCode();
    }
}
