namespace Win7Proc.Offline.Trace.Tests;

public class TraceGuestMemoryTests
{
    const uint Cr3A = 0x3f0a1000, Cr3B = 0x3f0b2000;
    const uint KernelBase = 0x80000000;

    static PageRecord Page(uint id, byte fill) => new(id, 0, TraceBuilder.FilledPage(fill));

    static byte[] Sequential(uint id)
    {
        var p = new byte[4096];
        for (int i = 0; i < p.Length; i++) p[i] = (byte)(i * 7 + id);
        return p;
    }

    [Fact]
    public void A_read_returns_the_newest_content_applied_so_far()
    {
        var m = new TraceGuestMemory(KernelBase);
        m.AddPage(Page(1, 0x11));
        m.AddPage(Page(2, 0x22));
        m.Apply([new PageRef(Cr3A, 0x400, 1)]);
        Assert.True(m.TryReadU32(Cr3A, 0x400010, out var v));
        Assert.Equal(0x11111111u, v);

        // A later record maps the page to new content; an earlier content id may come back (recorder dedup).
        m.Apply([new PageRef(Cr3A, 0x400, 2)]);
        Assert.True(m.TryReadU8(Cr3A, 0x400fff, out var b));
        Assert.Equal(0x22, b);
        m.Apply([new PageRef(Cr3A, 0x400, 1)]);
        Assert.True(m.TryReadU8(Cr3A, 0x400000, out b));
        Assert.Equal(0x11, b);
        Assert.Equal(0, m.MissingPageReads);
    }

    [Fact]
    public void A_page_added_but_not_yet_mapped_is_not_readable()
    {
        var m = new TraceGuestMemory(KernelBase);
        m.AddPage(Page(1, 0x11));
        Assert.False(m.TryReadU32(Cr3A, 0x400000, out _));
        Assert.Equal(1, m.MissingPageReads);
    }

    [Fact]
    public void User_pages_are_per_address_space_and_kernel_pages_are_shared()
    {
        var m = new TraceGuestMemory(KernelBase);
        m.AddPage(Page(1, 0xA1));
        m.AddPage(Page(2, 0xB2));
        m.AddPage(Page(3, 0xC3));
        m.Apply([new PageRef(Cr3A, 0x7ffdf, 1), new PageRef(Cr3B, 0x7ffdf, 2), new PageRef(0, 0x85000, 3)]);

        Assert.True(m.TryReadU8(Cr3A, 0x7ffdf000, out var a));
        Assert.True(m.TryReadU8(Cr3B, 0x7ffdf000, out var b));
        Assert.Equal((0xA1, 0xB2), (a, b));
        Assert.False(m.TryReadU8(0x3f0c3000, 0x7ffdf000, out _)); // a third space has no such page

        foreach (var cr3 in new[] { Cr3A, Cr3B, 0x12345000u, 0u })
        {
            Assert.True(m.TryReadU8(cr3, 0x85000123, out var k));
            Assert.Equal(0xC3, k);
        }
    }

    [Fact]
    public void A_kernel_page_mapped_with_a_nonzero_space_is_still_shared()
    {
        // FORMAT.md says kernel pages use space 0; a reader keys them by address, so a writer slip does not split them.
        var m = new TraceGuestMemory(KernelBase);
        m.AddPage(Page(1, 0x5A));
        m.Apply([new PageRef(Cr3A, 0x80b95, 1)]);
        Assert.True(m.TryReadU8(Cr3B, 0x80b95000, out var v));
        Assert.Equal(0x5A, v);
    }

    [Fact]
    public void Kernel_base_comes_from_the_header_for_3GB_guests()
    {
        var m = new TraceGuestMemory(0xC0000000);
        m.AddPage(Page(1, 0x01));
        m.Apply([new PageRef(Cr3A, 0x90000, 1)]); // 0x90000000 is user space under /3GB
        Assert.True(m.TryReadU8(Cr3A, 0x90000000, out _));
        Assert.False(m.TryReadU8(Cr3B, 0x90000000, out _));
    }

