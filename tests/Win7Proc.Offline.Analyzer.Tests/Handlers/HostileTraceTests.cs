using CsCheck;
using Win7Proc.Offline.Analyzer.Windows7;
using Win7Proc.Offline.Pandalog.Schema;
using Win7Proc.Offline.Trace;

namespace Win7Proc.Offline.Analyzer.Tests.Handlers;

/// <summary>
/// The whole handler layer over the real Windows 7 readers, on random guest memory whose words mostly point back into
/// it, driven by random calls of every handled kind with hostile arguments: no handler may throw, every entry is
/// complete enough to serialise.
/// </summary>
public class HostileTraceTests
{
    const uint KernelRegion = 0x8a000000, UserRegion = 0x00400000, Pages = 8, Cr3 = 0x3f000020;

    static readonly string[] Calls =
    [
        "NtCreateUserProcess", "NtCreateProcessEx", "NtTerminateProcess", "NtOpenProcess", "NtCreateFile", "NtOpenFile",
        "NtReadFile", "NtWriteFile", "NtDeleteFile", "NtSetInformationFile", "NtCreateKey", "NtOpenKeyEx", "NtDeleteKey",
        "NtQueryValueKey", "NtSetValueKey", "NtEnumerateKey", "NtCreateSection", "NtMapViewOfSection", "NtCreatePort",
        "NtConnectPort", "NtAcceptConnectPort", "NtRequestWaitReplyPort", "NtAlpcConnectPort", "NtAlpcAcceptConnectPort",
        "NtAlpcSendWaitReceivePort", "NtReadVirtualMemory", "NtWriteVirtualMemory", "NtClose", "NtDuplicateObject",
    ];

    static TraceGuestMemory RandomMemory(Random random)
    {
        var memory = new TraceGuestMemory(0x80000000);
        uint contentId = 0;
        var refs = new List<PageRef>();
        foreach (var (space, region) in new[] { (0u, KernelRegion), (Cr3, UserRegion) })
            for (uint p = 0; p < Pages; p++)
            {
                if (random.Next(8) == 0) { refs.Add(new PageRef(space, (region >> 12) + p, 0)); continue; } // unreadable
                var page = new byte[4096];
                for (int i = 0; i < page.Length; i += 4)
                {
                    uint word = random.Next(4) switch
                    {
                        0 => KernelRegion + (uint)random.Next((int)(Pages * 4096)),
                        1 => UserRegion + (uint)random.Next((int)(Pages * 4096)),
                        2 => (uint)random.Next(0x200) | (random.Next(3) == 0 ? 0xFFFF0000 : 0),
                        _ => (uint)random.Next(),
                    };
                    BitConverter.TryWriteBytes(page.AsSpan(i), word);
                }
                memory.AddPage(new PageRecord(++contentId, 0, page));
                refs.Add(new PageRef(space, (region >> 12) + p, contentId));
            }
        memory.Apply(refs);
        return memory;
    }

    static uint HostileWord(Random random) => random.Next(6) switch
    {
        0 => KernelRegion + (uint)random.Next((int)(Pages * 4096)),
        1 => UserRegion + (uint)random.Next((int)(Pages * 4096)),
        2 => (uint)random.Next(0x40) * 4,             // a plausible handle value
        3 => 0xFFFFFFFF - (uint)random.Next(2),       // pseudo-handles
        4 => 0,
        _ => (uint)random.Next() | (uint)random.Next(2) << 31,
    };

    [Fact]
    public void Random_calls_over_random_memory_never_break_a_handler()
    {
        long entries = 0;
        Gen.UInt.Sample(seed =>
        {
            var random = new Random((int)seed);
            var memory = RandomMemory(random);
            var written = new List<LogEntry>();
            var engine = new AnalysisEngine(new Win7KernelObjects(new Win7Objects(memory)), memory,
                new AnalyzerOptions { AllSyscalls = random.Next(2) == 0 }, written.Add) { ThrowOnHandlerError = true };
            ulong instr = 100;
            for (int i = 0; i < 40; i++)
            {
                var name = Calls[random.Next(Calls.Length)];
                uint callNo = SyscallTable.Windows7X86.ByName(name)!.Number;
                var args = Enumerable.Range(0, 11).Select(_ => HostileWord(random)).ToArray();
                uint thread = HostileWord(random), gdt = HostileWord(random);
                var enter = new SyscallRecord(instr += 2, 0, Cr3, thread, SyscallPhase.Enter, 1, callNo, callNo, 0, 0, 0, gdt, 0, args, []);
                if (random.Next(5) != 0) engine.OnSyscall(enter);
                if (random.Next(6) == 0) engine.OnContextSwitch(new ContextSwitchRecord(instr++, Cr3, Cr3, HostileWord(random), []));
                byte capture = (byte)(random.Next(5) == 0 ? 3 : 1);
                engine.OnSyscall(enter with { Instr = instr++, Phase = SyscallPhase.Return, Capture = capture, Eax = HostileWord(random), EnterInstr = enter.Instr });
            }
            engine.Finish(null);
            foreach (var entry in written) Assert.True(entry.CalculateSize() > 0);
            entries += written.Count;
        }, iter: 60, threads: 1);
        Assert.True(entries > 0);
    }
}
