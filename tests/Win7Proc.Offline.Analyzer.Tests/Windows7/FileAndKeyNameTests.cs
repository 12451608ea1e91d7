using System.Diagnostics;
using Win7Proc.Offline.Analyzer.Windows7;

namespace Win7Proc.Offline.Analyzer.Tests.Windows7;

public sealed class FileAndKeyNameTests
{
    private const uint Cr3 = 0x1e000;
    private const uint RootHeader = 0x85100040;
    private const uint DeviceDirHeader = 0x85101040;
    private const uint VolumeHeader = 0x85102040;
    private const uint FileA = 0x85200000;
    private const uint FileB = 0x85201000;
    private const uint FileC = 0x85202000;

    private readonly FakeGuest _guest = new();
    private readonly KernelBuilder _k;
    private readonly uint _volume;

    public FileAndKeyNameTests()
    {
        _k = new KernelBuilder(_guest);
        uint root = _k.RootDirectory(RootHeader);
        uint device = _k.Object(DeviceDirHeader, 3, "Device", root);
        _volume = _k.Object(VolumeHeader, 25, "HarddiskVolume2", device);
    }

    private string? FileName(uint fileObject) => new Win7Objects(_guest).ReadFileObjectName(Cr3, fileObject);

    [Fact]
    public void File_name_is_device_name_plus_file_name()
    {
        _k.FileObject(FileA, _volume, @"\Windows\System32\kernel32.dll");
        Assert.Equal(@"\Device\HarddiskVolume2\Windows\System32\kernel32.dll", FileName(FileA));
    }

    [Fact]
    public void Relative_file_name_is_prefixed_by_related_file_objects()
    {
        _k.FileObject(FileA, _volume, @"\Users\Zoë");
        _k.FileObject(FileB, _volume, "Документы", related: FileA);
        _k.FileObject(FileC, _volume, "отчёт.txt", related: FileB);
        Assert.Equal(@"\Device\HarddiskVolume2\Users\Zoë\Документы\отчёт.txt", FileName(FileC));
    }

    [Fact]
    public void Absolute_file_name_ignores_related_file_object()
    {
        _k.FileObject(FileA, _volume, @"\Users");
        _k.FileObject(FileB, _volume, @"\Windows\win.ini", related: FileA);
        Assert.Equal(@"\Device\HarddiskVolume2\Windows\win.ini", FileName(FileB));
    }

    [Fact]
    public void Empty_file_name_gives_the_device()
    {
        _k.FileObject(FileA, _volume, "");
        Assert.Equal(@"\Device\HarddiskVolume2", FileName(FileA));
    }

    [Fact]
    public void Cyclic_related_file_objects_are_bounded()
    {
        _k.FileObject(FileA, _volume, "a", related: FileB);
        _k.FileObject(FileB, _volume, "b", related: FileA);
        var stopwatch = Stopwatch.StartNew();
        string? name = FileName(FileA);
        Assert.True(stopwatch.ElapsedMilliseconds < 1000);
        Assert.Equal(@"b\a", name); // cut chain: relative tail, no device

    }

    [Fact]
    public void Long_related_chain_stops_at_the_depth_limit()
    {
        var limits = new GuestLimits { MaxRelatedFileDepth = 3 };
        for (uint i = 0; i < 10; i++)
            _k.FileObject(FileA + i * 0x100, _volume, "d" + i, related: i == 9 ? 0 : FileA + (i + 1) * 0x100);
        Assert.Equal(@"d3\d2\d1\d0", new Win7Objects(_guest, limits).ReadFileObjectName(Cr3, FileA));
    }

    [Fact]
    public void Relative_name_without_related_object_is_joined_to_the_device()
    {
        _k.FileObject(FileA, _volume, "pipe-less");
        Assert.Equal(@"\Device\HarddiskVolume2\pipe-less", FileName(FileA));
    }

    [Fact]
    public void Unreadable_related_file_object_leaves_a_relative_tail()
    {
        _k.FileObject(FileA, _volume, "report.doc", related: 0x86ff0000);
        Assert.Equal("report.doc", FileName(FileA));
    }

