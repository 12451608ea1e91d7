using Win7Proc.Offline.Pandalog;
using Win7Proc.Offline.Testing;

namespace Win7Proc.Offline.Analyzer.Tests.Samples;

/// <summary>The seed-story plog, as the analyzer writes it, read by PANDA's Python reader logic
/// (tests/python/read_plog.py over our compiled plog.proto): every entry parses with pc and instr set, and the
/// reader sees exactly what ours sees.</summary>
public class SeedStoryPythonReaderTests
{
    [PythonFact]
    public void PANDA_python_reader_reads_the_seed_story_plog_entry_for_entry()
    {
        var (_, entries, plog) = SampleTests.Analyse("seed-story");
        var python = PandaPythonReader.ReadAsJson(plog);

        Assert.Equal(entries.Count, python.Count);
        for (int i = 0; i < entries.Count; i++)
        {
            var json = python[i]!;
            Assert.Equal(entries[i].Instr.ToString(), json["instr"]!.GetValue<string>());
            Assert.Equal(entries[i].Pc.ToString(), json["pc"]!.GetValue<string>());
            Assert.True(System.Text.Json.Nodes.JsonNode.DeepEquals(System.Text.Json.Nodes.JsonNode.Parse(PlogJsonFormatter.Format(entries[i])), json),
                $"entry {i} differs: {json.ToJsonString()}");
        }
        Assert.Contains(python, e => e!["ntCreateUserProcess"]?["newP"]?["name"]?.GetValue<string>() == "notepad.exe");
        Assert.Equal("9349975980", python[^1]!["totalInstr"]!.GetValue<string>());
    }
}
