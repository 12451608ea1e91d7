using System.Text;
using Win7Proc.Offline.Simulator.Guest;

namespace Win7Proc.Offline.Simulator.Calls;

/// <summary>NtCreateFile, NtOpenFile (optionally FILE_DELETE_ON_CLOSE), NtReadFile, NtWriteFile, NtDeleteFile,
/// NtSetInformationFile (rename; delete disposition, as DeleteFileW does it).</summary>
internal static class FileCalls
{
    const uint FileGenericWrite = 0x40110080, FileGenericRead = 0x80100080;
    const uint FileInformationCreated = 2, FileInformationOpened = 1;
    /// <summary>FILE_SYNCHRONOUS_IO_NONALERT | FILE_NON_DIRECTORY_FILE, what Win32's CreateFileW passes; FILE_DELETE_ON_CLOSE
    /// (MS wdm.h) is added for <c>"delete_on_close": true</c>.</summary>
    const uint DefaultOptions = 0x60, FileDeleteOnClose = 0x1000;
    /// <summary>DELETE access, which a disposition needs (DeleteFileW opens with DELETE | SYNCHRONIZE | FILE_READ_ATTRIBUTES).</summary>
    const uint DeleteAccess = 0x00010000;

    public static PreparedCall Prepare(CallContext c) => c.Event.Op switch
    {
        "create_file" => CreateOrOpen(c, create: true),
        "open_file" => CreateOrOpen(c, create: false),
        "read_file" => ReadOrWrite(c, write: false),
        "write_file" => ReadOrWrite(c, write: true),
        "delete_file" => Delete(c),
        "set_disposition_file" => SetDisposition(c),
        _ => Rename(c),
    };

    static PreparedCall CreateOrOpen(CallContext c, bool create)
    {
        var e = c.Event;
        var path = e.Text("path");
        var root = c.OptObject<FileObjectModel>("root");
        FileModel.FileNameFor(path, root is not null);   // validate now, even for a failing call
        var f = c.Frame(create ? "NtCreateFile" : "NtOpenFile");
        var slot = f.Local(4);
        var oa = f.ObjectAttributes(c.OptHandleValue("root"), path);
        var iosb = f.Local(UserStructs.IoStatusBlockSize);
        bool deleteOnClose = e.OptBool("delete_on_close") ?? false;
        uint options = deleteOnClose ? DefaultOptions | FileDeleteOnClose : DefaultOptions;
        uint access = deleteOnClose ? FileGenericWrite | DeleteAccess : create ? FileGenericWrite : FileGenericRead;
        if (create) f.SetArgs(slot, access, oa, iosb, 0, 0x80, 3, 5 /* OVERWRITE_IF */, options, 0, 0);
        else f.SetArgs(slot, access, oa, iosb, 7, options);
        return new PreparedCall
        {
            Frame = f,
            OnSuccess = () =>
            {
                var file = c.Sim.Files.Open(path, root);
                f.WriteU32(slot, c.AddHandle(file, access));
                f.WriteU32(iosb, 0);
                f.WriteU32(iosb + 4, create ? FileInformationCreated : FileInformationOpened);
            },
        };
    }

    static PreparedCall ReadOrWrite(CallContext c, bool write)
    {
        var e = c.Event;
        c.Object<FileObjectModel>("handle");
        var f = c.Frame(write ? "NtWriteFile" : "NtReadFile");
        var iosb = f.Local(UserStructs.IoStatusBlockSize);
        byte[] data = write ? Encoding.UTF8.GetBytes(e.OptText("data") ?? "") : new byte[Math.Min(e.OptNumber("size") ?? 512, 0x10000)];
        var buffer = f.HeapBytes(data);
        var offset = f.Local(8);
        f.SetArgs(c.HandleValue("handle"), 0, 0, 0, iosb, buffer, (uint)data.Length, offset, 0);
        return new PreparedCall
        {
            Frame = f,
            OnSuccess = () =>
            {
                if (!write) f.Write(buffer, Encoding.ASCII.GetBytes("simulated file contents\r\n".PadRight(data.Length, '.'))[..data.Length]);
                f.WriteU32(iosb, 0);
                f.WriteU32(iosb + 4, (uint)data.Length);
            },
        };
    }

    static PreparedCall Delete(CallContext c)
    {
        var path = c.Event.Text("path");
        var root = c.OptObject<FileObjectModel>("root");
        FileModel.FileNameFor(path, root is not null);
        var f = c.Frame("NtDeleteFile");
        f.SetArgs(f.ObjectAttributes(c.OptHandleValue("root"), path));
        return new PreparedCall { Frame = f };
    }

    /// <summary>NtSetInformationFile(handle, iosb, &amp;FILE_DISPOSITION_INFORMATION { DeleteFile }, 1,
    /// FileDispositionInformation): the file goes when its last handle is closed (files are not tracked: the
    /// simulated guest only records the call).</summary>
    static PreparedCall SetDisposition(CallContext c)
    {
        c.Object<FileObjectModel>("handle");
        bool delete = c.Event.OptBool("delete") ?? true;
        var f = c.Frame("NtSetInformationFile");
        var iosb = f.Local(UserStructs.IoStatusBlockSize);
        var buffer = f.HeapBytes([delete ? (byte)1 : (byte)0]);
        f.SetArgs(c.HandleValue("handle"), iosb, buffer, 1, UserStructs.FileDispositionInformationClass);
        return new PreparedCall { Frame = f, OnSuccess = () => f.WriteU32(iosb, 0) };
    }

    static PreparedCall Rename(CallContext c)
    {
        var e = c.Event;
        c.Object<FileObjectModel>("handle");
        c.OptObject<FileObjectModel>("root");
        var newPath = e.Text("new_path");
        var f = c.Frame("NtSetInformationFile");
        var iosb = f.Local(UserStructs.IoStatusBlockSize);
        // FILE_RENAME_INFORMATION (x86): ReplaceIfExists, RootDirectory, FileNameLength, FileName[].
        var name = Encoding.Unicode.GetBytes(newPath);
        var info = new byte[UserStructs.RenameFileName + name.Length];
        info[0] = 1;
        BitConverter.TryWriteBytes(info.AsSpan((int)UserStructs.RenameRootDirectory), c.OptHandleValue("root"));
        BitConverter.TryWriteBytes(info.AsSpan((int)UserStructs.RenameFileNameLength), (uint)name.Length);
        name.CopyTo(info, (int)UserStructs.RenameFileName);
        var buffer = f.HeapBytes(info);
        f.SetArgs(c.HandleValue("handle"), iosb, buffer, (uint)info.Length, UserStructs.FileRenameInformationClass);
        return new PreparedCall { Frame = f, OnSuccess = () => f.WriteU32(iosb, 0) };
    }
}
