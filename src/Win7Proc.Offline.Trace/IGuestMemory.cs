namespace Win7Proc.Offline.Trace;

/// <summary>
/// The one guest-read primitive. Reads <paramref name="destination"/>.Length bytes at <paramref name="va"/> in
/// address space <paramref name="cr3"/> (kernel addresses are shared by all spaces) and returns how many bytes were
/// read contiguously from the start: a read that reaches a missing or unreadable page stops there (a short read,
/// never an exception).
/// </summary>
public interface IGuestMemory
{
    int Read(uint cr3, uint va, Span<byte> destination);
}
