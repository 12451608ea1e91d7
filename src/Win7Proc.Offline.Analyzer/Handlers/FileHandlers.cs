using Win7Proc.Offline.Analyzer.Windows7;
using Win7Proc.Offline.Pandalog.Schema;

namespace Win7Proc.Offline.Analyzer;

/// <summary>
/// File calls. Names are full device paths where the kernel's FILE_OBJECT gives them (a returned or argument handle);
/// a requested name (OBJECT_ATTRIBUTES) is joined to its RootDirectory's name, which the original ignored.
/// Argument positions: tracefmt/windows-7-x86-syscalls.tsv.
/// </summary>
internal static class FileHandlers
{
    /// <summary>FileRenameInformation (FILE_INFORMATION_CLASS, MS ne-wdm-_file_information_class).</summary>
    public const uint FileRenameInformationClass = 10;
    /// <summary>FileDispositionInformation: FILE_DISPOSITION_INFORMATION { BOOLEAN DeleteFile; } (MS ntddk). DeleteFileW
    /// opens the file and sets this; the file goes when its last handle is closed.</summary>
    public const uint FileDispositionInformationClass = 13;
    /// <summary>FILE_DELETE_ON_CLOSE in NtCreateFile's CreateOptions / NtOpenFile's OpenOptions (MS wdm.h).</summary>
    public const uint FileDeleteOnClose = 0x1000;

    public static IEnumerable<SyscallHandler> All() =>
    [
        // NtCreateFile(FileHandle*, DesiredAccess, ObjectAttributes*, IoStatusBlock*, AllocationSize*, FileAttributes,
        //   ShareAccess, CreateDisposition, CreateOptions, EaBuffer, EaLength)
        SyscallHandler.Create("NtCreateFile", SyscallFamily.Files, RequestedName,
            (call, requested) => LogOpen(call, requested, "nt_create_file", createDisposition: call.Arg(7), options: call.Arg(8),
                (e, m) => e.NtCreateFile = m)),
        // NtOpenFile(FileHandle*, DesiredAccess, ObjectAttributes*, IoStatusBlock*, ShareAccess, OpenOptions)
        SyscallHandler.Create("NtOpenFile", SyscallFamily.Files, RequestedName,
            (call, requested) => LogOpen(call, requested, "nt_open_file", createDisposition: null, options: call.Arg(5),
                (e, m) => e.NtOpenFile = m)),
        // NtReadFile / NtWriteFile(FileHandle, Event, ApcRoutine, ApcContext, IoStatusBlock*, Buffer*, Length, ByteOffset*, Key*)
        SyscallHandler.Create("NtReadFile", SyscallFamily.Files, call => ReadTransferInputs(call, withData: false),
            (call, inputs) => LogTransfer(call, inputs, "nt_read_file", (e, m) => e.NtReadFile = m)),
        SyscallHandler.Create("NtWriteFile", SyscallFamily.Files, call => ReadTransferInputs(call, withData: true),
            (call, inputs) => LogTransfer(call, inputs, "nt_write_file", (e, m) => e.NtWriteFile = m)),
        // NtDeleteFile(ObjectAttributes*)
        SyscallHandler.Create("NtDeleteFile", SyscallFamily.Files,
            call => new Requested(call.FullObjectName(call.ReadObjectAttributes(call.Arg(0)))),
            (call, requested) => call.Emit("nt_delete_file", e => e.NtDeleteFile = new ProcessFile
            {
                Proc = call.Caller, Filename = requested.Name ?? ProcessTracker.UnknownName, Handle = 0,
            })),
        // NtSetInformationFile(FileHandle, IoStatusBlock*, FileInformation*, Length, FileInformationClass): renames and
        // delete dispositions; other classes (position, times, ...) are not logged.
        SyscallHandler.Create("NtSetInformationFile", SyscallFamily.Files, ReadSetInformationInputs, LogSetInformation),
    ];

    sealed record Requested(string? Name);
    sealed record TransferInputs(string? FileName, ulong? ByteOffset, byte[] Data);
    sealed record RenameInputs(bool IsRename, string? OldName, string? NewName);
    sealed record DispositionInputs(string? FileName, bool? DeleteFile);

