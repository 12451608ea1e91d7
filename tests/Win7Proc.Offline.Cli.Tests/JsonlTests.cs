using Diagnostics = System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Win7Proc.Offline.Cli.Commands;
using Win7Proc.Offline.Pandalog;
using Win7Proc.Offline.Pandalog.Schema;

namespace Win7Proc.Offline.Cli.Tests;

/// <summary>The jsonl mapping for jq (README "JSON mapping"). Expected values come from the facts: FILETIME is 100 ns
/// since 1601-01-01 UTC; REG_* data layouts from winnt.h; the NTSTATUS name from ntstatus.h.</summary>
public sealed class JsonlTests
{
    static JsonObject Jsonl(LogEntry entry) =>
        JsonNode.Parse(PlogJsonFormatter.FormatJsonl(entry, DumpCommand.StatusName))!.AsObject();

    static Process P(uint pid, string name) => new() { Pid = pid, Name = name };

    [Fact]
    public void Numbers_are_numbers_addresses_hex_strings_filetimes_iso_and_names_snake_case()
    {
        var entry = new LogEntry
        {
            Pc = 0x77a560ac,
            Instr = 9_349_975_980,
            Asid = 0x3e020000,
            NewPid = new Process { Pid = 1732, Name = "svchost.exe", Ppid = 396, CreateTime = 131065759800000000, InstanceInstr = 1000, ImagePath = @"\Device\X" },
            Tid = 1736,
        };
        var json = Jsonl(entry);
        Assert.Equal("0x77a560ac", (string)json["pc"]!);
        Assert.Equal(9_349_975_980L, (long)json["instr"]!); // a number, not "9349975980"
        Assert.Equal("0x3e020000", (string)json["asid"]!);
        var process = json["new_pid"]!.AsObject();
        Assert.Equal(1732, (int)process["pid"]!);
        Assert.Equal(396, (int)process["ppid"]!);
        Assert.Equal(@"\Device\X", (string)process["image_path"]!);
        // (131065759800000000 - 116444736000000000) / 10^7 = 1462102380 s after 1970 = 2016-05-01 11:33:00 UTC.
        Assert.Equal("2016-05-01T11:33:00.0000000Z", (string)process["create_time"]!);
        Assert.Equal(1000, (int)process["instance_instr"]!);
        Assert.DoesNotContain('\n', PlogJsonFormatter.FormatJsonl(entry));
    }

    [Fact]
    public void Integers_beyond_two_to_the_53_stay_exact_as_strings()
    {
        var json = Jsonl(new LogEntry { Pc = 0, Instr = ulong.MaxValue, TotalInstr = (1UL << 53) + 1 });
        Assert.Equal("18446744073709551615", (string)json["instr"]!);
        Assert.Equal("9007199254740993", (string)json["total_instr"]!);
        Assert.Equal(1L << 53, (long)Jsonl(new LogEntry { Pc = 0, Instr = 1UL << 53 })["instr"]!);
    }

    [Fact]
    public void Statuses_are_hex_with_their_name_beside_them()
    {
        var json = Jsonl(new LogEntry { Pc = 1, Instr = 2, NtStatus = 0xC0000034, CallSucceeded = false });
        Assert.Equal("0xC0000034", (string)json["nt_status"]!);
        Assert.Equal("STATUS_OBJECT_NAME_NOT_FOUND", (string)json["nt_status_name"]!);
        Assert.False((bool)json["call_succeeded"]!);
        var unknown = Jsonl(new LogEntry { Pc = 1, Instr = 2, NtStatus = 0xC0DE0001 });
        Assert.Equal("0xC0DE0001", (string)unknown["nt_status"]!);
        Assert.False(unknown.ContainsKey("nt_status_name"));
    }

    static JsonNode? RegistryData(uint type, byte[] data)
    {
        var value = new ProcessKeyValue
        {
            Pk = new ProcessKey { Proc = P(4, "System"), Keyname = @"\REGISTRY\MACHINE\X" },
            ValueName = "v",
            ValueType = type,
            ValueData = ByteString.CopyFrom(data),
        };
        var json = Jsonl(new LogEntry { Pc = 1, Instr = 2, NtSetValueKey = value })["nt_set_value_key"]!.AsObject();
        return json["value_data"];
    }

