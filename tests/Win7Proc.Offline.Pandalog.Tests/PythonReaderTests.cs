using System.Text.Json.Nodes;
using Win7Proc.Offline.Testing;

namespace Win7Proc.Offline.Pandalog.Tests;

public class PythonReaderTests
{
    static JsonNode RunPython(string plog) => PandaPythonReader.ReadAsJson(plog);

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
        var (exit, _, stderr) = PandaPythonReader.RunScript(path);
        Assert.NotEqual(0, exit);
        Assert.Contains("lack pc or instr", stderr);
    }
}
