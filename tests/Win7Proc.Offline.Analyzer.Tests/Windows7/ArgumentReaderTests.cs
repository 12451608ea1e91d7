using System.Text;
using Win7Proc.Offline.Analyzer.Windows7;

namespace Win7Proc.Offline.Analyzer.Tests.Windows7;

public sealed class ArgumentReaderTests
{
    private const uint Cr3 = 0x3f2c0000;
    private const uint OtherCr3 = 0x1e000;
    private const uint User = 0x0012f000;

    private readonly FakeGuest _guest = new();

    private Win7Objects Objects(GuestLimits? limits = null) => new(_guest, limits);

    [Fact]
    public void Unicode_string_is_real_utf16()
    {
        _guest.UnicodeString(User, User + 0x100, @"C:\Users\Zoë\Документы\😀.txt", Cr3);
        Assert.Equal(@"C:\Users\Zoë\Документы\😀.txt", Objects().ReadUnicodeString(Cr3, User));
    }

    [Fact]
    public void User_memory_belongs_to_one_address_space()
    {
        _guest.UnicodeString(User, User + 0x100, "mine", Cr3);
        Assert.Null(Objects().ReadUnicodeString(OtherCr3, User));
    }

    [Fact]
    public void Odd_length_drops_the_last_byte()
    {
        _guest.Write(User + 0x100, Encoding.Unicode.GetBytes("abc"), Cr3).UnicodeStringHeader(User, 5, User + 0x100, Cr3);
        Assert.Equal("ab", Objects().ReadUnicodeString(Cr3, User));
    }

    [Fact]
    public void Unpaired_surrogate_becomes_replacement_character()
    {
        _guest.Write(User + 0x100, [0x41, 0, 0x00, 0xD8, 0x42, 0], Cr3).UnicodeStringHeader(User, 6, User + 0x100, Cr3);
        Assert.Equal("A\uFFFDB", Objects().ReadUnicodeString(Cr3, User));
    }

    [Fact]
    public void Empty_and_null_buffers()
    {
        _guest.UnicodeStringHeader(User, 0, 0, Cr3).UnicodeStringHeader(User + 8, 8, 0, Cr3);
        Assert.Equal("", Objects().ReadUnicodeString(Cr3, User));
        Assert.Null(Objects().ReadUnicodeString(Cr3, User + 8));
        Assert.Null(Objects().ReadUnicodeString(Cr3, 0x00400000)); // structure unreadable
    }

    [Fact]
    public void Length_0xFFFF_with_a_one_page_buffer_gives_the_readable_prefix()
    {
        uint buffer = 0x00200000;
        _guest.Write(buffer, Encoding.Unicode.GetBytes(new string('x', 2048)), Cr3); // exactly one page
        _guest.UnicodeStringHeader(User, 0xFFFF, buffer, Cr3);
        string? text = Objects().ReadUnicodeString(Cr3, User);
        Assert.Equal(new string('x', 2048), text);
    }

    [Fact]
    public void String_length_is_capped_by_the_limits()
    {
        _guest.UnicodeString(User, User + 0x100, "abcdefgh", Cr3);
        Assert.Equal("abc", Objects(new GuestLimits { MaxStringBytes = 7 }).ReadUnicodeString(Cr3, User));
    }

    [Fact]
    public void Unicode_string_at_explicit_length_and_buffer()
    {
        _guest.Write(User, Encoding.Unicode.GetBytes("ApiPort"), Cr3);
        Assert.Equal("Api", Objects().ReadUnicodeStringAt(Cr3, 6, User));
    }

    [Fact]
    public void Object_attributes_give_root_name_and_attributes()
    {
        _guest.U32(User, 0x18, Cr3).U32(User + 4, 0x2c, Cr3).U32(User + 8, User + 0x40, Cr3).U32(User + 0xc, 0x40, Cr3);
        _guest.UnicodeString(User + 0x40, User + 0x80, @"Software\Microsoft", Cr3);
        Assert.Equal(new ObjectAttributesInfo(0x2c, @"Software\Microsoft", 0x40), Objects().ReadObjectAttributes(Cr3, User));
    }

    [Fact]
    public void Object_attributes_without_name_or_unreadable()
    {
        _guest.U32(User, 0x18, Cr3).U32(User + 4, 0x10, Cr3);
        Assert.Equal(new ObjectAttributesInfo(0x10, null, 0), Objects().ReadObjectAttributes(Cr3, User));
        Assert.Null(Objects().ReadObjectAttributes(Cr3, 0x00500000));
        Assert.Null(Objects().ReadObjectAttributes(Cr3, 0));
    }

    [Fact]
    public void Normalized_process_parameters_hold_pointers()
    {
        uint p = 0x00020000;
        _guest.Map(p, 0x298, Cr3).U32(p + 8, 1, Cr3);
        _guest.UnicodeString(p + 0x38, p + 0x400, @"C:\Windows\system32\cmd.exe", Cr3);
        _guest.UnicodeString(p + 0x40, p + 0x500, @"cmd.exe /c ""dir Документы""", Cr3);
        Assert.Equal(new ProcessParametersInfo(@"C:\Windows\system32\cmd.exe", @"cmd.exe /c ""dir Документы"""),
            Objects().ReadProcessParameters(Cr3, p));
    }