    [Fact]
    public void Content_zero_makes_a_page_unreadable_until_mapped_again()
    {
        var m = new TraceGuestMemory(KernelBase);
        m.AddPage(Page(1, 0x11));
        m.Apply([new PageRef(Cr3A, 0x400, 1)]);
        m.Apply([new PageRef(Cr3A, 0x400, 0)]); // paged out now: not "unchanged"
        Assert.False(m.TryReadU8(Cr3A, 0x400000, out _));
        Assert.True(m.IsKnown(Cr3A, 0x400000));
        Assert.False(m.IsKnown(Cr3A, 0x401000));
        m.Apply([new PageRef(Cr3A, 0x400, 1)]);
        Assert.True(m.TryReadU8(Cr3A, 0x400000, out _));
    }

    [Fact]
    public void A_cross_page_read_stops_at_a_missing_page_and_reports_the_bytes_read()
    {
        var m = new TraceGuestMemory(KernelBase);
        m.AddPage(new PageRecord(1, 0, Sequential(1)));
        m.AddPage(new PageRecord(2, 0, Sequential(2)));
        m.Apply([new PageRef(Cr3A, 0x400, 1), new PageRef(Cr3A, 0x401, 2)]); // 0x402 missing
        (uint Cr3, uint Va)? failed = null;
        m.ReadFailed += (cr3, va) => failed = (cr3, va);

        var buffer = new byte[100];
        Assert.Equal(100, m.Read(Cr3A, 0x400fd0, buffer)); // spans 0x400 → 0x401
        Assert.Equal(Sequential(1)[0xfd0..].Concat(Sequential(2)[..0x34]), buffer);
        Assert.Null(failed);

        var big = new byte[8192];
        Assert.Equal(4096 + 0x10, m.Read(Cr3A, 0x400ff0, big)); // stops at 0x402000
        Assert.Equal(Sequential(2), big[0x10..(0x10 + 4096)]);
        Assert.Equal((Cr3A, 0x402000u), failed);
        Assert.Equal(1, m.MissingPageReads);

        m.Apply([new PageRef(Cr3A, 0x401, 0)]);
        Assert.Equal(0x10, m.Read(Cr3A, 0x400ff0, big));
        Assert.Equal(2, m.MissingPageReads);
        Assert.False(m.TryReadBytes(Cr3A, 0x400ff0, new byte[0x11]));
        Assert.True(m.TryReadBytes(Cr3A, 0x400ff0, new byte[0x10]));
    }

    [Fact]
    public void A_read_past_the_top_of_the_address_space_stops_there()
    {
        var m = new TraceGuestMemory(KernelBase);
        m.AddPage(Page(1, 0xEE));
        m.Apply([new PageRef(0, 0xFFFFF, 1), new PageRef(0, 0, 1)]);
        var buffer = new byte[32];
        Assert.Equal(16, m.Read(Cr3A, 0xFFFFFFF0, buffer));
    }

    [Fact]
    public void Typed_reads_are_little_endian()
    {
        var m = new TraceGuestMemory(KernelBase);
        m.AddPage(new PageRecord(1, 0, Sequential(0)));
        m.Apply([new PageRef(Cr3A, 0x10, 1)]);
        Assert.True(m.TryReadU16(Cr3A, 0x10001, out var u16));
        Assert.True(m.TryReadU64(Cr3A, 0x10000, out var u64));
        Assert.Equal((ushort)(7 | 14 << 8), u16);
        Assert.Equal(0x312a231c150e0700ul, u64);
    }

    [Fact]
    public void Utf16_strings_are_read_with_bounds()
    {
        var data = new byte[4096];
        var text = "\\??\\C:\\Windows\\notepad.exe"u8;
        var utf16 = System.Text.Encoding.Unicode.GetBytes("\\??\\C:\\Windows\\notepad.exe");
        utf16.CopyTo(data, 0x100);
        var m = new TraceGuestMemory(KernelBase);
        m.AddPage(new PageRecord(1, 0, data));
        m.Apply([new PageRef(Cr3A, 0x20, 1)]);

        Assert.True(m.TryReadUtf16(Cr3A, 0x20100, utf16.Length, out var s));
        Assert.Equal("\\??\\C:\\Windows\\notepad.exe", s);
        Assert.Equal(text.Length * 2, utf16.Length);
        Assert.False(m.TryReadUtf16(Cr3A, 0x20100, 3, out _));                 // odd length
        Assert.False(m.TryReadUtf16(Cr3A, 0x20100, 64, out _, maxBytes: 32));  // over the caller's bound
        Assert.False(m.TryReadUtf16(Cr3A, 0x20f00, 1024, out _));              // runs into an unknown page
        Assert.True(m.TryReadUtf16(Cr3A, 0x99999999, 0, out var empty));
        Assert.Equal("", empty);
    }

