using System.Buffers.Binary;
using System.Text;
using Win7Proc.Offline.Trace;

namespace Win7Proc.Offline.Analyzer.Tests.Windows7;

/// <summary>
/// An in-memory guest: 4 KiB pages created on first write. Kernel pages (va ≥ 0x80000000) are shared by every
/// address space; user pages belong to one CR3. Reads stop at the first missing page, like the real trace memory.
/// </summary>
internal sealed class FakeGuest : IGuestMemory
{
    public const uint PageSize = 0x1000;
    public const uint KernelStart = 0x80000000;

    private readonly Dictionary<(uint Space, uint Vpn), byte[]> _pages = [];

    /// <summary>Number of Read calls, to show walks stay bounded.</summary>
    public int ReadCalls { get; private set; }

    private static uint SpaceOf(uint cr3, uint va) => va >= KernelStart ? 0 : cr3;

    public int Read(uint cr3, uint va, Span<byte> destination)
    {
        ReadCalls++;
        int done = 0;
        while (done < destination.Length)
        {
            uint at = unchecked(va + (uint)done);
            // No stop at 0xFFFFFFFF: like a naive page store, this fake wraps, so callers must not ask it to.
            if (!_pages.TryGetValue((SpaceOf(cr3, at), at / PageSize), out byte[]? page)) break;
            int offset = (int)(at % PageSize);
            int n = Math.Min(destination.Length - done, (int)PageSize - offset);
            page.AsSpan(offset, n).CopyTo(destination[done..]);
            done += n;
        }
        return done;
    }

    /// <summary>Makes [va, va+length) readable (zero-filled where new).</summary>
    public FakeGuest Map(uint va, uint length, uint cr3 = 0)
    {
        for (ulong p = va / PageSize; p <= (va + (ulong)Math.Max(length, 1) - 1) / PageSize; p++)
        {
            var key = (SpaceOf(cr3, (uint)(p * PageSize)), (uint)p);
            if (!_pages.ContainsKey(key)) _pages[key] = new byte[PageSize];
        }
        return this;
    }

    public FakeGuest Unmap(uint va, uint cr3 = 0)
    {
        _pages.Remove((SpaceOf(cr3, va), va / PageSize));
        return this;
    }

    public FakeGuest Write(uint va, ReadOnlySpan<byte> data, uint cr3 = 0)
    {
        if (data.Length == 0) return this;
        Map(va, (uint)data.Length, cr3);
        for (int i = 0; i < data.Length;)
        {
            uint at = va + (uint)i;
            byte[] page = _pages[(SpaceOf(cr3, at), at / PageSize)];
            int offset = (int)(at % PageSize);
            int n = Math.Min(data.Length - i, (int)PageSize - offset);
            data.Slice(i, n).CopyTo(page.AsSpan(offset));
            i += n;
        }
        return this;
    }

    public FakeGuest U8(uint va, byte value, uint cr3 = 0) => Write(va, [value], cr3);

    public FakeGuest U16(uint va, ushort value, uint cr3 = 0)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, value);
        return Write(va, b, cr3);
    }

    public FakeGuest U32(uint va, uint value, uint cr3 = 0)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        return Write(va, b, cr3);
    }

    public FakeGuest U64(uint va, ulong value, uint cr3 = 0)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        return Write(va, b, cr3);
    }

    /// <summary>A UNICODE_STRING at <paramref name="va"/> whose UTF-16LE buffer is at <paramref name="buffer"/>.</summary>
    public FakeGuest UnicodeString(uint va, uint buffer, string text, uint cr3 = 0)
    {
        byte[] bytes = Encoding.Unicode.GetBytes(text);
        U16(va, (ushort)bytes.Length, cr3).U16(va + 2, (ushort)(bytes.Length + 2), cr3).U32(va + 4, buffer, cr3);
        return Write(buffer, bytes, cr3);
    }

    /// <summary>A UNICODE_STRING header only, with any length/buffer values (for hostile cases).</summary>
    public FakeGuest UnicodeStringHeader(uint va, ushort length, uint buffer, uint cr3 = 0) =>
        U16(va, length, cr3).U16(va + 2, length, cr3).U32(va + 4, buffer, cr3);
}