    [Fact]
    public void Unnormalized_process_parameters_hold_offsets_from_the_structure()
    {
        uint p = 0x00020000;
        _guest.Map(p, 0x298, Cr3).U32(p + 8, 0, Cr3);
        _guest.UnicodeString(p + 0x38, p + 0x400, @"\??\C:\evil.exe", Cr3).U32(p + 0x38 + 4, 0x400, Cr3);
        _guest.UnicodeString(p + 0x40, p + 0x500, "evil.exe -x", Cr3).U32(p + 0x40 + 4, 0x500, Cr3);
        Assert.Equal(new ProcessParametersInfo(@"\??\C:\evil.exe", "evil.exe -x"), Objects().ReadProcessParameters(Cr3, p));
    }

    [Fact]
    public void File_rename_information_is_read_and_bounded_by_the_call_length()
    {
        byte[] name = Encoding.Unicode.GetBytes(@"\??\C:\Temp\Zoë.txt");
        _guest.U8(User, 1, Cr3).U32(User + 4, 0x24, Cr3).U32(User + 8, (uint)name.Length, Cr3).Write(User + 0xc, name, Cr3);
        var objects = Objects();

        Assert.Equal(new FileRenameInfo(true, 0x24, @"\??\C:\Temp\Zoë.txt"), objects.ReadFileRenameInformation(Cr3, User, 0xc + (uint)name.Length));
        Assert.Equal(@"\??\C:", objects.ReadFileRenameInformation(Cr3, User, 0xc + 12)?.FileName);
        Assert.Null(objects.ReadFileRenameInformation(Cr3, User, 0xb));
    }

    [Fact]
    public void File_rename_with_hostile_name_length_reads_only_what_exists()
    {
        uint info = 0x00300ff0; // FileName crosses into a missing page after 2 chars
        _guest.U8(info, 0, Cr3).U32(info + 4, 0, Cr3).U32(info + 8, 0xFFFFFFF0, Cr3).Write(info + 0xc, Encoding.Unicode.GetBytes("ab"), Cr3);
        Assert.Equal(new FileRenameInfo(false, 0, "ab"), Objects().ReadFileRenameInformation(Cr3, info, 0xFFFFFFFF));
    }

    [Fact]
    public void Io_status_block_and_u32()
    {
        _guest.U32(User, 0xC0000034, Cr3).U32(User + 4, 2, Cr3);
        var objects = Objects();
        Assert.Equal((0xC0000034u, 2ul), objects.ReadIoStatusBlock(Cr3, User));
        Assert.Null(objects.ReadIoStatusBlock(Cr3, 0x00700000));
        Assert.True(objects.TryReadU32(Cr3, User + 4, out uint value));
        Assert.Equal(2u, value);
        Assert.False(objects.TryReadU32(Cr3, User + 0xffe, out _)); // straddles into a missing page
    }

    [Fact]
    public void Reads_never_wrap_past_the_top_of_the_address_space()
    {
        _guest.Map(0xfffff000, 0x1000).Map(0, 0x1000, Cr3);
        Assert.False(Objects().TryReadU32(Cr3, 0xfffffffe, out _));
    }

    [Theory]
    [InlineData(0x00000000u, "STATUS_SUCCESS")]
    [InlineData(0x00000103u, "STATUS_PENDING")]
    [InlineData(0x40000000u, "STATUS_OBJECT_NAME_EXISTS")]
    [InlineData(0x80000005u, "STATUS_BUFFER_OVERFLOW")]
    [InlineData(0x8000001Au, "STATUS_NO_MORE_ENTRIES")]
    [InlineData(0xC0000022u, "STATUS_ACCESS_DENIED")]
    [InlineData(0xC0000034u, "STATUS_OBJECT_NAME_NOT_FOUND")]
    [InlineData(0xC000003Au, "STATUS_OBJECT_PATH_NOT_FOUND")]
    [InlineData(0xC0000043u, "STATUS_SHARING_VIOLATION")]
    [InlineData(0xC0000999u, "0xC0000999")]
    [InlineData(0x00000007u, "0x00000007")]
    public void Nt_status_names(uint status, string expected) => Assert.Equal(expected, Win7Objects.DescribeNtStatus(status));

    [Theory]
    [InlineData(0x00000000u, true)]
    [InlineData(0x00000103u, true)]
    [InlineData(0x40000000u, true)]
    [InlineData(0x80000005u, false)]
    [InlineData(0xC0000034u, false)]
    public void Nt_success_is_severity_below_warning(uint status, bool expected) => Assert.Equal(expected, Win7Objects.IsSuccess(status));

    [Fact]
    public void Limits_reject_non_positive_values()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new GuestLimits { MaxKeyDepth = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new GuestLimits { MaxStringBytes = -1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new GuestLimits { MaxHandleValue = 0 });
        Assert.Equal((65534, 32767, 64, 16, 1u << 24),
            (GuestLimits.Default.MaxStringBytes, GuestLimits.Default.MaxPathChars, GuestLimits.Default.MaxKeyDepth,
             GuestLimits.Default.MaxRelatedFileDepth, GuestLimits.Default.MaxHandleValue));
    }
}
