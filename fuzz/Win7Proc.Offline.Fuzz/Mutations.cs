using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.Json.Nodes;

namespace Win7Proc.Offline.Fuzz;

/// <summary>One damaged input: its bytes, how it was made (to reproduce and to name it), and whether it is a pure
/// truncation (a cut recording: the trace contract says exit 5 with every complete record analysed).</summary>
sealed record Mutant(byte[] Bytes, string How, int? CutAt = null);

/// <summary>
/// Deterministic mutations (a seeded <see cref="Random"/>: the same seed gives the same inputs on every machine).
/// First the systematic ones (truncation at every frame/chunk boundary ±1 and every Nth byte), then random ones:
/// bit flips, zeroed runs, duplicated/deleted frames or chunks, header and directory field changes, and damage
/// inside the compressed content with the container kept valid (hostile records and guest pages).
/// </summary>
static class Mutations
{
    public static IEnumerable<Mutant> Systematic(byte[] input, IReadOnlyList<int> boundaries, int stride)
    {
        var cuts = new SortedSet<int>();
        foreach (var b in boundaries)
            for (int d = -1; d <= 1; d++)
                if (b + d > 0 && b + d < input.Length) cuts.Add(b + d);
        for (int p = stride; p < input.Length; p += stride) cuts.Add(p);
        foreach (var cut in cuts) yield return new Mutant(input[..cut], $"truncate at {cut}", cut);
    }

    public static Mutant Generic(byte[] input, Random rng)
    {
        var bytes = (byte[])input.Clone();
        switch (rng.Next(4))
        {
            case 0:
                int flips = 1 + rng.Next(8);
                var at = new List<int>();
                for (int i = 0; i < flips; i++) { int p = rng.Next(bytes.Length); bytes[p] ^= (byte)(1 << rng.Next(8)); at.Add(p); }
                return new Mutant(bytes, $"flip bits at {string.Join(",", at)}");
            case 1:
                int start = rng.Next(bytes.Length), length = Math.Min(1 + rng.Next(64), bytes.Length - start);
                Array.Clear(bytes, start, length);
                return new Mutant(bytes, $"zero {length} bytes at {start}");
            case 2:
                int q = rng.Next(bytes.Length);
                bytes[q] = (byte)rng.Next(256);
                return new Mutant(bytes, $"random byte at {q}");
            default:
                int s = rng.Next(bytes.Length), n = Math.Min(1 + rng.Next(256), bytes.Length - s);
                var copy = bytes.AsSpan(s, n).ToArray();
                int dest = rng.Next(bytes.Length);
                return new Mutant([.. bytes[..dest], .. copy, .. bytes[dest..]], $"insert copy of {n} bytes from {s} at {dest}");
        }
    }

    /// <summary>Overwrites a little-endian u32/u64 at a random 4-aligned place with an extreme value.</summary>
    static readonly ulong[] Extremes = [0, 1, 0x7f, 0x80, 0xff, 0x1000, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 0x100000000, long.MaxValue, ulong.MaxValue];

