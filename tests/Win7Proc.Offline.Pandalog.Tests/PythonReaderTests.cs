using System.Diagnostics;
using System.Text.Json.Nodes;
using Win7Proc.Offline.Testing;

namespace Win7Proc.Offline.Pandalog.Tests;

/// <summary>Runs only where PANDA's Python reader can: /usr/bin/python3 with google.protobuf, and protoc
/// (Debian: python3-protobuf, protobuf-compiler). Skipped with the reason otherwise.</summary>
public sealed class PythonFactAttribute : FactAttribute
{
    public const string Python = "/usr/bin/python3";
    static readonly string? s_missing = FindMissing();

    public PythonFactAttribute()
    {
        if (s_missing is not null) Skip = s_missing;
    }

    static string? FindMissing()
    {
        if (!File.Exists(Python)) return $"{Python} not found (install python3, python3-protobuf, protobuf-compiler)";
        if (Run(Python, "-c \"import google.protobuf\"").ExitCode != 0) return "python3 lacks google.protobuf (apt-get install python3-protobuf)";
        try { if (Run("protoc", "--version").ExitCode != 0) return "protoc does not run"; }
        catch (System.ComponentModel.Win32Exception) { return "protoc not found (apt-get install protobuf-compiler)"; }
        return null;
    }

    internal static (int ExitCode, string Stdout, string Stderr) Run(string file, string arguments)
    {
        var start = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout, stderr.Result);
    }
}

public class PythonReaderTests
{
    static string Script => Path.Combine(RepoPaths.Root, "tests", "python", "read_plog.py");
    static string Proto => Path.Combine(RepoPaths.Root, "src", "Win7Proc.Offline.Pandalog", "plog.proto");

    static JsonNode RunPython(string plog)
    {
        var (exit, stdout, stderr) = PythonFactAttribute.Run(PythonFactAttribute.Python, $"\"{Script}\" \"{plog}\" --proto \"{Proto}\"");
        Assert.True(exit == 0, $"read_plog.py exited {exit}: {stderr}");
        return JsonNode.Parse(stdout)!;
    }

    static JsonNode Ours(string plog)
    {
        using var reader = PandalogReader.Open(plog);
        var sw = new StringWriter();
        PlogDumper.Dump(reader, PlogEntryFilter.Create(), PlogDumpFormat.Json, sw);
        return JsonNode.Parse(sw.ToString())!;
    }

    [PythonFact]
    public void PANDA_python_reader_reads_our_multi_chunk_plog_as_we_do()
    {
        using var dir = new TempDir();
        var path = dir.File("py.plog");
        var entries = Entries.EveryKind();
        using (var writer = PandalogWriter.Create(path, new PandalogWriterOptions { ChunkSize = 400 }))
        {
            foreach (var e in entries) writer.Write(e);
            writer.Complete();
            Assert.True(writer.ChunksWritten > 3);
        }
        var python = RunPython(path);
        Assert.Equal(entries.Count, python.AsArray().Count);
        Assert.True(JsonNode.DeepEquals(Ours(path), python), "python and C# JSON differ");
        Assert.Equal("explorer.exe", python[0]!["newPid"]!["name"]!.GetValue<string>());
    }

    [PythonFact]
    public void PANDA_python_reader_reads_our_empty_plog_as_the_placeholder()
    {
        using var dir = new TempDir();
        var path = dir.File("empty.plog");
        using (var writer = PandalogWriter.Create(path)) writer.Complete();
        var only = Assert.Single(RunPython(path).AsArray())!;
        Assert.Equal("18446744073709551615", only["instr"]!.GetValue<string>());
    }

    [PythonFact]
    public void Script_fails_on_an_entry_without_instr()
    {
        using var dir = new TempDir();
        var path = dir.File("noinstr.plog");
        // hand-built: one record holding only pc (MergeFromString accepts it; the script must flag it)
        var bytes = PlogBytes.Plog([new PlogBytes.Chunk(PlogBytes.ZlibLevel9(PlogBytes.Records(PlogBytes.VarintField(1, 5))), 0, 1)]);
        File.WriteAllBytes(path, bytes);
        var (exit, _, stderr) = PythonFactAttribute.Run(PythonFactAttribute.Python, $"\"{Script}\" \"{path}\" --proto \"{Proto}\"");
        Assert.NotEqual(0, exit);
        Assert.Contains("lack pc or instr", stderr);
    }
}