    [Fact]
    public void Registry_data_is_decoded_by_its_type()
    {
        Assert.Equal("C:\\Windows", (string)RegistryData(1, Encoding.Unicode.GetBytes("C:\\Windows\0"))!);          // REG_SZ
        Assert.Equal("%SystemRoot%", (string)RegistryData(2, Encoding.Unicode.GetBytes("%SystemRoot%\0"))!);       // REG_EXPAND_SZ
        var multi = RegistryData(7, Encoding.Unicode.GetBytes("a\0bc\0\0"))!.AsArray();                           // REG_MULTI_SZ
        Assert.Equal(["a", "bc"], multi.Select(n => (string)n!));
        Assert.Equal(0x12345678u, (uint)RegistryData(4, [0x78, 0x56, 0x34, 0x12])!);                             // REG_DWORD (LE)
        Assert.Equal(0x12345678u, (uint)RegistryData(5, [0x12, 0x34, 0x56, 0x78])!);                             // REG_DWORD_BIG_ENDIAN
        Assert.Equal(258L, (long)RegistryData(11, [2, 1, 0, 0, 0, 0, 0, 0])!);                                    // REG_QWORD
        Assert.Equal("00ff10", (string)RegistryData(3, [0x00, 0xff, 0x10])!);                                     // REG_BINARY
        Assert.Equal("410042", (string)RegistryData(1, [0x41, 0x00, 0x42])!);   // odd length (cut by the cap): hex, never half a character
        Assert.Equal("7856", (string)RegistryData(4, [0x78, 0x56])!);            // a DWORD cut short: hex
    }

    [Fact]
    public void Registry_value_type_gets_its_name()
    {
        var value = new ProcessKeyValue { Pk = new ProcessKey { Proc = P(4, "System"), Keyname = "k" }, ValueName = "v", ValueType = 4 };
        var json = Jsonl(new LogEntry { Pc = 1, Instr = 2, NtQueryValueKey = value })["nt_query_value_key"]!.AsObject();
        Assert.Equal(4, (int)json["value_type"]!);
        Assert.Equal("REG_DWORD", (string)json["value_type_name"]!);
    }

    [Fact]
    public void Dump_json_is_still_the_protobuf_mapping_of_pandas_reader()
    {
        // plog_reader.py prints MessageToJson: camelCase, 64-bit numbers as strings. Only jsonl changed.
        var json = JsonNode.Parse(PlogJsonFormatter.Format(new LogEntry { Pc = 1, Instr = 9_349_975_980, NtStatus = 0xC0000034 }))!.AsObject();
        Assert.Equal("9349975980", (string)json["instr"]!);
        Assert.Equal(3221225524L, (long)json["ntStatus"]!);
        Assert.False(json.ContainsKey("nt_status"));
    }

    [Fact]
    public void A_jq_numeric_filter_selects_by_instruction_count()
    {
        var dir = Directory.CreateTempSubdirectory("w7-cli-jq-").FullName;
        try
        {
            var plog = Path.Combine(dir, "x.plog");
            using (var writer = PandalogWriter.Create(plog))
            {
                foreach (var instr in new ulong[] { 1000, 5000, 5001, 9_349_975_980 })
                    writer.Write(new LogEntry { Pc = 1, Instr = instr, Asid = 0x1000 });
                writer.Complete();
            }
            var stdout = new StringWriter();
            Assert.Equal(0, DumpCommand.Run(plog, PlogEntryFilter.Create(), PlogDumpFormat.Jsonl, stdout, new StringWriter()));
            var start = new Diagnostics.ProcessStartInfo("jq", ["-c", "select(.instr > 5000) | .instr"])
            { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
            using var jq = Diagnostics.Process.Start(start)!; // jq is in the test set-up's package list (tests/run-all.sh)
            jq.StandardInput.Write(stdout.ToString());
            jq.StandardInput.Close();
            var selected = jq.StandardOutput.ReadToEnd();
            jq.WaitForExit();
            Assert.Equal(0, jq.ExitCode);
            Assert.Equal("5001\n9349975980\n", selected);
        }
        finally { Directory.Delete(dir, true); }
    }
}
