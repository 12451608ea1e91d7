using Win7Proc.Offline.Trace;
using Win7Proc.Offline.Simulator.Guest;

namespace Win7Proc.Offline.Simulator.Calls;

/// <summary>
/// The user-mode side of one system call, as sysenter leaves it: EDX = user ESP, [EDX] = return address into the
/// ntdll stub, [EDX+4] = the stub's caller, argument i at [EDX+8+4i]. Argument structures (OBJECT_ATTRIBUTES,
/// UNICODE_STRINGs, IO_STATUS_BLOCKs, output slots) are the caller's locals just above the arguments; buffers and
/// strings come from the process heap (a scratch area reused by every call).
/// </summary>
internal sealed class CallFrame
{
    const uint FrameSize = 0x1000;
    readonly GuestMemory _memory;
    readonly GuestProcess _process;
    uint _nextLocal;
    readonly uint _localsEnd;

    public uint CallNo { get; }
    public string Name { get; }
    public uint Edx { get; }
    public uint ReturnAddress { get; }
    public uint Cr3 => _process.Cr3;
    public uint[] Args { get; private set; } = [];
    /// <summary>Where name strings (UNICODE_STRING buffers) and data buffers of this call lie: the pages an event's
    /// "unreadable": ["name_buffer"] / ["data_buffer"] hides from the recorder.</summary>
    public List<(uint Va, uint Size)> NameBuffers { get; } = new();
    public List<(uint Va, uint Size)> DataBuffers { get; } = new();
    /// <summary>Most calls of one thread inside the kernel at once (an outer call and the calls nested in it).</summary>
    public const int MaxNesting = 8;

    /// <param name="below">The stack address this frame lies below: the thread's stack top, or for a nested call
    /// (made while an outer call of the thread is still in the kernel) the outer call's frame.</param>
    public CallFrame(GuestMemory memory, GuestThread thread, SyscallInfo call, uint below)
    {
        _memory = memory;
        _process = thread.Process;
        CallNo = call.Number;
        Name = call.Name;
        Edx = below - FrameSize;
        ReturnAddress = GuestKernel.NtdllStubs + 16 * call.Number + 12;   // after "call [edx]" in the stub
        _memory.WriteU32(Cr3, Edx, ReturnAddress);
        _memory.WriteU32(Cr3, Edx + 4, 0x75a41000 + (call.Number * 0x3c & 0xfff0));   // kernelbase caller
        _nextLocal = Edx + 0x100;
        _localsEnd = below - 0x10;
        _process.Heap.Reset();
    }

    public void SetArgs(params uint[] args)
    {
        Args = args;
        for (int i = 0; i < args.Length; i++) _memory.WriteU32(Cr3, Edx + 8 + 4 * (uint)i, args[i]);
    }

    /// <summary>A zeroed local of <paramref name="size"/> bytes in the caller's frame.</summary>
    public uint Local(uint size)
    {
        var at = (_nextLocal + 7) & ~7u;
        if (at + size > _localsEnd) throw new InvalidOperationException("call frame too small");
        _nextLocal = at + size;
        _memory.Write(Cr3, at, new byte[size]);
        return at;
    }

    public uint HeapBytes(ReadOnlySpan<byte> data)
    {
        var at = _process.Heap.Allocate((uint)Math.Max(data.Length, 1), 16);
        _memory.Write(Cr3, at, data);
        DataBuffers.Add((at, (uint)Math.Max(data.Length, 1)));
        return at;
    }

    public uint HeapZero(uint size) => HeapBytes(new byte[size]);

    /// <summary>A UNICODE_STRING local whose buffer is on the heap.</summary>
    public uint UnicodeString(string text)
    {
        var us = Local(UserStructs.UnicodeStringSize);
        var buffer = _process.Heap.Allocate((uint)GuestMemory.Utf16Size(text), 16);
        _memory.WriteUnicodeString(Cr3, us, buffer, text);
        NameBuffers.Add((buffer, (uint)GuestMemory.Utf16Size(text)));
        return us;
    }

    public uint ObjectAttributes(uint rootDirectory, string? name)
    {
        var oa = Local(UserStructs.ObjectAttributesSize);
        _memory.WriteU32(Cr3, oa, UserStructs.ObjectAttributesSize);
        _memory.WriteU32(Cr3, oa + UserStructs.OaRootDirectory, rootDirectory);
        _memory.WriteU32(Cr3, oa + UserStructs.OaObjectName, name is null ? 0 : UnicodeString(name));
        _memory.WriteU32(Cr3, oa + UserStructs.OaAttributes, UserStructs.ObjCaseInsensitive);
        return oa;
    }

    public void WriteU32(uint va, uint value) => _memory.WriteU32(Cr3, va, value);
    public void Write(uint va, ReadOnlySpan<byte> data) => _memory.Write(Cr3, va, data);
}

internal enum CallEnd { ReturnAtInstr, ReturnAfterInstr, NoReturn }

/// <summary>A call ready to issue: its frame (arguments already in guest memory) and what success changes.</summary>
internal sealed class PreparedCall
{
    public required CallFrame Frame { get; init; }
    /// <summary>Kernel work done between enter and return when the call succeeds: state changes and outputs.</summary>
    public Action? OnSuccess { get; init; }
    public CallEnd End { get; init; } = CallEnd.ReturnAtInstr;
}
