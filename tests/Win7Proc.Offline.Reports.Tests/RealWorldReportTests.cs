namespace Win7Proc.Offline.Reports.Tests;

/// <summary>The real-world sample (samples/real-world/scenario.json): explorer opens the dropper (pid 2600) at
/// instr 510000 while the dropper's EPROCESS is paged out, so the analyzer knows the target only by its pid
/// ("unknown", no instance_instr). That is the live dropper, not a second process.</summary>
public class RealWorldReportTests
{
    [Fact]
    public void A_target_known_only_by_its_pid_is_the_live_instance_of_that_pid()
    {
        var report = BehaviorReport.Build(SampleLogs.Log("real-world"), ReportFilter.All, SampleLogs.InputName("real-world"));

        var dropper = Assert.Single(report.Processes, p => p.Process.Pid == 2600);
        Assert.Equal("invoice.exe", dropper.Process.Name);
        var explorer = Assert.Single(report.Processes, p => p.Process.Pid == 1232);
        Assert.Contains(explorer.Opened, link => ReferenceEquals(link.Target, dropper.Process));
    }
}
