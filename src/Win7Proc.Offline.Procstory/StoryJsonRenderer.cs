using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Win7Proc.Offline.Procstory;

/// <summary>
/// The process tree as JSON: <c>{"max_instr", "total_instr", "processes": [node...], "unresolved_terminations": [...]}</c>,
/// each node <c>{pid, name, short_name, image, cmdline, birth, death, end, parent, ppid, interesting, children: [...]}</c>.
/// birth/death are null when unseen; end is the last instruction the process can have lived to; parent is the parent's
/// short name. Roots are in order of first mention, children by first instruction (as in the text tree).
/// </summary>
public static class StoryJsonRenderer
{
    /// <summary>Trees deeper than this (never seen in a real replay) are written without indentation.</summary>
    public const int IndentedDepthLimit = 64;

    public static string Render(ProcessStory story)
    {
        using var buffer = new MemoryStream();
        // Relaxed encoder: quotes as \" (command lines stay readable), non-ASCII letters as they are. It leaves bidi
        // overrides and line separators raw, so EscapeUnsafeForTerminals \u-escapes those afterwards. The tree is written
        // without recursion, and may be as deep as a hostile log makes it: past IndentedDepthLimit levels the output
        // is compact, as indentation would grow quadratically.
        var deepest = StoryTextRenderer.PreOrder(story.Roots).Select(n => n.Depth).DefaultIfEmpty(0).Max();
        var options = new JsonWriterOptions
        {
            Indented = deepest <= IndentedDepthLimit,
            MaxDepth = int.MaxValue,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            NewLine = "\n", // the only control character left unescaped (see EscapeUnsafeForTerminals)
        };
        using (var json = new Utf8JsonWriter(buffer, options))
        {
            json.WriteStartObject();
            json.WriteNumber("max_instr", story.MaxInstr);
            if (story.TotalInstr is { } total) json.WriteNumber("total_instr", total);
            else json.WriteNull("total_instr");
            json.WriteStartArray("processes");
            var open = 0;
            foreach (var (process, depth) in StoryTextRenderer.PreOrder(story.Roots))
            {
                for (; open > depth; open--) CloseNode(json);
                WriteNodeStart(json, story, process);
                open++;
            }
            for (; open > 0; open--) CloseNode(json);
            json.WriteEndArray();
            json.WriteStartArray("unresolved_terminations");
            foreach (var unresolved in story.UnresolvedTerminations)
            {
                json.WriteStartObject();
                json.WriteNumber("instr", unresolved.Instr);
                if (unresolved.By is { } by) json.WriteString("by", by.ShortName);
                else json.WriteNull("by");
                json.WriteNumber("logged_pid", unresolved.LoggedPid);
                json.WriteString("logged_name", unresolved.LoggedName);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return EscapeUnsafeForTerminals(Encoding.UTF8.GetString(buffer.ToArray())) + "\n";
    }

    /// <summary>\u-escapes what the relaxed encoder leaves raw but a terminal would act on. Such characters can only
    /// be inside JSON strings (the structure is ASCII), where the escape means the same character.</summary>
    static string EscapeUnsafeForTerminals(string json)
    {
        if (!json.Any(c => c != '\n' && GuestText.IsUnsafe(c))) return json;   // indented JSON always has '\n'
        var escaped = new StringBuilder(json.Length + 16);
        foreach (var c in json)
        {
            if (GuestText.IsUnsafe(c) && c != '\n') escaped.Append("\\u").Append(((int)c).ToString("X4", System.Globalization.CultureInfo.InvariantCulture));
            else escaped.Append(c);
        }
        return escaped.ToString();
    }

    static void WriteNodeStart(Utf8JsonWriter json, ProcessStory story, ProcessInstance process)
    {
        json.WriteStartObject();
        json.WriteNumber("pid", process.Pid);
        json.WriteString("name", process.Name);
        json.WriteString("short_name", process.ShortName);
        WriteStringOrNull(json, "image", process.ImagePath);
        WriteStringOrNull(json, "cmdline", process.CommandLine);
        WriteNumberOrNull(json, "birth", process.Birth);
        WriteNumberOrNull(json, "death", process.Death);
        json.WriteNumber("end", story.LastInstr(process));
        WriteStringOrNull(json, "parent", process.Parent?.ShortName);
        WriteNumberOrNull(json, "ppid", process.Ppid);
        json.WriteBoolean("interesting", story.IsInteresting(process));
        json.WriteStartArray("children");
    }

    static void CloseNode(Utf8JsonWriter json)
    {
        json.WriteEndArray();
        json.WriteEndObject();
    }

    static void WriteStringOrNull(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null) json.WriteNull(name);
        else json.WriteString(name, value);
    }

    static void WriteNumberOrNull(Utf8JsonWriter json, string name, ulong? value)
    {
        if (value is { } v) json.WriteNumber(name, v);
        else json.WriteNull(name);
    }
}
