using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Win7Proc.Offline.Trace;

/// <summary>
/// Guest memory as the trace knows it at the current record. Feed records in order: <see cref="AddPage"/> stores a
/// page content under its id, <see cref="Apply(SyscallRecord)"/> takes a record's page map; a read then returns, for
/// each page, the content of the newest map entry at or before the current record (FORMAT.md §5). Kernel pages
/// (va ≥ <see cref="KernelBase"/>) live in space 0 and are shared by every address space.
/// <para><b>Memory is bounded, whatever the trace's length</b> (format 2.0 window rule, FORMAT.md §4):</para>
/// <list type="bullet">
/// <item>Page contents: a ring of <see cref="DedupWindow"/> slots indexed by content id, filled lazily, so it holds
/// min(window, contents seen) × 4 KiB (the recorder's default window of 16,384 is 64 MiB; the format's largest,
/// 262,144, is 1 GiB). Content c is forgotten once the newest id N reaches c + window: the format forbids naming it
/// then, and a reference outside the window is a <see cref="TraceFormatException"/> naming the record.</item>
/// <item>The page map ((address space, page) → content): at most <see cref="MaxMappedPages"/> pairs (default
/// 2^21, about 80 MiB with the dictionary's own overhead). An entry whose content left the window <i>expires</i> (the
/// page reads as never mapped). At the cap, expired entries are dropped first, then the least recently mapped ones
/// (never those of the record being applied); <see cref="DroppedMapEntries"/> counts them and a read of a dropped page
/// is a missing page. Expired entries are also swept once a window of new contents has passed and the map has doubled
/// since the last sweep, so the map holds about the pages in use, not the cap. Every event's own map holds the pages its analysis reads, so neither loses a page it needs.</item>
/// </list>
/// No temporary files. Not thread-safe: one analysis thread owns it.
/// </summary>
public sealed class TraceGuestMemory : IGuestMemory, IDisposable
{
    public const int PageSize = 4096;
    const int PageShift = 12;
    /// <summary>The format's bounds of the header's <c>dedup_window</c> (v2.md, HEADER).</summary>
    public const int MinDedupWindow = 1, MaxDedupWindow = 262_144;
    /// <summary>The recorder's default window, used when a caller builds memory without a header.</summary>
    public const int DefaultDedupWindow = 16_384;
    /// <summary>Default cap of distinct (address space, page) pairs in the page map: 2^21 (about 80 MiB of map). A
    /// Windows 7 x86 guest touches far fewer live pages than this between two uses of one page.</summary>
    public const int DefaultMaxMappedPages = 1 << 21;

    /// <summary>Contents are stored in slabs of this many pages (1 MiB), allocated when the ring first reaches them.</summary>
    const int SlabPages = 256;

    readonly byte[]?[] _slabs;
    // (space << 32 | vpn) → content id (low 32 bits; 0 = unreadable) | map sequence (high 32 bits: which Apply wrote it).
    readonly Dictionary<ulong, ulong> _map = new();
    uint _newest;   // N: the newest content id defined so far (0 = none)
    uint _applies;  // Apply calls so far (mod 2^32): ages map entries for eviction at the cap
    int _mapCapacity;
    uint _sweptAt;       // N at the last sweep of expired entries
    int _liveAfterSweep; // map entries left by that sweep
    const int MinSweepEntries = 1 << 16;

