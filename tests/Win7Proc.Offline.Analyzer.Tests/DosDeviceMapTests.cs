namespace Win7Proc.Offline.Analyzer.Tests;

public class DosDeviceMapTests
{
    [Fact]
    public void A_drive_is_translated_only_once_learned_from_a_matching_pair()
    {
        var map = new DosDeviceMap();
        Assert.Equal(@"\??\C:\a.txt", map.Translate(@"\??\C:\a.txt"));
        map.Learn(@"\??\C:\Users\bob\a.txt", @"\Device\HarddiskVolume2\Users\bob\a.txt");
        Assert.Equal(@"\Device\HarddiskVolume2\x\y", map.Translate(@"\??\c:\x\y"));
        Assert.Equal(@"\??\D:\x", map.Translate(@"\??\D:\x"));
        Assert.Equal(@"\BaseNamedObjects\x", map.Translate(@"\BaseNamedObjects\x"));
    }

    [Theory]
    [InlineData(@"\??\C:\a.txt", @"\Device\HarddiskVolume2\b.txt")] // different file
    [InlineData(@"\??\C:\a.txt", @"\??\C:\a.txt")]                   // not a device name
    [InlineData(@"\??\C:", @"\Device\HarddiskVolume2")]              // nothing after the drive to match
    [InlineData(@"C:\a.txt", @"\Device\HarddiskVolume2\a.txt")]      // not an NT \??\ name
    public void Mismatched_pairs_teach_nothing(string requested, string kernelName)
    {
        var map = new DosDeviceMap();
        map.Learn(requested, kernelName);
        Assert.Equal(@"\??\C:\z", map.Translate(@"\??\C:\z"));
    }
}
