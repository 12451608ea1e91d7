using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Win7Proc.Offline.Fuzz;

/// <summary>
/// In-process runs call the CLI, whose dump writes straight to file descriptor 1 (Console.OpenStandardOutput, for
/// speed), past Console.SetOut. So the runner moves its own stdout to a duplicate descriptor and points descriptor 1
/// at /dev/null; the runner's report goes to the duplicate (Linux: dup/dup2 from libc).
/// </summary>
static partial class QuietStdout
{
    [LibraryImport("libc", SetLastError = true)] private static partial int dup(int fd);
    [LibraryImport("libc", SetLastError = true)] private static partial int dup2(int oldFd, int newFd);

    /// <summary>Returns a writer on the original stdout; descriptor 1 discards from now on.</summary>
    public static TextWriter Redirect()
    {
        Console.Out.Flush();
        int saved = dup(1);
        using var devNull = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.Write);
        if (saved < 0 || dup2((int)devNull.DangerousGetHandle(), 1) < 0) return Console.Out;
        var stream = new FileStream(new SafeFileHandle(saved, ownsHandle: true), FileAccess.Write, 1);
        var writer = new StreamWriter(stream) { AutoFlush = true };
        Console.SetOut(writer);
        return writer;
    }
}
