using System.Buffers.Binary;
using System.Text;

namespace Win7Proc.Offline.Trace;

/// <summary>Typed reads on top of <see cref="IGuestMemory.Read"/>; all little-endian, all-or-nothing.</summary>
public static class GuestMemoryExtensions
{
    /// <summary>Largest UTF-16 string read by <see cref="TryReadUtf16"/> (a UNICODE_STRING's u16 length caps it too).</summary>
    public const int MaxUtf16Bytes = ushort.MaxValue;

    public static bool TryReadBytes(this IGuestMemory memory, uint cr3, uint va, Span<byte> destination) =>
        memory.Read(cr3, va, destination) == destination.Length;

    public static bool TryReadU8(this IGuestMemory memory, uint cr3, uint va, out byte value)
    {
        Span<byte> b = stackalloc byte[1];
        bool ok = memory.TryReadBytes(cr3, va, b);
        value = ok ? b[0] : (byte)0;
        return ok;
    }

    public static bool TryReadU16(this IGuestMemory memory, uint cr3, uint va, out ushort value)
    {
        Span<byte> b = stackalloc byte[2];
        bool ok = memory.TryReadBytes(cr3, va, b);
        value = ok ? BinaryPrimitives.ReadUInt16LittleEndian(b) : (ushort)0;
        return ok;
    }

    public static bool TryReadU32(this IGuestMemory memory, uint cr3, uint va, out uint value)
    {
        Span<byte> b = stackalloc byte[4];
        bool ok = memory.TryReadBytes(cr3, va, b);
        value = ok ? BinaryPrimitives.ReadUInt32LittleEndian(b) : 0;
        return ok;
    }

    public static bool TryReadU64(this IGuestMemory memory, uint cr3, uint va, out ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        bool ok = memory.TryReadBytes(cr3, va, b);
        value = ok ? BinaryPrimitives.ReadUInt64LittleEndian(b) : 0;
        return ok;
    }

    /// <summary>Reads <paramref name="byteLength"/> bytes of UTF-16LE at <paramref name="va"/> (a UNICODE_STRING
    /// buffer). Fails on an odd or over-limit length or a short read; invalid UTF-16 becomes U+FFFD.</summary>
    public static bool TryReadUtf16(this IGuestMemory memory, uint cr3, uint va, int byteLength, out string value,
        int maxBytes = MaxUtf16Bytes)
    {
        value = "";
        if (byteLength < 0 || byteLength > maxBytes || (byteLength & 1) != 0) return false;
        if (byteLength == 0) return true;
        var buffer = byteLength <= 1024 ? stackalloc byte[byteLength] : new byte[byteLength];
        if (!memory.TryReadBytes(cr3, va, buffer)) return false;
        value = Encoding.Unicode.GetString(buffer);
        return true;
    }
}
