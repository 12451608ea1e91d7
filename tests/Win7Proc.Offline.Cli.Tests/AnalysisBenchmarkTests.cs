using Win7Proc.Offline.Cli.Benchmarks;
using Win7Proc.Offline.Simulator;

namespace Win7Proc.Offline.Cli.Tests;

public class AnalysisBenchmarkTests
{
    [Fact]
    public void The_benchmark_workload_is_a_valid_scenario_of_the_requested_size()
    {
        var scenario = Scenario.Parse(AnalysisBenchmark.BuildScenario(60), "bench");
        Assert.Equal(60, scenario.Events.Count);
        Assert.Equal(3, scenario.Processes.Count);
    }

    [Fact]
    public void The_benchmark_prints_its_figures_and_leaves_no_files()
    {
        var dir = Directory.CreateTempSubdirectory("w7bench").FullName;
        try
        {
            var output = new StringWriter();
            AnalysisBenchmark.Run(120, dir, output);
            var text = output.ToString();
            Assert.Contains("workload: 120 calls", text);
            Assert.Contains("records/s", text);
            Assert.Empty(Directory.GetFiles(dir));
        }
        finally { Directory.Delete(dir, true); }
    }
}
