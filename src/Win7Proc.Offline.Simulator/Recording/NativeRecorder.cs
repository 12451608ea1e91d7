using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Win7Proc.Offline.Simulator.Guest;

namespace Win7Proc.Offline.Simulator.Recording;

/// <summary>Statistics of the recorder core (w7rec_stats).</summary>
public readonly record struct RecorderStats(ulong SyscallRecords, ulong SwitchRecords, ulong PageRecords, ulong PageRefs,
    ulong UnreadableRefs, ulong UnmatchedReturns, ulong BytesUncompressed, ulong BytesWritten, ulong PagesReadCalls,
    ulong ReturnsInferred = 0, ulong ReturnsByHook = 0, ulong EntersPending = 0);

/// <summary>
/// The real recorder core, libw7rec.so (src/recorder/include/w7rec.h), driven through P/Invoke. Its read callback
/// serves the core's guest reads from <see cref="GuestMemory"/> in the address space of the current callback, failing
/// for pages a scenario event makes unreadable (<see cref="GuestMemory.Unreadable"/>).
/// </summary>
public sealed unsafe class NativeRecorder : IRecorderCore, IDisposable
{
    const string Lib = "w7rec";

    [StructLayout(LayoutKind.Sequential)]
    struct W7Cpu { public ulong Instr; public uint Pc, Cr3, Eax, Edx, Esp, FsBase, GdtBase; }

    [StructLayout(LayoutKind.Sequential)]
    struct W7Options
    {
        public nint ReplayName, RecorderName, RecorderVersion;
        public uint KernelBase, DataCap, PageBudget, FrameSize, DedupEntries;
        public int WatchAll, CompressionLevel;
        public uint DedupWindow;
        public nint Returns;
    }

    [StructLayout(LayoutKind.Sequential)]
    struct W7Stats
    {
        public ulong Syscall, Switch, PageRecords, PageRefs, Unreadable, Unmatched, BytesUncompressed, BytesWritten, PagesRead;
        public ulong ReturnsInferred, ReturnsByHook, EntersPending;
    }

    [DllImport(Lib)] static extern void w7rec_default_options(W7Options* opts);
    [DllImport(Lib)] static extern nint w7rec_open(byte* path, W7Options* opts);
    [DllImport(Lib)] static extern int w7rec_sys_enter(nint r, W7Cpu* cpu, delegate* unmanaged[Cdecl]<nint, uint, byte*, uint, int> read, nint opaque, uint* returnPc);
    [DllImport(Lib)] static extern int w7rec_return_hook(nint r, W7Cpu* cpu, delegate* unmanaged[Cdecl]<nint, uint, byte*, uint, int> read, nint opaque);
    [DllImport(Lib)] static extern int w7rec_hook_wanted(nint r, uint cr3, uint pc);
    [DllImport(Lib)] static extern void w7rec_set_total_instr(nint r, ulong totalInstr);
    [DllImport(Lib)] static extern int w7rec_sys_return(nint r, W7Cpu* cpu, uint callnoHint, delegate* unmanaged[Cdecl]<nint, uint, byte*, uint, int> read, nint opaque);
    [DllImport(Lib)] static extern int w7rec_asid_changed(nint r, W7Cpu* cpu, uint oldCr3, uint newCr3, delegate* unmanaged[Cdecl]<nint, uint, byte*, uint, int> read, nint opaque);
    [DllImport(Lib)] static extern int w7rec_close(nint r, byte* reason);
    [DllImport(Lib)] static extern byte* w7rec_last_error(nint r);
    [DllImport(Lib)] static extern void w7rec_get_stats(nint r, W7Stats* stats);

    sealed class ReadTarget(GuestMemory memory) { public readonly GuestMemory Memory = memory; public uint Cr3; }

    nint _handle;
    GCHandle _target;
    readonly ReadTarget _read;

    public RecorderStats Stats { get; private set; }

    /// <param name="returns">The header's informative `returns` setting: how the driver observes returns.</param>
    public NativeRecorder(string path, GuestMemory memory, SimulationOptions options, string replayName,
        string returns = "simulated")
    {
        RecorderLibrary.EnsureLoaded(); // one clear line when libw7rec.so or liblz4.so.1 is missing
        _read = new ReadTarget(memory);
        _target = GCHandle.Alloc(_read);
        W7Options o;
        w7rec_default_options(&o);
        var strings = new[] { replayName, "win7proc-offline-simulate", SimulationOptions.Version, returns };
        var pinned = strings.Select(s => Marshal.StringToCoTaskMemUTF8(s)).ToArray();
        var pathPtr = Marshal.StringToCoTaskMemUTF8(path);
        try
        {
            o.ReplayName = pinned[0]; o.RecorderName = pinned[1]; o.RecorderVersion = pinned[2]; o.Returns = pinned[3];
            if (options.DataCap is { } cap) o.DataCap = cap;
            if (options.PageBudget is { } budget) o.PageBudget = budget;
            if (options.FrameSize is { } frame) o.FrameSize = frame;
            o.WatchAll = options.WatchAll ? 1 : 0;
            o.CompressionLevel = options.CompressionLevel;
            _handle = w7rec_open((byte*)pathPtr, &o);
            if (_handle == 0) throw new IOException($"recorder: {LastError(0)}");
        }
        finally
        {
            foreach (var p in pinned) Marshal.FreeCoTaskMem(p);
            Marshal.FreeCoTaskMem(pathPtr);
            if (_handle == 0) _target.Free();
        }
    }