    [Fact]
    public void Unreadable_device_gives_the_volume_relative_name()
    {
        _k.FileObject(FileA, 0x86ff0000, @"\pagefile.sys");
        Assert.Equal(@"\pagefile.sys", FileName(FileA));
        Assert.Null(FileName(0x86fe0000));
        Assert.Null(FileName(0));
    }

    [Fact]
    public void Key_path_walks_to_the_root_kcb()
    {
        _k.Kcb(0x86000000, 0, "REGISTRY", compressed: true);
        _k.Kcb(0x86000100, 0x86000000, "MACHINE", compressed: true);
        _k.Kcb(0x86000200, 0x86000100, "SOFTWARE", compressed: true);
        _k.Kcb(0x86000300, 0x86000200, "ZOË", compressed: true);            // Latin-1 byte 0xCB
        _k.Kcb(0x86000400, 0x86000300, "ДОКУМЕНТЫ", compressed: false);    // UTF-16, length in bytes
        _k.KeyBody(0x86100000, 0x86000400);
        Assert.Equal(@"\REGISTRY\MACHINE\SOFTWARE\ZOË\ДОКУМЕНТЫ", new Win7Objects(_guest).ReadKeyPath(Cr3, 0x86100000));
    }

    [Fact]
    public void Cyclic_parent_kcb_is_bounded_and_not_rooted()
    {
        _k.Kcb(0x86000000, 0x86000100, "A", compressed: true);
        _k.Kcb(0x86000100, 0x86000000, "B", compressed: true);
        _k.KeyBody(0x86100000, 0x86000000);
        var stopwatch = Stopwatch.StartNew();
        string? path = new Win7Objects(_guest).ReadKeyPath(Cr3, 0x86100000);
        Assert.True(stopwatch.ElapsedMilliseconds < 1000);
        Assert.Equal(@"B\A", path);
    }

    [Fact]
    public void Deep_kcb_chain_stops_at_the_depth_limit()
    {
        for (uint i = 0; i < 200; i++) _k.Kcb(0x86000000 + i * 0x100, i == 199 ? 0 : 0x86000000 + (i + 1) * 0x100, "K", true);
        _k.KeyBody(0x86100000, 0x86000000);
        string? path = new Win7Objects(_guest).ReadKeyPath(Cr3, 0x86100000);
        Assert.Equal(string.Join('\\', Enumerable.Repeat("K", 64)), path);
    }

    [Fact]
    public void Unreadable_parent_leaves_a_relative_tail_and_unreadable_key_is_null()
    {
        _k.Kcb(0x86000300, 0x86ff0000, "RUN", compressed: true);
        _k.KeyBody(0x86100000, 0x86000300);
        var objects = new Win7Objects(_guest);
        Assert.Equal("RUN", objects.ReadKeyPath(Cr3, 0x86100000));
        _k.KeyBody(0x86100100, 0x86fe0000);
        Assert.Null(objects.ReadKeyPath(Cr3, 0x86100100));
        Assert.Null(objects.ReadKeyPath(Cr3, 0));
    }

    [Fact]
    public void Hostile_ncb_name_length_is_bounded_by_readable_memory()
    {
        _k.Kcb(0x86000000, 0, "X", compressed: false);
        uint ncb = ReadU32(0x86000000 + 0x2c);
        _guest.U16(ncb + 0xc, 0xFFFF); // UTF-16 name of 65535 bytes: runs into unmapped memory
        string? path = new Win7Objects(_guest).ReadKeyPath(Cr3, KeyBodyFor(0x86000000));
        Assert.NotNull(path);
        Assert.True(path.Length <= 0x8000);
    }

    private uint KeyBodyFor(uint kcb)
    {
        _k.KeyBody(0x86100000, kcb);
        return 0x86100000;
    }

    private uint ReadU32(uint va)
    {
        byte[] b = new byte[4];
        _guest.Read(Cr3, va, b);
        return BitConverter.ToUInt32(b);
    }
}
