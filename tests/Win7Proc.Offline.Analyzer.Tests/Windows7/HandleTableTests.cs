using System.Diagnostics;
using Win7Proc.Offline.Analyzer.Windows7;

namespace Win7Proc.Offline.Analyzer.Tests.Windows7;

public sealed class HandleTableTests
{
    private const uint Cr3 = 0x1e000;
    private const uint EProcess = 0x84a0b8f8;
    private const uint HandleTable = 0x8d2a4c48;
    private const uint Low0 = 0x8d400000;
    private const uint Low1 = 0x8d401000;
    private const uint Mid = 0x8d402000;
    private const uint Top = 0x8d403000;
    private const uint FileHeader = 0x85000040;
    private const uint EventHeader = 0x85001040;

    private readonly FakeGuest _guest = new();
    private readonly KernelBuilder _k;

    public HandleTableTests()
    {
        _k = new KernelBuilder(_guest);
        _k.Process(EProcess, 1234, 700, "evil.exe", objectTable: HandleTable);
        _k.Object(FileHeader, typeIndex: 28);
        _k.Object(EventHeader, typeIndex: 12);
    }

    private ProcessInfo Process => new Win7Objects(_guest).ReadProcess(Cr3, EProcess)!;

    private void TableCode(uint code) => _guest.U32(HandleTable, code);

    [Fact]
    public void Level0_entry_is_base_plus_8_times_index_and_flag_bits_are_masked()
    {
        TableCode(Low0 | 0);
        _k.Entry(Low0 + 8 * (0x1c >> 2), FileHeader, access: 0x120089, flagBits: 0x7);

        var entry = new Win7Objects(_guest).ResolveHandle(Cr3, Process, 0x1c);
        Assert.Equal(new HandleEntry(0x1c, FileHeader, FileHeader + 0x18, 28, Win7ObjectType.File, 0x120089, null), entry);
    }

    [Fact]
    public void Level0_ignores_the_two_tag_bits_of_the_handle_value()
    {
        TableCode(Low0);
        _k.Entry(Low0 + 8 * 7, EventHeader, 0x1f0003);
        Assert.Equal(Win7ObjectType.Event, new Win7Objects(_guest).ResolveHandle(Cr3, Process, 0x1f)?.Type);
    }

    [Fact]
    public void Level0_index_beyond_one_page_is_null()
    {
        TableCode(Low0);
        Assert.Null(new Win7Objects(_guest).ResolveHandle(Cr3, Process, 512 * 4));
    }

    [Fact]
    public void Level1_goes_through_a_pointer_page()
    {
        TableCode(Top | 1);
        _guest.U32(Top + 4 * 0, Low0).U32(Top + 4 * 1, Low1);
        uint handle = 0x804; // index 513: page 1, slot 1
        _k.Entry(Low1 + 8 * 1, FileHeader, 0x100001);

        var entry = new Win7Objects(_guest).ResolveHandle(Cr3, Process, handle);
        Assert.Equal((FileHeader, Win7ObjectType.File, 0x100001u), (entry?.ObjectHeader, entry?.Type, entry?.GrantedAccess));
    }

    [Fact]
    public void Level2_goes_through_top_and_middle_pages()
    {
        TableCode(Top | 2);
        // handle bits 21–30 pick the top slot, 11–20 the middle slot, 2–10 the entry (layouts §2).
        uint handle = (1u << 21) | (3u << 11) | (5u << 2);
        _guest.U32(Top + 4 * 1, Mid).U32(Mid + 4 * 3, Low1);
        _k.Entry(Low1 + 8 * 5, EventHeader, 0x1f0003);

        var entry = new Win7Objects(_guest).ResolveHandle(Cr3, Process, handle);
        Assert.Equal((EventHeader + 0x18, Win7ObjectType.Event), (entry?.Body, entry?.Type));
    }

    [Fact]
    public void Level2_with_missing_middle_page_is_null()
    {
        TableCode(Top | 2);
        _guest.U32(Top + 4 * 1, 0x8d7ff000); // never mapped
        Assert.Null(new Win7Objects(_guest).ResolveHandle(Cr3, Process, (1u << 21) | 4));
    }

    [Fact]
    public void Level3_table_code_is_null()
    {
        TableCode(Low0 | 3);
        _k.Entry(Low0 + 8, FileHeader, 1);
        Assert.Null(new Win7Objects(_guest).ResolveHandle(Cr3, Process, 4));
    }