    static string LastError(nint r) => Marshal.PtrToStringUTF8((nint)w7rec_last_error(r)) ?? "unknown error";

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static int ReadGuest(nint opaque, uint va, byte* buf, uint len)
    {
        try
        {
            var t = (ReadTarget)GCHandle.FromIntPtr(opaque).Target!;
            var dest = new Span<byte>(buf, (int)Math.Min(len, GuestMemory.PageSize));
            return len <= GuestMemory.PageSize && t.Memory.TryReadForRecorder(t.Cr3, va, dest) ? 0 : 1;
        }
        catch { return 1; }   // never let an exception cross into C
    }

    static W7Cpu ToNative(in CpuState c) => new()
    { Instr = c.Instr, Pc = c.Pc, Cr3 = c.Cr3, Eax = c.Eax, Edx = c.Edx, Esp = c.Esp, FsBase = c.FsBase, GdtBase = c.GdtBase };

    void Check(int rc, string what)
    {
        if (rc != 0) throw new IOException($"recorder {what} failed ({rc}): {LastError(_handle)}");
    }

    void EnsureOpen() { if (_handle == 0) throw new ObjectDisposedException(nameof(NativeRecorder)); }

    public uint SyscallEnter(in CpuState cpu)
    {
        EnsureOpen();
        _read.Cr3 = cpu.Cr3;
        var n = ToNative(cpu);
        uint returnPc;
        Check(w7rec_sys_enter(_handle, &n, &ReadGuest, GCHandle.ToIntPtr(_target), &returnPc), "sys_enter");
        return returnPc;
    }

    public void SyscallReturn(in CpuState cpu, uint callNoHint)
    {
        EnsureOpen();
        _read.Cr3 = cpu.Cr3;
        var n = ToNative(cpu);
        Check(w7rec_sys_return(_handle, &n, callNoHint, &ReadGuest, GCHandle.ToIntPtr(_target)), "sys_return");
    }

    public void ReturnHook(in CpuState cpu)
    {
        EnsureOpen();
        _read.Cr3 = cpu.Cr3;
        var n = ToNative(cpu);
        Check(w7rec_return_hook(_handle, &n, &ReadGuest, GCHandle.ToIntPtr(_target)), "return_hook");
    }

    public bool HookWanted(uint cr3, uint pc)
    {
        EnsureOpen();
        return w7rec_hook_wanted(_handle, cr3, pc) != 0;
    }

    public void AsidChanged(in CpuState cpu, uint oldCr3, uint newCr3)
    {
        EnsureOpen();
        _read.Cr3 = newCr3;   // the core reads user pages in the new space (w7rec.h), whatever cpu.Cr3 says
        var n = ToNative(cpu);
        Check(w7rec_asid_changed(_handle, &n, oldCr3, newCr3, &ReadGuest, GCHandle.ToIntPtr(_target)), "asid_changed");
    }

    /// <summary>w7rec_set_total_instr: the replay's total, known while it runs (never called = unknown in END).</summary>
    public void SetTotalInstr(ulong totalInstr)
    {
        EnsureOpen();
        w7rec_set_total_instr(_handle, totalInstr);
    }

    /// <summary>Writes END and closes the file.</summary>
    public void Close(string reason)
    {
        EnsureOpen();
        W7Stats s;
        w7rec_get_stats(_handle, &s);
        var reasonPtr = Marshal.StringToCoTaskMemUTF8(reason);
        try
        {
            var h = _handle;
            _handle = 0;
            var rc = w7rec_close(h, (byte*)reasonPtr);
            if (rc != 0) throw new IOException($"recorder close failed ({rc})");
        }
        finally { Marshal.FreeCoTaskMem(reasonPtr); _target.Free(); }
        Stats = new RecorderStats(s.Syscall, s.Switch, s.PageRecords, s.PageRefs, s.Unreadable, s.Unmatched,
            s.BytesUncompressed, s.BytesWritten, s.PagesRead, s.ReturnsInferred, s.ReturnsByHook, s.EntersPending);
    }

    public void Dispose()
    {
        if (_handle != 0) Close("aborted");
    }
}
