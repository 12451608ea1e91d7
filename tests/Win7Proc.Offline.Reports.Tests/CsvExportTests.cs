using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.VisualBasic.FileIO;

namespace Win7Proc.Offline.Reports.Tests;

/// <summary>The dropper's export read the way a user's tool reads it: raw bytes for the layout, CsvHelper for the
/// fields (.NET's own TextFieldParser, a plain RFC 4180 reader), expectations derived from the dropper's scenario file.</summary>
public class CsvExportTests
{
    const string Sample = "dropper";

    static byte[] Csv(bool extra)
    {
        using var stream = new MemoryStream();
        EventExport.WriteCsv(EventExport.Rows(SampleLogs.Log(Sample)), stream, extra);
        return stream.ToArray();
    }

    static List<string[]> Parse(byte[] csv, out string[] header)
    {
        using var parser = new TextFieldParser(new MemoryStream(csv), Encoding.UTF8, detectEncoding: true)
        {
            TextFieldType = FieldType.Delimited, HasFieldsEnclosedInQuotes = true, TrimWhiteSpace = false,
        };
        parser.SetDelimiters(",");
        header = parser.ReadFields()!;
        var rows = new List<string[]>();
        while (!parser.EndOfData) rows.Add(parser.ReadFields()!);
        return rows;
    }

    /// <summary>Procmon's operation name for each scenario op that is one operation (the scenario format's table).</summary>
    static readonly Dictionary<string, string> OperationOf = new()
    {
        ["create_process"] = "Process Create", ["terminate_process"] = "Process Exit", ["open_process"] = "OpenProcess",
        ["create_file"] = "CreateFile", ["open_file"] = "CreateFile", ["write_file"] = "WriteFile", ["read_file"] = "ReadFile",
        ["set_disposition_file"] = "SetDispositionInformationFile", ["open_key"] = "RegOpenKey",
        ["set_value_key"] = "RegSetValue", ["write_virtual_memory"] = "WriteProcessMemory",
        ["read_virtual_memory"] = "ReadProcessMemory", ["alpc_create_port"] = "CreatePort",
        ["alpc_connect_port"] = "ConnectPort", ["alpc_send_wait_receive_port"] = "PortMessage",
    };

    /// <summary>(pid, operation) of every scenario event that is an operation, in order (switches, plain syscalls and
    /// closes are not operations; a terminate's row belongs to the process that exits, here always the caller).</summary>
    static List<(string Pid, string Operation)> ExpectedOperations()
    {
        var expected = new List<(string, string)>();
        foreach (var e in SampleLogs.Scenario(Sample).GetProperty("events").EnumerateArray())
        {
            var op = e.GetProperty("op").GetString()!;
            if (op is "switch" or "syscall" or "close") continue;
            Assert.True(OperationOf.ContainsKey(op), $"the test does not know op {op}: extend OperationOf");
            expected.Add((e.GetProperty("pid").GetUInt32().ToString(CultureInfo.InvariantCulture), OperationOf[op]));
        }
        return expected;
    }

    [Fact]
    public void Layout_is_procmons_utf8_bom_crlf_every_field_quoted()
    {
        var csv = Csv(extra: false);
        Assert.Equal(new byte[] { 0xEF, 0xBB, 0xBF }, csv[..3]);
        var text = Encoding.UTF8.GetString(csv, 3, csv.Length - 3);
        Assert.EndsWith("\r\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", text.Replace("\r\n", "", StringComparison.Ordinal), StringComparison.Ordinal);
        var lines = text[..^2].Split("\r\n");
        Assert.Equal("\"Time of Day\",\"Process Name\",\"PID\",\"Operation\",\"Path\",\"Result\",\"Detail\"", lines[0]);
        var quotedFields = new Regex("^\"(?:[^\"]|\"\")*\"(?:,\"(?:[^\"]|\"\")*\")*$");
        Assert.All(lines, line => Assert.Matches(quotedFields, line));
        Assert.All(lines, line => Assert.Equal(7, Regex.Matches(line, "\"(?:[^\"]|\"\")*\"").Count));
    }

