namespace Win7Proc.Offline.Analyzer.Tests;

public class WriteExtractorTests
{
    [Theory]
    [InlineData(@"..\..\x")]
    [InlineData("../../../etc/passwd")]
    [InlineData("/etc/passwd")]
    [InlineData(@"C:\Windows\System32\evil.dll")]
    [InlineData("a\0b")]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("")]
    [InlineData(@"\Device\HarddiskVolume2\Users\Zoë\Документы\файл.txt")]
    public void Host_names_are_plain_safe_file_names(string guestName)
    {
        var name = WriteExtractor.HostFileName(1234, "a.exe", guestName);
        Assert.Matches("^[A-Za-z0-9._-]+$", name);
        Assert.False(name.StartsWith('.'));
        Assert.Equal(name, Path.GetFileName(name));
        Assert.True(name.Length <= WriteExtractor.MaxFileNameLength);
    }

    [Fact]
    public void Very_long_names_are_cut_and_stay_distinct()
    {
        var a = WriteExtractor.HostFileName(1, "p", new string('a', 5000) + "1");
        var b = WriteExtractor.HostFileName(1, "p", new string('a', 5000) + "2");
        Assert.True(a.Length <= WriteExtractor.MaxFileNameLength);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void Names_differing_only_in_replaced_characters_stay_distinct()
    {
        Assert.NotEqual(WriteExtractor.HostFileName(1, "p", "a:b"), WriteExtractor.HostFileName(1, "p", "a?b"));
        Assert.Equal("7_cmd.exe_out.txt", WriteExtractor.HostFileName(7, "cmd.exe", "out.txt")); // already safe: unchanged
    }

    [Fact]
    public void Process_and_file_names_that_join_to_the_same_text_stay_distinct()
    {
        // Both join to "1_a_b_\c": a guest choosing its process and file names must not merge two files' data.
        Assert.NotEqual(WriteExtractor.HostFileName(1, "a_b", @"\c"), WriteExtractor.HostFileName(1, "a", @"b_\c"));
    }

    [Fact]
    public void Hostile_guest_names_are_written_inside_the_directory()
    {
        var root = Path.Combine(Path.GetTempPath(), "w7-extract-" + Guid.NewGuid().ToString("n"));
        var dir = Path.Combine(root, "out");
        try
        {
            var extractor = new WriteExtractor(dir);
            foreach (var name in new[] { @"..\..\x", "../escape", "/tmp/abs", "nul\0byte", new string('z', 10000) })
            {
                var path = extractor.Append(66, "../p", name, "data"u8);
                Assert.Equal(Path.GetFullPath(dir), Path.GetDirectoryName(path));
            }
            Assert.Equal(5, Directory.GetFiles(dir).Length);
            Assert.Single(Directory.GetFileSystemEntries(root)); // nothing beside out/
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void A_guest_cannot_make_it_write_unbounded_files_or_bytes()
    {
        var dir = Directory.CreateTempSubdirectory("w7extract-limits").FullName;
        try
        {
            var extractor = new WriteExtractor(dir, maxFiles: 3, maxBytes: 10);
            for (int i = 0; i < 5; i++) extractor.Append(1, "p.exe", $"f{i}", "ab"u8);
            Assert.Equal(3, extractor.FilesWritten);
            Assert.Equal(2, extractor.SkippedWrites);
            Assert.NotNull(extractor.Append(1, "p.exe", "f0", "cdef"u8)); // an existing file may still grow, within the bytes
            Assert.Null(extractor.Append(1, "p.exe", "f1", "ghi"u8));      // 6 + 4 + 3 > 10
            Assert.Equal(10, extractor.BytesWritten);
            Assert.Equal(3, extractor.SkippedWrites);
            Assert.Equal(3, Directory.GetFiles(dir).Length);
        }
        finally { Directory.Delete(dir, true); }
    }
}
