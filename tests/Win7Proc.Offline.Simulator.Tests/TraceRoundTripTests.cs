using Win7Proc.Offline.Testing;
using Win7Proc.Offline.Trace;

namespace Win7Proc.Offline.Simulator.Tests;

/// <summary>The pages the recorder captured from the model are enough to walk the same structures again: the files
/// sample, read back with the Trace project's reader and guest-memory view, and walked with the test-side reader.</summary>
public class TraceRoundTripTests
{
    [Fact]
    public void Created_file_handles_resolve_to_their_names_from_the_captured_pages()
    {
        var path = Path.Combine(Path.GetTempPath(), $"w7sim-roundtrip-{Environment.ProcessId}.lz4");
        try
        {
            Simulation.Run(Scenario.Load(Path.Combine(RepoPaths.Samples, "files", "scenario.json")), path);
            using var reader = TraceReader.Open(path);
            using var memory = new TraceGuestMemory(reader.Header);
            var names = new List<string>();
            foreach (var record in reader.Records())
            {
                memory.Feed(record);
                if (record is not SyscallRecord { Phase: SyscallPhase.Return, CallNo: 0x42 or 0xb3, Status: 0 } call) continue;
                var r = new Win7Reader(memory, call.Cr3);
                var eprocess = r.CurrentProcess(call.GdtBase);
                Assert.Equal(2100u, r.Pid(eprocess));
                var handle = r.U32(call.Args[0]);                     // *FileHandle, written at return
                var header = r.ObjectHeader(eprocess, handle);
                Assert.Equal(28, r.TypeIndex(header));
                var file = r.Body(header);
                var related = r.U32(file + 0x20);
                names.Add((related != 0 ? r.FileObjectName(related) + "|" : "") + r.FileObjectName(file));
            }
            Assert.Equal(new[]
            {
                @"\Users\bob\a.txt", @"\Users\bob", @"\Users\bob|notes\b.txt", @"\Windows|win.ini", @"\Users\Zoë\Документы\файл.txt",
            }, names);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Every_context_switch_shows_the_guest_clock_in_kuser_shared_data()
    {
        var path = Path.Combine(Path.GetTempPath(), $"w7sim-clock-{Environment.ProcessId}.lz4");
        try
        {
            Simulation.Run(Scenario.Load(Path.Combine(RepoPaths.Samples, "real-world", "scenario.json")), path);
            using var reader = TraceReader.Open(path);
            using var memory = new TraceGuestMemory(reader.Header);
            // 2016-05-01 12:00:00 UTC at instruction 0, 1 ns per instruction (samples/README.md).
            ulong epoch = (ulong)new DateTime(2016, 5, 1, 12, 0, 0, DateTimeKind.Utc).ToFileTimeUtc();
            int switches = 0;
            foreach (var record in reader.Records())
            {
                memory.Feed(record);
                if (record is not ContextSwitchRecord cs) continue;
                switches++;
                bool read = memory.TryReadU32(0, 0xffdf0014, out var low);
                read &= memory.TryReadU32(0, 0xffdf0018, out var high1);
                read &= memory.TryReadU32(0, 0xffdf001c, out var high2);
                Assert.True(read, $"KUSER_SHARED_DATA missing at instr {cs.Instr}");
                Assert.Equal(high1, high2);
                Assert.Equal(epoch + cs.Instr / 100, (ulong)high1 << 32 | low);
            }
            Assert.True(switches > 5);
        }
        finally { File.Delete(path); }
    }
}
