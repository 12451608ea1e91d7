using System.Text;
using Win7Proc.Offline.Trace;

namespace Win7Proc.Offline.Simulator.Tests;

/// <summary>
/// A deliberately small, independent reader of Windows 7 SP1 x86 structures for the tests: plain offset arithmetic
/// with the numbers copied from /work/shared/reference/win7-x86-layouts.md (not from the simulator's Win7Layout.cs),
/// so a wrong offset in the model shows up as a test failure.
/// </summary>
internal sealed class Win7Reader(IGuestMemory memory, uint cr3)
{
    public uint Cr3 { get; set; } = cr3;

    public uint U32(uint va)
    {
        var b = new byte[4];
        Assert.True(memory.Read(Cr3, va, b) == 4, $"unreadable u32 at {va:x8}");
        return BitConverter.ToUInt32(b);
    }
    public ushort U16(uint va) { var b = Bytes(va, 2); return BitConverter.ToUInt16(b); }
    public byte U8(uint va) => Bytes(va, 1)[0];
    public ulong U64(uint va) => BitConverter.ToUInt64(Bytes(va, 8));
    public byte[] Bytes(uint va, int n)
    {
        var b = new byte[n];
        Assert.True(memory.Read(Cr3, va, b) == n, $"unreadable {n} bytes at {va:x8}");
        return b;
    }

    /// <summary>UNICODE_STRING: Length @0, MaximumLength @2, Buffer @4.</summary>
    public string UnicodeString(uint at)
    {
        var length = U16(at);
        Assert.True(length <= U16(at + 2), "Length > MaximumLength");
        return Encoding.Unicode.GetString(Bytes(U32(at + 4), length));
    }

    // GDT entry 0x30 → KPCR: base = e1[31:16] | e2[7:0] << 16 | e2[31:24] << 24.
    public uint Kpcr(uint gdtBase)
    {
        var e1 = U32(gdtBase + 0x30);
        var e2 = U32(gdtBase + 0x34);
        return (e1 >> 16) | ((e2 & 0xff) << 16) | (e2 & 0xff000000);
    }

    public uint CurrentThread(uint gdtBase) => U32(Kpcr(gdtBase) + 0x124);
    public uint CurrentProcess(uint gdtBase) => U32(CurrentThread(gdtBase) + 0x150);
    public uint Pid(uint eprocess) => U32(eprocess + 0xb4);
    public uint ParentPid(uint eprocess) => U32(eprocess + 0x140);
    public string ImageFileName(uint eprocess) => Encoding.ASCII.GetString(Bytes(eprocess + 0x16c, 15)).TrimEnd('\0');
    public string AuditImagePath(uint eprocess) => UnicodeString(U32(eprocess + 0x1ec));

    /// <summary>Handle value → _HANDLE_TABLE_ENTRY address, by TableCode level (0, 1, 2).</summary>
    public uint HandleEntry(uint eprocess, uint handle)
    {
        var table = U32(eprocess + 0xf4);
        var code = U32(table);
        var level = code & 3;
        var top = code & ~7u;
        var idx = handle >> 2;
        return level switch
        {
            0 => top + 8 * idx,
            1 => U32(top + 4 * (idx >> 9)) + 8 * (idx & 0x1ff),
            _ => U32(U32(top + 4 * (idx >> 19)) + 4 * ((idx >> 9) & 0x3ff)) + 8 * (idx & 0x1ff),
        };
    }

    /// <summary>Handle → _OBJECT_HEADER (entry Object with the low 3 bits masked).</summary>
    public uint ObjectHeader(uint eprocess, uint handle) => U32(HandleEntry(eprocess, handle)) & ~7u;
    public byte TypeIndex(uint header) => U8(header + 0xc);
    public uint Body(uint header) => header + 0x18;

    /// <summary>Name from _OBJECT_HEADER_NAME_INFO (InfoMask bit 0x2), below the header (after CreatorInfo if any).</summary>
    public string? ObjectName(uint header)
    {
        var mask = U8(header + 0xe);
        if ((mask & 2) == 0) return null;
        var nameInfo = header - 0x10 - ((mask & 1) != 0 ? 0x10u : 0);
        return UnicodeString(nameInfo + 0x4);
    }

    /// <summary>Full object path by walking NameInfo.Directory to the root directory "\".</summary>
    public string ObjectPath(uint header)
    {
        var parts = new List<string>();
        for (int depth = 0; depth < 16; depth++)
        {
            var name = ObjectName(header);
            Assert.NotNull(name);
            if (name == "\\") break;
            parts.Insert(0, name!);
            var mask = U8(header + 0xe);
            var dir = U32(header - 0x10 - ((mask & 1) != 0 ? 0x10u : 0));
            if (dir == 0) break;
            header = dir - 0x18;
        }
        return "\\" + string.Join("\\", parts);
    }

    public string FileObjectName(uint fileObject) => UnicodeString(fileObject + 0x30);
    public string DeviceName(uint fileObject) => ObjectPath(U32(fileObject + 0x4) - 0x18);

    /// <summary>Key body → KCB chain to the root, names from the name control blocks.</summary>
    public string KeyPath(uint keyBody)
    {
        var kcb = U32(keyBody + 0x4);
        var parts = new List<string>();
        for (int depth = 0; kcb != 0 && depth < 64; depth++)
        {
            var ncb = U32(kcb + 0x2c);
            var compressed = (U8(ncb) & 1) != 0;
            var len = U16(ncb + 0xc);
            var raw = Bytes(ncb + 0xe, len);
            parts.Insert(0, compressed ? Encoding.Latin1.GetString(raw) : Encoding.Unicode.GetString(raw));
            kcb = U32(kcb + 0x28);
        }
        return "\\" + string.Join("\\", parts);
    }
}