    static string OverwriteExtreme(byte[] data, Random rng)
    {
        if (data.Length < 8) return "too short";
        int p = rng.Next(data.Length - 7) & ~3;
        ulong v = Extremes[rng.Next(Extremes.Length)];
        if (rng.Next(2) == 0) BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(p), (uint)v);
        else BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(p), v);
        return $"value 0x{v:x} at {p}";
    }

    // ---------------------------------------------------------------- traces

    public static Mutant Trace(byte[] input, List<(int Start, int End)> frames, Random rng)
    {
        if (frames.Count == 0 || rng.Next(3) == 0) return Generic(input, rng);
        int k = rng.Next(frames.Count);
        var (start, end) = frames[k];
        switch (rng.Next(5))
        {
            case 0:
                return new Mutant([.. input[..end], .. input[start..end], .. input[end..]], $"duplicate frame {k}");
            case 1:
                return new Mutant([.. input[..start], .. input[end..]], $"delete frame {k}");
            case 2 when frames.Count > 1:
                int j = rng.Next(frames.Count);
                var (s2, e2) = frames[j];
                if (j == k) goto default;
                var (a, b) = k < j ? (frames[k], frames[j]) : (frames[j], frames[k]);
                return new Mutant([.. input[..a.Start], .. input[b.Start..b.End], .. input[a.End..b.Start], .. input[a.Start..a.End], .. input[b.End..]], $"swap frames {k} and {j}");
            default:
                // Damage inside the content, re-encoded: valid LZ4, hostile records (frame 0 holds the header).
                if (rng.Next(3) == 0) k = 0;
                (start, end) = frames[k];
                byte[] content;
                try { content = Lz4Frames.Decode(input.AsSpan(start, end - start)); }
                catch (Exception) { return Generic(input, rng); }
                if (content.Length == 0) return Generic(input, rng);
                string how;
                switch (rng.Next(4))
                {
                    case 0:
                        int p = k == 0 ? rng.Next(Math.Min(content.Length, 512)) : rng.Next(content.Length);
                        content[p] ^= (byte)(1 << rng.Next(8));
                        how = $"flip a bit at content byte {p}";
                        break;
                    case 1:
                        int z = rng.Next(content.Length), n = Math.Min(1 + rng.Next(32), content.Length - z);
                        Array.Clear(content, z, n);
                        how = $"zero {n} content bytes at {z}";
                        break;
                    case 2:
                        how = OverwriteExtreme(content, rng);
                        break;
                    default:
                        // A digit of a header setting changed (headers are text settings in every version so far).
                        int d = Array.FindIndex(content, 0, Math.Min(content.Length, 1024), c => c is >= (byte)'0' and <= (byte)'9');
                        if (d < 0) goto case 0;
                        int skip = rng.Next(16);
                        for (int i = d; i < Math.Min(content.Length, 1024) && skip >= 0; i++)
                            if (content[i] is >= (byte)'0' and <= (byte)'9' && skip-- == 0) { content[i] = (byte)('0' + rng.Next(10)); d = i; }
                        how = $"change a digit at content byte {d}";
                        break;
                }
                return new Mutant([.. input[..start], .. Lz4Frames.Encode(content), .. input[end..]], $"frame {k}: {how}");
        }
    }

    // ---------------------------------------------------------------- plogs

    /// <summary>Chunk positions from the plog's directory (header and directory as PANDA writes them), empty if unreadable.</summary>
    public static List<(long Pos, long End)> PlogChunks(byte[] plog)
    {
        var chunks = new List<(long, long)>();
        if (plog.Length < 24) return chunks;
        long dirPos = (long)BinaryPrimitives.ReadUInt64LittleEndian(plog.AsSpan(8));
        if (dirPos < 128 || dirPos + 4 > plog.Length) return chunks;
        uint n = BinaryPrimitives.ReadUInt32LittleEndian(plog.AsSpan((int)dirPos));
        if (dirPos + 4 + 24L * n > plog.Length) return chunks;
        for (int i = 0; i < n; i++)
        {
            long pos = (long)BinaryPrimitives.ReadUInt64LittleEndian(plog.AsSpan((int)dirPos + 4 + 24 * i + 8));
            long next = i + 1 < n ? (long)BinaryPrimitives.ReadUInt64LittleEndian(plog.AsSpan((int)dirPos + 4 + 24 * (i + 1) + 8)) : dirPos;
            chunks.Add((pos, next));
        }
        return chunks;
    }

    public static Mutant Plog(byte[] input, Random rng)
    {
        var chunks = PlogChunks(input);
        if (chunks.Count == 0 || rng.Next(3) == 0) return Generic(input, rng);
        var bytes = (byte[])input.Clone();
        long dirPos = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(8));
        int k = rng.Next(chunks.Count);
        var (pos, end) = chunks[k];
        switch (rng.Next(6))
        {
            case 0: // header field
                int field = rng.Next(3);
                int offset = field switch { 0 => 0, 1 => 8, _ => 16 };
                ulong v = Extremes[rng.Next(Extremes.Length)];
                if (field == 1 && rng.Next(2) == 0) v = (ulong)(dirPos + rng.Next(-64, 64));
                if (field == 1) BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(offset), v);
                else BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(offset), (uint)v);
                return new Mutant(bytes, $"header field at {offset} = 0x{v:x}");
            case 1: // directory field
                int row = rng.Next(chunks.Count);
                int which = rng.Next(4);
                int at = which == 3 ? (int)dirPos : (int)dirPos + 4 + 24 * row + 8 * which;
                ulong value = rng.Next(3) switch
                {
                    0 => Extremes[rng.Next(Extremes.Length)],
                    1 => (ulong)Math.Max(0, (which == 3 ? chunks.Count : (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(at))) + rng.Next(-3, 4)),
                    _ => (ulong)rng.Next(chunks.Count + 1),
                };
                if (which == 3) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), (uint)value);
                else BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at), value);
                return new Mutant(bytes, which == 3 ? $"directory count = {(uint)value}" : $"directory row {row} field {which} = 0x{value:x}");
            case 2:
                return new Mutant([.. input[..(int)end], .. input[(int)pos..(int)end], .. input[(int)end..]], $"duplicate chunk {k} bytes");
            case 3:
                return new Mutant([.. input[..(int)pos], .. input[(int)end..]], $"delete chunk {k} bytes");
            default:
                // Damage inside the inflated records, re-deflated with the directory fixed: a valid container.
                byte[] content;
                try
                {
                    using var z = new ZLibStream(new MemoryStream(input, (int)pos, (int)(end - pos)), CompressionMode.Decompress);
                    var ms = new MemoryStream();
                    z.CopyTo(ms);
                    content = ms.ToArray();
                }
                catch (InvalidDataException) { return Generic(input, rng); }
                if (content.Length == 0) return Generic(input, rng);
                string how;
                if (rng.Next(2) == 0) { int p = rng.Next(content.Length); content[p] ^= (byte)(1 << rng.Next(8)); how = $"flip a bit at inflated byte {p}"; }
                else how = OverwriteExtreme(content, rng);
                var deflated = new MemoryStream();
                using (var z = new ZLibStream(deflated, CompressionLevel.Fastest, leaveOpen: true)) z.Write(content);
                var packed = deflated.ToArray();
                long delta = packed.Length - (end - pos);
                var result = new byte[input.Length + delta];
                input.AsSpan(0, (int)pos).CopyTo(result);
                packed.CopyTo(result, (int)pos);
                input.AsSpan((int)end).CopyTo(result.AsSpan((int)(pos + packed.Length)));
                BinaryPrimitives.WriteUInt64LittleEndian(result.AsSpan(8), (ulong)(dirPos + delta));
                long newDir = dirPos + delta;
                for (int i = k + 1; i < chunks.Count; i++)
                {
                    var span = result.AsSpan((int)newDir + 4 + 24 * i + 8);
                    BinaryPrimitives.WriteUInt64LittleEndian(span, BinaryPrimitives.ReadUInt64LittleEndian(span) + (ulong)delta);
                }
                return new Mutant(result, $"chunk {k}: {how}");
        }
    }

    // ---------------------------------------------------------------- scenarios

    static readonly JsonNode?[] HostileValues =
    [
        LoneHigh, "x" + LoneLow + "y", new string('A', 40_000), "", "\\??\\C:\\..\\..\\etc\\passwd", "\\REGISTRY\\", "self", "0x", "0xffffffffffffffff",
        "0x1_0000", "STATUS_", -1, 0, 1, 4294967295L, 4294967296L, long.MaxValue, 1e308, 0.5, true, false, null,
        new JsonArray(), new JsonObject(),
    ];

    // Lone surrogates cannot pass through a JSON writer (it replaces them): written as placeholders, escaped after.
    const string LoneHigh = "@@LONE-D800@@", LoneLow = "@@LONE-DFFF@@";

    public static Mutant Scenario(byte[] input, Random rng)
    {
        if (rng.Next(4) == 0) return Generic(input, rng);
        JsonNode? root;
        try { root = JsonNode.Parse(input, documentOptions: new() { CommentHandling = System.Text.Json.JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
        catch (System.Text.Json.JsonException) { return Generic(input, rng); }
        if (root is not JsonObject top) return Generic(input, rng);
        var events = top["events"] as JsonArray;
        var processes = top["processes"] as JsonArray;
        string how;
        switch (rng.Next(6))
        {
            case 0 when events is { Count: > 0 }:
                int i = rng.Next(events.Count);
                events.Insert(rng.Next(events.Count + 1), events[i]!.DeepClone());
                how = $"duplicate event {i}";
                break;
            case 1 when events is { Count: > 1 }:
                int a = rng.Next(events.Count), b = rng.Next(events.Count);
                var ea = events[a]!.DeepClone(); var eb = events[b]!.DeepClone();
                events[a] = eb; events[b] = ea;
                how = $"swap events {a} and {b}";
                break;
            case 2 when events is { Count: > 0 }:
                int d = rng.Next(events.Count);
                events.RemoveAt(d);
                how = $"delete event {d}";
                break;
            default:
                // A random field anywhere gets a hostile value, or is removed.
                var objects = new List<JsonObject>();
                Collect(root, objects);
                var target = objects[rng.Next(objects.Count)];
                if (target.Count == 0) { how = "nothing"; break; }
                var name = target.ElementAt(rng.Next(target.Count)).Key;
                if (rng.Next(5) == 0) { target.Remove(name); how = $"remove field '{name}'"; }
                else
                {
                    var value = HostileValues[rng.Next(HostileValues.Length)]?.DeepClone();
                    target[name] = value;
                    how = $"field '{name}' = {Describe(value)}";
                }
                break;
        }
        var bytes = System.Text.Encoding.UTF8.GetBytes(root.ToJsonString(new System.Text.Json.JsonSerializerOptions
        { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping })
            .Replace(LoneHigh, "\\ud800").Replace(LoneLow, "\\udfff"));
        return new Mutant(bytes, how);
    }

    static string Describe(JsonNode? value)
    {
        var text = value?.ToJsonString() ?? "null";
        return text.Length > 40 ? $"{text[..20]}...({text.Length} chars)" : text;
    }

    static void Collect(JsonNode? node, List<JsonObject> into)
    {
        if (node is JsonObject o) { into.Add(o); foreach (var (_, v) in o) Collect(v, into); }
        else if (node is JsonArray a) foreach (var v in a) Collect(v, into);
    }
}
