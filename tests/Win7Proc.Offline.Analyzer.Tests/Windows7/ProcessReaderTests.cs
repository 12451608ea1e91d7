using Win7Proc.Offline.Analyzer.Windows7;

namespace Win7Proc.Offline.Analyzer.Tests.Windows7;

public sealed class ProcessReaderTests
{
    private const uint Cr3 = 0x1e000;
    private const uint Gdt = 0x80b95000;
    private const uint Kpcr = 0x82f3ec00;
    private const uint KThread = 0x84a1d030;
    private const uint EProcess = 0x84a0b8f8;

    private static (FakeGuest Guest, KernelBuilder K) Guest()
    {
        var guest = new FakeGuest();
        return (guest, new KernelBuilder(guest));
    }

    [Fact]
    public void Kpcr_is_decoded_from_gdt_descriptor_0x30()
    {
        var (guest, k) = Guest();
        k.GdtAndKpcr(Gdt, Kpcr, KThread);
        Assert.Equal(Kpcr, new Win7Objects(guest).ReadKpcr(Cr3, Gdt));
    }

    [Fact]
    public void Kpcr_decoding_uses_all_three_base_parts()
    {
        // base = e1[31:16] | e2[7:0] << 16 | e2[31:24] << 24, with every other bit set to show it is masked off.
        var guest = new FakeGuest().U32(Gdt + 0x30, 0x1234FFFF).U32(Gdt + 0x34, 0x87FFFF56);
        Assert.Equal(0x87561234u, new Win7Objects(guest).ReadKpcr(Cr3, Gdt));
    }

    [Fact]
    public void Kpcr_whose_SelfPcr_disagrees_is_rejected()
    {
        var (guest, k) = Guest();
        k.GdtAndKpcr(Gdt, Kpcr, KThread);
        guest.U32(Kpcr + 0x1c, 0xffdff000);
        Assert.Null(new Win7Objects(guest).ReadKpcr(Cr3, Gdt));
    }

    [Fact]
    public void Kpcr_with_unreadable_gdt_is_null()
    {
        Assert.Null(new Win7Objects(new FakeGuest()).ReadKpcr(Cr3, Gdt));
    }

    [Fact]
    public void Current_thread_and_process_follow_kpcr_kthread_and_eprocess()
    {
        var (guest, k) = Guest();
        k.GdtAndKpcr(Gdt, Kpcr, KThread);
        k.Thread(KThread, EProcess, pid: 1234, tid: 1240);
        k.Process(EProcess, 1234, 700, "notepad.exe");
        var objects = new Win7Objects(guest);

        Assert.Equal(new ThreadInfo(KThread, EProcess, 1234, 1240), objects.ReadCurrentThread(Cr3, Gdt));
        Assert.Equal("notepad.exe", objects.ReadCurrentProcess(Cr3, Gdt)?.Name);
    }

    [Fact]
    public void Thread_with_unreadable_cid_is_null()
    {
        var (guest, k) = Guest();
        // KTHREAD at the end of a page: Process (0x150) readable, Cid (0x22c) on a missing page.
        uint kthread = 0x84a1dfe0 - 0x150 + 0x10;
        guest.U32(kthread + 0x150, EProcess);
        Assert.Null(new Win7Objects(guest).ReadThread(Cr3, kthread));
        Assert.Null(new Win7Objects(guest).ReadThread(Cr3, 0));
    }

    [Fact]
    public void Process_fields_are_read_at_their_offsets()
    {
        var (guest, k) = Guest();
        k.Process(EProcess, pid: 2108, parentPid: 1480, name: "explorer.exe", objectTable: 0x8d2a4c48, peb: 0x7ffd9000,
            dtb: 0x7ee3f3c0, createTime: 0x01d2_3456_789a_bcde, exitTime: 0x01d2_3456_0000_0001,
            imagePath: @"\Device\HarddiskVolume2\Windows\explorer.exe");

        Assert.Equal(new ProcessInfo(EProcess, 2108, 1480, "explorer.exe", 0x8d2a4c48, 0x7ffd9000, 0x7ee3f3c0,
            0x01d2_3456_789a_bcde, 0x01d2_3456_0000_0001, @"\Device\HarddiskVolume2\Windows\explorer.exe"),
            new Win7Objects(guest).ReadProcess(Cr3, EProcess));
    }

    [Fact]
    public void Process_name_uses_all_15_bytes_when_there_is_no_nul()
    {
        var (guest, k) = Guest();
        k.Process(EProcess, 1, 0, "SearchProtocolHost.exe");
        Assert.Equal("SearchProtocolH", new Win7Objects(guest).ReadProcess(Cr3, EProcess)?.Name);
    }

    [Fact]
    public void Process_name_keeps_high_bytes_as_latin1_and_stops_at_nul()
    {
        var (guest, k) = Guest();
        k.Process(EProcess, 1, 0, "", rawName: [(byte)'Z', (byte)'o', 0xEB, (byte)'.', (byte)'e', 0, (byte)'x']);
        Assert.Equal("Zoë.e", new Win7Objects(guest).ReadProcess(Cr3, EProcess)?.Name);
    }

    [Fact]
    public void Process_with_wrong_dispatcher_type_is_null()
    {
        var (guest, k) = Guest();
        k.Process(EProcess, 4, 0, "System");
        guest.U8(EProcess, 6); // a thread's dispatcher type
        Assert.Null(new Win7Objects(guest).ReadProcess(Cr3, EProcess));
    }

    [Fact]
    public void Process_whose_tail_page_is_missing_is_partial()
    {
        var (guest, k) = Guest();
        uint eprocess = 0x84b00e80; // name ends at 0xffb; Peb (0x1a8) and image path (0x1ec) are on the next page
        k.Process(eprocess, 321, 4, "smss.exe", peb: 0x7ffdf000, imagePath: @"\SystemRoot\System32\smss.exe");
        guest.Unmap(0x84b01000);

        var process = new Win7Objects(guest).ReadProcess(Cr3, eprocess);
        Assert.NotNull(process);
        Assert.Equal((321u, "smss.exe", 0u, (string?)null), (process.Pid, process.Name, process.Peb, process.ImagePath));
    }

    [Fact]
    public void Process_whose_name_is_unreadable_is_null()
    {
        var (guest, k) = Guest();
        uint eprocess = 0x84b00f00; // ImageFileName at 0x106c: next page
        k.Process(eprocess, 321, 4, "smss.exe");
        guest.Unmap(0x84b01000);
        Assert.Null(new Win7Objects(guest).ReadProcess(Cr3, eprocess));
    }
}
