using Win7Proc.Offline.Simulator;

namespace Win7Proc.Offline.Reports.Tests;

/// <summary>
/// File deletion as Windows does it, end to end (scenario → simulated guest → real recorder core → analyzer → report):
/// FileDispositionInformation, and FILE_DELETE_ON_CLOSE whose file goes at the close of its last handle.
/// </summary>
public sealed class DeletionTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("w7-deletion-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    const string Explorer =
        """{ "pid": 1232, "ppid": 1196, "image": "C:\\Windows\\explorer.exe", "cmdline": "C:\\Windows\\Explorer.EXE" }""";

    ActivityLog Run(string events)
    {
        var json = $$"""{ "format": 1, "name": "deletion", "total_instr": 100000000, "processes": [ {{Explorer}} ], "events": {{events}} }""";
        var trace = Path.Combine(_dir, "trace.lz4");
        Simulation.Run(Scenario.Parse(json, "deletion.json"), trace);
        var log = ActivityLog.Read(trace, out var warning);
        Assert.Null(warning);
        return log;
    }

    [Fact]
    public void Delete_on_close_deletes_at_the_last_close_only()
    {
        var log = Run("""
            [
              { "instr": 1000, "pid": 1232, "op": "create_file", "path": "\\??\\C:\\Users\\bob\\AppData\\Local\\Temp\\~x.tmp", "as": "tmp", "delete_on_close": true },
              { "instr": 2000, "pid": 1232, "op": "duplicate_object", "handle": "tmp", "as": "tmp2" },
              { "instr": 3000, "pid": 1232, "op": "close", "handle": "tmp" },
              { "instr": 4000, "pid": 1232, "op": "close", "handle": "tmp2" }
            ]
            """);
        var deletion = Assert.Single(log.Events, e => e.Operation == Operation.FileDeleteOnClose);
        Assert.Equal(4000UL, deletion.Instr); // the second handle's close, not the first
        var report = BehaviorReport.Build(log);
        var file = Assert.Single(report.Processes.Single().Files);
        // No process creation in this log shows which volume C: is: the device path stays (docs/reports.md).
        Assert.Equal(@"\Device\HarddiskVolume2\Users\bob\AppData\Local\Temp\~x.tmp", file.Path);
        Assert.Equal("FILE_DELETE_ON_CLOSE", file.DeletedBy);
        Assert.Equal([file.Path], report.DeleteFiles);
        var row = Assert.Single(EventExport.Rows(log), r => r.Operation == "CloseFile");
        Assert.Equal("Delete On Close: True", row.Detail);
    }

    [Fact]
    public void A_plain_open_and_close_deletes_nothing()
    {
        var log = Run("""
            [
              { "instr": 1000, "pid": 1232, "op": "open_file", "path": "\\??\\C:\\Windows\\win.ini", "as": "ini" },
              { "instr": 2000, "pid": 1232, "op": "close", "handle": "ini" }
            ]
            """);
        Assert.DoesNotContain(log.Events, e => e.Operation is Operation.FileDeleteOnClose or Operation.FileDisposition);
        Assert.Empty(BehaviorReport.Build(log).DeleteFiles);
    }

    [Fact]
    public void A_disposition_set_back_to_false_is_logged_but_deletes_nothing()
    {
        var log = Run("""
            [
              { "instr": 1000, "pid": 1232, "op": "open_file", "path": "\\??\\C:\\Users\\bob\\keep.txt", "as": "f" },
              { "instr": 2000, "pid": 1232, "op": "set_disposition_file", "handle": "f" },
              { "instr": 3000, "pid": 1232, "op": "set_disposition_file", "handle": "f", "delete": false },
              { "instr": 4000, "pid": 1232, "op": "close", "handle": "f" }
            ]
            """);
        var dispositions = log.Events.Where(e => e.Operation == Operation.FileDisposition).ToList();
        Assert.Equal([true, false], dispositions.Select(d => d.Delete));
        Assert.Equal(["Delete: True", "Delete: False"],
            EventExport.Rows(log).Where(r => r.Operation == "SetDispositionInformationFile").Select(r => r.Detail));
    }
}
