using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Win7Proc.Offline.Reports;

/// <summary>One row of the export: an operation as Process Monitor shows it.</summary>
public sealed record ExportRow(string TimeOfDay, string ProcessName, uint Pid, string Operation, string Path, string Result,
    string Detail, long Sequence, uint? Tid, uint? ParentPid, string CommandLine, ulong Instr);

/// <summary>
/// <c>export</c>: one row per operation in Process Monitor's CSV layout (upstream-checks §4: the columns Noriben's
/// parse_csv and ProcDOT read), or the same rows as JSON lines. CSV: UTF-8 with BOM, CRLF, every field quoted
/// (a quote inside doubled), header <c>"Time of Day","Process Name","PID","Operation","Path","Result","Detail"</c>;
/// <see cref="ExportOptions.ExtraColumns"/> adds Sequence, TID, Parent PID, Command Line, Instr after them.
/// </summary>
public static class EventExport
{
    public static readonly string[] DefaultColumns = ["Time of Day", "Process Name", "PID", "Operation", "Path", "Result", "Detail"];
    public static readonly string[] ExtraColumns = ["Sequence", "TID", "Parent PID", "Command Line", "Instr"];

    /// <summary>The rows of a log, in log order, that the filter keeps.</summary>
    public static IEnumerable<ExportRow> Rows(ActivityLog log, ReportFilter? filter = null)
    {
        filter ??= ReportFilter.All;
        var clock = GuestClock.From(log.Processes);
        var paths = log.Paths;
        long sequence = 0;
        foreach (var e in log.Events)
        {
            if (!filter.KeepsEvent(e, paths)) continue;
            // Procmon's Process Exit is an event of the exiting process.
            var owner = e.Operation == Operation.ProcessExit && e.Other is { } victim ? victim : e.Process;
            yield return new ExportRow(
                TimeOfDay: clock.TimeOfDay(e.Instr),
                ProcessName: owner.ImageFileName,
                Pid: owner.Pid,
                Operation: ProcmonNames.Operation(e.Operation),
                Path: paths.Of(e),
                Result: e.Operation == Operation.ProcessExit && e.Status is null ? "SUCCESS" : ProcmonNames.Result(e.Status),
                Detail: ProcmonNames.Detail(e, paths),
                Sequence: sequence++,
                Tid: owner == e.Process ? e.Tid : null,
                ParentPid: owner.Parent?.Pid ?? owner.Ppid,
                CommandLine: owner.CommandLine ?? "",
                Instr: e.Instr);
        }
    }

    /// <summary>Writes the CSV (BOM, CRLF, all fields quoted). Returns the number of rows.</summary>
    public static long WriteCsv(IEnumerable<ExportRow> rows, Stream output, bool extraColumns)
    {
        var preamble = Encoding.UTF8.GetPreamble();
        output.Write(preamble);
        using var writer = new StreamWriter(output, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\r\n" };
        var header = extraColumns ? DefaultColumns.Concat(ExtraColumns) : DefaultColumns;
        writer.WriteLine(string.Join(',', header.Select(Quote)));
        long count = 0;
        foreach (var row in rows)
        {
            var fields = new List<string>
            {
                row.TimeOfDay, row.ProcessName, Num(row.Pid), row.Operation, row.Path, row.Result, row.Detail,
            };
            if (extraColumns)
                fields.AddRange([Num(row.Sequence), row.Tid is uint tid ? Num(tid) : "", row.ParentPid is uint ppid ? Num(ppid) : "",
                    row.CommandLine, Num(row.Instr)]);
            writer.WriteLine(string.Join(',', fields.Select(Quote)));
            count++;
        }
        return count;
    }

    /// <summary>The same rows as JSON lines with snake_case keys (numbers as numbers, exact in a double).</summary>
    public static long WriteJsonl(IEnumerable<ExportRow> rows, Stream output)
    {
        long count = 0;
        var options = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        var newline = "\n"u8.ToArray();
        foreach (var row in rows)
        {
            using (var json = new Utf8JsonWriter(output, options))
            {
                json.WriteStartObject();
                json.WriteString("time_of_day", row.TimeOfDay);
                json.WriteString("process_name", row.ProcessName);
                json.WriteNumber("pid", row.Pid);
                json.WriteString("operation", row.Operation);
                json.WriteString("path", row.Path);
                json.WriteString("result", row.Result);
                json.WriteString("detail", row.Detail);
                json.WriteNumber("sequence", row.Sequence);
                if (row.Tid is uint tid) json.WriteNumber("tid", tid); else json.WriteNull("tid");
                if (row.ParentPid is uint ppid) json.WriteNumber("parent_pid", ppid); else json.WriteNull("parent_pid");
                json.WriteString("command_line", row.CommandLine);
                ReportJsonRenderer.Number(json, "instr", row.Instr);
                json.WriteEndObject();
            }
            output.Write(newline);
            count++;
        }
        return count;
    }

    static string Quote(string field) => "\"" + Sanitize(field).Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary>CR and LF inside a guest string would start a new row for line-based readers (Noriben splits lines):
    /// they are shown as spaces. Other control characters become '?'.</summary>
    static string Sanitize(string field)
    {
        if (!field.Any(char.IsControl)) return field;
        var sb = new StringBuilder(field.Length);
        foreach (var c in field) sb.Append(c is '\r' or '\n' ? ' ' : char.IsControl(c) ? '?' : c);
        return sb.ToString();
    }

    static string Num(long v) => v.ToString(CultureInfo.InvariantCulture);
    static string Num(ulong v) => v.ToString(CultureInfo.InvariantCulture);
    static string Num(uint v) => v.ToString(CultureInfo.InvariantCulture);
}
