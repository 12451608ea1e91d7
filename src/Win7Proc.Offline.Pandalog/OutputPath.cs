using System.Runtime.InteropServices;

namespace Win7Proc.Offline.Pandalog;

/// <summary>What a path names, as <c>stat(2)</c> tells it (.NET's FileInfo shows FIFOs and devices as ordinary files).</summary>
public enum FileKind { Missing, Regular, Directory, Fifo, CharacterDevice, BlockDevice, Socket, SymbolicLink, Unknown }

/// <summary>File kinds of paths, for the "never replace what is not a regular file" rule of outputs and for inputs
/// that cannot be read twice (pipes).</summary>
public static class OutputPath
{
    /// <summary>The kind of <paramref name="path"/>; with <paramref name="followLinks"/> false a symbolic link is
    /// reported as such (lstat), otherwise as what it finally points to (stat). <see cref="FileKind.Unknown"/> where
    /// stat's layout is not known (a platform other than Linux x64/arm64): callers then treat the path as a file.</summary>
    public static FileKind KindOf(string path, bool followLinks = true)
    {
        if (!OperatingSystem.IsLinux()) return Fallback(path);
        // struct stat's st_mode: offset 24 on x86-64 (st_dev, st_ino, st_nlink, st_mode), 16 on the generic layout
        // (arm64: st_dev, st_ino, st_mode); glibc >= 2.33 exports stat/lstat as functions.
        int modeOffset = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 24,
            Architecture.Arm64 => 16,
            _ => -1,
        };
        if (modeOffset < 0) return Fallback(path);
        var buffer = new byte[256];
        int rc;
        try { rc = followLinks ? Stat(path, buffer) : LStat(path, buffer); }
        catch (EntryPointNotFoundException) { return Fallback(path); }
        if (rc != 0) return Marshal.GetLastPInvokeError() == 2 /* ENOENT */ ? FileKind.Missing : FileKind.Unknown;
        uint mode = BitConverter.ToUInt32(buffer, modeOffset);
        return (mode & 0xF000) switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            0x1000 => FileKind.Fifo,
            0x2000 => FileKind.CharacterDevice,
            0x6000 => FileKind.BlockDevice,
            0xC000 => FileKind.Socket,
            0xA000 => FileKind.SymbolicLink,
            _ => FileKind.Unknown,
        };
    }

    /// <summary>"a FIFO", "a character device", ... for messages.</summary>
    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Regular => "a regular file",
        FileKind.Directory => "a directory",
        FileKind.Fifo => "a FIFO (named pipe)",
        FileKind.CharacterDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        FileKind.Socket => "a socket",
        FileKind.SymbolicLink => "a symbolic link",
        FileKind.Missing => "missing",
        _ => "not a regular file",
    };

    static FileKind Fallback(string path) =>
        Directory.Exists(path) ? FileKind.Directory : File.Exists(path) ? FileKind.Regular : FileKind.Missing;

    // DllImport, not LibraryImport: this project does not allow unsafe code. Strings marshal as UTF-8 on Unix; a
    // blittable [Out] array is pinned, so stat writes straight into it.
    [DllImport("libc", EntryPoint = "stat", SetLastError = true)]
    static extern int Stat(string path, [Out] byte[] buffer);

    [DllImport("libc", EntryPoint = "lstat", SetLastError = true)]
    static extern int LStat(string path, [Out] byte[] buffer);
}