    [Fact]
    public void Content_ids_must_count_up_by_one_from_one()
    {
        var m = new TraceGuestMemory(KernelBase);
        m.AddPage(Page(1, 0x01));
        var e = Assert.Throws<TraceFormatException>(() => m.AddPage(new PageRecord(3, 0, TraceBuilder.FilledPage(3)) { Index = 7 }));
        Assert.Equal("record #7 (PAGE): content id 3 does not follow 1 (ids count up by one from 1)", e.Message);
        Assert.Throws<TraceFormatException>(() => m.AddPage(Page(1, 0x01))); // a reused id is no longer allowed either
        Assert.Equal(1u, m.NewestContentId);
    }

    [Fact]
    public void A_reference_to_a_content_not_yet_defined_is_a_format_error_naming_the_record()
    {
        var m = new TraceGuestMemory(KernelBase);
        m.AddPage(Page(1, 0x01));
        var record = new SyscallRecord(5000, 0, Cr3A, 0, SyscallPhase.Enter, 1, 0x42, 0, 0, 0, 0, 0, 0, [],
            [new PageRef(Cr3A, 0x400, 1), new PageRef(Cr3A, 0x401, 2)]) { Index = 12 };
        var e = Assert.Throws<TraceFormatException>(() => m.Apply(record));
        Assert.Equal("record #12 (SYSCALL at instr 5000): page content 2 is outside the window (newest 1, window 16384)", e.Message);
    }

    [Fact]
    public void A_reference_outside_the_window_is_a_format_error_naming_the_record()
    {
        // Window 4: after content 5, content 1 may no longer be named (N - c = 4 is not < 4); content 2 still may.
        var m = new TraceGuestMemory(KernelBase, dedupWindow: 4);
        for (uint id = 1; id <= 5; id++) m.AddPage(Page(id, (byte)id));
        m.Apply(new ContextSwitchRecord(900, Cr3A, Cr3B, 0, [new PageRef(Cr3B, 0x10, 2)]) { Index = 6 });
        var e = Assert.Throws<TraceFormatException>(() =>
            m.Apply(new ContextSwitchRecord(1000, Cr3A, Cr3B, 0, [new PageRef(Cr3B, 0x10, 1)]) { Index = 7 }));
        Assert.Equal("record #7 (CONTEXT_SWITCH at instr 1000): page content 1 is outside the window (newest 5, window 4)", e.Message);
    }

    [Fact]
    public void A_map_entry_expires_with_its_content_and_the_page_then_reads_as_never_mapped()
    {
        var m = new TraceGuestMemory(KernelBase, dedupWindow: 3);
        m.AddPage(Page(1, 0x11));
        m.Apply([new PageRef(Cr3A, 0x400, 1)]);
        m.AddPage(Page(2, 0x22));
        m.AddPage(Page(3, 0x33));
        Assert.True(m.TryReadU8(Cr3A, 0x400000, out var v)); // N = 3: content 1 is still in the window
        Assert.Equal(0x11, v);
        m.AddPage(Page(4, 0x44));                           // N = 4: content 1 has left; its ring slot now holds 4
        Assert.False(m.TryReadU8(Cr3A, 0x400000, out _));
        Assert.False(m.IsKnown(Cr3A, 0x400000));
        m.Apply([new PageRef(Cr3A, 0x400, 4)]);             // a newer entry maps it again
        Assert.True(m.TryReadU8(Cr3A, 0x400000, out v));
        Assert.Equal(0x44, v);
    }

