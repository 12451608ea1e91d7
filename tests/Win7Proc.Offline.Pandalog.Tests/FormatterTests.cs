using System.Text.Json.Nodes;
using Win7Proc.Offline.Pandalog.Schema;
using Win7Proc.Offline.Testing;

namespace Win7Proc.Offline.Pandalog.Tests;

public class FormatterTests
{
    // Expected lines written from pandalog_print.c's printf formats (reference notes §5), not from our output.
    [Fact]
    public void New_pid_line_has_no_space_after_the_colon()
    {
        Assert.Equal("instr=123 pc=0x82a1b2c3 :(process, new_pid, 1232, explorer.exe)",
            PlogTextFormatter.Format(Entries.NewPid(123, 1232, "explorer.exe")));
    }

    [Fact]
    public void Create_user_process_line_keeps_the_double_space_and_trailing_space()
    {
        var e = Entries.At(5676871135, 0x7777a5b2);
        e.NtCreateUserProcess = new NtCreateUserProcess { CurP = Entries.P(1232, "explorer.exe"), NewP = Entries.P(1316, "cmd.exe"), NewLongName = "LONGNAME" };
        Assert.Equal("instr=5676871135 pc=0x7777a5b2 : nt_create_user_process  [ (process, cur, 1232, explorer.exe) ] [ (process, new, 1316, cmd.exe) ] name=[LONGNAME] ",
            PlogTextFormatter.Format(e));
    }

    [Fact]
    public void Original_fragments_print_as_the_C_printf_did()
    {
        var e = Entries.At(10, 0xabc);
        e.NtWriteFile = new ProcessFile { Proc = Entries.P(0xFFFFFFFF, "x"), Filename = @"\a.txt", Handle = 0xFFFFFFFF };
        Assert.Equal(@"instr=10 pc=0xabc : nt_write_file (process, , -1, x)(filename,\a.txt)(handle,-1)", PlogTextFormatter.Format(e));

        e = Entries.At(10, 0xabc);
        e.NtMapViewOfSection = new SectionMapView { Target = Entries.P(8, "t"), Section = new Section { Proc = Entries.P(4, "p"), SectionId = 0x85a3c0d8, FileName = "f" } };
        Assert.Equal("instr=10 pc=0xabc : nt_map_view_of_section (process, target, 8, t)(process, , 4, p)(section,(id,85a3c0d8),(file_name,f))",
            PlogTextFormatter.Format(e));

        e = Entries.At(10, 0xabc);
        e.NtCreatePort = new LocalPortInit { PortName = "N", Port = new LocalPort { Proc = Entries.P(4, "p"), Id = 1, Client = Entries.P(9, "c") } };
        Assert.Equal("instr=10 pc=0xabc : nt_create_port name = N (local_port,(process, client, 9, c)) | nt_create_port.port.proc.pid=4 nt_create_port.port.proc.name=[p] nt_create_port.port.id=0x1",
            PlogTextFormatter.Format(e));

        e = Entries.At(ulong.MaxValue, ulong.MaxValue);
        e.TotalInstr = 9349975980;
        e.NtAnySyscall = 0x1001;
        e.Asid = 0x3f000;
        Assert.Equal("[after replay end] :  asid=3f000 nt_any_syscall (num=4097) total instr 9349975980", PlogTextFormatter.Format(e));
    }

    [Fact]
    public void Additions_go_after_the_original_fragments()
    {
        var e = Entries.CreateFile(7, 4, "System", "f", 8);
        e.NtCreateFile.Proc.Ppid = 0;
        e.NtCreateFile.IoResult = 2;
        e.NtStatus = 0xC0000034;
        e.CallSucceeded = false;
        e.SyscallName = "NtCreateFile";
        Assert.Equal("instr=7 pc=0x7777a5b2 : nt_create_file (process, , 4, System)(filename,f)(handle,8) | nt_create_file.proc.ppid=0 nt_create_file.io_result=2 nt_status=0xc0000034 call_succeeded=false syscall_name=[NtCreateFile]",
            PlogTextFormatter.Format(e));
    }

    static string BuildSmallMultiChunkPlog(TempDir dir)
    {
        var path = dir.File("every-kind.plog");
        using var writer = PandalogWriter.Create(path, new PandalogWriterOptions { ChunkSize = 600 });
        foreach (var e in Entries.EveryKind()) writer.Write(e);
        writer.Complete();
        return path;
    }

    static string Dump(string path, PlogDumpFormat format, PlogEntryFilter? filter = null)
    {
        using var reader = PandalogReader.Open(path);
        var sw = new StringWriter();
        PlogDumper.Dump(reader, filter ?? PlogEntryFilter.Create(), format, sw);
        return sw.ToString();
    }

    [Fact]
    public void Golden_text_dump_of_every_kind()
    {
        using var dir = new TempDir();
        var path = BuildSmallMultiChunkPlog(dir);
        using (var reader = PandalogReader.Open(path)) Assert.True(reader.Chunks.Count > 3);
        Golden.Verify(Dump(path, PlogDumpFormat.Text), "every-kind.text", "txt");
    }

    [Fact]
    public void Golden_json_dump_of_every_kind()
    {
        using var dir = new TempDir();
        var text = Dump(BuildSmallMultiChunkPlog(dir), PlogDumpFormat.Json);
        Assert.Equal(Entries.EveryKind().Count, JsonNode.Parse(text)!.AsArray().Count);
        Golden.Verify(text, "every-kind.json", "json");
    }

    [Fact]
    public void Golden_jsonl_dump_of_every_kind()
    {
        using var dir = new TempDir();
        var text = Dump(BuildSmallMultiChunkPlog(dir), PlogDumpFormat.Jsonl);
        var lines = text.TrimEnd('\n').Split('\n');
        Assert.Equal(Entries.EveryKind().Count, lines.Length);
        Assert.All(lines, l => JsonNode.Parse(l));
        Golden.Verify(text, "every-kind.jsonl", "txt");
    }

    [Fact]
    public void Json_uses_camel_case_and_64_bit_integers_as_strings()
    {
        var e = Entries.NewPid(5676871135, 1232, "explorer.exe");
        e.NtStatus = 0;
        var json = JsonNode.Parse(PlogJsonFormatter.Format(e))!;
        Assert.Equal("5676871135", json["instr"]!.GetValue<string>());
        Assert.Equal(1232, json["newPid"]!["pid"]!.GetValue<int>());
        Assert.Equal(0, json["ntStatus"]!.GetValue<int>()); // set-but-zero optional fields are present
        Assert.Null(json["asid"]);
    }
}
