using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit;

namespace Win7Proc.Offline.Testing;

/// <summary>A fact that runs only where PANDA's Python reader logic can: /usr/bin/python3 with google.protobuf, and
/// protoc (Debian: python3-protobuf, protobuf-compiler; CI installs them). Skipped with the reason otherwise.</summary>
public sealed class PythonFactAttribute : FactAttribute
{
    static readonly string? s_missing = PandaPythonReader.FindMissing();

    public PythonFactAttribute()
    {
        if (s_missing is not null) Skip = s_missing;
    }
}

/// <summary>Runs <c>tests/python/read_plog.py</c> (PANDA's <c>plog_reader.py</c> logic over our compiled
/// <c>plog.proto</c>) on a plog.</summary>
public static class PandaPythonReader
{
    public const string Python = "/usr/bin/python3";
    static string Script => Path.Combine(RepoPaths.Root, "tests", "python", "read_plog.py");
    static string Proto => Path.Combine(RepoPaths.Root, "src", "Win7Proc.Offline.Pandalog", "plog.proto");

    internal static string? FindMissing()
    {
        if (!File.Exists(Python)) return $"{Python} not found (install python3, python3-protobuf, protobuf-compiler)";
        if (Run(Python, "-c \"import google.protobuf\"").ExitCode != 0) return "python3 lacks google.protobuf (apt-get install python3-protobuf)";
        try { if (Run("protoc", "--version").ExitCode != 0) return "protoc does not run"; }
        catch (System.ComponentModel.Win32Exception) { return "protoc not found (apt-get install protobuf-compiler)"; }
        return null;
    }

    /// <summary>The script's exit code and output for <paramref name="plog"/>.</summary>
    public static (int ExitCode, string Stdout, string Stderr) RunScript(string plog) =>
        Run(Python, $"\"{Script}\" \"{plog}\" --proto \"{Proto}\"");

    /// <summary>The JSON array the script prints (MessageToJson per entry); fails the test if the script fails.</summary>
    public static JsonArray ReadAsJson(string plog)
    {
        var (exit, stdout, stderr) = RunScript(plog);
        Assert.True(exit == 0, $"read_plog.py exited {exit}: {stderr}");
        return JsonNode.Parse(stdout)!.AsArray();
    }

    public static (int ExitCode, string Stdout, string Stderr) Run(string file, string arguments)
    {
        var start = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout, stderr.Result);
    }
}