    [Fact]
    public void The_content_ring_holds_at_most_the_window_and_is_allocated_lazily()
    {
        var m = new TraceGuestMemory(KernelBase, dedupWindow: 1024);
        Assert.Equal(0, m.ContentBytesAllocated);
        for (uint id = 1; id <= 10; id++) m.AddPage(Page(id, (byte)id));
        Assert.Equal(1 << 20, m.ContentBytesAllocated);    // one 1 MiB slab for the first 256 slots
        for (uint id = 11; id <= 5000; id++)
        {
            m.AddPage(Page(id, (byte)id));
            m.Apply([new PageRef(Cr3A, 0x1000 + (id & 7), id)]);
        }
        Assert.Equal(1024 * 4096, m.ContentBytesAllocated); // the window, never more
        Assert.Equal(1024, m.ContentCount);
        for (uint id = 4993; id <= 5000; id++)
        {
            Assert.True(m.TryReadU8(Cr3A, (0x1000 + (id & 7)) << 12, out var b));
            Assert.Equal((byte)id, b);
        }
    }

    [Fact]
    public void At_the_page_map_cap_expired_entries_go_first_then_the_least_recently_mapped_and_they_are_counted()
    {
        var m = new TraceGuestMemory(KernelBase, dedupWindow: 2, maxMappedPages: 8);
        m.AddPage(Page(1, 0x01));
        m.Apply([new PageRef(Cr3A, 1, 1), new PageRef(Cr3A, 2, 1)]);   // will expire
        m.AddPage(Page(2, 0x02));
        m.AddPage(Page(3, 0x03));                                       // content 1 leaves the window
        for (uint vpn = 10; vpn < 16; vpn++) m.Apply([new PageRef(Cr3A, vpn, 3)]);
        Assert.Equal(8, m.MappedPageCount);
        m.Apply([new PageRef(Cr3B, 1, 3)]);                             // room from the two expired entries
        Assert.Equal(0, m.DroppedMapEntries);
        Assert.Equal(7, m.MappedPageCount);
        m.Apply([new PageRef(Cr3B, 2, 2)]);
        m.Apply([new PageRef(Cr3B, 3, 2)]);                             // full again: the oldest live entries go
        Assert.True(m.DroppedMapEntries > 0);
        Assert.True(m.MappedPageCount <= 8);
        Assert.False(m.TryReadU8(Cr3A, 10 << 12, out _));               // the first mapped: dropped, a missing page
        Assert.True(m.TryReadU8(Cr3B, 3 << 12, out var b));             // the record just applied: kept
        Assert.Equal(2, b);
        Assert.True(m.TryReadU8(Cr3B, 1 << 12, out b));
        Assert.Equal(3, b);
    }

    [Fact]
    public void Expired_entries_are_swept_so_the_map_follows_the_pages_in_use_not_the_cap()
    {
        // Sweeps happen once a window of new contents has passed and the map has doubled since the last sweep.
        var m = new TraceGuestMemory(KernelBase, dedupWindow: 8);
        PageRef[] Pairs(uint space, uint content) =>
            Enumerable.Range(0, 100_000).Select(i => new PageRef(space, (uint)i, content)).ToArray();
        m.AddPage(Page(1, 0x01));
        m.Apply(Pairs(Cr3A, 1));
        for (uint id = 2; id <= 9; id++) m.AddPage(Page(id, (byte)id)); // N = 9: content 1 has expired
        m.Apply(Pairs(Cr3B, 9));
        Assert.Equal(200_000, m.MappedPageCount);
        for (uint id = 10; id <= 16; id++) m.AddPage(Page(id, (byte)id)); // a window later: the sweep
        Assert.Equal(100_000, m.MappedPageCount);
        Assert.Equal(0, m.DroppedMapEntries); // expiry is not a loss: the format lets a reader forget them
        Assert.False(m.TryReadU8(Cr3A, 0x5000, out _));
        Assert.True(m.TryReadU8(Cr3B, 0x5000, out var b));
        Assert.Equal(9, b);
    }

    [Fact]
    public void One_record_whose_own_map_exceeds_the_cap_is_a_limit_error()
    {
        var m = new TraceGuestMemory(KernelBase, maxMappedPages: 3);
        var e = Assert.Throws<TraceLimitException>(() => m.Apply(new ContextSwitchRecord(77, 0, Cr3A, 0,
            [new PageRef(Cr3A, 1, 0), new PageRef(Cr3A, 2, 0), new PageRef(Cr3A, 3, 0), new PageRef(Cr3A, 4, 0)]) { Index = 4 }));
        Assert.StartsWith("record #4 (CONTEXT_SWITCH at instr 77): its page map alone holds more than 3 distinct", e.Message);
    }

