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
    public void Content_ids_out_of_sequence_are_still_stored()
    {
        var m = new TraceGuestMemory(KernelBase);
        m.AddPage(Page(1, 0x01));
        m.AddPage(Page(0xFFFFFFF0, 0xF0)); // far beyond the sequence: must not grow a dense table to 4 G entries
        m.AddPage(Page(2, 0x02));
        m.Apply([new PageRef(Cr3A, 1, 1), new PageRef(Cr3A, 2, 0xFFFFFFF0), new PageRef(Cr3A, 3, 2)]);
        Assert.True(m.TryReadU8(Cr3A, 0x1000, out var a));
        Assert.True(m.TryReadU8(Cr3A, 0x2000, out var b));
        Assert.True(m.TryReadU8(Cr3A, 0x3000, out var c));
        Assert.Equal((0x01, 0xF0, 0x02), (a, b, c));
        Assert.Equal(3, m.ContentCount);
        Assert.Equal(0, m.UnknownContentRefs);
    }

    [Fact]
    public void Unknown_content_ids_read_as_unreadable_and_are_counted()
    {
        var m = new TraceGuestMemory(KernelBase);
        m.Apply([new PageRef(Cr3A, 0x400, 9)]);
        Assert.False(m.TryReadU8(Cr3A, 0x400000, out _));
        Assert.Equal(1, m.UnknownContentRefs);
    }

    [Fact]
    public void The_content_store_is_bounded()
    {
        var m = new TraceGuestMemory(KernelBase, maxContents: 2);
        m.AddPage(Page(1, 1));
        m.AddPage(Page(2, 2));
        m.AddPage(Page(2, 3)); // a reused id replaces, it does not count twice
        var e = Assert.Throws<TraceLimitException>(() => m.AddPage(Page(3, 3)));
        Assert.Contains("more than 2 distinct page contents", e.Message);
        Assert.Equal(2, m.ContentCount);
    }

    [Fact]
    public void Contents_beyond_the_memory_budget_spill_to_disk_and_read_back_exactly()
    {
        using var m = new TraceGuestMemory(KernelBase, memoryBudgetPages: 4);
        for (uint id = 1; id <= 200; id++)
        {
            m.AddPage(Page(id, (byte)id));
            m.Apply([new PageRef(Cr3A, 0x1000 + id, id)]);
        }
        Assert.Equal(200, m.ContentCount);
        Assert.Equal(196, m.SpilledContentCount);
        m.AddPage(Page(7, 0xEE)); // replacing a spilled content brings the new bytes back into memory
        for (uint id = 1; id <= 200; id++)
        {
            Assert.True(m.TryReadU8(Cr3A, (0x1000 + id) << 12 | 0x123, out var b));
            Assert.Equal(id == 7 ? (byte)0xEE : (byte)id, b);
        }
        // an old id mapped again later (the recorder reuses ids for unchanged contents) still reads right
        m.Apply([new PageRef(Cr3B, 0x2000, 3)]);
        Assert.True(m.TryReadU8(Cr3B, 0x2000u << 12, out var again));
        Assert.Equal(3, again);
    }

    [Fact]
    public void The_page_map_is_bounded()
    {
        using var m = new TraceGuestMemory(KernelBase, maxMappedPages: 3);
        m.Apply([new PageRef(Cr3A, 1, 0), new PageRef(Cr3A, 2, 0), new PageRef(Cr3A, 3, 0), new PageRef(Cr3A, 3, 0)]);
        var e = Assert.Throws<TraceLimitException>(() => m.Apply([new PageRef(Cr3B, 1, 0)]));
        Assert.Contains("more than 3 distinct", e.Message);
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
