using System.Text;
using Win7Proc.Offline.Pandalog.Schema;

namespace Win7Proc.Offline.Pandalog;

public enum PlogDumpFormat { Text, Json, Jsonl }

/// <summary>Prints a pandalog's entries (the engine behind <c>win7proc-offline dump</c>).</summary>
public static class PlogDumper
{
    /// <summary>Streams the entries <paramref name="filter"/> selects to <paramref name="output"/>; returns how many.</summary>
    public static long Dump(PandalogReader reader, PlogEntryFilter filter, PlogDumpFormat format, TextWriter output,
        Func<uint, string?>? statusName = null) =>
        Write(filter.Apply(reader), format, output, statusName);

    /// <summary>Writes <paramref name="entries"/>; returns how many. Json is an array laid out as PANDA's plog_reader
    /// prints it; jsonl is one compact object per line in our jq mapping (<see cref="PlogJsonFormatter.FormatJsonl"/>,
    /// with <paramref name="statusName"/> naming NTSTATUS values).</summary>
    public static long Write(IEnumerable<LogEntry> entries, PlogDumpFormat format, TextWriter output,
        Func<uint, string?>? statusName = null)
    {
        long count = 0;
        var line = new StringBuilder(256);
        if (format == PlogDumpFormat.Json) output.Write("[\n");
        foreach (var entry in entries)
        {
            switch (format)
            {
                case PlogDumpFormat.Text:
                    line.Clear();
                    PlogTextFormatter.Append(line, entry);
                    line.Append('\n');
                    output.Write(line);
                    break;
                case PlogDumpFormat.Json:
                    if (count > 0) output.Write(",\n");
                    output.Write(PlogJsonFormatter.Format(entry, indented: true));
                    break;
                case PlogDumpFormat.Jsonl:
                    output.Write(PlogJsonFormatter.FormatJsonl(entry, statusName));
                    output.Write('\n');
                    break;
            }
            count++;
        }
        if (format == PlogDumpFormat.Json) output.Write("\n]\n");
        return count;
    }
}