    public TraceGuestMemory(uint kernelBase, int dedupWindow = DefaultDedupWindow, int maxMappedPages = DefaultMaxMappedPages)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dedupWindow, MinDedupWindow);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(dedupWindow, MaxDedupWindow);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMappedPages, 1);
        KernelBase = kernelBase;
        DedupWindow = dedupWindow;
        MaxMappedPages = maxMappedPages;
        _slabs = new byte[]?[(dedupWindow + SlabPages - 1) / SlabPages];
        _mapCapacity = _map.EnsureCapacity(Math.Min(1 << 12, maxMappedPages));
    }

    /// <summary>Memory for a trace: kernel base and window from its header.</summary>
    public TraceGuestMemory(TraceHeader header, int maxMappedPages = DefaultMaxMappedPages)
        : this(header.KernelBase, DedupWindowOf(header), maxMappedPages) { }

    /// <summary>The header's <c>dedup_window</c> (the reader has checked it; a header built by hand without one is
    /// a format error).</summary>
    public static int DedupWindowOf(TraceHeader header) =>
        header.DedupWindow is >= MinDedupWindow and <= MaxDedupWindow
            ? (int)header.DedupWindow
            : throw new TraceFormatException(
                $"the header's dedup_window {header.DedupWindow} is not a number from {MinDedupWindow} to {MaxDedupWindow} (required since trace format 2.0)");

    public uint KernelBase { get; }
    /// <summary>How many of the newest contents a page map may name (the header's <c>dedup_window</c>).</summary>
    public int DedupWindow { get; }
    public int MaxMappedPages { get; }
    /// <summary>The newest content id defined so far (N of the window rule; 0 before the first PAGE).</summary>
    public uint NewestContentId => _newest;
    /// <summary>Contents held now: min(window, contents seen).</summary>
    public int ContentCount => (int)Math.Min(_newest, (uint)DedupWindow);
    /// <summary>Bytes of content slabs allocated so far (at most the window × 4 KiB, rounded up to 1 MiB).</summary>
    public long ContentBytesAllocated => _slabs.Count(s => s is not null) * (long)SlabPages * PageSize;
    /// <summary>(space, page) pairs in the map now, expired ones included until they are dropped.</summary>
    public int MappedPageCount => _map.Count;
    /// <summary>Map entries dropped at the cap (<see cref="MaxMappedPages"/>) while their content was still in the
    /// window: reads of those pages became missing-page reads until a newer entry mapped them.</summary>
    public long DroppedMapEntries { get; private set; }

    /// <summary>Reads that stopped short because a page was missing, unreadable (content 0) or its content unknown.
    /// Cumulative: snapshot it around a call to attribute misses to that call.</summary>
    public long MissingPageReads { get; private set; }

    /// <summary>Raised on each short read with (cr3, va of the first byte not read).</summary>
    public event Action<uint, uint>? ReadFailed;

    /// <summary>Stores a PAGE's bytes (copied) in the ring. Ids must count up by one from 1 (FORMAT.md §4).</summary>
    public void AddPage(PageRecord page) => AddPage(page.ContentId, page.Data.Span, page.Index);

    /// <summary>Stores <paramref name="data"/> (copied) as content <paramref name="contentId"/>, which must be the
    /// newest id + 1; <paramref name="recordIndex"/> names the PAGE record in the error otherwise.</summary>
    public void AddPage(uint contentId, ReadOnlySpan<byte> data, long recordIndex = -1)
    {
        if (data.Length != PageSize)
            throw new TraceFormatException($"{Where(recordIndex, "PAGE")}: page content {contentId} has {data.Length} bytes, not {PageSize}");
        if (contentId != _newest + 1)
            throw new TraceFormatException(
                $"{Where(recordIndex, "PAGE")}: content id {contentId} does not follow {_newest} (ids count up by one from 1)");
        data.CopyTo(Slot(contentId));
        _newest = contentId;
        // Expired entries are dead weight: sweep them once a window has passed and the map has doubled since the last
        // sweep, so the map follows the pages in use rather than filling to the cap (amortised O(1) per page).
        if (_newest - _sweptAt >= (uint)DedupWindow && _map.Count >= Math.Max(2 * _liveAfterSweep, MinSweepEntries))
        {
            _sweptAt = _newest;
            DropExpired();
            _liveAfterSweep = _map.Count;
        }
    }

    /// <summary>Applies a SYSCALL's page map.</summary>
    public void Apply(SyscallRecord record) => Apply(record.Pages, record.Index, "SYSCALL", record.Instr);

    /// <summary>Applies a CONTEXT_SWITCH's page map.</summary>
    public void Apply(ContextSwitchRecord record) => Apply(record.Pages, record.Index, "CONTEXT_SWITCH", record.Instr);

    /// <summary>Applies a page map that no record names (tests, tools).</summary>
    public void Apply(IReadOnlyList<PageRef> map)
    {
        if (map is PageRef[] array) Apply(array, -1, "page map", 0);
        else Apply(map.ToArray(), -1, "page map", 0);
    }

    /// <summary>Applies the page map of record #<paramref name="recordIndex"/> (<paramref name="kind"/> at
    /// <paramref name="instr"/>: named in the error when an entry breaks the window rule).</summary>
    public void Apply(ReadOnlySpan<PageRef> map, long recordIndex, string kind, ulong instr)
    {
        _applies++;
        ulong sequence = (ulong)_applies << 32;
        for (int i = 0; i < map.Length; i++)
        {
            var entry = map[i];
            uint content = entry.ContentId;
            if (content != 0 && !InWindow(content))
                throw new TraceFormatException(
                    $"{Where(recordIndex, kind, instr)}: page content {content} is outside the window (newest {_newest}, window {DedupWindow})");
            uint space = IsKernelVpn(entry.Vpn) ? 0 : entry.Space;
            ulong key = Key(space, entry.Vpn);
            ref ulong slot = ref CollectionsMarshal.GetValueRefOrNullRef(_map, key);
            if (Unsafe.IsNullRef(ref slot))
            {
                if (_map.Count >= MaxMappedPages && !MakeRoom())
                    throw new TraceLimitException(
                        $"{Where(recordIndex, kind, instr)}: its page map alone holds more than {MaxMappedPages} distinct (address space, page) pairs, the page-map cap");
                if (_map.Count >= _mapCapacity) GrowMap();
                slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_map, key, out _);
            }
            slot = sequence | content;
        }
    }

    /// <summary>Convenience: feeds any record (PAGE → <see cref="AddPage(PageRecord)"/>, SYSCALL / CONTEXT_SWITCH → Apply).</summary>
    public void Feed(TraceRecord record)
    {
        switch (record)
        {
            case PageRecord p: AddPage(p); break;
            case SyscallRecord s: Apply(s); break;
            case ContextSwitchRecord c: Apply(c); break;
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
            if (page.IsEmpty) break;
            int offset = (int)(address & (PageSize - 1));
            int count = Math.Min(PageSize - offset, destination.Length - done);
            page.Slice(offset, count).CopyTo(destination[done..]);
            done += count;
        }
        if (done < destination.Length)
        {
            MissingPageReads++;
            ReadFailed?.Invoke(cr3, unchecked(va + (uint)done));
        }
        return done;
    }

    /// <summary>The content of the page holding <paramref name="va"/> now (valid until the next <see cref="AddPage(PageRecord)"/>),
    /// or empty if missing, unreadable or expired.</summary>
    public ReadOnlySpan<byte> PageAt(uint cr3, uint va)
    {
        uint vpn = va >> PageShift;
        uint space = IsKernelVpn(vpn) ? 0 : cr3;
        if (!_map.TryGetValue(Key(space, vpn), out var value)) return default;
        uint content = (uint)value;
        return content != 0 && InWindow(content) ? Slot(content) : default;
    }

    /// <summary>True when the trace has said anything about the page (even "unreadable") that has not expired or
    /// been dropped.</summary>
    public bool IsKnown(uint cr3, uint va)
    {
        uint vpn = va >> PageShift;
        return _map.TryGetValue(Key(IsKernelVpn(vpn) ? 0 : cr3, vpn), out var value) && ((uint)value == 0 || InWindow((uint)value));
    }

    /// <summary>Releases the content ring (nothing on disk to delete: the model never spills).</summary>
    public void Dispose()
    {
        Array.Clear(_slabs);
        _map.Clear();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    bool InWindow(uint content) => content <= _newest && _newest - content < (uint)DedupWindow;

    Span<byte> Slot(uint content)
    {
        int ring = (int)(content % (uint)DedupWindow);
        var slab = _slabs[ring / SlabPages] ??= new byte[SlabPages * PageSize];
        return slab.AsSpan(ring % SlabPages * PageSize, PageSize);
    }

    /// <summary>Doubles the map's capacity, but never beyond the cap (the dictionary's own doubling would reserve up to
    /// twice the cap).</summary>
    void GrowMap() =>
        _mapCapacity = _map.EnsureCapacity((int)Math.Min(Math.Max(2L * _mapCapacity, 1), MaxMappedPages));

    /// <summary>At the cap: drops every expired entry; if that frees less than a quarter of the cap, also the least
    /// recently mapped entries (not the current record's) down to about three quarters. Amortised O(1) per new entry.
    /// False when nothing could be dropped (the current record's own map fills the cap).</summary>
    bool MakeRoom()
    {
        uint current = _applies;
        DropExpired();
        int target = MaxMappedPages - Math.Max(1, MaxMappedPages / 4);
        if (_map.Count <= target) return true;

        // Age = Apply calls since the entry was written; keep the youngest `target` entries (a histogram of ages
        // by power of two finds the cut without sorting millions of entries), never those of the current record.
        Span<long> byBucket = stackalloc long[33];
        foreach (var value in _map.Values) byBucket[AgeBucket(current - (uint)(value >> 32))]++;
        int cut = 32;
        long kept = 0;
        for (int b = 0; b <= 32; b++)
        {
            if (kept + byBucket[b] > target) { cut = b; break; }
            kept += byBucket[b];
        }
        cut = Math.Max(cut, 1); // bucket 0 is age 0: the record being applied
        int before = _map.Count;
        foreach (var (key, value) in _map)
            if (AgeBucket(current - (uint)(value >> 32)) >= cut) _map.Remove(key);
        DroppedMapEntries += before - _map.Count;
        return _map.Count < MaxMappedPages;
    }

    void DropExpired()
    {
        // Removing the current entry while enumerating is allowed (Dictionary, .NET Core 3.0+): no list of keys.
        foreach (var (key, value) in _map)
            if ((uint)value != 0 && !InWindow((uint)value)) _map.Remove(key);
    }

    /// <summary>0 for age 0 (the record being applied), else 1 + floor(log2(age)).</summary>
    static int AgeBucket(uint age) => 32 - BitOperations.LeadingZeroCount(age);

    static string Where(long recordIndex, string kind, ulong instr = 0) =>
        recordIndex < 0 ? kind
        : kind is "SYSCALL" or "CONTEXT_SWITCH" ? $"record #{recordIndex} ({kind} at instr {instr})"
        : $"record #{recordIndex} ({kind})";

    bool IsKernelVpn(uint vpn) => (ulong)vpn << PageShift >= KernelBase;
    static ulong Key(uint space, uint vpn) => (ulong)space << 32 | vpn;
}