    static Requested RequestedName(SyscallCall call) =>
        new(call.FullObjectName(call.ReadObjectAttributes(call.Arg(2))));

    static void LogOpen(SyscallCall call, Requested requested, string kind, uint? createDisposition, uint options,
        Action<LogEntry, ProcessFile> set)
    {
        uint handle = 0;
        string? name = null;
        if (call.Succeeded && call.ReadU32(call.Arg(0)) is uint opened)
        {
            handle = opened;
            name = call.HandleObjectName(opened); // the kernel's full name, with the device
            call.Engine.DosDevices.Learn(requested.Name, name);
            if ((options & FileDeleteOnClose) != 0 && call.ResolveHandle(opened) is { Type: Win7ObjectType.File } entry)
                call.Engine.DeleteOnClose.Mark(entry.Body, name ?? requested.Name);
        }
        name ??= requested.Name;
        var message = new ProcessFile { Proc = call.Caller, Filename = name ?? ProcessTracker.UnknownName, Handle = handle };
        if (createDisposition is uint disposition) message.CreateDisposition = disposition;
        if (call.Succeeded && call.ReadIoStatusBlock(call.Arg(3)) is { } iosb) message.IoResult = iosb.Information;
        call.RememberHandle(handle, name);
        call.Emit(kind, e => set(e, message));
    }

    static TransferInputs ReadTransferInputs(SyscallCall call, bool withData)
    {
        var name = call.HandleObjectName(call.Arg(0));
        var offset = call.Arg(7) == 0 ? null : call.ReadU64(call.Arg(7));
        var data = withData && call.Engine.Extractor is not null ? call.ReadBytes(call.Arg(5), call.Arg(6), call.DataCap) : [];
        return new TransferInputs(name, offset, data);
    }

    static void LogTransfer(SyscallCall call, TransferInputs inputs, string kind, Action<LogEntry, ProcessFile> set)
    {
        var message = new ProcessFile
        {
            Proc = call.Caller,
            Filename = inputs.FileName ?? ProcessTracker.UnknownName,
            Handle = call.Arg(0),
            RequestedLength = call.Arg(6),
        };
        if (inputs.ByteOffset is ulong offset) message.ByteOffset = offset;
        // STATUS_PENDING leaves the IO_STATUS_BLOCK to be filled later: the count is not known at the return.
        if (call.Succeeded && call.Status != NtStatus.Pending && call.ReadIoStatusBlock(call.Arg(4)) is { } iosb)
            message.BytesTransferred = iosb.Information;
        if (call.Succeeded && inputs.Data.Length > 0 && call.Engine.Extractor is { } extractor)
        {
            int length = message.HasBytesTransferred ? (int)Math.Min((ulong)inputs.Data.Length, message.BytesTransferred) : inputs.Data.Length;
            extractor.Append(message.Proc.Pid, message.Proc.Name, message.Filename, inputs.Data.AsSpan(0, length));
        }
        call.Emit(kind, e => set(e, message));
    }

    static object ReadSetInformationInputs(SyscallCall call)
    {
        if (call.Arg(4) != FileDispositionInformationClass) return ReadRenameInputs(call);
        bool? deleteFile = call.Arg(3) == 0 ? null : call.ReadBytes(call.Arg(2), 1, 1) is [var b] ? b != 0 : null;
        return new DispositionInputs(call.HandleObjectName(call.Arg(0)), deleteFile);
    }

    static void LogSetInformation(SyscallCall call, object inputs)
    {
        if (inputs is RenameInputs rename) LogRename(call, rename);
        else if (inputs is DispositionInputs disposition) LogDisposition(call, disposition);
    }

    static void LogDisposition(SyscallCall call, DispositionInputs inputs)
    {
        var message = new FileDisposition
        {
            Proc = call.Caller, Filename = inputs.FileName ?? ProcessTracker.UnknownName, Handle = call.Arg(0),
            Cause = FileDisposition.Types.Cause.SetDisposition,
        };
        if (inputs.DeleteFile is bool delete) message.DeleteFile = delete;
        call.Emit("file_disposition", e => e.FileDisposition = message);
    }