    [Fact]
    public void One_row_per_operation_of_the_dropper_in_order()
    {
        var rows = Parse(Csv(extra: false), out var header);
        Assert.Equal(EventExport.DefaultColumns, header);
        var expected = ExpectedOperations();
        Assert.Equal(expected, rows.Select(r => (r[2], r[3])).ToList());
        Assert.All(rows, r => Assert.Matches(@"^\d{1,2}:\d\d:\d\d\.\d{7} (AM|PM)$", r[0])); // Time of Day: never empty
        Assert.All(rows, r => Assert.Equal("SUCCESS", r[5]));
        var times = rows.Select(r => DateTime.ParseExact(r[0], "h:mm:ss.fffffff tt", CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(times.OrderBy(t => t), times); // one short recording: the clock never runs backwards
    }

    [Fact]
    public void Details_and_paths_are_procmons()
    {
        var scenario = SampleLogs.Scenario(Sample).GetProperty("events").EnumerateArray().ToList();
        var rows = Parse(Csv(extra: false), out _);
        var child = scenario.First(e => e.GetProperty("op").GetString() == "create_process");
        var create = rows.First(r => r[3] == "Process Create");
        Assert.Equal(child.GetProperty("image").GetString(), create[4]);
        Assert.Equal($"PID: {child.GetProperty("child_pid").GetUInt32()}, Command line: {child.GetProperty("cmdline").GetString()}", create[6]);

        var set = scenario.First(e => e.GetProperty("op").GetString() == "set_value_key");
        var data = set.GetProperty("data").GetString()!;
        var regSet = rows.Single(r => r[3] == "RegSetValue");
        // REG_SZ length counts UTF-16 bytes with the terminating NUL.
        Assert.Equal($"Type: REG_SZ, Length: {(data.Length + 1) * 2}, Data: {data}", regSet[6]);
        Assert.StartsWith(@"HKU\S-1-5-21-1-1000\", regSet[4], StringComparison.Ordinal);
        Assert.EndsWith(@"\RUN\" + set.GetProperty("value").GetString(), regSet[4], StringComparison.OrdinalIgnoreCase);

        var drop = scenario.First(e => e.GetProperty("op").GetString() == "create_file");
        var createFile = rows.First(r => r[3] == "CreateFile");
        Assert.Equal(SampleLogs.Win32(drop.GetProperty("path").GetString()!), createFile[4]);
        var delete = rows.Single(r => r[3] == "SetDispositionInformationFile");
        Assert.Equal("Delete: True", delete[6]);
        var original = scenario.First(e => e.GetProperty("op").GetString() == "open_file");
        Assert.Equal(SampleLogs.Win32(original.GetProperty("path").GetString()!), delete[4]);
    }

    [Fact]
    public void Extra_columns_follow_procmons_seven()
    {
        var rows = Parse(Csv(extra: true), out var header);
        Assert.Equal(EventExport.DefaultColumns.Concat(["Sequence", "TID", "Parent PID", "Command Line", "Instr"]), header);
        Assert.Equal(Enumerable.Range(0, rows.Count).Select(i => i.ToString(CultureInfo.InvariantCulture)), rows.Select(r => r[7]));
        var events = SampleLogs.Scenario(Sample).GetProperty("events").EnumerateArray()
            .Where(e => e.GetProperty("op").GetString() is not ("switch" or "syscall" or "close")).ToList();
        // Every row's instruction count is its scenario event's.
        Assert.Equal(events.Select(e => e.GetProperty("instr").GetUInt64().ToString(CultureInfo.InvariantCulture)), rows.Select(r => r[11]));
        // The simulator's thread ids: pid + 4 for every process of this scenario.
        Assert.All(rows, r => Assert.Equal(uint.Parse(r[2], CultureInfo.InvariantCulture) + 4, uint.Parse(r[8], CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void Jsonl_has_the_same_rows_with_snake_case_keys_and_numbers()
    {
        using var stream = new MemoryStream();
        EventExport.WriteJsonl(EventExport.Rows(SampleLogs.Log(Sample)), stream);
        var lines = Encoding.UTF8.GetString(stream.ToArray()).TrimEnd('\n').Split('\n');
        var csvRows = Parse(Csv(extra: false), out _);
        Assert.Equal(csvRows.Count, lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            using var doc = JsonDocument.Parse(lines[i]);
            var o = doc.RootElement;
            Assert.Equal(csvRows[i][0], o.GetProperty("time_of_day").GetString());
            Assert.Equal(JsonValueKind.Number, o.GetProperty("pid").ValueKind);
            Assert.Equal(csvRows[i][2], o.GetProperty("pid").GetUInt32().ToString(CultureInfo.InvariantCulture));
            Assert.Equal(csvRows[i][3], o.GetProperty("operation").GetString());
            Assert.Equal(JsonValueKind.Number, o.GetProperty("instr").ValueKind);
        }
    }
}
