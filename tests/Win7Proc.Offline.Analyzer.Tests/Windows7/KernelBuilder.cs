using System.Text;
using Win7Proc.Offline.Analyzer.Windows7;

namespace Win7Proc.Offline.Analyzer.Tests.Windows7;

/// <summary>
/// Lays out Windows 7 x86 kernel objects in a <see cref="FakeGuest"/> by offset arithmetic. Offsets are written out
/// here as literals from /work/shared/reference/win7-x86-layouts.md (not taken from Win7Layout), so a wrong constant
/// in the product is caught.
/// </summary>
internal sealed class KernelBuilder(FakeGuest guest)
{
    public FakeGuest Guest { get; } = guest;

    // Scratch kernel memory for strings, 0x9000_0000 upwards, one bump allocator.
    private uint _next = 0x90000000;

    public uint Alloc(uint size, uint align = 8)
    {
        _next = (_next + align - 1) & ~(align - 1);
        uint at = _next;
        _next += Math.Max(size, 1);
        Guest.Map(at, Math.Max(size, 1));
        return at;
    }

    /// <summary>A UNICODE_STRING (struct + buffer) in scratch kernel memory; returns the struct address.</summary>
    public uint String(string text)
    {
        uint s = Alloc(8);
        uint buffer = Alloc((uint)Encoding.Unicode.GetByteCount(text) + 2, 2);
        Guest.UnicodeString(s, buffer, text);
        return s;
    }

    /// <summary>An EPROCESS: dispatcher type 3 / size 0x26 and the fields the readers use.</summary>
    public void Process(uint eprocess, uint pid, uint parentPid, string name, uint objectTable = 0, uint peb = 0,
        uint dtb = 0, ulong createTime = 0, ulong exitTime = 0, string? imagePath = null, byte[]? rawName = null)
    {
        Guest.Map(eprocess, 0x2c0);
        Guest.U8(eprocess + 0x0, 3).U8(eprocess + 0x2, 0x26);
        Guest.U32(eprocess + 0x18, dtb).U64(eprocess + 0xa0, createTime).U64(eprocess + 0xa8, exitTime);
        Guest.U32(eprocess + 0xb4, pid).U32(eprocess + 0xf4, objectTable).U32(eprocess + 0x140, parentPid);
        byte[] nameBytes = new byte[15];
        (rawName ?? Encoding.Latin1.GetBytes(name)).AsSpan(0, Math.Min(15, (rawName ?? Encoding.Latin1.GetBytes(name)).Length)).CopyTo(nameBytes);
        Guest.Write(eprocess + 0x16c, nameBytes).U32(eprocess + 0x1a8, peb);
        if (imagePath is not null) Guest.U32(eprocess + 0x1ec, String(imagePath));
    }

    /// <summary>A KTHREAD/ETHREAD with owner process and client id.</summary>
    public void Thread(uint kthread, uint eprocess, uint pid, uint tid)
    {
        Guest.Map(kthread, 0x2b8);
        Guest.U32(kthread + 0x150, eprocess).U32(kthread + 0x22c, pid).U32(kthread + 0x230, tid);
    }

    /// <summary>A GDT whose selector 0x30 descriptor has base <paramref name="kpcr"/>, and a KPCR there.</summary>
    public void GdtAndKpcr(uint gdt, uint kpcr, uint currentThread)
    {
        uint e1 = (kpcr & 0xffff) << 16 | 0x3748 - 1;      // base[15:0] in the high half, limit low
        uint e2 = (kpcr & 0xff000000) | 0x00409300 | ((kpcr >> 16) & 0xff);
        Guest.U32(gdt + 0x30, e1).U32(gdt + 0x34, e2);
        Guest.Map(kpcr, 0x3748);
        Guest.U32(kpcr + 0x1c, kpcr).U32(kpcr + 0x20, kpcr + 0x120).U32(kpcr + 0x124, currentThread);
    }

    /// <summary>An object: optional creator info (0x10) and name info (0x10) below a 0x18-byte header. Returns the
    /// body address (header + 0x18). <paramref name="header"/> must leave 0x20 bytes below it.</summary>
    public uint Object(uint header, byte typeIndex, string? name = null, uint directory = 0, bool creatorInfo = false)
    {
        byte infoMask = (byte)((creatorInfo ? 1 : 0) | (name is null ? 0 : 2));
        Guest.Map(header - 0x20, 0x20 + 0x18);
        Guest.U8(header + 0xc, typeIndex).U8(header + 0xe, infoMask).U32(header, 1);
        if (name is not null)
        {
            uint nameInfo = header - 0x10 - (creatorInfo ? 0x10u : 0);
            Guest.U32(nameInfo + 0x0, directory);
            uint buffer = Alloc((uint)Encoding.Unicode.GetByteCount(name) + 2, 2);
            Guest.UnicodeString(nameInfo + 0x4, buffer, name);
        }
        return header + 0x18;
    }

    /// <summary>The root directory "\" (no parent) and named subdirectories; returns bodies.</summary>
    public uint RootDirectory(uint header) => Object(header, 3, "\\");

    /// <summary>Writes a handle table entry (object header | flag bits, access).</summary>
    public void Entry(uint entryAddress, uint objectHeader, uint access, uint flagBits = 0)
    {
        Guest.U32(entryAddress, objectHeader | flagBits).U32(entryAddress + 4, access);
    }

    /// <summary>A FILE_OBJECT with device, related file object and FileName.</summary>
    public void FileObject(uint fileObject, uint deviceObject, string? fileName, uint related = 0)
    {
        Guest.Map(fileObject, 0x80);
        Guest.U16(fileObject, 5).U32(fileObject + 0x4, deviceObject).U32(fileObject + 0x20, related);
        if (fileName is not null)
        {
            uint buffer = Alloc((uint)Encoding.Unicode.GetByteCount(fileName) + 2, 2);
            Guest.UnicodeString(fileObject + 0x30, buffer, fileName);
        }
    }

    /// <summary>A KCB with parent and a name control block (compressed = one Latin-1 byte per char).</summary>
    public void Kcb(uint kcb, uint parent, string name, bool compressed)
    {
        Guest.Map(kcb, 0xa0);
        uint ncb = Alloc(0x10 + (uint)name.Length * 2);
        byte[] bytes = compressed ? Encoding.Latin1.GetBytes(name) : Encoding.Unicode.GetBytes(name);
        Guest.U8(ncb, compressed ? (byte)1 : (byte)0).U16(ncb + 0xc, (ushort)(compressed ? name.Length : bytes.Length));
        Guest.Write(ncb + 0xe, bytes);
        Guest.U32(kcb + 0x28, parent).U32(kcb + 0x2c, ncb);
    }

    public void KeyBody(uint keyBody, uint kcb)
    {
        Guest.Map(keyBody, 0x2c);
        Guest.U32(keyBody + 0x4, kcb);
    }
}