    [Fact]
    public void The_window_comes_from_the_header()
    {
        var header = new TraceHeader(2, 0, 4096, KernelBase, "windows_7_x86", "t", "0", "r", [new("dedup_window", "300")]) { DedupWindow = 300 };
        Assert.Equal(300, new TraceGuestMemory(header).DedupWindow);
        var bad = header with { DedupWindow = 0 };
        Assert.Contains("dedup_window 0 is not a number from 1 to 262144", Assert.Throws<TraceFormatException>(() => new TraceGuestMemory(bad)).Message);
    }

    [Fact]
    public void Feeding_the_records_of_a_trace_in_order_answers_reads_at_each_moment()
    {
        var file = new TraceBuilder().Header()
            .Page(1, TraceBuilder.FilledPage(0x01))
            .Syscall(10, Cr3A, 66, pages: [(Cr3A, 0x12f, 1)])
            .Page(2, TraceBuilder.FilledPage(0x02))
            .Switch(20, Cr3A, Cr3B, pages: [(0, 0x85000, 2)])
            .Syscall(30, Cr3A, 66, phase: 1, pages: [(Cr3A, 0x12f, 2)])
            .End().ToArray();
        using var reader = TraceReader.Open(new MemoryStream(file), "t");
        var memory = new TraceGuestMemory(reader.Header);
        var seen = new List<string>();
        foreach (var record in reader.Records())
        {
            memory.Feed(record);
            if (record is SyscallRecord or ContextSwitchRecord)
            {
                string user = memory.TryReadU8(Cr3A, 0x12f000, out var u) ? u.ToString() : "-";
                string kernel = memory.TryReadU8(Cr3B, 0x85000000, out var k) ? k.ToString() : "-";
                seen.Add($"{user}/{kernel}");
            }
        }
        Assert.Equal(["1/-", "1/2", "2/2"], seen);
    }

    [Fact]
    public void Random_maps_and_reads_agree_with_a_byte_by_byte_model()
    {
        // The model answers each byte independently: newest mapping of (space, page), kernel pages in space 0.
        var rng = new Random(2024);
        var memory = new TraceGuestMemory(KernelBase);
        var contents = new Dictionary<uint, byte[]>();
        var model = new Dictionary<(uint, uint), uint>();
        uint[] spaces = [Cr3A, Cr3B];
        uint[] vpns = [0x10, 0x11, 0x12, 0x7fffe, 0x7ffff, 0x80000, 0x80001, 0xfffff];
        for (uint id = 1; id <= 12; id++)
        {
            var data = new byte[4096];
            rng.NextBytes(data);
            contents[id] = data;
            memory.AddPage(new PageRecord(id, 0, data));
        }
        for (int step = 0; step < 400; step++)
        {
            var map = new PageRef[rng.Next(0, 5)];
            for (int i = 0; i < map.Length; i++)
            {
                uint vpn = vpns[rng.Next(vpns.Length)];
                uint space = vpn >= 0x80000 ? 0 : spaces[rng.Next(2)];
                map[i] = new PageRef(space, vpn, (uint)rng.Next(0, 13));
                model[(space, vpn)] = map[i].ContentId;
            }
            memory.Apply(map);

            uint cr3 = spaces[rng.Next(2)];
            uint va = (vpns[rng.Next(vpns.Length)] << 12) + (uint)rng.Next(0, 4096);
            var buffer = new byte[rng.Next(1, 9000)];
            int got = memory.Read(cr3, va, buffer);

            int expected = 0;
            while (expected < buffer.Length)
            {
                ulong a = (ulong)va + (uint)expected;
                if (a > uint.MaxValue) break;
                uint vpn = (uint)(a >> 12);
                uint space = a >= KernelBase ? 0 : cr3;
                if (!model.TryGetValue((space, vpn), out var id) || id == 0) break;
                Assert.Equal(contents[id][(int)(a & 0xfff)], buffer[expected]);
                expected++;
            }
            Assert.Equal(expected, got);
        }
    }
}
