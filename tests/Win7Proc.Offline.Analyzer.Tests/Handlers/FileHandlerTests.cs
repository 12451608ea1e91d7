using Win7Proc.Offline.Analyzer.Windows7;

namespace Win7Proc.Offline.Analyzer.Tests.Handlers;

public class FileHandlerTests
{
    const uint StatusObjectNameNotFound = 0xC0000034;

    static (EngineHarness H, GuestProcess P) Start(AnalyzerOptions? options = null)
    {
        var h = new EngineHarness(options);
        var p = h.AddProcess(1234, "notepad.exe");
        h.SwitchTo(p);
        return (h, p);
    }

    [Fact]
    public void CreateFile_logs_the_kernel_full_name_of_the_returned_handle_and_the_io_result()
    {
        var (h, p) = Start();
        uint handleSlot = h.OutSlot(p), iosb = h.OutSlot(p);
        var entries = h.Call("NtCreateFile", [handleSlot, 0x40100080, h.ObjectAttributes(@"\??\C:\Users\bob\a.txt"), iosb, 0, 0x80, 0, 5, 0x60, 0, 0],
            between: () =>
            {
                h.Memory.WriteU32(p.Cr3, handleSlot, 0x44);
                h.Memory.WriteU32(p.Cr3, iosb, 0);
                h.Memory.WriteU32(p.Cr3, iosb + 4, 2); // FILE_CREATED
                h.AddFileHandle(p, 0x44, @"\Device\HarddiskVolume2\Users\bob\a.txt");
            });

        var entry = Assert.Single(entries);
        Assert.Equal(@"\Device\HarddiskVolume2\Users\bob\a.txt", entry.NtCreateFile.Filename);
        Assert.Equal(0x44u, entry.NtCreateFile.Handle);
        Assert.Equal(1234u, entry.NtCreateFile.Proc.Pid);
        Assert.Equal("notepad.exe", entry.NtCreateFile.Proc.Name);
        Assert.Equal(5u, entry.NtCreateFile.CreateDisposition);
        Assert.Equal(2u, entry.NtCreateFile.IoResult);
        Assert.True(entry.CallSucceeded);
        Assert.Equal(0u, entry.NtStatus);
        Assert.Equal(p.Tid, entry.Tid);
        Assert.Equal(h.Instr, entry.Instr); // logged at the return
        Assert.Equal(0x77c1d000u, entry.Pc);
    }

    [Fact]
    public void A_failed_create_is_logged_marked_failed_with_the_requested_name_joined_to_its_root_and_no_handle()
    {
        var (h, p) = Start();
        h.AddFileHandle(p, 0x20, @"\Device\HarddiskVolume2\Users\bob");
        uint handleSlot = h.OutSlot(p, initial: 0x999); // garbage left in the output: must not be taken as a handle
        var entry = Assert.Single(h.Call("NtCreateFile", [handleSlot, 0, h.ObjectAttributes("missing.txt", root: 0x20), h.OutSlot(p), 0, 0, 0, 1, 0, 0, 0],
            status: StatusObjectNameNotFound));

        Assert.False(entry.CallSucceeded);
        Assert.Equal(StatusObjectNameNotFound, entry.NtStatus);
        Assert.Equal(@"\Device\HarddiskVolume2\Users\bob\missing.txt", entry.NtCreateFile.Filename);
        Assert.Equal(0u, entry.NtCreateFile.Handle);
        Assert.False(entry.NtCreateFile.HasIoResult);
        Assert.Null(h.Engine.Handles.Lookup(p.Cr3, 0x999));
    }

    [Fact]
    public void No_failed_drops_failed_calls_but_keeps_successful_ones()
    {
        var (h, p) = Start(new AnalyzerOptions { IncludeFailed = false });
        Assert.Empty(h.Call("NtOpenFile", [h.OutSlot(p), 0, h.ObjectAttributes(@"\??\C:\nope"), h.OutSlot(p), 0, 0], status: StatusObjectNameNotFound));
        uint slot = h.OutSlot(p);
        Assert.Single(h.Call("NtOpenFile", [slot, 0, h.ObjectAttributes(@"\??\C:\yes"), h.OutSlot(p), 0, 0],
            between: () => { h.Memory.WriteU32(p.Cr3, slot, 0x30); h.AddFileHandle(p, 0x30, @"\Device\HarddiskVolume2\yes"); }));
    }

