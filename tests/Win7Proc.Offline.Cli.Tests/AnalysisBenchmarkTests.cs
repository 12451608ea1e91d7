using Win7Proc.Offline.Cli.Benchmarks;
using Win7Proc.Offline.Cli.Commands;
using Win7Proc.Offline.Simulator;

namespace Win7Proc.Offline.Cli.Tests;

public class AnalysisBenchmarkTests
{
    [Fact]
    public void The_busy_desktop_workload_is_a_valid_scenario_with_the_issues_mix()
    {
        var scenario = Scenario.Parse(BusyDesktopWorkload.Build(20_000), "bench");
        Assert.Equal(20_000, scenario.Events.Count);
        Assert.Equal(BusyDesktopWorkload.Processes, scenario.Processes.Count);
        double Share(Func<ScenarioEvent, bool> which) => scenario.Events.Count(which) / 20_000.0;
        bool Is(ScenarioEvent e, string op, char handle = ' ') =>
            e.Op == op && (handle == ' ' || e.Text("handle")[0] == handle);
        // Nominal shares (issue 12). Opens at the 50-handle limit become closes and calls needing a handle when none
        // is open become opens, so opens and closes of one kind are checked together.
        Assert.InRange(Share(e => Is(e, "open_key") || Is(e, "close", 'k')), 0.33, 0.37);
        Assert.InRange(Share(e => Is(e, "query_value_key")), 0.23, 0.27);
        Assert.InRange(Share(e => Is(e, "create_file") || Is(e, "close", 'f')), 0.13, 0.17);
        Assert.InRange(Share(e => Is(e, "write_file")), 0.08, 0.12);
        Assert.InRange(Share(e => Is(e, "read_file")), 0.04, 0.06);
        Assert.InRange(Share(e => Is(e, "syscall")), 0.09, 0.11);
        int switches = scenario.Events.Zip(scenario.Events.Skip(1)).Count(p => p.First.Pid != p.Second.Pid);
        Assert.InRange(switches / 20_000.0, 0.04, 0.06);
        Assert.Equal(scenario.Events.Select(e => e.Instr).Order(), scenario.Events.Select(e => e.Instr));
    }

    [Fact]
    public void The_benchmark_analyses_in_a_child_process_prints_its_figures_and_leaves_no_files()
    {
        var dir = Directory.CreateTempSubdirectory("w7bench").FullName;
        try
        {
            var output = new StringWriter();
            var rows = AnalysisBenchmark.Run([300], dir, output);
            var text = output.ToString();
            var row = Assert.Single(rows);
            Assert.Equal(600, row.SyscallRecords);             // an enter and a return per call
            Assert.True(row.PeakRssBytes > 10 << 20);          // a .NET child process, measured
            Assert.True(row.Lz4Seconds > 0 && row.ZlibSeconds > 0);
            Assert.Equal(0, row.TempFilesLeft);
            Assert.Contains("| 300 |", text);
            Assert.Contains("records/s", text);
            Assert.Empty(Directory.GetFileSystemEntries(dir));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData(null, new[] { 100_000, 400_000, 2_000_000 })]
    [InlineData("500", new[] { 500 })]
    [InlineData("100, 2000", new[] { 100, 2000 })]
    public void Calls_is_a_comma_list_of_sizes(string? text, int[] expected)
    {
        Assert.True(BenchCommand.TryParseCalls(text, out var sizes, out _));
        Assert.Equal(expected, sizes);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("1,x")]
    [InlineData("20000000")]
    public void A_bad_calls_list_is_refused_with_the_value_named(string text)
    {
        Assert.False(BenchCommand.TryParseCalls(text, out _, out var problem));
        Assert.Contains("is not a number of calls", problem);
    }
}
