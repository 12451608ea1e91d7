using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using K4os.Compression.LZ4;
using K4os.Compression.LZ4.Streams;

namespace Win7Proc.Offline.Trace.Tests;

/// <summary>
/// Builds trace files byte by byte from tracefmt/FORMAT.md (independently of the reader): records are appended to
/// the current frame; <see cref="EndFrame"/> closes it as a standard LZ4 frame.
/// </summary>
internal sealed class TraceBuilder
{
    readonly MemoryStream _file = new();
    MemoryStream _frame = new();
    public LZ4EncoderSettings FrameSettings { get; set; } = new()
    {
        BlockSize = 4 << 20, ChainBlocks = false, ContentChecksum = true, CompressionLevel = LZ4Level.L00_FAST,
    };

    /// <summary>File offsets where each frame started.</summary>
    public List<long> FrameOffsets { get; } = [];
    /// <summary>The uncompressed record stream of each frame.</summary>
    public List<byte[]> RawFrames { get; } = [];

    public TraceBuilder Record(ushort type, byte[] body, ushort flags = 0)
    {
        Span<byte> head = stackalloc byte[8];
        BinaryPrimitives.WriteUInt16LittleEndian(head, type);
        BinaryPrimitives.WriteUInt16LittleEndian(head[2..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(head[4..], (uint)body.Length);
        _frame.Write(head);
        _frame.Write(body);
        return this;
    }

    /// <summary>Appends raw bytes to the current frame's record stream (to cut records).</summary>
    public TraceBuilder Raw(byte[] bytes) { _frame.Write(bytes); return this; }

    public TraceBuilder EndFrame()
    {
        if (_frame.Length == 0) return this;
        FrameOffsets.Add(_file.Length);
        RawFrames.Add(_frame.ToArray());
        using (var encoder = LZ4Stream.Encode(_file, FrameSettings, leaveOpen: true))
            encoder.Write(_frame.GetBuffer(), 0, (int)_frame.Length);
        _frame = new MemoryStream();
        return this;
    }

    public byte[] ToArray() { EndFrame(); return _file.ToArray(); }

    // ---- record bodies (FORMAT.md §3–§7) -----------------------------------------------------------------------

    /// <summary>The setting every 2.x header carries unless a test says otherwise (FORMAT.md §3).</summary>
    public static readonly (string Key, string Value)[] DefaultSettings = [("dedup_window", "16384")];

    /// <summary>A HEADER; <paramref name="settings"/> null = <see cref="DefaultSettings"/> (pass [] for none).</summary>
    public TraceBuilder Header(ushort major = 2, ushort minor = 0, uint kernelBase = 0x80000000, uint magic = 0x52543757,
        string profile = "windows_7_x86", string recorder = "test", string version = "0.0.1", string replay = "unit",
        (string Key, string Value)[]? settings = null) =>
        Record(1, HeaderBody(major, minor, kernelBase, magic, profile, recorder, version, replay, settings));

    public static byte[] HeaderBody(ushort major = 2, ushort minor = 0, uint kernelBase = 0x80000000, uint magic = 0x52543757,
        string profile = "windows_7_x86", string recorder = "test", string version = "0.0.1", string replay = "unit",
        (string Key, string Value)[]? settings = null)
    {
        settings ??= DefaultSettings;
        var w = new Body();
        w.U32(magic).U16(major).U16(minor).U32(4096).U32(kernelBase)
            .Str(profile).Str(recorder).Str(version).Str(replay).U16((ushort)settings.Length);
        foreach (var (k, v) in settings) w.Str(k).Str(v);
        return w.ToArray();
    }

    public TraceBuilder Page(uint contentId, byte[] data) =>
        Record(2, new Body().U32(contentId).U64(Xxh3(data)).Bytes(data).ToArray());

    public TraceBuilder Syscall(ulong instr, uint cr3, uint callNo, byte phase = 0, byte capture = 1, uint[]? args = null,
        (uint Space, uint Vpn, uint Content)[]? pages = null, uint pc = 0x77e70000, uint thread = 0x85000000,
        uint eax = uint.MaxValue, uint edx = 0x0012f000, uint esp = 0x9a000000, uint fsBase = 0x7ffdf000,
        uint gdtBase = 0x80b95000, ulong enterInstr = 0)
    {
        args ??= [];
        pages ??= [];
        var w = new Body().U64(instr).U32(pc).U32(cr3).U32(thread).U8(phase).U8(capture).U16((ushort)args.Length)
            .U32(callNo).U32(eax == uint.MaxValue ? callNo : eax).U32(edx).U32(esp).U32(fsBase).U32(gdtBase).U64(enterInstr);
        foreach (var a in args) w.U32(a);
        PageMap(w, pages);
        return Record(3, w.ToArray());
    }

    public TraceBuilder Switch(ulong instr, uint oldCr3, uint newCr3, uint thread = 0x85001000,
        (uint Space, uint Vpn, uint Content)[]? pages = null)
    {
        var w = new Body().U64(instr).U32(oldCr3).U32(newCr3).U32(thread);
        PageMap(w, pages ?? []);
        return Record(4, w.ToArray());
    }

    public TraceBuilder End(ulong totalInstr = 1000, ulong syscalls = 0, ulong switches = 0, ulong pages = 0,
        ulong refs = 0, ulong unreadable = 0, ulong unmatched = 0, string reason = "replay-end", byte? totalKnown = null,
        ulong inferred = 0, ulong byHook = 0, ulong pending = 0) =>
        Record(5, new Body().U64(totalInstr).U8(totalKnown ?? (byte)(totalInstr != 0 ? 1 : 0)).U64(syscalls).U64(switches)
            .U64(pages).U64(refs).U64(unreadable).U64(unmatched).U64(inferred).U64(byHook).U64(pending).Str(reason).ToArray());

    static void PageMap(Body w, (uint Space, uint Vpn, uint Content)[] pages)
    {
        w.U32((uint)pages.Length);
        foreach (var (s, v, c) in pages) w.U32(s).U32(v).U32(c);
    }

    /// <summary>XXH3-64, seed 0 (FORMAT.md §4), from System.IO.Hashing directly (not the reader's helper).</summary>
    public static ulong Xxh3(ReadOnlySpan<byte> data) => XxHash3.HashToUInt64(data);

    public static byte[] FilledPage(byte value)
    {
        var p = new byte[4096];
        Array.Fill(p, value);
        return p;
    }

    /// <summary>Little-endian body writer.</summary>
    public sealed class Body
    {
        readonly MemoryStream _s = new();
        public Body U8(byte v) { _s.WriteByte(v); return this; }
        public Body U16(ushort v) { Span<byte> b = stackalloc byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, v); _s.Write(b); return this; }
        public Body U32(uint v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); _s.Write(b); return this; }
        public Body U64(ulong v) { Span<byte> b = stackalloc byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(b, v); _s.Write(b); return this; }
        public Body Bytes(byte[] v) { _s.Write(v); return this; }
        public Body Str(string v) { var b = Encoding.UTF8.GetBytes(v); U16((ushort)b.Length); return Bytes(b); }
        public byte[] ToArray() => _s.ToArray();
    }
}
