using System.Diagnostics;

namespace Win7Proc.Offline.Trace.Tests;

/// <summary>Runs only where the reference `lz4` command line tool is installed (it is not a build requirement).</summary>
public sealed class Lz4CliFactAttribute : FactAttribute
{
    public static string? Lz4Path { get; } = (Environment.GetEnvironmentVariable("PATH") ?? "")
        .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
        .Select(dir => Path.Combine(dir, "lz4"))
        .FirstOrDefault(File.Exists);

    public Lz4CliFactAttribute()
    {
        if (Lz4Path is null) Skip = "the lz4 command line tool is not installed";
    }
}

public class Lz4CliInteropTests
{
    static byte[] Lz4Compress(byte[] raw, params string[] flags)
    {
        var psi = new ProcessStartInfo(Lz4CliFactAttribute.Lz4Path!) { RedirectStandardInput = true, RedirectStandardOutput = true };
        foreach (var f in flags) psi.ArgumentList.Add(f);
        psi.ArgumentList.Add("-q");
        psi.ArgumentList.Add("-c");
        using var p = Process.Start(psi)!;
        var output = new MemoryStream();
        var copy = p.StandardOutput.BaseStream.CopyToAsync(output);
        p.StandardInput.BaseStream.Write(raw);
        p.StandardInput.Close();
        copy.Wait();
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        return output.ToArray();
    }

    [Lz4CliFact]
    public void Reads_concatenated_frames_written_by_the_reference_lz4_library()
    {
        var b = new TraceBuilder().Header().Page(1, TraceBuilder.FilledPage(3))
            .Syscall(5, 0x3f0a1000, 66, args: [1, 2, 3], pages: [(0x3f0a1000, 0x12f, 1)]).EndFrame()
            .Switch(6, 0x3f0a1000, 0x3f0b2000).EndFrame()
            .End(reason: "replay-end");
        b.EndFrame();
        // Different LZ4 options per frame: independent 4 MiB blocks with content checksum (the recorder's), linked 64 KiB blocks with block checksums, defaults.
        var file = Lz4Compress(b.RawFrames[0], "-BD", "-B7", "--content-size")
            .Concat(Lz4Compress(b.RawFrames[1], "-B4", "-BX"))
            .Concat(Lz4Compress(b.RawFrames[2])).ToArray();

        using var reader = TraceReader.Open(new MemoryStream(file), "cli.lz4");
        var records = reader.Records().ToList();
        Assert.Equal(["TraceHeader", "PageRecord", "SyscallRecord", "ContextSwitchRecord", "TraceEnd"], records.Select(r => r.GetType().Name));
        Assert.Null(reader.Truncation);
        Assert.Equal("replay-end", reader.End?.Reason);
    }
}
