using System.Runtime.InteropServices;

namespace Win7Proc.Offline.Trace;

/// <summary>
/// Guest memory as the trace knows it at the current record. Feed records in order: <see cref="AddPage"/> stores a
/// page content under its id, <see cref="Apply"/> takes a record's page map; a read then returns, for each page, the
/// content of the newest map entry at or before the current record (FORMAT.md §5). Kernel pages
/// (va ≥ <see cref="KernelBase"/>) live in space 0 and are shared by every address space.
/// <para>Memory: every content is kept (the recorder may refer to an old content id again after a page changes
/// back, so a content no longer mapped can still be needed): the newest <see cref="MemoryBudgetPages"/> in memory,
/// older ones in a temporary spill file (<see cref="PageContentStore"/>; dispose this object to delete it). The
/// number of contents is bounded by <see cref="MaxContents"/> and the page map by <see cref="MaxMappedPages"/>;
/// exceeding either throws <see cref="TraceLimitException"/> with a clear message.</para>
/// </summary>
public sealed class TraceGuestMemory : IGuestMemory, IDisposable
{
    public const int PageSize = 4096;
    const int PageShift = 12;
    /// <summary>Default bound of the number of distinct contents: 64 Mi pages (256 GiB, mostly in the spill file).</summary>
    public const int DefaultMaxContents = 1 << 26;
    /// <summary>Default number of contents kept in memory: 65,536 pages = 256 MiB.</summary>
    public const int DefaultMemoryBudgetPages = 1 << 16;
    /// <summary>Default bound of distinct (address space, page) pairs in the page map (about 1 GiB of map).</summary>
    public const int DefaultMaxMappedPages = 1 << 25;

    readonly PageContentStore _contents;
    readonly Dictionary<ulong, uint> _map = new(); // (space << 32 | vpn) → content id (0 = unreadable)

    public TraceGuestMemory(uint kernelBase, int maxContents = DefaultMaxContents,
        int memoryBudgetPages = DefaultMemoryBudgetPages, int maxMappedPages = DefaultMaxMappedPages)
    {
        KernelBase = kernelBase;
        MaxContents = maxContents;
        MemoryBudgetPages = memoryBudgetPages;
        MaxMappedPages = maxMappedPages;
        _contents = new PageContentStore(memoryBudgetPages);
    }

    public TraceGuestMemory(TraceHeader header, int maxContents = DefaultMaxContents) : this(header.KernelBase, maxContents) { }

    public uint KernelBase { get; }
    public int MaxContents { get; }
    public int MemoryBudgetPages { get; }
    public int MaxMappedPages { get; }
    public int ContentCount => _contents.Count;
    /// <summary>Contents moved out of memory into the spill file.</summary>
    public int SpilledContentCount => _contents.SpilledCount;
    public int MappedPageCount => _map.Count;

    /// <summary>Reads that stopped short because a page was missing, unreadable (content 0) or its content unknown.
    /// Cumulative: snapshot it around a call to attribute misses to that call.</summary>
    public long MissingPageReads { get; private set; }
    /// <summary>Page map entries naming a content id that no PAGE record has defined (a writer bug); treated as unreadable.</summary>
    public long UnknownContentRefs { get; private set; }

    /// <summary>Raised on each short read with (cr3, va of the first byte not read).</summary>
    public event Action<uint, uint>? ReadFailed;

    public void AddPage(PageRecord page)
    {
        if (page.ContentId == 0) throw new ArgumentException("content id 0 is never a page content", nameof(page));
        if (page.Data.Length != PageSize)
            throw new ArgumentException($"page content {page.ContentId} has {page.Data.Length} bytes, not {PageSize}", nameof(page));
        bool known = _contents.Contains(page.ContentId);
        if (!known && _contents.Count >= MaxContents)
            throw new TraceLimitException(
                $"the trace holds more than {MaxContents} distinct page contents ({(long)MaxContents * PageSize >> 20} MiB), the guest-memory limit");
        // The reader hands each PAGE a fresh array: keep it rather than copy. A reused id replaces the bytes.
        var bytes = MemoryMarshal.TryGetArray(page.Data, out var segment) && segment.Offset == 0 && segment.Array!.Length == PageSize
            ? segment.Array
            : page.Data.ToArray();
        _contents.Add(page.ContentId, bytes);
    }

    public void Apply(IReadOnlyList<PageRef> map)
    {
        for (int i = 0; i < map.Count; i++)
        {
            var entry = map[i];
            uint space = IsKernelVpn(entry.Vpn) ? 0 : entry.Space;
            uint content = entry.ContentId;
            if (content != 0 && !_contents.Contains(content))
            {
                UnknownContentRefs++;
                content = 0;
            }
            ref uint slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_map, Key(space, entry.Vpn), out bool existed);
            if (!existed && _map.Count > MaxMappedPages)
            {
                _map.Remove(Key(space, entry.Vpn));
                throw new TraceLimitException(
                    $"the trace maps more than {MaxMappedPages} distinct (address space, page) pairs, the guest-memory limit");
            }
            slot = content;
        }
    }

    /// <summary>Convenience: feeds any record (PAGE → <see cref="AddPage"/>, SYSCALL / CONTEXT_SWITCH → <see cref="Apply"/>).</summary>
    public void Feed(TraceRecord record)
    {
        switch (record)
        {
            case PageRecord p: AddPage(p); break;
            case SyscallRecord s: Apply(s.Pages); break;
            case ContextSwitchRecord c: Apply(c.Pages); break;
        }
    }

    public int Read(uint cr3, uint va, Span<byte> destination)
    {
        int done = 0;
        while (done < destination.Length)
        {
            ulong address = (ulong)va + (uint)done;
            if (address > uint.MaxValue) break; // the 32-bit address space ends here
            var page = PageAt(cr3, (uint)address);
            if (page is null) break;
            int offset = (int)(address & (PageSize - 1));
            int count = Math.Min(PageSize - offset, destination.Length - done);
            page.AsSpan(offset, count).CopyTo(destination[done..]);
            done += count;
        }
        if (done < destination.Length)
        {
            MissingPageReads++;
            ReadFailed?.Invoke(cr3, unchecked(va + (uint)done));
        }
        return done;
    }

    /// <summary>The content of the page holding <paramref name="va"/> now, or null if missing or unreadable.</summary>
    public byte[]? PageAt(uint cr3, uint va)
    {
        uint vpn = va >> PageShift;
        uint space = IsKernelVpn(vpn) ? 0 : cr3;
        if (!_map.TryGetValue(Key(space, vpn), out var id) || id == 0) return null;
        return _contents.Get(id);
    }

    /// <summary>Deletes the spill file, if one was needed.</summary>
    public void Dispose() => _contents.Dispose();

    /// <summary>True when the trace has said anything about the page (even "unreadable").</summary>
    public bool IsKnown(uint cr3, uint va)
    {
        uint vpn = va >> PageShift;
        return _map.ContainsKey(Key(IsKernelVpn(vpn) ? 0 : cr3, vpn));
    }

    bool IsKernelVpn(uint vpn) => (ulong)vpn << PageShift >= KernelBase;
    static ulong Key(uint space, uint vpn) => (ulong)space << 32 | vpn;
}
