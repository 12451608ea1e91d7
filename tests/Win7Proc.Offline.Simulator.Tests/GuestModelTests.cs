using System.Text;
using static Win7Proc.Offline.Simulator.Tests.Scenarios;

namespace Win7Proc.Offline.Simulator.Tests;

/// <summary>The guest memory each op leaves, read back with plain offset arithmetic (Win7Reader).</summary>
public class GuestModelTests
{
    const uint Gdt = 0x80b95000;

    [Fact]
    public void Gdt_kpcr_thread_process_chain_names_the_running_process()
    {
        var sink = new RecordingSink();
        var sim = Run($"[{Explorer}]", """[ { "instr": 100, "pid": 1232, "op": "switch" } ]""", sink);
        var r = Reader(sim, 1232);
        var eprocess = r.CurrentProcess(Gdt);
        Assert.Equal(1232u, r.Pid(eprocess));
        Assert.Equal(1196u, r.ParentPid(eprocess));
        Assert.Equal("explorer.exe", r.ImageFileName(eprocess));
        Assert.Equal(@"\Device\HarddiskVolume2\Windows\explorer.exe", r.AuditImagePath(eprocess));
        Assert.Equal(r.Cr3, r.U32(eprocess + 0x18));                       // DirectoryTableBase = CR3
        Assert.Equal(new byte[] { 3, 0, 0x26, 0 }, r.Bytes(eprocess, 4));    // dispatcher header signature
        var kpcr = r.Kpcr(Gdt);
        Assert.Equal(kpcr, r.U32(kpcr + 0x1c));                              // SelfPcr
        Assert.Equal(kpcr + 0x120, r.U32(kpcr + 0x20));                      // Prcb
        var thread = r.CurrentThread(Gdt);
        Assert.Equal(1232u, r.U32(thread + 0x22c));                          // Cid.UniqueProcess
        Assert.Equal(eprocess, r.U32(thread + 0x50));                        // ApcState.Process
        var teb = r.U32(thread + 0x88);
        Assert.Equal(1232u, r.U32(teb + 0x20));
        Assert.Equal(r.U32(eprocess + 0x1a8), r.U32(teb + 0x30));            // TEB → PEB
        var switchItem = Assert.Single(sink.Items);
        Assert.Equal(("switch", 100ul, r.Cr3), (switchItem.Kind, switchItem.Cpu.Instr, switchItem.NewCr3));
    }

    [Fact]
    public void Peb_process_parameters_hold_image_and_command_line_and_times_derive_from_instr()
    {
        var sim = Run($"[{Explorer}]", """
            [ { "instr": 5000, "pid": 1232, "op": "create_process", "child_pid": 428, "image": "C:\\Windows\\system32\\notepad.exe", "cmdline": "notepad.exe a.txt", "as": "np" } ]
            """);
        var r = Reader(sim, 428);
        var eprocess = Eprocess(sim, 428);
        var peb = r.U32(eprocess + 0x1a8);
        var parameters = r.U32(peb + 0x10);
        Assert.Equal(1u, r.U32(parameters + 0x8) & 1);                       // normalized in the new process
        Assert.Equal(@"C:\Windows\system32\notepad.exe", r.UnicodeString(parameters + 0x38));
        Assert.Equal("notepad.exe a.txt", r.UnicodeString(parameters + 0x40));
        Assert.Equal(1232u, r.ParentPid(eprocess));
        Assert.Equal(131_065_776_000_000_000ul + 50, r.U64(eprocess + 0xa0)); // CreateTime = start + instr/100
        // The creator's handle resolves to the new EPROCESS (type 7).
        var creator = Reader(sim, 1232);
        var header = creator.ObjectHeader(Eprocess(sim, 1232), Handle(sim, 1232, "np"));
        Assert.Equal(7, creator.TypeIndex(header));
        Assert.Equal(eprocess, creator.Body(header));
    }