    [Fact]
    public void Free_entry_and_reserved_slot_signature_are_null()
    {
        TableCode(Low0);
        _k.Entry(Low0 + 8 * 2, 0, 0);
        _k.Entry(Low0 + 8 * 3, FileHeader, 0xFFFFFFFE);
        var objects = new Win7Objects(_guest);
        Assert.Null(objects.ResolveHandle(Cr3, Process, 8));
        Assert.Null(objects.ResolveHandle(Cr3, Process, 12));
        Assert.Null(objects.ResolveHandle(Cr3, Process, 0));
    }

    [Fact]
    public void Entry_whose_object_header_is_unreadable_is_null()
    {
        TableCode(Low0);
        _k.Entry(Low0 + 8, 0x86660000, 1);
        Assert.Null(new Win7Objects(_guest).ResolveHandle(Cr3, Process, 4));
    }

    [Fact]
    public void Huge_handle_values_are_null_without_reading_beyond_the_limit()
    {
        TableCode(Top | 2);
        var objects = new Win7Objects(_guest);
        var stopwatch = Stopwatch.StartNew();
        for (uint h = 0x7fff_fff0; h < 0x7fff_fffc; h += 4)
            Assert.Null(objects.ResolveHandle(Cr3, Process, h));
        Assert.Null(objects.ResolveHandle(Cr3, Process, (1u << 24) + 4));
        Assert.True(stopwatch.ElapsedMilliseconds < 1000);
    }

    [Fact]
    public void Current_process_pseudo_handle_is_the_process_itself()
    {
        var entry = new Win7Objects(_guest).ResolveHandle(Cr3, Process, 0xFFFFFFFF);
        Assert.Equal(new HandleEntry(0xFFFFFFFF, EProcess - 0x18, EProcess, 7, Win7ObjectType.Process, 0x1FFFFF, null), entry);
    }

    [Fact]
    public void Current_thread_pseudo_handle_needs_the_thread()
    {
        var objects = new Win7Objects(_guest);
        var thread = new ThreadInfo(0x84a1d030, EProcess, 1234, 1240);
        Assert.Null(objects.ResolveHandle(Cr3, Process, 0xFFFFFFFE));
        var entry = objects.ResolveHandle(Cr3, Process, 0xFFFFFFFE, thread);
        Assert.Equal((0x84a1d030u, Win7ObjectType.Thread), (entry?.Body, entry?.Type));
    }

    [Fact]
    public void Kernel_handles_need_the_system_process()
    {
        const uint systemProcess = 0x83f4e9a8;
        const uint systemTable = 0x8b201000;
        const uint systemLow = 0x8b400000;
        _k.Process(systemProcess, 4, 0, "System", objectTable: systemTable);
        _guest.U32(systemTable, systemLow);
        _k.Entry(systemLow + 8 * 3, EventHeader, 0x1f0003);
        TableCode(Low0);
        _k.Entry(Low0 + 8 * 3, FileHeader, 1); // same index in the user table: must not be used
        var objects = new Win7Objects(_guest);
        var system = objects.ReadProcess(Cr3, systemProcess);

        Assert.Null(objects.ResolveHandle(Cr3, Process, 0x8000000c));
        var entry = objects.ResolveHandle(Cr3, Process, 0x8000000c, currentThread: null, systemProcess: system);
        Assert.Equal((0x8000000cu, Win7ObjectType.Event), (entry?.Handle, entry?.Type));
    }

    [Fact]
    public void Type_indices_map_to_types()
    {
        Assert.Equal(Win7ObjectType.Process, Win7Objects.TypeFromIndex(7));
        Assert.Equal(Win7ObjectType.Thread, Win7Objects.TypeFromIndex(8));
        Assert.Equal(Win7ObjectType.File, Win7Objects.TypeFromIndex(28));
        Assert.Equal(Win7ObjectType.Section, Win7Objects.TypeFromIndex(33));
        Assert.Equal(Win7ObjectType.Key, Win7Objects.TypeFromIndex(35));
        Assert.Equal(Win7ObjectType.AlpcPort, Win7Objects.TypeFromIndex(36));
        Assert.Equal(Win7ObjectType.Device, Win7Objects.TypeFromIndex(25));
        Assert.Equal(Win7ObjectType.Mutant, Win7Objects.TypeFromIndex(14));
        Assert.Equal(Win7ObjectType.Other, Win7Objects.TypeFromIndex(16)); // Semaphore
        Assert.Equal(Win7ObjectType.Unknown, Win7Objects.TypeFromIndex(0));
        Assert.Equal(Win7ObjectType.Unknown, Win7Objects.TypeFromIndex(200));
    }
}
