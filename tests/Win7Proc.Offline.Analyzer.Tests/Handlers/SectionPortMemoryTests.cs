using Win7Proc.Offline.Analyzer.Windows7;

namespace Win7Proc.Offline.Analyzer.Tests.Handlers;

public class SectionPortMemoryTests
{
    [Fact]
    public void Sections_have_their_id_name_backing_file_and_map_target()
    {
        var h = new EngineHarness();
        var a = h.AddProcess(1000, "loader.exe");
        var b = h.AddProcess(1100, "target.exe");
        h.SwitchTo(a);
        h.AddFileHandle(a, 0x40, @"\Device\HarddiskVolume2\payload.dll");
        uint slot = h.OutSlot(a), section = h.NewBody();
        h.Kernel.Sections[section] = new SectionInfo(section, 0xe1000000, 0x86100000, 0x86200000, @"\Device\HarddiskVolume2\payload.dll");
        var created = Assert.Single(h.Call("NtCreateSection", [slot, 0xF001F, h.ObjectAttributes(null), 0, 0x40, 0x1000000, 0x40],
            between: () => { h.Memory.WriteU32(a.Cr3, slot, 0x50); h.AddHandle(a, 0x50, Win7ObjectType.Section, section); })).NtCreateSection;
        Assert.Equal(section, created.SectionId);
        Assert.Equal(@"\Device\HarddiskVolume2\payload.dll", created.FileName);
        Assert.Equal(0x50u, created.Handle);

        h.AddHandle(a, 0x60, Win7ObjectType.Process, b.EProcess);
        uint baseSlot = h.OutSlot(a), sizeSlot = h.OutSlot(a);
        var map = Assert.Single(h.Call("NtMapViewOfSection", [0x50, 0x60, baseSlot, 0, 0, 0, sizeSlot, 1, 0, 4],
            between: () => { h.Memory.WriteU32(a.Cr3, baseSlot, 0x10000000); h.Memory.WriteU32(a.Cr3, sizeSlot, 0x3000); })).NtMapViewOfSection;
        Assert.Equal(section, map.Section.SectionId);
        Assert.Equal(1100u, map.Target.Pid);
        Assert.Equal(1000u, map.Section.Proc.Pid);
        Assert.Equal(0x10000000u, map.BaseAddress);
        Assert.Equal(0x3000u, map.ViewSize);
    }

    [Fact]
    public void Ports_name_their_client_and_server()
    {
        var h = new EngineHarness();
        var client = h.AddProcess(1000, "client.exe");
        var server = h.AddProcess(500, "lsass.exe");
        h.SwitchTo(client);
        uint slot = h.OutSlot(client), port = h.NewBody();
        h.Kernel.Ports[port] = new AlpcPortInfo(port, client.EProcess, 0x87000000, 0x87000100, port, server.Info, client.Info, @"\RPC Control\lsasspirpc");
        var connect = Assert.Single(h.Call("NtAlpcConnectPort", [slot, h.UnicodeString(@"\RPC Control\lsasspirpc"), 0, 0, 0, 0, 0, 0, 0, 0, 0],
            between: () => { h.Memory.WriteU32(client.Cr3, slot, 0x70); h.AddHandle(client, 0x70, Win7ObjectType.AlpcPort, port); })).NtAlpcConnectPort;
        Assert.Equal(@"\RPC Control\lsasspirpc", connect.PortName);
        Assert.Equal(port, connect.Port.Id);
        Assert.Equal(500u, connect.Port.Server.Pid);
        Assert.Equal(1000u, connect.Port.Client.Pid);

        var send = Assert.Single(h.Call("NtAlpcSendWaitReceivePort", [0x70, 0, 0, 0, 0, 0, 0, 0])).NtAlpcSendWaitReceivePort;
        Assert.Equal(port, send.Id);
        Assert.Equal(@"\RPC Control\lsasspirpc", send.PortName);
        Assert.Equal("lsass.exe", send.Server.Name);
    }

    [Fact]
    public void Cross_process_writes_name_the_target_through_the_handle_table()
    {
        var h = new EngineHarness();
        var a = h.AddProcess(1000, "inject.exe");
        var b = h.AddProcess(1100, "explorer.exe");
        h.SwitchTo(a);
        h.AddHandle(a, 0x60, Win7ObjectType.Process, b.EProcess);
        uint written = h.OutSlot(a);
        var entry = Assert.Single(h.Call("NtWriteVirtualMemory", [0x60, 0x00a00000, 0x00400000, 512, written],
            between: () => h.Memory.WriteU32(a.Cr3, written, 512))).NtWriteVirtualMemory;
        Assert.Equal(1000u, entry.Proc.Pid);
        Assert.Equal(1100u, entry.Target.Pid);
        Assert.Equal(0x00a00000u, entry.BaseAddress);
        Assert.Equal(512u, entry.Size);
        Assert.Equal(512u, entry.BytesTransferred);
        // The pseudo-handle -1 is the caller itself.
        Assert.Equal(1000u, Assert.Single(h.Call("NtReadVirtualMemory", [0xFFFFFFFF, 0x1000, 0x2000, 4, 0])).NtReadVirtualMemory.Target.Pid);
    }
}
