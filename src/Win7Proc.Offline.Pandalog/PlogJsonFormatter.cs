using Google.Protobuf;
using Win7Proc.Offline.Pandalog.Schema;

namespace Win7Proc.Offline.Pandalog;

/// <summary>
/// JSON as PANDA's <c>python -m pandare.plog_reader</c> prints it (protobuf <c>MessageToJson</c>): lowerCamelCase field
/// names, 64-bit integers as strings, bytes as base64, only fields that are set; indented by two spaces.
/// </summary>
public static class PlogJsonFormatter
{
    static readonly JsonFormatter s_compact = new(JsonFormatter.Settings.Default);
    static readonly JsonFormatter s_indented = new(JsonFormatter.Settings.Default.WithIndentation("  "));

    /// <summary>One entry: indented (as in the json array) or compact (one line, as in jsonl).</summary>
    public static string Format(LogEntry entry, bool indented = false) =>
        (indented ? s_indented : s_compact).Format(entry);
}
