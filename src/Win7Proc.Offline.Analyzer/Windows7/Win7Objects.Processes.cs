using System.Buffers.Binary;
using System.Text;

namespace Win7Proc.Offline.Analyzer.Windows7;

// Processor, thread and process readers (layouts §1).
public sealed partial class Win7Objects
{
    /// <summary>
    /// The KPCR address: the base of GDT descriptor 0x30 (kernel FS), decoded as
    /// e1[31:16] | e2[7:0] &lt;&lt; 16 | e2[31:24] &lt;&lt; 24 (PW get_kpcr_i386, PWold get_win7_kpcr). Works from user
    /// mode too. Null when the descriptor is unreadable, or when KPCR.SelfPcr is readable and disagrees.
    /// </summary>
    public uint? ReadKpcr(uint cr3, uint gdtBase)
    {
        Span<byte> d = stackalloc byte[8];
        if (gdtBase == 0 || !ReadExact(cr3, gdtBase + Win7Layout.GdtKpcrSelector, d)) return null;
        uint e1 = BinaryPrimitives.ReadUInt32LittleEndian(d);
        uint e2 = BinaryPrimitives.ReadUInt32LittleEndian(d[4..]);
        uint kpcr = (e1 >> 16) | ((e2 & 0xff) << 16) | (e2 & 0xff000000);
        if (kpcr == 0) return null;
        if (TryReadU32(cr3, kpcr + Win7Layout.KpcrSelfPcr, out uint self) && self != kpcr) return null;
        return kpcr;
    }

    /// <summary>The thread running on the CPU whose GDT is at <paramref name="gdtBase"/> (KPCR+0x124).</summary>
    public ThreadInfo? ReadCurrentThread(uint cr3, uint gdtBase)
    {
        uint? kpcr = ReadKpcr(cr3, gdtBase);
        if (kpcr is null || !TryReadU32(cr3, kpcr.Value + Win7Layout.KpcrCurrentThread, out uint kthread)) return null;
        return ReadThread(cr3, kthread);
    }

    /// <summary>KTHREAD.Process (the owner, 0x150) and ETHREAD.Cid (0x22c). Null when any is unreadable.</summary>
    public ThreadInfo? ReadThread(uint cr3, uint kthread)
    {
        if (kthread == 0) return null;
        if (!TryReadU32(cr3, kthread + Win7Layout.KThreadProcess, out uint eprocess)) return null;
        Span<byte> cid = stackalloc byte[8];
        if (!ReadExact(cr3, kthread + Win7Layout.EThreadCidUniqueProcess, cid)) return null;
        return new ThreadInfo(kthread, eprocess,
            BinaryPrimitives.ReadUInt32LittleEndian(cid), BinaryPrimitives.ReadUInt32LittleEndian(cid[4..]));
    }

    /// <summary>The process owning the current thread.</summary>
    public ProcessInfo? ReadCurrentProcess(uint cr3, uint gdtBase)
    {
        ThreadInfo? thread = ReadCurrentThread(cr3, gdtBase);
        return thread is null ? null : ReadProcess(cr3, thread.EProcess);
    }

    /// <summary>
    /// Reads an EPROCESS. Null unless the KPROCESS dispatcher type byte is 3 and the fields up to ImageFileName are
    /// readable. Fields after the name (Peb, image path) are 0 / null when their page is missing. Name is the
    /// 15-byte ImageFileName up to the first NUL, bytes above 0x7f kept as Latin-1.
    /// </summary>
    public ProcessInfo? ReadProcess(uint cr3, uint eprocess)
    {
        if (eprocess == 0) return null;
        Span<byte> e = stackalloc byte[Win7Layout.EProcessReadSize];
        int read = ReadBytes(cr3, eprocess, e);
        int nameEnd = (int)Win7Layout.EProcessImageFileName + Win7Layout.ImageFileNameLength;
        if (read < nameEnd || e[(int)Win7Layout.KProcessHeaderType] != Win7Layout.ProcessDispatcherType) return null;

        ReadOnlySpan<byte> nameBytes = e.Slice((int)Win7Layout.EProcessImageFileName, Win7Layout.ImageFileNameLength);
        int nul = nameBytes.IndexOf((byte)0);
        string name = Encoding.Latin1.GetString(nul < 0 ? nameBytes : nameBytes[..nul]);

        uint peb = Field(e, read, Win7Layout.EProcessPeb);
        uint auditName = Field(e, read, Win7Layout.EProcessSeAuditImageFileName);
        string? imagePath = auditName == 0 ? null : ReadUnicodeString(cr3, auditName);
        return new ProcessInfo(
            eprocess,
            Field(e, read, Win7Layout.EProcessUniqueProcessId),
            Field(e, read, Win7Layout.EProcessInheritedFromUniqueProcessId),
            name,
            Field(e, read, Win7Layout.EProcessObjectTable),
            peb,
            Field(e, read, Win7Layout.EProcessDirectoryTableBase),
            BinaryPrimitives.ReadUInt64LittleEndian(e[(int)Win7Layout.EProcessCreateTime..]),
            BinaryPrimitives.ReadUInt64LittleEndian(e[(int)Win7Layout.EProcessExitTime..]),
            imagePath);

        static uint Field(ReadOnlySpan<byte> buffer, int read, uint offset) =>
            offset + 4 <= read ? BinaryPrimitives.ReadUInt32LittleEndian(buffer[(int)offset..]) : 0;
    }

    /// <summary>
    /// The processes on the ActiveProcessLinks list (EPROCESS+0xb8; each Flink points at the next EPROCESS+0xb8)
    /// that contains <paramref name="anyEprocess"/>, starting with it. Entries that do not validate as an EPROCESS
    /// (the PsActiveProcessHead list head) are skipped. Stops back at the start, at an unreadable link, at a cycle
    /// that does not pass through the start, or after <see cref="GuestLimits.MaxProcesses"/> links.
    /// </summary>
    public IReadOnlyList<ProcessInfo> WalkProcessList(uint cr3, uint anyEprocess)
    {
        var processes = new List<ProcessInfo>();
        if (anyEprocess == 0) return processes;
        uint start = anyEprocess + Win7Layout.EProcessActiveProcessLinks;
        var seen = new HashSet<uint>();
        uint link = start;
        for (int i = 0; i < Limits.MaxProcesses && seen.Add(link); i++)
        {
            ProcessInfo? process = ReadProcess(cr3, link - Win7Layout.EProcessActiveProcessLinks);
            if (process is not null) processes.Add(process);
            if (!TryReadU32(cr3, link, out uint next) || next == 0 || next == start) break;
            link = next;
        }
        return processes;
    }

    /// <summary>The first process with <paramref name="pid"/> on the list containing <paramref name="anyEprocess"/>
    /// (PID 4 is System, whose handle table holds kernel handles).</summary>
    public ProcessInfo? FindProcess(uint cr3, uint anyEprocess, uint pid)
    {
        foreach (ProcessInfo process in WalkProcessList(cr3, anyEprocess))
            if (process.Pid == pid) return process;
        return null;
    }
}