    [Fact]
    public void Create_user_process_arguments_sit_at_edx_plus_8_and_can_be_in_offset_form()
    {
        Win7Reader? r = null;
        string? imagePath = null, commandLine = null;
        uint flags = 1, returnAddress = 0;
        var sink = new RecordingSink
        {
            OnItem = item =>
            {
                if (item.Kind != "enter" || item.CallNo != 0x5d) return;
                var edx = item.Cpu.Edx;
                returnAddress = r!.U32(edx);
                var parameters = r.U32(edx + 8 + 4 * 8);                     // argument 8: ProcessParameters
                flags = r.U32(parameters + 8);
                // Offset form: Buffer holds an offset from the structure start.
                var us = parameters + 0x38;
                imagePath = Encoding.Unicode.GetString(r.Bytes(parameters + r.U32(us + 4), r.U16(us)));
                us = parameters + 0x40;
                commandLine = Encoding.Unicode.GetString(r.Bytes(parameters + r.U32(us + 4), r.U16(us)));
            },
        };
        var scenario = Parse($"[{Explorer}]", """
            [ { "instr": 5000, "pid": 1232, "op": "create_process", "child_pid": 428, "image": "C:\\Windows\\system32\\notepad.exe", "cmdline": "notepad.exe b.txt", "normalized": false } ]
            """);
        var sim = new GuestSimulation(scenario);
        r = new Win7Reader(sim.Kernel.Memory, sim.Kernel.FindLive(1232)!.Cr3);
        sim.Run(sink);
        Assert.Equal(0u, flags & 1);
        Assert.Equal(@"C:\Windows\system32\notepad.exe", imagePath);
        Assert.Equal("notepad.exe b.txt", commandLine);
        Assert.Equal(0x77a55000u + 16 * 0x5d + 12, returnAddress);
    }

    [Fact]
    public void File_handles_lead_to_file_objects_with_device_and_related_file()
    {
        var sim = Run($"[{Explorer}]", """
            [ { "instr": 100, "pid": 1232, "op": "open_file", "path": "\\??\\C:\\Users\\Zoë", "as": "dir" },
              { "instr": 200, "pid": 1232, "op": "create_file", "root": "dir", "path": "Документы\\файл.txt", "as": "f" } ]
            """);
        var r = Reader(sim, 1232);
        var e = Eprocess(sim, 1232);
        var dirHeader = r.ObjectHeader(e, Handle(sim, 1232, "dir"));
        var fileHeader = r.ObjectHeader(e, Handle(sim, 1232, "f"));
        Assert.Equal(28, r.TypeIndex(fileHeader));
        var file = r.Body(fileHeader);
        Assert.Equal(5, r.U16(file));                                        // IO_TYPE_FILE
        Assert.Equal(@"Документы\файл.txt", r.FileObjectName(file));
        Assert.Equal(r.Body(dirHeader), r.U32(file + 0x20));                 // RelatedFileObject
        Assert.Equal(@"\Users\Zoë", r.FileObjectName(r.Body(dirHeader)));
        Assert.Equal(@"\Device\HarddiskVolume2", r.DeviceName(file));
        Assert.Equal(25, r.TypeIndex(r.U32(file + 4) - 0x18));               // a Device object
        Assert.Equal(1u, r.U32(r.HandleEntry(e, Handle(sim, 1232, "f"))) & 1); // unlocked-entry bit (WRK)
    }

    [Fact]
    public void Keys_are_kcb_chains_with_upper_cased_names_compressed_or_utf16()
    {
        var sim = Run($"[{Explorer}]", """
            [ { "instr": 100, "pid": 1232, "op": "create_key", "root": "hkcu", "path": "Software\\Foo", "as": "foo" },
              { "instr": 200, "pid": 1232, "op": "create_key", "root": "foo", "path": "Ключ", "as": "ru" },
              { "instr": 300, "pid": 1232, "op": "open_key", "path": "\\REGISTRY\\MACHINE\\Software\\Zoë", "as": "latin" } ]
            """);
        var r = Reader(sim, 1232);
        var e = Eprocess(sim, 1232);
        string KeyOf(string name)
        {
            var header = r.ObjectHeader(e, Handle(sim, 1232, name));
            Assert.Equal(35, r.TypeIndex(header));
            return r.KeyPath(r.Body(header));
        }
        Assert.Equal(@"\REGISTRY\USER\S-1-5-21-1-1000\SOFTWARE\FOO", KeyOf("foo"));
        Assert.Equal(@"\REGISTRY\USER\S-1-5-21-1-1000\SOFTWARE\FOO\КЛЮЧ", KeyOf("ru"));
        Assert.Equal(@"\REGISTRY\MACHINE\SOFTWARE\ZOË", KeyOf("latin"));
        var ruKcb = r.U32(r.Body(r.ObjectHeader(e, Handle(sim, 1232, "ru"))) + 4);
        Assert.Equal(0, r.U8(r.U32(ruKcb + 0x2c)) & 1);                      // Cyrillic: UTF-16 name block
        Assert.Equal(8, r.U16(r.U32(ruKcb + 0x2c) + 0xc));                   // NameLength in bytes
        var latinKcb = r.U32(r.Body(r.ObjectHeader(e, Handle(sim, 1232, "latin"))) + 4);
        Assert.Equal(1, r.U8(r.U32(latinKcb + 0x2c)) & 1);                   // ≤ 0xFF: compressed
        // The pre-recording hkcu key and the relative key share the parent KCB chain.
        var hkcuKcb = r.U32(r.Body(r.ObjectHeader(e, Handle(sim, 1232, "hkcu"))) + 4);
        var fooKcb = r.U32(r.Body(r.ObjectHeader(e, Handle(sim, 1232, "foo"))) + 4);
        Assert.Equal(hkcuKcb, r.U32(r.U32(fooKcb + 0x28) + 0x28));
    }

