using Win7Proc.Offline.Analyzer.Windows7;

namespace Win7Proc.Offline.Analyzer.Tests.Windows7;

public sealed class SectionAndAlpcTests
{
    private const uint Cr3 = 0x1e000;
    private const uint Section = 0x87000000;
    private const uint Segment = 0x87001000;
    private const uint ControlArea = 0x87002000;
    private const uint FileObject = 0x87003000;

    private readonly FakeGuest _guest = new();
    private readonly KernelBuilder _k;

    public SectionAndAlpcTests() => _k = new KernelBuilder(_guest);

    private void Layout(uint fastRef, uint backPointer = Segment)
    {
        _guest.Map(Section, 0x18).U32(Section + 0x14, Segment);
        _guest.U32(Segment + 0x0, ControlArea);
        _guest.U32(ControlArea + 0x0, backPointer).U32(ControlArea + 0x24, fastRef);
    }

    [Fact]
    public void File_backed_section_resolves_through_segment_and_control_area()
    {
        uint root = _k.RootDirectory(0x85100040);
        uint device = _k.Object(0x85101040, 3, "Device", root);
        uint volume = _k.Object(0x85102040, 25, "HarddiskVolume2", device);
        _k.FileObject(FileObject, volume, @"\Windows\System32\ntdll.dll");
        Layout(FileObject | 5); // EX_FAST_REF count bits

        Assert.Equal(new SectionInfo(Section, Segment, ControlArea, FileObject, @"\Device\HarddiskVolume2\Windows\System32\ntdll.dll"),
            new Win7Objects(_guest).ReadSection(Cr3, Section));
    }

    [Fact]
    public void Pagefile_backed_section_has_no_file()
    {
        Layout(0);
        Assert.Equal(new SectionInfo(Section, Segment, ControlArea, 0, null), new Win7Objects(_guest).ReadSection(Cr3, Section));
    }

    [Fact]
    public void Control_area_not_pointing_back_to_the_segment_is_rejected()
    {
        Layout(FileObject, backPointer: 0x87009000);
        Assert.Null(new Win7Objects(_guest).ReadSection(Cr3, Section));
        Assert.Null(new Win7Objects(_guest).ReadSection(Cr3, 0x87ff0000));
    }

    [Fact]
    public void Alpc_port_gives_server_client_and_connection_port_name()
    {
        const uint server = 0x84a00000, client = 0x84a01000;
        _k.Process(server, 640, 500, "svchost.exe");
        _k.Process(client, 2108, 1480, "evil.exe");
        uint root = _k.RootDirectory(0x85100040);
        uint rpc = _k.Object(0x85101040, 3, "RPC Control", root);
        uint connection = _k.Object(0x88000040, 36, "epmapper", rpc);
        uint serverComm = _k.Object(0x88001040, 36);
        uint clientComm = _k.Object(0x88002040, 36);
        uint commInfo = 0x88003000;
        _guest.U32(commInfo + 0x0, connection).U32(commInfo + 0x4, serverComm).U32(commInfo + 0x8, clientComm);
        foreach (var (port, owner) in new[] { (connection, server), (serverComm, server), (clientComm, client) })
            _guest.U32(port + 0x8, commInfo).U32(port + 0xc, owner);

        var info = new Win7Objects(_guest).ReadAlpcPort(Cr3, clientComm);
        Assert.NotNull(info);
        Assert.Equal((clientComm, client, connection, serverComm, clientComm), (info.Body, info.OwnerEProcess, info.ConnectionPort, info.ServerCommunicationPort, info.ClientCommunicationPort));
        Assert.Equal((640u, 2108u, @"\RPC Control\epmapper"), (info.Server?.Pid, info.Client?.Pid, info.ConnectionPortName));
    }

    [Fact]
    public void Alpc_port_with_unreadable_communication_info_keeps_its_owner()
    {
        uint port = _k.Object(0x88000040, 36);
        _guest.U32(port + 0x8, 0x88ff0000).U32(port + 0xc, 0x84a00000);
        var info = new Win7Objects(_guest).ReadAlpcPort(Cr3, port);
        Assert.Equal(new AlpcPortInfo(port, 0x84a00000, 0, 0, 0, null, null, null), info);
        Assert.Null(new Win7Objects(_guest).ReadAlpcPort(Cr3, 0x88fe0000));
    }

    [Fact]
    public void Server_falls_back_to_the_server_communication_port_owner()
    {
        const uint server = 0x84a00000;
        _k.Process(server, 640, 500, "lsass.exe");
        uint serverComm = _k.Object(0x88001040, 36);
        uint commInfo = 0x88003000;
        _guest.U32(commInfo + 0x4, serverComm);
        _guest.U32(serverComm + 0x8, commInfo).U32(serverComm + 0xc, server);
        Assert.Equal("lsass.exe", new Win7Objects(_guest).ReadAlpcPort(Cr3, serverComm)?.Server?.Name);
    }
}
