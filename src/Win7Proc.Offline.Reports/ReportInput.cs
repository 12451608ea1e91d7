using System.Buffers.Binary;
using Google.Protobuf;
using Win7Proc.Offline.Analyzer;
using Win7Proc.Offline.Pandalog;
using Win7Proc.Offline.Pandalog.Schema;
using Win7Proc.Offline.Trace;

namespace Win7Proc.Offline.Reports;

/// <summary>The input is neither a pandalog nor a trace, or is damaged. The message names the file and the problem.</summary>
public sealed class ReportInputException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The entries of a finished pandalog, or of a trace analysed on the fly with every call family (nothing is written to
/// disk). Either way the caller sees the same <see cref="LogEntry"/> stream in log order.
/// </summary>
public static class ReportInput
{
    const uint PlogVersion = 2;
    const uint Lz4FrameMagic = 0x184D2204; // bytes 04 22 4D 18

    /// <summary>True for a trace (LZ4 frame), false for a plog; otherwise a <see cref="ReportInputException"/>.</summary>
    public static bool IsTrace(string path) =>
        LooksLikeTrace(path)
        ?? throw new ReportInputException($"{path} is neither a pandalog (u32 version 2) nor a trace (LZ4 frame 04 22 4D 18)");

    /// <summary>What the first four bytes say: true = a trace (LZ4 frame magic), false = a plog (u32 version 2),
    /// null = neither (or shorter than four bytes). Shared by every command that takes "PLOG|TRACE".</summary>
    /// <exception cref="IOException">unreadable</exception>
    public static bool? LooksLikeTrace(string path)
    {
        Span<byte> head = stackalloc byte[4];
        int read;
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            read = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (read < head.Length) return null;
        return BinaryPrimitives.ReadUInt32LittleEndian(head) switch
        {
            Lz4FrameMagic => true,
            PlogVersion => false,
            _ => null,
        };
    }

    /// <summary>Hands every entry of <paramref name="path"/> to <paramref name="sink"/>. Returns a warning when a trace
    /// was truncated (every complete record was used), else null.</summary>
    /// <exception cref="FileNotFoundException">no such file</exception>
    /// <exception cref="ReportInputException">not a plog or trace, or damaged</exception>
    public static string? Read(string path, Action<LogEntry> sink, CancellationToken ct = default)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"no such file: {path}", path);
        try
        {
            if (IsTrace(path))
            {
                var report = TraceAnalyzer.Analyze(path, AnalyzerOptions.Default, sink, ct: ct);
                return report.Truncation is { } truncation ? $"{Naming(path, truncation.Reason)} (every complete record was used)" : null;
            }
            using var reader = PandalogReader.Open(path);
            foreach (var entry in reader.ReadAll())
            {
                ct.ThrowIfCancellationRequested();
                sink(entry);
            }
            return null;
        }
        catch (PandalogFormatException e) { throw new ReportInputException(Naming(path, e.Message), e); }
        catch (InvalidProtocolBufferException e) { throw new ReportInputException($"{path}: damaged entry: {e.Message}", e); }
        catch (TraceFormatException e) { throw new ReportInputException(Naming(path, e.Message), e); }
    }

    static string Naming(string path, string message) =>
        message.Contains(path, StringComparison.Ordinal) ? message : $"{path}: {message}";
}