    [Fact]
    public void A_handle_closed_and_reused_for_another_file_gets_the_new_name()
    {
        var (h, p) = Start();
        h.AddFileHandle(p, 0x40, @"\Device\HarddiskVolume2\first.txt");
        var first = Assert.Single(h.Call("NtWriteFile", [0x40, 0, 0, 0, h.OutSlot(p), h.OutSlot(p), 4, 0, 0]));
        Assert.Equal(@"\Device\HarddiskVolume2\first.txt", first.NtWriteFile.Filename);

        Assert.Empty(h.Call("NtClose", [0x40], between: () => h.Kernel.Handles.Remove((p.EProcess, 0x40))));
        uint slot = h.OutSlot(p);
        h.Call("NtCreateFile", [slot, 0, h.ObjectAttributes(@"\??\C:\second.txt"), h.OutSlot(p), 0, 0, 0, 2, 0, 0, 0],
            between: () => { h.Memory.WriteU32(p.Cr3, slot, 0x40); h.AddFileHandle(p, 0x40, @"\Device\HarddiskVolume2\second.txt"); });

        var second = Assert.Single(h.Call("NtWriteFile", [0x40, 0, 0, 0, h.OutSlot(p), h.OutSlot(p), 4, 0, 0]));
        Assert.Equal(@"\Device\HarddiskVolume2\second.txt", second.NtWriteFile.Filename);
    }

    [Fact]
    public void The_fallback_name_cache_forgets_a_closed_handle()
    {
        var (h, p) = Start();
        uint slot = h.OutSlot(p);
        h.Call("NtOpenFile", [slot, 0, h.ObjectAttributes(@"\??\C:\cached.txt"), h.OutSlot(p), 0, 0],
            between: () => { h.Memory.WriteU32(p.Cr3, slot, 0x50); h.AddFileHandle(p, 0x50, @"\Device\HarddiskVolume2\cached.txt"); });
        h.Kernel.Handles.Remove((p.EProcess, 0x50)); // the table becomes unreadable: the cache answers
        Assert.Equal(@"\Device\HarddiskVolume2\cached.txt",
            Assert.Single(h.Call("NtReadFile", [0x50, 0, 0, 0, h.OutSlot(p), h.OutSlot(p), 4, 0, 0])).NtReadFile.Filename);

        h.Call("NtClose", [0x50]);
        Assert.Equal("unknown", Assert.Single(h.Call("NtReadFile", [0x50, 0, 0, 0, h.OutSlot(p), h.OutSlot(p), 4, 0, 0])).NtReadFile.Filename);
        Assert.True(h.Engine.Misses["NtReadFile"] >= 1);
    }

    [Fact]
    public void Read_and_write_log_lengths_offsets_and_bytes_transferred()
    {
        var (h, p) = Start();
        h.AddFileHandle(p, 0x40, @"\Device\HarddiskVolume2\data.bin");
        uint iosb = h.OutSlot(p), offset = h.OutSlot(p);
        h.Memory.WriteU64(p.Cr3, offset, 4096);
        var entry = Assert.Single(h.Call("NtReadFile", [0x40, 0, 0, 0, iosb, h.OutSlot(p), 100, offset, 0],
            between: () => { h.Memory.WriteU32(p.Cr3, iosb, 0); h.Memory.WriteU32(p.Cr3, iosb + 4, 60); }));
        Assert.Equal(100u, entry.NtReadFile.RequestedLength);
        Assert.Equal(4096ul, entry.NtReadFile.ByteOffset);
        Assert.Equal(60ul, entry.NtReadFile.BytesTransferred);
        Assert.Equal(0x40u, entry.NtReadFile.Handle);
    }

