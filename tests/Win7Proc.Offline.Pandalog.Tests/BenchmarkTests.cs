namespace Win7Proc.Offline.Pandalog.Tests;

public class BenchmarkTests
{
    [Fact]
    public void Benchmark_round_trips_and_prints_every_figure_and_leaves_no_file()
    {
        using var dir = new TempDir();
        var output = new StringWriter();
        var result = PandalogBenchmark.Run(20_000, dir.Path, output, new PandalogWriterOptions { ChunkSize = 256 * 1024 });
        Assert.Equal(20_000, result.Entries);
        Assert.True(result.Chunks > 1);
        Assert.True(result.FileBytes < result.RawBytes);
        var text = output.ToString();
        foreach (var label in new[] { "write ", "read ", "read+parse ", "read framing ", "zlib deflate", "zlib inflate", "write/floor", "entries/s", "MB/s" })
            Assert.Contains(label, text);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }
}
