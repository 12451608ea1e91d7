namespace Win7Proc.Offline.Trace.Tests;

public class SyscallTableTests
{
    static readonly SyscallTable Table = SyscallTable.Windows7X86;

    [Fact]
    public void Holds_the_401_windows_7_x86_calls_numbered_densely()
    {
        Assert.Equal(401, Table.All.Count);
        Assert.Equal(Enumerable.Range(0, 401).Select(i => (uint)i), Table.All.Select(s => s.Number));
        Assert.Null(Table.ByNumber(401));
        Assert.Null(Table.ByNumber(uint.MaxValue));
        Assert.Equal("syscall_0x191", Table.NameOf(401));
    }

    [Fact]
    public void NtCreateFile_is_66_with_its_11_arguments()
    {
        var info = Table.ByNumber(66);
        Assert.NotNull(info);
        Assert.Equal("NtCreateFile", info.Name);
        Assert.Same(info, Table.ByName("NtCreateFile"));
        Assert.Equal(11, info.Args.Count);
        Assert.Equal(new SyscallArg("PHANDLE", "FileHandle"), info.Args[0]);
        Assert.Equal(new SyscallArg("ULONG", "EaLength"), info.Args[10]);
        Assert.Equal(2, info.ArgIndex("ObjectAttributes"));
        Assert.True(info.Args[0].IsPointer);
        Assert.False(info.Args[1].IsPointer); // ACCESS_MASK
        Assert.True(info.Args[2].IsPointer);
    }

    [Fact]
    public void NtTerminateProcess_is_370_and_takes_a_handle()
    {
        var info = Table.ByName("NtTerminateProcess");
        Assert.NotNull(info);
        Assert.Equal(370u, info.Number);
        Assert.Equal(2, info.Args.Count);
        Assert.True(info.Args[0].IsHandle);
        Assert.False(info.Args[0].IsPointer);
        Assert.False(info.Args[1].IsHandle);
    }

    [Fact]
    public void Calls_without_arguments_have_an_empty_list()
    {
        var info = Table.ByName("NtTestAlert");
        Assert.NotNull(info);
        Assert.Empty(info.Args);
    }

    [Theory]
    [InlineData("PVOID", true)]
    [InlineData("LPGUID", true)]
    [InlineData("PUNICODE_STRING", true)]
    [InlineData("HANDLE", false)]
    [InlineData("PROCESSINFOCLASS", false)]
    [InlineData("POWER_ACTION", false)]
    [InlineData("ULONG", false)]
    public void Pointer_types_are_recognised(string type, bool pointer) =>
        Assert.Equal(pointer, new SyscallArg(type, "x").IsPointer);

    [Fact]
    public void Every_argument_list_stays_within_the_format_limit_of_17()
    {
        Assert.All(Table.All, s => Assert.InRange(s.Args.Count, 0, 17));
        Assert.Equal(17, Table.All.Max(s => s.Args.Count));
    }

    [Fact]
    public void Malformed_tables_are_rejected()
    {
        Assert.Throws<FormatException>(() => SyscallTable.Parse(new StringReader("header\nx\tNtFoo\t\n")));
        Assert.Throws<FormatException>(() => SyscallTable.Parse(new StringReader("header\n1\tNtA\t\n1\tNtB\t\n")));
        Assert.Throws<FormatException>(() => SyscallTable.Parse(new StringReader("header\n1\tNtA\tHANDLE\n")));
    }
}
