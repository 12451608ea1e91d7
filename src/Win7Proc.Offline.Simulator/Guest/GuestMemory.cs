using System.Buffers.Binary;
using System.Text;
using Win7Proc.Offline.Trace;

namespace Win7Proc.Offline.Simulator.Guest;

/// <summary>
/// The synthetic guest's virtual memory: sparse 4 KiB pages, kernel pages (va ≥ <see cref="KernelBase"/>) shared by all
/// address spaces, user pages per CR3. Pages come into existence when first written; reading an unmapped page is a
/// short read, as <see cref="IGuestMemory"/> requires.
/// </summary>
public sealed class GuestMemory : IGuestMemory
{
    public const uint PageSize = 0x1000;

    /// <summary>Bound on the guest's pages, kernel and user together: 65,536 pages = 256 MiB of page contents
    /// (about 270 MB with the page maps; the kernel's pool and page allocators span 374 MiB of address space but
    /// reuse nothing, so a scenario reaching this bound would exhaust them soon after). A scenario that needs more (say, tens of thousands of processes, each with
    /// its PEB, parameters and handle table) is refused at the page that passes the bound, so the simulator's memory
    /// stays well under 1 GiB; the caller names the event or process (docs/robustness.md).</summary>
    public const int MaxPages = 65_536;

    int _pageCount;

    public int PageCount => _pageCount;
    public uint KernelBase { get; } = 0x80000000;

    readonly Dictionary<uint, byte[]> _kernelPages = new();
    readonly Dictionary<uint, Dictionary<uint, byte[]>> _userPages = new();

    public int KernelPageCount => _kernelPages.Count;

    byte[]? Page(uint cr3, uint va, bool create)
    {
        var vpn = va >> 12;
        Dictionary<uint, byte[]> pages;
        if (va >= KernelBase) pages = _kernelPages;
        else if (!_userPages.TryGetValue(cr3, out pages!))
        {
            if (!create) return null;
            pages = _userPages[cr3] = new Dictionary<uint, byte[]>();
        }
        if (pages.TryGetValue(vpn, out var page)) return page;
        if (!create) return null;
        if (_pageCount >= MaxPages)
            throw new ScenarioException($"the simulated guest's memory is full ({MaxPages} pages of 4 KiB, {MaxPages / 256} MiB: the simulator's bound)");
        _pageCount++;
        return pages[vpn] = new byte[PageSize];
    }

    public bool IsMapped(uint cr3, uint va) => Page(cr3, va, create: false) is not null;

    /// <summary>Pages (space, page number; space 0 = kernel, else the CR3) the recorder cannot read at this moment:
    /// paged out or unmapped during one call (a scenario event's "unreadable"). The model itself still reads them.</summary>
    public IReadOnlySet<(uint Space, uint Vpn)> Unreadable { get; set; } = new HashSet<(uint, uint)>();

    /// <summary>A read as the recorder's read callback does it: fails (false) when any page of the range is
    /// unreadable at this moment or missing.</summary>
    public bool TryReadForRecorder(uint cr3, uint va, Span<byte> destination)
    {
        if (Unreadable.Count > 0 && destination.Length > 0)
        {
            var last = va + (uint)destination.Length - 1;
            for (var vpn = va >> 12; vpn <= last >> 12; vpn++)
                if (Unreadable.Contains((va >= KernelBase ? 0u : cr3, vpn))) return false;
        }
        return Read(cr3, va, destination) == destination.Length;
    }

    public int Read(uint cr3, uint va, Span<byte> destination)
    {
        int done = 0;
        while (done < destination.Length)
        {
            var addr = va + (uint)done;
            if (addr < va) break; // wrapped past 4 GiB
            var page = Page(cr3, addr, create: false);
            if (page is null) break;
            var offset = (int)(addr & (PageSize - 1));
            var n = Math.Min(destination.Length - done, (int)PageSize - offset);
            page.AsSpan(offset, n).CopyTo(destination.Slice(done));
            done += n;
        }
        return done;
    }

    public void Write(uint cr3, uint va, ReadOnlySpan<byte> data)
    {
        int done = 0;
        while (done < data.Length)
        {
            var addr = checked(va + (uint)done);
            var page = Page(cr3, addr, create: true)!;
            var offset = (int)(addr & (PageSize - 1));
            var n = Math.Min(data.Length - done, (int)PageSize - offset);
            data.Slice(done, n).CopyTo(page.AsSpan(offset));
            done += n;
        }
    }

    /// <summary>Makes sure the page holding <paramref name="va"/> exists (zero-filled), e.g. a fresh handle-table page.</summary>
    public void Map(uint cr3, uint va) => Page(cr3, va, create: true);

    public void WriteU8(uint cr3, uint va, byte v) => Write(cr3, va, [v]);
    public void WriteU16(uint cr3, uint va, ushort v) { Span<byte> b = stackalloc byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, v); Write(cr3, va, b); }
    public void WriteU32(uint cr3, uint va, uint v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); Write(cr3, va, b); }
    public void WriteU64(uint cr3, uint va, ulong v) { Span<byte> b = stackalloc byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(b, v); Write(cr3, va, b); }

    public uint ReadU32(uint cr3, uint va)
    {
        Span<byte> b = stackalloc byte[4];
        return Read(cr3, va, b) == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(b) : 0;
    }

    /// <summary>Writes a UNICODE_STRING at <paramref name="at"/> whose UTF-16 buffer (NUL-terminated) is at <paramref name="buffer"/>.</summary>
    public void WriteUnicodeString(uint cr3, uint at, uint buffer, string text)
    {
        var bytes = Encoding.Unicode.GetBytes(text);
        if (bytes.Length > 0xfffc) throw new ArgumentException("string too long for a UNICODE_STRING", nameof(text));
        WriteU16(cr3, at, (ushort)bytes.Length);
        WriteU16(cr3, at + 2, (ushort)(bytes.Length + 2));
        WriteU32(cr3, at + 4, buffer);
        Write(cr3, buffer, bytes);
        WriteU16(cr3, buffer + (uint)bytes.Length, 0);
    }

    public static int Utf16Size(string text) => Encoding.Unicode.GetByteCount(text) + 2;
}
