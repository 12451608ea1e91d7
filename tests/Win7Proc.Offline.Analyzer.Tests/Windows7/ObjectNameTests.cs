using System.Diagnostics;
using Win7Proc.Offline.Analyzer.Windows7;

namespace Win7Proc.Offline.Analyzer.Tests.Windows7;

public sealed class ObjectNameTests
{
    private const uint Cr3 = 0x1e000;
    private const uint RootHeader = 0x85100040;
    private const uint BnoHeader = 0x85101040;
    private const uint RpcHeader = 0x85102040;
    private const uint EventHeader = 0x85103040;

    private readonly FakeGuest _guest = new();
    private readonly KernelBuilder _k;
    private readonly uint _root;

    public ObjectNameTests()
    {
        _k = new KernelBuilder(_guest);
        _root = _k.RootDirectory(RootHeader);
    }

    [Fact]
    public void Named_object_gets_its_directory_chain()
    {
        uint bno = _k.Object(BnoHeader, 3, "BaseNamedObjects", _root);
        uint ev = _k.Object(EventHeader, 12, "ShellReadyEvent", bno);
        Assert.Equal(@"\BaseNamedObjects\ShellReadyEvent", new Win7Objects(_guest).ReadObjectName(Cr3, ev));
    }

    [Fact]
    public void Name_info_sits_below_creator_info_when_both_are_present()
    {
        uint rpc = _k.Object(RpcHeader, 3, "RPC Control", _root, creatorInfo: true);
        uint port = _k.Object(EventHeader, 36, "OLE5A3B", rpc, creatorInfo: true);
        Assert.Equal(@"\RPC Control\OLE5A3B", new Win7Objects(_guest).ReadObjectName(Cr3, port));
    }

    [Fact]
    public void Resolved_handle_carries_the_object_name()
    {
        const uint eprocess = 0x84a0b8f8, table = 0x8d2a4c48, low = 0x8d400000;
        _k.Process(eprocess, 1, 0, "a.exe", objectTable: table);
        _guest.U32(table, low);
        uint bno = _k.Object(BnoHeader, 3, "BaseNamedObjects", _root);
        _k.Object(EventHeader, 14, "Global\\MyMutex", bno);
        _k.Entry(low + 8 * 1, EventHeader, 0x1f0001);
        var objects = new Win7Objects(_guest);

        var entry = objects.ResolveHandle(Cr3, objects.ReadProcess(Cr3, eprocess)!, 4);
        Assert.Equal((Win7ObjectType.Mutant, @"\BaseNamedObjects\Global\MyMutex"), (entry?.Type, entry?.ObjectName));
    }

    [Fact]
    public void Unnamed_object_has_no_name()
    {
        uint ev = _k.Object(EventHeader, 12);
        Assert.Null(new Win7Objects(_guest).ReadObjectName(Cr3, ev));
    }

    [Fact]
    public void Unreadable_directory_leaves_a_relative_tail()
    {
        uint ev = _k.Object(EventHeader, 12, "ShellReadyEvent", 0x86ff0018);
        Assert.Equal("ShellReadyEvent", new Win7Objects(_guest).ReadObjectName(Cr3, ev));
    }

    [Fact]
    public void Cyclic_directory_chain_is_bounded()
    {
        // A → B → A: never reaches the root.
        uint a = _k.Object(BnoHeader, 3, "A", RpcHeader + 0x18);
        _k.Object(RpcHeader, 3, "B", a);
        uint ev = _k.Object(EventHeader, 12, "x", a);
        var stopwatch = Stopwatch.StartNew();
        string? name = new Win7Objects(_guest).ReadObjectName(Cr3, ev);
        Assert.True(stopwatch.ElapsedMilliseconds < 1000);
        Assert.NotNull(name);
        Assert.False(name.StartsWith('\\'));
        Assert.EndsWith(@"B\A\x", name);
        Assert.True(name.Length < 100);
    }
}