    [Fact]
    public void Rename_with_a_bare_target_stays_in_the_file_directory_and_with_a_root_joins_the_root()
    {
        var (h, p) = Start();
        h.AddFileHandle(p, 0x40, @"\Device\HarddiskVolume2\Users\bob\old.txt");
        h.AddFileHandle(p, 0x48, @"\Device\HarddiskVolume2\Temp");
        uint bare = h.NewUserAddress(), rooted = h.NewUserAddress(), absolute = h.NewUserAddress();
        h.Kernel.Renames[bare] = new FileRenameInfo(false, 0, "new.txt");
        h.Kernel.Renames[rooted] = new FileRenameInfo(true, 0x48, "moved.txt");
        h.Kernel.Renames[absolute] = new FileRenameInfo(false, 0, @"\??\C:\x\y.txt");

        var a = Assert.Single(h.Call("NtSetInformationFile", [0x40, h.OutSlot(p), bare, 20, 10])).NtSetInformationFile;
        Assert.Equal(@"\Device\HarddiskVolume2\Users\bob\old.txt", a.OrigFilename);
        Assert.Equal(@"\Device\HarddiskVolume2\Users\bob\new.txt", a.NewFilename);
        Assert.Equal(0x40u, a.Handle);
        Assert.Equal(@"\Device\HarddiskVolume2\Temp\moved.txt",
            Assert.Single(h.Call("NtSetInformationFile", [0x40, h.OutSlot(p), rooted, 20, 10])).NtSetInformationFile.NewFilename);
        Assert.Equal(@"\??\C:\x\y.txt",
            Assert.Single(h.Call("NtSetInformationFile", [0x40, h.OutSlot(p), absolute, 20, 10])).NtSetInformationFile.NewFilename);
        // Other information classes (here FileBasicInformation, 4) are not renames and are not logged.
        Assert.Empty(h.Call("NtSetInformationFile", [0x40, h.OutSlot(p), bare, 20, 4]));
    }

    [Fact]
    public void Non_ascii_names_are_kept_exactly()
    {
        var (h, p) = Start();
        const string name = @"\Device\HarddiskVolume2\Users\Zoë\Документы\файл.txt";
        uint slot = h.OutSlot(p);
        var entry = Assert.Single(h.Call("NtCreateFile", [slot, 0, h.ObjectAttributes(@"\??\C:\Users\Zoë\Документы\файл.txt"), h.OutSlot(p), 0, 0, 0, 2, 0, 0, 0],
            between: () => { h.Memory.WriteU32(p.Cr3, slot, 0x60); h.AddFileHandle(p, 0x60, name); }));
        Assert.Equal(name, entry.NtCreateFile.Filename);
        // The create taught us \??\C: = \Device\HarddiskVolume2, so a requested name is reported with the device too.
        var deleted = Assert.Single(h.Call("NtDeleteFile", [h.ObjectAttributes(@"\??\C:\Users\Zoë\Документы\файл.txt")]));
        Assert.Equal(name, deleted.NtDeleteFile.Filename);
    }

    [Fact]
    public void An_unreadable_handle_gives_a_partial_entry_and_a_miss_not_an_abort()
    {
        var (h, p) = Start();
        var entry = Assert.Single(h.Call("NtWriteFile", [0x7c, 0, 0, 0, h.OutSlot(p), h.OutSlot(p), 4, 0, 0]));
        Assert.Equal("unknown", entry.NtWriteFile.Filename);
        Assert.Equal(1234u, entry.NtWriteFile.Proc.Pid);
        Assert.True(h.Engine.Misses.ContainsKey("NtWriteFile"));
    }

    [Fact]
    public void Extracted_writes_hold_the_captured_data_of_successful_writes_only()
    {
        var dir = Path.Combine(Path.GetTempPath(), "w7-extract-" + Guid.NewGuid().ToString("n"));
        try
        {
            var (h, p) = Start(new AnalyzerOptions { ExtractWritesDirectory = dir });
            h.AddFileHandle(p, 0x40, @"\Device\HarddiskVolume2\out.txt");
            uint buffer = h.OutSlot(p), iosb = h.OutSlot(p);
            h.Memory.Write(p.Cr3, buffer, "hello world"u8);
            h.Call("NtWriteFile", [0x40, 0, 0, 0, iosb, buffer, 11, 0, 0],
                between: () => { h.Memory.WriteU32(p.Cr3, iosb, 0); h.Memory.WriteU32(p.Cr3, iosb + 4, 11); });
            h.Call("NtWriteFile", [0x40, 0, 0, 0, iosb, buffer, 5, 0, 0], status: 0xC0000022); // denied: nothing written
            h.Call("NtWriteFile", [0x40, 0, 0, 0, iosb, buffer, 5, 0, 0],
                between: () => { h.Memory.WriteU32(p.Cr3, iosb, 0); h.Memory.WriteU32(p.Cr3, iosb + 4, 5); });

            var file = Assert.Single(Directory.GetFiles(dir));
            Assert.Equal("hello worldhello", File.ReadAllText(file));
            Assert.StartsWith("1234_notepad.exe_", Path.GetFileName(file));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}
