using System.Text.Json;
using Win7Proc.Offline.Pandalog.Schema;
using static Win7Proc.Offline.Procstory.Tests.LogBuilder;

namespace Win7Proc.Offline.Procstory.Tests;

public class StoryJsonTests
{
    [Fact]
    public void Json_is_the_tree_nested_with_the_documented_fields()
    {
        var explorer = new Process { Pid = 1232, Name = "explorer.exe", ImagePath = @"\Device\HarddiskVolume2\Windows\explorer.exe" };
        var story = new LogBuilder()
            .Seen(5, 4, "System")
            .Seen(10, explorer)
            .Create(100, explorer, P(1316, "cmd.exe"), longName: @"C:\Windows\system32\cmd.exe", commandLine: "cmd /c ipconfig")
            .Create(200, P(1316, "cmd.exe"), P(2004, "ipconfig.exe"))
            .Exit(300, P(2004, "ipconfig.exe"))
            .Terminate(400, explorer, P(0, "unknown"))
            .Total(1000).Story();
        using var doc = JsonDocument.Parse(StoryJsonRenderer.Render(story));
        var root = doc.RootElement;
        Assert.Equal(1000UL, root.GetProperty("max_instr").GetUInt64());
        Assert.Equal(1000UL, root.GetProperty("total_instr").GetUInt64());
        var processes = root.GetProperty("processes");
        Assert.Equal(2, processes.GetArrayLength());

        var system = processes[0];
        Assert.Equal(4u, system.GetProperty("pid").GetUInt32());
        Assert.Equal("System", system.GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Null, system.GetProperty("birth").ValueKind);
        Assert.Equal(JsonValueKind.Null, system.GetProperty("death").ValueKind);
        Assert.Equal(JsonValueKind.Null, system.GetProperty("parent").ValueKind);
        Assert.False(system.GetProperty("interesting").GetBoolean());
        Assert.Equal(0, system.GetProperty("children").GetArrayLength());

        var explorerNode = processes[1];
        Assert.Equal(@"\Device\HarddiskVolume2\Windows\explorer.exe", explorerNode.GetProperty("image").GetString());
        var cmd = Assert.Single(explorerNode.GetProperty("children").EnumerateArray());
        Assert.Equal("cmd1", cmd.GetProperty("short_name").GetString());
        Assert.Equal(@"C:\Windows\system32\cmd.exe", cmd.GetProperty("image").GetString());
        Assert.Equal("cmd /c ipconfig", cmd.GetProperty("cmdline").GetString());
        Assert.Equal(100UL, cmd.GetProperty("birth").GetUInt64());
        Assert.Equal(1000UL, cmd.GetProperty("end").GetUInt64());
        Assert.Equal("explorer1", cmd.GetProperty("parent").GetString());
        var ipconfig = Assert.Single(cmd.GetProperty("children").EnumerateArray());
        Assert.Equal(2004u, ipconfig.GetProperty("pid").GetUInt32());
        Assert.Equal(300UL, ipconfig.GetProperty("death").GetUInt64());
        Assert.Equal("cmd1", ipconfig.GetProperty("parent").GetString());

        var unresolved = Assert.Single(root.GetProperty("unresolved_terminations").EnumerateArray());
        Assert.Equal(400UL, unresolved.GetProperty("instr").GetUInt64());
        Assert.Equal("explorer1", unresolved.GetProperty("by").GetString());
    }

    [Fact]
    public void Json_without_total_instr_says_null_and_escapes_guest_strings()
    {
        var story = new LogBuilder().Seen(7, 1, "a\"b\u001b\u202e\u2028é.exe").Story();
        var text = StoryJsonRenderer.Render(story);
        Assert.DoesNotContain('\u001b', text);
        Assert.DoesNotContain('\u202e', text);
        Assert.DoesNotContain('\u2028', text);
        Assert.Contains("\"name\": \"a\\\"b\\u001B\\u202E\\u2028é.exe\"", text);
        using var doc = JsonDocument.Parse(text);
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("total_instr").ValueKind);
        Assert.Equal(7UL, doc.RootElement.GetProperty("max_instr").GetUInt64());
        Assert.Equal("a\"b\u001b\u202e\u2028é.exe", doc.RootElement.GetProperty("processes")[0].GetProperty("name").GetString());
    }

    [Fact]
    public void Json_of_the_seed_story_has_every_process_once()
    {
        var story = SeedChartTests.SeedLog().Story();
        using var doc = JsonDocument.Parse(StoryJsonRenderer.Render(story));
        var names = new List<string>();
        void Walk(JsonElement list)
        {
            foreach (var node in list.EnumerateArray())
            {
                names.Add(node.GetProperty("short_name").GetString()!);
                Walk(node.GetProperty("children"));
            }
        }
        Walk(doc.RootElement.GetProperty("processes"));
        Assert.Equal(story.Processes.Count, names.Count);
        Assert.Equal(story.Processes.Select(p => p.ShortName).Order(), names.Order());
        Assert.Contains("svchost13", names);
    }
}
