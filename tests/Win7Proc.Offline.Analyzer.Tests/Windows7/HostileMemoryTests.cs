using System.Diagnostics;
using CsCheck;
using Win7Proc.Offline.Analyzer.Windows7;

namespace Win7Proc.Offline.Analyzer.Tests.Windows7;

/// <summary>Every reader over random guest memory whose words mostly point back into itself (so walks go deep and
/// loop): no exception, bounded reads.</summary>
public sealed class HostileMemoryTests
{
    private const uint Region = 0x8a000000;
    private const uint RegionPages = 8;
    private const uint Cr3 = 0x1e000;

    private static FakeGuest RandomGuest(uint seed)
    {
        var random = new Random((int)seed);
        var guest = new FakeGuest();
        byte[] page = new byte[FakeGuest.PageSize];
        for (uint p = 0; p < RegionPages; p++)
        {
            if (random.Next(8) == 0) continue; // some pages missing
            random.NextBytes(page);
            for (int i = 0; i + 4 <= page.Length; i += 4)
            {
                int kind = random.Next(4);
                uint word = kind switch
                {
                    0 => Region + (uint)random.Next((int)(RegionPages * FakeGuest.PageSize)), // pointer into the region
                    1 => (uint)random.Next(0x40) | (random.Next(2) == 0 ? 0xFFFF0000 : 0), // small lengths or huge
                    _ => BitConverter.ToUInt32(page, i),
                };
                BitConverter.TryWriteBytes(page.AsSpan(i), word);
            }
            guest.Write(Region + p * FakeGuest.PageSize, page);
        }
        return guest;
    }

    [Fact]
    public void Readers_never_throw_and_stay_bounded_on_random_memory()
    {
        int named = 0, processes = 0;
        Gen.UInt.Sample(seed =>
        {
            FakeGuest guest = RandomGuest(seed);
            var objects = new Win7Objects(guest);
            var random = new Random((int)(seed ^ 0x5a5a5a5a));
            for (int i = 0; i < 20; i++)
            {
                uint at = Region + (uint)random.Next((int)(RegionPages * FakeGuest.PageSize));
                int before = guest.ReadCalls;
                objects.ReadKpcr(Cr3, at);
                objects.ReadCurrentThread(Cr3, at);
                objects.ReadThread(Cr3, at);
                ProcessInfo? process = objects.ReadProcess(Cr3, at);
                if (process is not null) processes++;
                var fakeProcess = new ProcessInfo(at, 1, 0, "x", at, 0, 0, 0, 0, null);
                objects.ResolveHandle(Cr3, process ?? fakeProcess, (uint)random.Next() & 0xfffc,
                    new ThreadInfo(at, at, 1, 1), fakeProcess);
                objects.ResolveHandle(Cr3, fakeProcess, 0x80000000 | ((uint)random.Next() & 0x7fc), null, fakeProcess);
                objects.ReadObjectName(Cr3, at);
                objects.ReadFileObjectName(Cr3, at);
                if (objects.ReadKeyPath(Cr3, at) is not null) named++;
                objects.ReadSection(Cr3, at);
                objects.ReadAlpcPort(Cr3, at);
                objects.ReadUnicodeString(Cr3, at);
                objects.ReadObjectAttributes(Cr3, at);
                objects.ReadProcessParameters(Cr3, at);
                objects.ReadFileRenameInformation(Cr3, at, (uint)random.Next());
                objects.ReadIoStatusBlock(Cr3, at);
                Assert.InRange(objects.WalkProcessList(Cr3, at).Count, 0, GuestLimits.Default.MaxProcesses);
                // Generous bound: the deepest walks are 64 KCBs × 5 reads, a few dozen directory/file links, and the process
                // list (at most 2048 links fit in the 8 pages, ~4 reads each).
                Assert.InRange(guest.ReadCalls - before, 0, 12_000);
            }
        }, iter: 150, threads: 1);
        // The memory is built so that walks really happen: some key paths decode and some "processes" validate.
        Assert.True(named > 0 && processes > 0, $"key paths {named}, processes {processes}");
    }

    [Fact]
    public void Fully_self_referencing_memory_terminates_quickly()
    {
        // Every dword points at the page start with flag bits set: every parent/related/directory link is a cycle.
        var guest = new FakeGuest();
        byte[] page = new byte[FakeGuest.PageSize];
        for (int i = 0; i < page.Length; i += 4) BitConverter.TryWriteBytes(page.AsSpan(i), Region | 0x3);
        guest.Write(Region, page);
        var objects = new Win7Objects(guest);
        var stopwatch = Stopwatch.StartNew();
        objects.ReadKeyPath(Cr3, Region);
        objects.ReadFileObjectName(Cr3, Region);
        objects.ReadObjectName(Cr3, Region + 0x18);
        objects.ReadAlpcPort(Cr3, Region);
        Assert.True(stopwatch.ElapsedMilliseconds < 2000);
    }
}
