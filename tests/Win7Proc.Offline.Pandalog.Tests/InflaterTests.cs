using System.IO.Compression;
using CsCheck;

namespace Win7Proc.Offline.Pandalog.Tests;

public class InflaterTests
{
    static byte[] Compressible(int length, int seed)
    {
        var rnd = new Random(seed);
        var words = new[] { "\\Device\\HarddiskVolume2\\", "explorer.exe", "\\REGISTRY\\MACHINE\\", "NtOpenKey", "\0\0\0\x01" };
        var ms = new MemoryStream();
        while (ms.Length < length)
        {
            if (rnd.Next(4) == 0) ms.WriteByte((byte)rnd.Next(256));
            else ms.Write(System.Text.Encoding.ASCII.GetBytes(words[rnd.Next(words.Length)]));
        }
        return ms.ToArray()[..length];
    }

    static byte[] Zlib(byte[] data, int level)
    {
        var ms = new MemoryStream();
        using (var z = new ZLibStream(ms, new ZLibCompressionOptions { CompressionLevel = level }, leaveOpen: true)) z.Write(data);
        return ms.ToArray();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(6)]
    [InlineData(9)]
    public void Inflates_native_zlib_output_and_reports_the_stream_length(int level)
    {
        var data = Compressible(300_000, level);
        var stream = Zlib(data, level);
        var input = stream.Concat(new byte[] { 0x01, 0x00, 0x00, 0x00, 0xAA }).ToArray(); // e.g. a directory after the chunk
        byte[] output = new byte[16];
        var outcome = ZlibStreamInflater.Inflate(input, 0, input.Length, ref output, 1 << 24, out int written, out int consumed, out var error);
        Assert.Equal(ZlibStreamInflater.Outcome.Complete, outcome);
        Assert.Null(error);
        Assert.Equal(stream.Length, consumed);
        Assert.Equal(data, output[..written]);
    }

    [Fact]
    public void Inflates_hand_made_stored_blocks()
    {
        var data = Compressible(5000, 7);
        var stream = PlogBytes.ZlibStored(data, blockSize: 999);
        byte[] output = Array.Empty<byte>();
        Assert.Equal(ZlibStreamInflater.Outcome.Complete, ZlibStreamInflater.Inflate(stream, 0, stream.Length, ref output, 1 << 20, out int written, out int consumed, out _));
        Assert.Equal(stream.Length, consumed);
        Assert.Equal(data, output[..written]);
    }

    [Fact]
    public void Every_cut_of_a_stream_needs_more_input()
    {
        var stream = Zlib(Compressible(3000, 3), 9);
        for (int cut = 0; cut < stream.Length; cut++)
        {
            byte[] output = Array.Empty<byte>();
            var outcome = ZlibStreamInflater.Inflate(stream, 0, cut, ref output, 1 << 20, out _, out _, out var error);
            Assert.True(outcome == ZlibStreamInflater.Outcome.NeedsMoreInput, $"cut {cut}: {outcome} {error}");
        }
    }

    [Fact]
    public void Output_beyond_the_cap_is_refused()
    {
        var stream = Zlib(new byte[100_000], 9); // a small bomb
        byte[] output = Array.Empty<byte>();
        var outcome = ZlibStreamInflater.Inflate(stream, 0, stream.Length, ref output, 10_000, out _, out _, out var error);
        Assert.Equal(ZlibStreamInflater.Outcome.Invalid, outcome);
        Assert.Contains("more than 10000", error);
    }

    [Fact]
    public void Property_damaged_streams_never_throw_and_never_pass_a_wrong_checksum()
    {
        var data = Compressible(2000, 11);
        var stream = Zlib(data, 9);
        Gen.Select(Gen.Int[0, stream.Length - 1], Gen.Byte[1, 255]).Sample((at, flip) =>
        {
            var damaged = (byte[])stream.Clone();
            damaged[at] ^= flip;
            byte[] output = Array.Empty<byte>();
            var outcome = ZlibStreamInflater.Inflate(damaged, 0, damaged.Length, ref output, 1 << 20, out int written, out _, out _);
            // Complete only if the output still matches the checksum: then it is (almost surely) the original data.
            return outcome != ZlibStreamInflater.Outcome.Complete || output.AsSpan(0, written).SequenceEqual(data);
        }, iter: 2000);
    }

    [Fact]
    public void Adler32_matches_known_value()
    {
        // RFC 1950 example-style check: adler32("Wikipedia") = 0x11E60398
        Assert.Equal(0x11E60398u, ZlibStreamInflater.Adler32("Wikipedia"u8));
    }
}
