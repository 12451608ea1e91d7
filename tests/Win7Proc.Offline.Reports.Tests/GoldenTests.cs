using System.Text;
using Win7Proc.Offline.Testing;

namespace Win7Proc.Offline.Reports.Tests;

/// <summary>
/// Reviewed outputs of <c>report</c> (text, json, markdown) and <c>export</c> (CSV with every column, JSON lines) for
/// every sample (golden/*.verified.*). After the samples are regenerated, re-run with WIN7PROC_ACCEPT=1 and review the
/// git diff: <c>WIN7PROC_ACCEPT=1 dotnet test tests/Win7Proc.Offline.Reports.Tests --filter GoldenTests</c>.
/// </summary>
public class GoldenTests
{
    public static IEnumerable<object[]> Samples() => SampleLogs.Names();

    static BehaviorReport Report(string sample) =>
        BehaviorReport.Build(SampleLogs.Log(sample), ReportFilter.All, SampleLogs.InputName(sample));

    [Theory, MemberData(nameof(Samples))]
    public void Report_text(string sample) => Golden.Verify(ReportTextRenderer.Render(Report(sample)), $"{sample}.report", "txt");

    [Theory, MemberData(nameof(Samples))]
    public void Report_json(string sample) => Golden.Verify(ReportJsonRenderer.Render(Report(sample)), $"{sample}.report", "json");

    [Theory, MemberData(nameof(Samples))]
    public void Report_markdown(string sample) => Golden.Verify(ReportMarkdownRenderer.Render(Report(sample)), $"{sample}.report", "md");

    [Theory, MemberData(nameof(Samples))]
    public void Export_csv_with_every_column(string sample)
    {
        using var stream = new MemoryStream();
        EventExport.WriteCsv(EventExport.Rows(SampleLogs.Log(sample)), stream, extraColumns: true);
        Golden.Verify(Encoding.UTF8.GetString(stream.ToArray()).TrimStart('\uFEFF'), $"{sample}.export", "csv");
    }

    [Theory, MemberData(nameof(Samples))]
    public void Export_jsonl(string sample)
    {
        using var stream = new MemoryStream();
        EventExport.WriteJsonl(EventExport.Rows(SampleLogs.Log(sample)), stream);
        Golden.Verify(Encoding.UTF8.GetString(stream.ToArray()), $"{sample}.export", "jsonl");
    }
}