    /// <summary>NtClose, at enter: is this the last handle of a file opened with FILE_DELETE_ON_CLOSE? Then the file
    /// goes with this close (OBJECT_HEADER.HandleCount is still 1 while the handle is being closed). Null otherwise.</summary>
    public static object? DeleteOnCloseAtClose(SyscallCall call)
    {
        var marked = call.Engine.DeleteOnClose;
        if (marked.Count == 0) return null;
        if (call.ResolveHandle(call.Arg(0)) is not { Type: Win7ObjectType.File } entry || !marked.Contains(entry.Body)) return null;
        // An unreadable count is taken as the last close (counted as a miss): the mark was real, the deletion is likely.
        if (call.ReadU32(entry.ObjectHeader + Win7Layout.ObjectHeaderHandleCount) is uint handles && handles > 1) return null;
        return new DeleteOnCloseClose(entry.Body, call.NameOf(entry) ?? marked.NameOf(entry.Body));
    }

    /// <summary>NtClose, at return: logs the deletion <see cref="DeleteOnCloseAtClose"/> found, if the close succeeded.</summary>
    public static void LogDeleteOnClose(SyscallCall call, object? state)
    {
        if (state is not DeleteOnCloseClose closing || !call.Succeeded) return;
        call.Engine.DeleteOnClose.Forget(closing.Body);
        call.Emit("file_disposition", e => e.FileDisposition = new FileDisposition
        {
            Proc = call.Caller, Filename = closing.Name ?? ProcessTracker.UnknownName, Handle = call.Arg(0),
            DeleteFile = true, Cause = FileDisposition.Types.Cause.DeleteOnClose,
        });
    }

    sealed record DeleteOnCloseClose(uint Body, string? Name);

    static RenameInputs ReadRenameInputs(SyscallCall call)
    {
        if (call.Arg(4) != FileRenameInformationClass) return new RenameInputs(false, null, null);
        var oldName = call.HandleObjectName(call.Arg(0));
        var rename = call.Arg(2) == 0 ? null : call.Objects.ReadFileRenameInformation(call.Cr3, call.Arg(2), call.Arg(3));
        if (rename is null)
        {
            call.Miss();
            return new RenameInputs(true, oldName, null);
        }
        string? newName;
        if (rename.RootDirectory != 0)
            newName = NtPath.Join(call.HandleObjectName(rename.RootDirectory), rename.FileName);
        else if (!rename.FileName.StartsWith('\\'))
            // A bare name renames within the file's own directory (FILE_RENAME_INFORMATION semantics, MS ntifs).
            newName = NtPath.Join(NtPath.Directory(oldName), rename.FileName);
        else
            newName = call.Engine.DosDevices.Translate(rename.FileName);
        return new RenameInputs(true, oldName, newName);
    }

    static void LogRename(SyscallCall call, RenameInputs inputs)
    {
        if (!inputs.IsRename) return;
        call.Emit("nt_set_information_file", e => e.NtSetInformationFile = new NtSetInformationFile
        {
            Proc = call.Caller,
            OrigFilename = inputs.OldName ?? ProcessTracker.UnknownName,
            NewFilename = inputs.NewName ?? ProcessTracker.UnknownName,
            Handle = call.Arg(0),
        });
    }
}

/// <summary>FILE_OBJECTs opened with FILE_DELETE_ON_CLOSE whose last handle has not been closed yet, by object body.
/// Bounded: beyond <see cref="MaxEntries"/> new marks are dropped (a guest cannot grow it without end).</summary>
internal sealed class DeleteOnCloseFiles
{
    public const int MaxEntries = 1 << 16;

    readonly Dictionary<uint, string?> _names = new();

    public int Count => _names.Count;

    public void Mark(uint fileObject, string? name)
    {
        if (_names.Count < MaxEntries || _names.ContainsKey(fileObject)) _names[fileObject] = name;
    }

    public bool Contains(uint fileObject) => _names.ContainsKey(fileObject);
    public string? NameOf(uint fileObject) => _names.GetValueOrDefault(fileObject);
    public void Forget(uint fileObject) => _names.Remove(fileObject);
}