    [Fact]
    public void Deleted_key_sets_the_kcb_delete_flag()
    {
        var sim = Run($"[{Explorer}]", """
            [ { "instr": 100, "pid": 1232, "op": "create_key", "root": "hkcu", "path": "Temp", "as": "t" },
              { "instr": 200, "pid": 1232, "op": "delete_key", "handle": "t" } ]
            """);
        var r = Reader(sim, 1232);
        var kcb = r.U32(r.Body(r.ObjectHeader(Eprocess(sim, 1232), Handle(sim, 1232, "t"))) + 4);
        Assert.NotEqual(0u, r.U32(kcb + 4) & (1u << 17));
    }

    [Fact]
    public void Sections_lead_to_segment_control_area_and_backing_file()
    {
        var sim = Run($"[{Explorer}]", """
            [ { "instr": 100, "pid": 1232, "op": "open_file", "path": "\\??\\C:\\data.bin", "as": "f" },
              { "instr": 200, "pid": 1232, "op": "create_section", "file": "f", "size": 8192, "as": "s" },
              { "instr": 300, "pid": 1232, "op": "create_section", "name": "\\BaseNamedObjects\\Shared", "as": "named" } ]
            """);
        var r = Reader(sim, 1232);
        var e = Eprocess(sim, 1232);
        var header = r.ObjectHeader(e, Handle(sim, 1232, "s"));
        Assert.Equal(33, r.TypeIndex(header));
        var segment = r.U32(r.Body(header) + 0x14);
        var controlArea = r.U32(segment);
        Assert.Equal(segment, r.U32(controlArea));                            // CONTROL_AREA.Segment back-pointer
        Assert.Equal(r.U32(segment + 4) * 0x1000ul, r.U64(segment + 0x10));   // SizeOfSegment = PTEs × 4 KiB
        Assert.Equal(2u, r.U32(segment + 4));
        var file = r.U32(controlArea + 0x24) & ~7u;
        Assert.Equal(r.Body(r.ObjectHeader(e, Handle(sim, 1232, "f"))), file);
        Assert.Equal(@"\data.bin", r.FileObjectName(file));
        Assert.Equal(controlArea, r.U32(r.U32(file + 0x14)));                  // SectionObjectPointer.DataSectionObject
        var named = r.ObjectHeader(e, Handle(sim, 1232, "named"));
        Assert.Equal(@"\BaseNamedObjects\Shared", r.ObjectPath(named));
        Assert.Equal(0u, r.U32(r.U32(r.U32(r.Body(named) + 0x14)) + 0x24));  // pagefile-backed: no file
    }

    [Fact]
    public void Alpc_ports_share_communication_info_with_owner_processes()
    {
        const string procs = $$"""[ {{Explorer}}, { "pid": 500, "image": "C:\\Windows\\system32\\svchost.exe" } ]""";
        var sim = Run(procs, """
            [ { "instr": 100, "pid": 500, "op": "create_port", "name": "\\RPC Control\\Svc", "as": "conn" },
              { "instr": 200, "pid": 1232, "op": "connect_port", "name": "\\RPC Control\\Svc", "as": "client" },
              { "instr": 300, "pid": 500, "op": "accept_connect_port", "port": "conn", "client_pid": 1232, "as": "server" } ]
            """);
        var server = Reader(sim, 500);
        var client = Reader(sim, 1232);
        var connPort = server.Body(server.ObjectHeader(Eprocess(sim, 500), Handle(sim, 500, "conn")));
        var serverPort = server.Body(server.ObjectHeader(Eprocess(sim, 500), Handle(sim, 500, "server")));
        var clientHeader = client.ObjectHeader(Eprocess(sim, 1232), Handle(sim, 1232, "client"));
        Assert.Equal(36, client.TypeIndex(clientHeader));
        var clientPort = client.Body(clientHeader);
        Assert.Equal(@"\RPC Control\Svc", server.ObjectPath(connPort - 0x18));
        var info = client.U32(clientPort + 0x8);
        Assert.Equal(info, server.U32(serverPort + 0x8));
        Assert.Equal(connPort, client.U32(info + 0x0));
        Assert.Equal(serverPort, client.U32(info + 0x4));
        Assert.Equal(clientPort, client.U32(info + 0x8));
        Assert.Equal(1232u, client.Pid(client.U32(clientPort + 0xc)));       // OwnerProcess
        Assert.Equal(500u, client.Pid(client.U32(serverPort + 0xc)));
        Assert.Equal(500u, client.Pid(client.U32(connPort + 0xc)));
    }

