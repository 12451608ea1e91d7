using System.Text.Json.Nodes;
using Win7Proc.Offline.Testing;
using Xunit.Sdk;

namespace Win7Proc.Offline.Trace.Tests;

/// <summary>
/// The recorder's test vectors (tracefmt/vectors/NAME.lz4, written by the C trace writer) decode record by record to
/// NAME.expected.jsonl (written by the recorder's side from what it wrote). A "truncated" line must be last and means
/// the reader reports a truncation there. Keys of an expected line are compared with the reader's values; extra
/// keys the reader produces are ignored, a key it does not know fails the test.
/// </summary>
public class VectorTests
{
    public static TheoryData<string> Names => new() { "basic", "truncated", "unknown-record", "returns" };

    [Theory]
    [MemberData(nameof(Names))]
    public void Vector_decodes_to_its_expected_records(string name)
    {
        // W7_TRACE_VECTORS=DIR checks freshly generated vectors (w7rec_vectors with W7REC_WRITE_VECTORS=1) before they are committed.
        var dir = Environment.GetEnvironmentVariable("W7_TRACE_VECTORS") is { Length: > 0 } overridden
            ? overridden
            : Path.Combine(RepoPaths.TraceFormat, "vectors");
        var trace = Path.Combine(dir, $"{name}.lz4");
        var expectedPath = Path.Combine(dir, $"{name}.expected.jsonl");
        if (!File.Exists(trace) || !File.Exists(expectedPath))
            throw new XunitException($"vectors missing: {trace} and/or {expectedPath} (the C recorder's test vectors)");

        var expected = File.ReadAllLines(expectedPath).Where(l => l.Trim().Length > 0).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        bool expectTruncated = expected.Count > 0 && (string?)expected[^1]["type"] == "truncated";
        if (expectTruncated) expected.RemoveAt(expected.Count - 1);
        Assert.DoesNotContain(expected, e => (string?)e["type"] == "truncated");

        // Hash checking on: the C writer's XXH3-64 (libxxhash) must agree with the reader's (System.IO.Hashing).
        using var reader = TraceReader.Open(trace, new TraceReaderOptions { VerifyPageHashes = true });
        var actual = reader.Records().Select(r => JsonNode.Parse(RecordJson.Format(r).ToJsonString())!.AsObject()).ToList();

        for (int i = 0; i < Math.Min(expected.Count, actual.Count); i++)
        {
            foreach (var (key, value) in expected[i])
            {
                if (!actual[i].TryGetPropertyValue(key, out var got))
                    throw new XunitException($"{name}: record {i}: expected key '{key}' is not one the reader produces ({actual[i].ToJsonString()})");
                if (!JsonNode.DeepEquals(value, got))
                    throw new XunitException($"{name}: record {i}: '{key}' expected {value?.ToJsonString()} but read {got?.ToJsonString()}");
            }
        }
        Assert.Equal(expected.Count, actual.Count);
        if (expectTruncated)
            Assert.NotNull(reader.Truncation);
        else
            Assert.Null(reader.Truncation);
    }
}
