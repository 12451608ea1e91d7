using Win7Proc.Offline.Pandalog.Schema;

namespace Win7Proc.Offline.Reports.Tests;

public class ProcmonNamesTests
{
    [Theory]
    [InlineData(0x00000000u, "SUCCESS")]
    [InlineData(0xC0000034u, "NAME NOT FOUND")]
    [InlineData(0xC000003Au, "PATH NOT FOUND")]
    [InlineData(0xC0000022u, "ACCESS DENIED")]
    [InlineData(0xC0000035u, "NAME COLLISION")]
    [InlineData(0xC0000043u, "SHARING VIOLATION")]
    [InlineData(0x80000005u, "BUFFER OVERFLOW")]
    [InlineData(0xC0000023u, "BUFFER TOO SMALL")]
    [InlineData(0x8000001Au, "NO MORE ENTRIES")]
    [InlineData(0x80000006u, "NO MORE FILES")]
    [InlineData(0xC000000Du, "INVALID PARAMETER")]
    [InlineData(0xC0000024u, "OBJECT TYPE MISMATCH")] // no Procmon word: the name without STATUS_, with spaces
    [InlineData(0xC0000999u, "0xC0000999")]           // unknown: its value
    public void Results_are_procmons_words(uint status, string word) => Assert.Equal(word, ProcmonNames.Result(status));

    [Fact]
    public void Unknown_status_is_an_empty_result() => Assert.Equal("", ProcmonNames.Result(null));

    [Theory]
    [InlineData(@"\REGISTRY\MACHINE\SOFTWARE\CLASSES\.txt", @"HKCR\.txt")]
    [InlineData(@"\REGISTRY\MACHINE\SOFTWARE\MICROSOFT", @"HKLM\SOFTWARE\MICROSOFT")]
    [InlineData(@"\REGISTRY\USER\S-1-5-21-1-1000\SOFTWARE", @"HKU\S-1-5-21-1-1000\SOFTWARE")]
    [InlineData(@"\REGISTRY\MACHINEX\Y", @"\REGISTRY\MACHINEX\Y")] // not a hive root: left alone
    public void Keys_are_shown_as_procmon_does(string nt, string shown) => Assert.Equal(shown, ProcmonPaths.Key(nt));

    [Fact]
    public void Files_get_a_drive_letter_once_a_creation_shows_the_mapping()
    {
        var paths = new ProcmonPaths();
        Assert.Equal(@"\Device\HarddiskVolume2\Windows\a.txt", paths.File(@"\Device\HarddiskVolume2\Windows\a.txt"));
        Assert.Equal(@"C:\x.txt", paths.File(@"\??\C:\x.txt"));
        paths.LearnDrive(@"C:\Windows\notepad.exe", @"\Device\HarddiskVolume3\Windows\notepad.exe");
        paths.LearnDrive(@"C:\Windows\notepad.exe", @"\Device\HarddiskVolume2\Other\notepad.exe"); // not the same file: ignored
        Assert.Equal(@"C:\Windows\a.txt", paths.File(@"\Device\HarddiskVolume3\Windows\a.txt"));
        Assert.Equal(@"\Device\HarddiskVolume2\Windows\a.txt", paths.File(@"\Device\HarddiskVolume2\Windows\a.txt"));
        Assert.Equal(@"\Device\HarddiskVolume33\a", paths.File(@"\Device\HarddiskVolume33\a")); // a prefix of a name is no match
    }

    [Fact]
    public void Value_data_is_decoded_by_type()
    {
        Assert.Equal("abc", ProcmonNames.DecodeValue(1, "a\0b\0c\0\0\0"u8.ToArray()));
        Assert.Equal(new[] { "a", "bc" }, ProcmonNames.DecodeValue(7, "a\0\0\0b\0c\0\0\0\0\0"u8.ToArray()));
        Assert.Equal(0x01020304UL, ProcmonNames.DecodeValue(4, [4, 3, 2, 1]));
        Assert.Equal(0x01020304UL, ProcmonNames.DecodeValue(5, [1, 2, 3, 4]));
        Assert.Equal("4D5A", ProcmonNames.DecodeValue(3, [0x4D, 0x5A]));
        Assert.Equal("0102", ProcmonNames.DecodeValue(4, [1, 2])); // a DWORD cut short by the capture: shown as bytes
    }
}

public class GuestClockTests
{
    static ActivityLog Log(params (uint Pid, ulong Instr, ulong CreateTime)[] births)
    {
        var entries = births.Select(b => new LogEntry
        {
            Pc = 0, Instr = b.Instr,
            NtCreateUserProcess = new NtCreateUserProcess
            {
                CurP = new Process { Pid = 4, Name = "System", InstanceInstr = 1 },
                NewP = new Process { Pid = b.Pid, Name = "a.exe", InstanceInstr = b.Instr, CreateTime = b.CreateTime },
                NewLongName = @"C:\a.exe",
            },
            NtStatus = 0,
        });
        return ActivityLog.From(entries);
    }

    [Fact]
    public void Two_creations_fix_the_clock_between_and_beyond_them()
    {
        // 1,000,000 instructions = 2 ms = 20,000 FILETIME ticks between the anchors.
        var clock = GuestClock.From(Log((100, 1_000_000, 130_000_000_000_000_000), (200, 2_000_000, 130_000_000_000_020_000)).Processes);
        Assert.True(clock.Anchored);
        Assert.Equal(130_000_000_000_010_000UL, clock.FileTimeAt(1_500_000));
        Assert.Equal(130_000_000_000_040_000UL, clock.FileTimeAt(3_000_000)); // beyond: the same rate
        Assert.Equal(129_999_999_999_980_000UL, clock.FileTimeAt(0));         // before: the same rate
    }

    [Fact]
    public void Without_creations_the_clock_is_the_documented_epoch_plus_a_nanosecond_per_instruction()
    {
        var clock = GuestClock.From(Log().Processes);
        Assert.False(clock.Anchored);
        Assert.Equal(0UL, clock.FileTimeAt(0));
        Assert.Equal("12:00:01.5000000 AM", clock.TimeOfDay(1_500_000_000)); // 1.5 s after midnight, 1601-01-01
        Assert.Equal("1601-01-01T00:00:01.5000000Z", clock.IsoAt(1_500_000_000));
    }

    [Fact]
    public void Disagreeing_anchors_fall_back_to_the_first_at_the_nominal_rate()
    {
        var clock = GuestClock.From(Log((100, 1_000_000, 130_000_000_000_020_000), (200, 2_000_000, 130_000_000_000_000_000)).Processes);
        Assert.Equal(130_000_000_000_030_000UL, clock.FileTimeAt(2_000_000)); // +1,000,000 ns = +10,000 ticks
    }
}
