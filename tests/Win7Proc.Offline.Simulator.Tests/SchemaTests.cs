using System.Text.Json;
using Win7Proc.Offline.Testing;

namespace Win7Proc.Offline.Simulator.Tests;

/// <summary>samples/scenario.schema.json and the simulator's op table describe the same ops and fields.</summary>
public class SchemaTests
{
    [Fact]
    public void Schema_event_variants_match_the_simulators_ops()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Samples, "scenario.schema.json")));
        var variants = doc.RootElement.GetProperty("$defs").GetProperty("event").GetProperty("oneOf").EnumerateArray().ToList();
        var fromSchema = variants.ToDictionary(
            v => v.GetProperty("properties").GetProperty("op").GetProperty("const").GetString()!,
            v => (Required: v.GetProperty("required").EnumerateArray().Select(e => e.GetString()!).Order().ToArray(),
                  All: v.GetProperty("properties").EnumerateObject().Select(p => p.Name).Order().ToArray()));
        Assert.Equal(OpSpec.Ops.Keys.Order(), fromSchema.Keys.Order());
        foreach (var (op, spec) in OpSpec.Ops)
        {
            Assert.Equal(new[] { "instr", "pid", "op" }.Concat(spec.Required).Order(), fromSchema[op].Required);
            Assert.Equal(OpSpec.Common.Concat(spec.Required).Concat(spec.Optional).Order(), fromSchema[op].All);
        }
    }
}
