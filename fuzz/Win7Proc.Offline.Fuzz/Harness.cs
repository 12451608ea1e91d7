using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Win7Proc.Offline.Fuzz;

/// <summary>What one CLI invocation did.</summary>
sealed record CliRun(string[] Args, int Exit, string Stderr, long StdoutBytes, TimeSpan Time);

/// <summary>
/// Runs the CLI (<see cref="Cli.Program.Run"/>) on one input, in this process (fast: stdout and stderr captured,
/// current directory set to the run's directory) or as a child process (<c>dotnet w7fuzz.dll cli ...</c>: the real
/// exit code, killed at the timeout). In-process runs are sequential: the console and current directory are global.
/// </summary>
sealed class Harness(bool child, TimeSpan timeout)
{
    public bool Child { get; } = child;

    public CliRun Run(string workDir, params string[] args) => Child ? RunChild(workDir, args) : RunInProcess(workDir, args);

    CliRun RunInProcess(string workDir, string[] args)
    {
        var stderr = new StringWriter();
        var stdout = new CountingWriter();
        var oldOut = Console.Out; var oldErr = Console.Error; var oldDir = Environment.CurrentDirectory;
        int exit = -1;
        Exception? escaped = null;
        var watch = Stopwatch.StartNew();
        Console.SetOut(stdout);
        Console.SetError(stderr);
        Environment.CurrentDirectory = workDir;
        var thread = new Thread(() =>
        {
            try { exit = Cli.Program.Run(args, Console.Error); }
            catch (Exception e) { escaped = e; }
        }, 16 << 20) { IsBackground = true };
        thread.Start();
        bool finished = thread.Join(timeout);
        Console.SetOut(oldOut);
        Console.SetError(oldErr);
        Environment.CurrentDirectory = oldDir;
        if (!finished) throw new HangException($"no result after {timeout.TotalSeconds:F0} s: win7proc-offline {string.Join(' ', args)}");
        string text = stderr.ToString();
        if (escaped is not null) { text += $"\n[escaped from Program.Run] {escaped}"; exit = 1; }
        return new CliRun(args, exit, text, stdout.Count, watch.Elapsed);
    }

    CliRun RunChild(string workDir, string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = workDir, RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(typeof(Harness).Assembly.Location);
        start.ArgumentList.Add("cli");
        foreach (var a in args) start.ArgumentList.Add(a);
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        long outBytes = 0;
        var outTask = Task.Run(() => { var buffer = new char[65536]; int n; while ((n = process.StandardOutput.Read(buffer)) > 0) outBytes += n; });
        var errTask = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new HangException($"no result after {timeout.TotalSeconds:F0} s (killed): win7proc-offline {string.Join(' ', args)}");
        }
        process.WaitForExit();
        outTask.Wait();
        return new CliRun(args, process.ExitCode, errTask.Result, outBytes, watch.Elapsed);
    }

    static readonly Regex StackLine = new(@"^\s+at \S+.*\(|^\s+at [A-Z]\w*\.", RegexOptions.Multiline);
    static readonly string[] DotNetInternals =
    [
        "Exception:", "Unhandled exception", "System.", "Operation is not valid due to the current state", "Object reference not set",
        "Index was outside the bounds", "Arithmetic operation resulted in an overflow", "Specified argument was out of the range",
    ];

    /// <summary>The contract every run keeps: a documented exit code from <paramref name="allowed"/>, no stack trace, no
    /// .NET internals, and an error (exit 2..4) told in exactly one "error:" line.</summary>
    public static string? Check(CliRun run, params int[] allowed)
    {
        if (!allowed.Contains(run.Exit))
            return $"exit {run.Exit} (allowed: {string.Join(", ", allowed)}): {FirstLines(run.Stderr)}";
        if (StackLine.IsMatch(run.Stderr)) return $"stack trace on stderr: {FirstLines(run.Stderr)}";
        foreach (var text in DotNetInternals)
            if (run.Stderr.Contains(text, StringComparison.Ordinal)) return $".NET internals on stderr ('{text}'): {FirstLines(run.Stderr)}";
        if (run.Exit is 3 or 4)
        {
            int errors = run.Stderr.Split('\n').Count(l => l.StartsWith("error:", StringComparison.Ordinal));
            if (errors != 1) return $"exit {run.Exit} with {errors} 'error:' lines (one expected): {FirstLines(run.Stderr)}";
        }
        return null;
    }

    static string FirstLines(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var shown = string.Join(" | ", lines.Where(l => l.StartsWith("error") || l.StartsWith("warning") || l.Contains("xception")).Take(3));
        if (shown.Length == 0) shown = string.Join(" | ", lines.Take(3));
        return shown.Length > 400 ? shown[..400] + "..." : shown;
    }

    /// <summary>Records kept from a (truncated) trace, as the run report says; null when it does not say.</summary>
    public static long? RecordsRead(string stderr)
    {
        var m = Regex.Match(stderr, @"records read: (\d+)");
        return m.Success ? long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : null;
    }

    sealed class CountingWriter : TextWriter
    {
        public long Count;
        public override Encoding Encoding => Encoding.UTF8;
        public override void Write(char value) => Count++;
        public override void Write(char[] buffer, int index, int count) => Count += count;
        public override void Write(string? value) => Count += value?.Length ?? 0;
    }
}

sealed class HangException(string message) : Exception(message);
