using System.Text;
using static Win7Proc.Offline.Simulator.Tests.Scenarios;

namespace Win7Proc.Offline.Simulator.Tests;

/// <summary>Call arguments at [EDX+8+4i] and the user-mode structures they point to, at enter and at return.</summary>
public class ArgumentTests
{
    /// <summary>Runs the scenario and calls <paramref name="inspect"/> at every enter/return of system call
    /// <paramref name="callNo"/> with a reader on the caller's address space and the argument reader.</summary>
    static GuestSimulation Inspect(string processes, string events, uint callNo, Action<string, Win7Reader, Func<int, uint>> inspect)
    {
        var sim = new GuestSimulation(Parse(processes, events));
        var r = new Win7Reader(sim.Kernel.Memory, 0);
        var sink = new RecordingSink
        {
            OnItem = item =>
            {
                if (item.Kind == "switch" || item.CallNo != callNo) return;
                r.Cr3 = item.Cpu.Cr3;
                var edx = item.Cpu.Edx;
                inspect(item.Kind, r, i => r.U32(edx + 8 + 4 * (uint)i));
            },
        };
        sim.Run(sink);
        return sim;
    }

    [Fact]
    public void Rename_passes_file_rename_information_with_root_directory()
    {
        int seen = 0;
        var sim = Inspect($"[{Explorer}]", """
            [ { "instr": 100, "pid": 1232, "op": "open_file", "path": "\\??\\C:\\Users\\bob", "as": "dir" },
              { "instr": 200, "pid": 1232, "op": "open_file", "path": "\\??\\C:\\Users\\bob\\a.txt", "as": "a" },
              { "instr": 300, "pid": 1232, "op": "rename_file", "handle": "a", "root": "dir", "new_path": "b.txt" } ]
            """, 0x149, (kind, r, arg) =>
            {
                if (kind != "enter") return;
                seen++;
                Assert.Equal(10u, arg(4));                                   // FileRenameInformation
                var info = arg(2);
                Assert.Equal(8u, r.U32(info + 4));                           // RootDirectory = the "dir" handle
                var length = r.U32(info + 8);
                Assert.Equal(arg(3), 0xc + length);
                Assert.Equal("b.txt", Encoding.Unicode.GetString(r.Bytes(info + 0xc, (int)length)));
                Assert.Equal(12u, arg(0));
            });
        Assert.Equal(1, seen);
        Assert.Equal(12u, Handle(sim, 1232, "a"));
    }

    [Fact]
    public void Write_file_buffer_is_there_at_enter_and_the_io_status_block_at_return()
    {
        var states = new List<(string, uint, uint)>();
        Inspect($"[{Explorer}]", """
            [ { "instr": 100, "pid": 1232, "op": "create_file", "path": "\\??\\C:\\a.txt", "as": "a" },
              { "instr": 200, "pid": 1232, "op": "write_file", "handle": "a", "data": "héllo" } ]
            """, 0x18c, (kind, r, arg) =>
            {
                Assert.Equal("héllo", Encoding.UTF8.GetString(r.Bytes(arg(5), (int)arg(6))));
                states.Add((kind, r.U32(arg(4)), r.U32(arg(4) + 4)));
            });
        Assert.Equal(new[] { ("enter", 0u, 0u), ("return", 0u, 6u) }, states);
    }

    [Fact]
    public void Set_value_key_passes_the_value_name_type_and_utf16_data()
    {
        int seen = 0;
        Inspect($"[{Explorer}]", """
            [ { "instr": 100, "pid": 1232, "op": "open_key", "root": "hkcu", "path": "Software\\Foo", "as": "k" },
              { "instr": 200, "pid": 1232, "op": "set_value_key", "handle": "k", "value": "Счётчик", "type": "REG_SZ", "data": "x" },
              { "instr": 300, "pid": 1232, "op": "set_value_key", "handle": "k", "value": "n", "type": "REG_DWORD", "data": "0x2a" } ]
            """, 0x166, (kind, r, arg) =>
            {
                if (kind != "enter") return;
                seen++;
                var name = r.UnicodeString(arg(1));
                if (name == "Счётчик")
                {
                    Assert.Equal(1u, arg(3));
                    Assert.Equal("x\0", Encoding.Unicode.GetString(r.Bytes(arg(4), (int)arg(5))));
                }
                else
                {
                    Assert.Equal(4u, arg(3));
                    Assert.Equal(42u, r.U32(arg(4)));
                }
            });
        Assert.Equal(2, seen);
    }

    [Fact]
    public void Terminate_and_map_view_take_process_handles_and_the_view_base_is_written()
    {
        const string procs = $$"""[ {{Explorer}}, { "pid": 900, "image": "C:\\v.exe" } ]""";
        uint baseAfter = 0, processArg = 0;
        var sim = Inspect(procs, """
            [ { "instr": 100, "pid": 1232, "op": "open_process", "target_pid": 900, "as": "v" },
              { "instr": 200, "pid": 1232, "op": "create_section", "size": 12288, "as": "s" },
              { "instr": 300, "pid": 1232, "op": "map_view_of_section", "section": "s", "process": "v" } ]
            """, 0xa8, (kind, r, arg) =>
            {
                processArg = arg(1);
                if (kind == "return") { baseAfter = r.U32(arg(2)); Assert.Equal(0x3000u, r.U32(arg(6))); }
            });
        Assert.Equal(Handle(sim, 1232, "v"), processArg);
        Assert.Equal(0x02000000u, baseAfter);

        uint terminateArg = 0;
        Inspect(procs, """
            [ { "instr": 100, "pid": 900, "op": "terminate_process", "exit_status": 3 } ]
            """, 0x172, (kind, r, arg) => { terminateArg = arg(0); Assert.Equal(3u, arg(1)); });
        Assert.Equal(0xffffffffu, terminateArg);
    }

    [Fact]
    public void Listen_receives_the_pending_clients_id_and_duplicate_writes_the_target_slot()
    {
        const string procs = $$"""[ {{Explorer}}, { "pid": 500, "tid": 504, "image": "C:\\s.exe" } ]""";
        uint clientPid = 0, clientTid = 0;
        Inspect(procs, """
            [ { "instr": 100, "pid": 500, "op": "create_port", "name": "\\RPC Control\\S", "as": "c" },
              { "instr": 200, "pid": 1232, "op": "connect_port", "name": "\\RPC Control\\S", "as": "p" },
              { "instr": 300, "pid": 500, "op": "listen_port", "port": "c" } ]
            """, 0x9a, (kind, r, arg) =>
            {
                if (kind != "return") return;
                clientPid = r.U32(arg(1) + 8);
                clientTid = r.U32(arg(1) + 12);
            });
        Assert.Equal((1232u, 1236u), (clientPid, clientTid));

        uint slotValue = 0;
        var sim = Inspect(procs, """
            [ { "instr": 100, "pid": 1232, "op": "open_process", "target_pid": 500, "as": "srv" },
              { "instr": 200, "pid": 1232, "op": "duplicate_object", "handle": "hkcu", "target_process": "srv", "as": "dup" } ]
            """, 0x6f, (kind, r, arg) =>
            {
                Assert.Equal(0xffffffffu, arg(0));
                Assert.Equal(4u, arg(1));
                if (kind == "return") slotValue = r.U32(arg(3));
            });
        Assert.Equal(Handle(sim, 500, "dup"), slotValue);
        var server = Reader(sim, 500);
        var explorer = Reader(sim, 1232);
        Assert.Equal(explorer.ObjectHeader(Eprocess(sim, 1232), 4), server.ObjectHeader(Eprocess(sim, 500), slotValue));
    }
}