    [Fact]
    public void Object_attributes_and_output_handle_are_in_the_callers_memory()
    {
        uint slot = 0, handleAtEnter = 1, handleAtReturn = 0;
        string? nameAtEnter = null;
        uint rootAtEnter = 0;
        Win7Reader? r = null;
        var sink = new RecordingSink
        {
            OnItem = item =>
            {
                if (item.CallNo != 0xb6) return;   // NtOpenKey
                if (item.Kind == "enter")
                {
                    slot = r!.U32(item.Cpu.Edx + 8);
                    handleAtEnter = r.U32(slot);
                    var oa = r.U32(item.Cpu.Edx + 8 + 8);
                    Assert.Equal(0x18u, r.U32(oa));
                    rootAtEnter = r.U32(oa + 4);
                    nameAtEnter = r.UnicodeString(r.U32(oa + 8));
                }
                else handleAtReturn = r!.U32(slot);
            },
        };
        var sim = new GuestSimulation(Parse($"[{Explorer}]", """
            [ { "instr": 100, "pid": 1232, "op": "open_key", "root": "hkcu", "path": "Software", "as": "k" } ]
            """));
        r = new Win7Reader(sim.Kernel.Memory, sim.Kernel.FindLive(1232)!.Cr3);
        sim.Run(sink);
        Assert.Equal(0u, handleAtEnter);
        Assert.Equal(Handle(sim, 1232, "hkcu"), rootAtEnter);
        Assert.Equal("Software", nameAtEnter);
        Assert.Equal(Handle(sim, 1232, "k"), handleAtReturn);
    }

    [Fact]
    public void Write_virtual_memory_changes_the_target_address_space_only()
    {
        const string procs = $$"""[ {{Explorer}}, { "pid": 2600, "image": "C:\\evil.exe" } ]""";
        var sim = Run(procs, """
            [ { "instr": 100, "pid": 2600, "op": "open_process", "target_pid": 1232, "as": "ex" },
              { "instr": 200, "pid": 2600, "op": "write_virtual_memory", "process": "ex", "address": "0x00800000", "data": "shellcode" } ]
            """);
        Assert.Equal("shellcode"u8.ToArray(), Reader(sim, 1232).Bytes(0x00800000, 9));
        Assert.False(sim.Kernel.Memory.IsMapped(sim.Kernel.FindLive(2600)!.Cr3, 0x00800000));
    }

    [Fact]
    public void Terminated_process_gets_exit_time_exiting_flag_and_leaves_the_active_list()
    {
        const string procs = $$"""[ {{Explorer}}, { "pid": 900, "image": "C:\\victim.exe" } ]""";
        var sim = Run(procs, """
            [ { "instr": 100, "pid": 1232, "op": "open_process", "target_pid": 900, "as": "v" },
              { "instr": 20000, "pid": 1232, "op": "terminate_process", "process": "v", "exit_status": 1 } ]
            """);
        var r = Reader(sim, 1232);
        var victim = Eprocess(sim, 900);
        Assert.NotEqual(0u, r.U32(victim + 0x270) & 4);
        Assert.Equal(1u, r.U32(victim + 0x274));
        Assert.Equal(131_065_776_000_000_000ul + 200, r.U64(victim + 0xa8));
        // Walk ActiveProcessLinks from explorer: the victim is gone, explorer is there.
        var pids = new List<uint>();
        var start = Eprocess(sim, 1232) + 0xb8;
        var link = r.U32(start);
        for (int i = 0; i < 100 && link != start; i++, link = r.U32(link))
            if (link >= 0x80000000 && link != 0x82f85e98) pids.Add(r.Pid(link - 0xb8));
        Assert.DoesNotContain(900u, pids);
    }
}
