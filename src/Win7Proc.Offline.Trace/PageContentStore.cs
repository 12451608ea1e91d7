namespace Win7Proc.Offline.Trace;

/// <summary>
/// Page contents by content id, within a memory budget. Every content must be kept (the recorder may map an old
/// content id again at any time), but a long replay writes millions of distinct pages (each call's stack page is new),
/// so only the newest <c>memoryBudgetPages</c> stay in memory; older ones move to a temporary spill file (deleted on
/// close) and are read back on demand through a small cache. Recent contents are the ones mapped now, so most reads
/// never touch the file.
/// </summary>
internal sealed class PageContentStore : IDisposable
{
    const int PageSize = TraceGuestMemory.PageSize;
    const int ReadCacheSize = 4096;

    readonly int _memoryBudget;
    readonly Dictionary<uint, byte[]> _inMemory = new();
    readonly Queue<uint> _memoryOrder = new();          // ids in the order they entered memory (oldest first)
    readonly Dictionary<uint, long> _spilledSlot = new(); // id → page slot in the spill file
    readonly Dictionary<uint, byte[]> _readCache = new();
    readonly Queue<uint> _readOrder = new();
    Microsoft.Win32.SafeHandles.SafeFileHandle? _spill;
    long _spillSlots;

    public PageContentStore(int memoryBudgetPages)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(memoryBudgetPages, 1);
        _memoryBudget = memoryBudgetPages;
    }

    public int Count => _inMemory.Count + _spilledSlot.Count;
    public int SpilledCount => _spilledSlot.Count;
    public bool Contains(uint id) => _inMemory.ContainsKey(id) || _spilledSlot.ContainsKey(id);

    /// <summary>Stores <paramref name="bytes"/> (a 4 KiB array the store now owns) under <paramref name="id"/>,
    /// replacing any earlier content with that id.</summary>
    public void Add(uint id, byte[] bytes)
    {
        if (_spilledSlot.Remove(id)) _readCache.Remove(id); // its old slot is simply abandoned
        if (!_inMemory.ContainsKey(id)) _memoryOrder.Enqueue(id);
        _inMemory[id] = bytes;
        while (_inMemory.Count > _memoryBudget) SpillOldest();
    }

    public byte[]? Get(uint id)
    {
        if (_inMemory.TryGetValue(id, out var bytes)) return bytes;
        if (!_spilledSlot.TryGetValue(id, out var slot)) return null;
        if (_readCache.TryGetValue(id, out bytes)) return bytes;
        bytes = new byte[PageSize]; // a fresh array: callers may still hold arrays the cache has dropped
        int read = RandomAccess.Read(_spill!, bytes, slot * PageSize);
        if (read != PageSize) throw new IOException($"page spill file: short read of content {id}");
        if (_readCache.Count >= ReadCacheSize) _readCache.Remove(_readOrder.Dequeue());
        _readCache[id] = bytes;
        _readOrder.Enqueue(id);
        return bytes;
    }

    void SpillOldest()
    {
        var id = _memoryOrder.Dequeue();
        if (!_inMemory.Remove(id, out var bytes)) return;
        _spill ??= File.OpenHandle(
            Path.Combine(Path.GetTempPath(), $"win7proc-offline-pages-{Environment.ProcessId}-{Guid.NewGuid():N}.tmp"),
            FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, FileOptions.DeleteOnClose);
        long slot = _spillSlots++;
        RandomAccess.Write(_spill, bytes, slot * PageSize);
        _spilledSlot[id] = slot;
    }

    public void Dispose() => _spill?.Dispose();
}
