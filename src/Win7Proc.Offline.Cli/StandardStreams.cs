using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Win7Proc.Offline.Cli;

/// <summary>stdout and stderr as plain file streams on descriptors 1 and 2. .NET's console streams initialise the
/// terminal on their first write (keypad-transmit mode, never undone at exit); these never touch its modes.</summary>
public static class StandardStreams
{
    /// <summary>A stream on descriptor <paramref name="fd"/>, left open when disposed.</summary>
    public static Stream Open(int fd) =>
        new FileStream(new SafeFileHandle(fd, ownsHandle: false), FileAccess.Write, bufferSize: 0);

    /// <summary>A UTF-8 writer (no BOM) on descriptor <paramref name="fd"/>.</summary>
    public static StreamWriter Writer(int fd, bool autoFlush) =>
        new(Open(fd), new UTF8Encoding(false), 1 << 16) { AutoFlush = autoFlush };
}
