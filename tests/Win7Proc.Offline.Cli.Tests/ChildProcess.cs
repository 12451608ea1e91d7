using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Win7Proc.Offline.Cli.Tests;

/// <summary>The real <c>win7proc-offline</c> (the CLI's dll beside the tests, run by <c>dotnet</c>) in a child process:
/// for what only a process shows (exit codes after signals, stdin/stdout as files, the terminal).</summary>
public sealed class ChildProcess : IDisposable
{
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "win7proc-offline.dll");

    readonly Process _process;
    readonly MemoryStream _stdout = new();
    readonly StringBuilder _stderr = new();
    readonly Task _stdoutCopy;

    /// <summary>Starts it. <c>env --default-signal</c>: a child of a non-interactive shell's background job inherits
    /// SIGINT ignored, which .NET keeps; a user's Ctrl+C is never ignored, so neither is ours.</summary>
    public ChildProcess(IEnumerable<string> args, string workingDirectory, string? stdinFile = null,
        IReadOnlyDictionary<string, string>? environment = null, string? dll = null)
    {
        var start = new ProcessStartInfo("env")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdinFile is null,
            UseShellExecute = false,
        };
        start.Environment["DOTNET_EnableDiagnostics"] = "0"; // no debugger pipes or diagnostic sockets in TMPDIR
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        if (stdinFile is not null)
        {
            // stdin redirected from a file, as `cmd < file` does: through sh, which opens it.
            start.FileName = "sh";
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add("exec env --default-signal=INT,TERM dotnet \"$@\" < \"$W7_STDIN\"");
            start.ArgumentList.Add("sh");
            start.Environment["W7_STDIN"] = stdinFile;
        }
        else
            start.ArgumentList.Add("--default-signal=INT,TERM");
        if (stdinFile is null) start.ArgumentList.Add("dotnet");
        start.ArgumentList.Add(dll ?? Dll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        _process = Process.Start(start)!;
        _stdoutCopy = _process.StandardOutput.BaseStream.CopyToAsync(_stdout);
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.Append(e.Data).Append('\n'); };
        _process.BeginErrorReadLine();
    }

    public int Id => _process.Id;
    public StreamWriter StandardInput => _process.StandardInput;

    /// <summary>Runs to the end (at most <paramref name="timeout"/>) and returns the exit code.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"win7proc-offline did not end within {timeout}; stderr: {Stderr}");
        }
        _process.WaitForExit(); // drains the redirected streams
        _stdoutCopy.Wait(timeout);
        return _process.ExitCode;
    }

    public byte[] Stdout => _stdout.ToArray();
    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    public void Signal(int signal)
    {
        if (kill(_process.Id, signal) != 0) throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed");
    }

    public const int SIGINT = 2, SIGTERM = 15;

    [DllImport("libc", SetLastError = true)]
    static extern int kill(int pid, int sig);

    /// <summary>Runs a command to its end: (exit code, stdout, stderr).</summary>
    public static (int Code, byte[] Stdout, string Stderr) Run(string workingDirectory, params string[] args)
    {
        using var child = new ChildProcess(args, workingDirectory);
        child.StandardInput.Close();
        int code = child.WaitForExit(TimeSpan.FromMinutes(2));
        return (code, child.Stdout, child.Stderr);
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }

    [DllImport("libc", SetLastError = true)]
    static extern int mkfifo(string path, uint mode);

    /// <summary>A FIFO at <paramref name="path"/> (inside the test's own directory).</summary>
    public static void MakeFifo(string path)
    {
        if (mkfifo(path, Convert.ToUInt32("600", 8)) != 0) throw new IOException($"mkfifo {path} failed ({Marshal.GetLastPInvokeError()})");
    }

    [DllImport("libc", SetLastError = true)]
    static extern int mknod(string path, uint mode, ulong dev);

    /// <summary>A character device node with the numbers of /dev/null (1, 3) at <paramref name="path"/>, inside the test's
    /// own directory (the tests run as root; never the machine's own /dev/null).</summary>
    public static void MakeNullDevice(string path) => MakeNode(path, 0x2000, 1, 3);

    /// <summary>A block device node (7, 0: a loop device's numbers) that nothing opens: only its kind is looked at.</summary>
    public static void MakeBlockDevice(string path) => MakeNode(path, 0x6000, 7, 0);

    static void MakeNode(string path, uint kind, uint major, uint minor)
    {
        // glibc's makedev: major bits 8..19 and 32..43, minor bits 0..7 and 12..31.
        ulong dev = ((ulong)(major & 0xfff) << 8) | ((ulong)(major & ~0xfffu) << 32) | (minor & 0xffu) | ((ulong)(minor & ~0xffu) << 12);
        if (mknod(path, kind | Convert.ToUInt32("600", 8), dev) != 0)
            throw new IOException($"mknod {path} failed ({Marshal.GetLastPInvokeError()}): the tests run as root");
    }
}
