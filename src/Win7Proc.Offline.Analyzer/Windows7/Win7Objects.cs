using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Win7Proc.Offline.Trace;

namespace Win7Proc.Offline.Analyzer.Windows7;

/// <summary>
/// Reads Windows 7 SP1 x86 kernel and user structures from a partial, hostile guest memory. Every reader returns
/// null (or a partial result, as documented per method) when memory is missing or inconsistent; none throws for guest
/// data. Every length, count and depth is capped by <see cref="Limits"/>, and every pointer walk detects cycles.
/// Offsets live in <see cref="Win7Layout"/>. Split by object family over the Win7Objects.*.cs files.
/// </summary>
public sealed partial class Win7Objects(IGuestMemory memory, GuestLimits? limits = null)
{
    private const int StackBufferBytes = 512;
    /// <summary>Walks up to this deep keep their visited-address set on the stack.</summary>
    private const int StackWalkDepth = 128;

    private readonly IGuestMemory _memory = memory ?? throw new ArgumentNullException(nameof(memory));

    public GuestLimits Limits { get; } = limits ?? GuestLimits.Default;

    // ---- Primitive reads ----

    /// <summary>Reads as many bytes as are contiguously readable (never wrapping past 0xFFFFFFFF).</summary>
    private int ReadBytes(uint cr3, uint va, Span<byte> destination)
    {
        ulong room = 0x1_0000_0000UL - va;
        if ((ulong)destination.Length > room) destination = destination[..(int)room];
        int read = _memory.Read(cr3, va, destination);
        return read < 0 ? 0 : Math.Min(read, destination.Length);
    }

    private bool ReadExact(uint cr3, uint va, Span<byte> destination) =>
        ReadBytes(cr3, va, destination) == destination.Length;

    /// <summary>Reads a little-endian ULONG / pointer; false when any of its 4 bytes is unreadable.</summary>
    public bool TryReadU32(uint cr3, uint va, out uint value)
    {
        Span<byte> b = stackalloc byte[4];
        if (ReadExact(cr3, va, b)) { value = BinaryPrimitives.ReadUInt32LittleEndian(b); return true; }
        value = 0;
        return false;
    }

    private bool TryReadU16(uint cr3, uint va, out ushort value)
    {
        Span<byte> b = stackalloc byte[2];
        if (ReadExact(cr3, va, b)) { value = BinaryPrimitives.ReadUInt16LittleEndian(b); return true; }
        value = 0;
        return false;
    }

    private bool TryReadU8(uint cr3, uint va, out byte value)
    {
        Span<byte> b = stackalloc byte[1];
        bool ok = ReadExact(cr3, va, b);
        value = b[0];
        return ok;
    }

    // ---- Strings ----

    /// <summary>Reads a UNICODE_STRING structure at <paramref name="unicodeStringAddress"/> and its buffer.
    /// Null when the structure is unreadable; see <see cref="ReadUnicodeStringAt"/> for the buffer rules.</summary>
    public string? ReadUnicodeString(uint cr3, uint unicodeStringAddress)
    {
        Span<byte> s = stackalloc byte[Win7Layout.UnicodeStringSize];
        if (!ReadExact(cr3, unicodeStringAddress, s)) return null;
        ushort length = BinaryPrimitives.ReadUInt16LittleEndian(s[(int)Win7Layout.UnicodeStringLength..]);
        uint buffer = BinaryPrimitives.ReadUInt32LittleEndian(s[(int)Win7Layout.UnicodeStringBuffer..]);
        return ReadUnicodeStringAt(cr3, length, buffer);
    }

    /// <summary>
    /// Decodes <paramref name="lengthBytes"/> bytes of UTF-16LE at <paramref name="buffer"/>. An odd length drops its
    /// last byte; the length is capped at <see cref="GuestLimits.MaxStringBytes"/>; unpaired surrogates become U+FFFD.
    /// Length 0 gives "". If the buffer becomes unreadable part-way the readable prefix is returned; null when no byte
    /// of a non-empty string is readable (or Buffer is NULL).
    /// </summary>
    public string? ReadUnicodeStringAt(uint cr3, ushort lengthBytes, uint buffer) =>
        ReadUtf16(cr3, buffer, lengthBytes);

    /// <summary>UTF-16LE of up to <paramref name="lengthBytes"/> (capped) bytes; readable-prefix semantics as above.</summary>
    private string? ReadUtf16(uint cr3, uint buffer, int lengthBytes)
    {
        int length = Math.Min(lengthBytes, Limits.MaxStringBytes) & ~1;
        if (length <= 0) return lengthBytes < 0 ? null : "";
        return ReadEncoded(cr3, buffer, length, Encoding.Unicode, readMask: ~1);
    }

    /// <summary>One byte per char (Latin-1, so 0x80–0xFF keep their code point); readable-prefix semantics.</summary>
    private string? ReadLatin1(uint cr3, uint buffer, int lengthChars)
    {
        int length = Math.Min(lengthChars, Limits.MaxStringBytes);
        if (length <= 0) return "";
        return ReadEncoded(cr3, buffer, length, Encoding.Latin1, readMask: ~0);
    }

    /// <summary>The readable prefix of <paramref name="length"/> bytes at <paramref name="buffer"/> (cut to whole
    /// code units by <paramref name="readMask"/>), decoded; null when nothing is readable.</summary>
    private string? ReadEncoded(uint cr3, uint buffer, int length, Encoding encoding, int readMask)
    {
        if (buffer == 0) return null;
        byte[]? rented = null;
        Span<byte> bytes = length <= StackBufferBytes
            ? stackalloc byte[StackBufferBytes]
            : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            int read = ReadBytes(cr3, buffer, bytes[..length]) & readMask;
            return read == 0 ? null : encoding.GetString(bytes[..read]);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    // ---- Small argument structures ----

    /// <summary>IO_STATUS_BLOCK: Status and Information (ULONG_PTR, 4 bytes on x86). Null when unreadable.</summary>
    public (uint Status, ulong Information)? ReadIoStatusBlock(uint cr3, uint va)
    {
        Span<byte> b = stackalloc byte[8];
        if (va == 0 || !ReadExact(cr3, va, b)) return null;
        return (BinaryPrimitives.ReadUInt32LittleEndian(b[(int)Win7Layout.IoStatusBlockStatus..]),
                BinaryPrimitives.ReadUInt32LittleEndian(b[(int)Win7Layout.IoStatusBlockInformation..]));
    }

    /// <summary>NTSTATUS name for the common values (e.g. STATUS_OBJECT_NAME_NOT_FOUND), else "0xC0000034".</summary>
    public static string DescribeNtStatus(uint status) => NtStatus.Describe(status);

    /// <summary>NT_SUCCESS: severity success or informational ((int)status ≥ 0); warnings count as failures.</summary>
    public static bool IsSuccess(uint status) => (int)status >= 0;
}
