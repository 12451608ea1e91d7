using Google.Protobuf;
using Win7Proc.Offline.Analyzer;
using Win7Proc.Offline.Pandalog;
using Win7Proc.Offline.Trace;

namespace Win7Proc.Offline.Procstory;

public enum StoryInputKind
{
    /// <summary>A finished pandalog (u32 version 2 at offset 0).</summary>
    Plog,
    /// <summary>A pandalog still being written by the analyzer (<c>OUT.plog.&lt;pid&gt;-&lt;random&gt;.partial</c>: header still zero).</summary>
    PartialPlog,
    /// <summary>A win7rec trace (an LZ4 frame: <c>04 22 4D 18</c>).</summary>
    Trace,
}

/// <summary>One reading of the input: the story so far, and whether the input was complete.</summary>
public sealed record StorySnapshot(ProcessStory Story, bool Complete, string? IncompleteReason);

/// <summary>The input is neither a pandalog nor a trace, or is damaged. The message names the file and the problem.</summary>
public sealed class StoryInputException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Reads a story from a plog (ours or PANDA's), a plog still being written, or a trace.</summary>
public static class StoryInput
{
    public const string PartialSuffix = ".partial";

    /// <summary>
    /// Which file to read for <paramref name="path"/> now: the file itself if it exists; else, for <c>X.plog</c>, the
    /// analyzer's in-progress file (<c>X.plog.&lt;pid&gt;-&lt;random&gt;.partial</c>, unique per run; the newest if
    /// several runs write X.plog at once; or an older analyzer's <c>X.plog.partial</c>); for an in-progress name that no
    /// longer exists, the renamed <c>X.plog</c>. Null if none exists.
    /// </summary>
    public static string? Locate(string path)
    {
        if (File.Exists(path)) return path;
        if (path.EndsWith(PartialSuffix, StringComparison.Ordinal))
        {
            var finished = FinishedName(path);
            return File.Exists(finished) ? finished : null;
        }
        return NewestPartial(path);
    }

    /// <summary><c>X.&lt;pid&gt;-&lt;hex&gt;.partial</c> or <c>X.partial</c> → <c>X</c>.</summary>
    public static string FinishedName(string partialPath)
    {
        var stem = partialPath[..^PartialSuffix.Length];
        var dot = stem.LastIndexOf('.');
        return dot > 0 && IsRunTag(stem.AsSpan(dot + 1)) ? stem[..dot] : stem;
    }

    /// <summary>The writer's per-run tag: decimal pid, '-', 8 hex digits.</summary>
    static bool IsRunTag(ReadOnlySpan<char> tag)
    {
        int dash = tag.IndexOf('-');
        return dash > 0 && tag.Length - dash - 1 == 8
            && tag[..dash].ContainsAnyExceptInRange('0', '9') == false
            && !tag[(dash + 1)..].ContainsAnyExcept("0123456789abcdef");
    }

    static string? NewestPartial(string path)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full);
        if (directory is null || !Directory.Exists(directory)) return null;
        var name = Path.GetFileName(full);
        string? newest = null;
        var newestTime = DateTime.MinValue;
        foreach (var candidate in Directory.EnumerateFiles(directory, name + ".*" + PartialSuffix))
        {
            if (!string.Equals(FinishedName(candidate), full, StringComparison.Ordinal)) continue;
            var time = File.GetLastWriteTimeUtc(candidate);
            if (newest is null || time > newestTime) (newest, newestTime) = (candidate, time);
        }
        if (newest is not null) return newest;
        return File.Exists(path + PartialSuffix) ? path + PartialSuffix : null;
    }

    /// <summary>The kind of an existing file, by its first bytes (a <c>.partial</c> name means a plog being written).</summary>
    /// <exception cref="StoryInputException">neither a plog nor a trace</exception>
    /// <exception cref="IOException">unreadable</exception>
    public static StoryInputKind Detect(string path)
    {
        switch (Reports.ReportInput.LooksLikeTrace(path))
        {
            case true: return StoryInputKind.Trace;
            case false: return StoryInputKind.Plog;
        }
        if (path.EndsWith(PartialSuffix, StringComparison.Ordinal)) return StoryInputKind.PartialPlog;
        throw new StoryInputException($"{path} is neither a pandalog (u32 version 2) nor a trace (LZ4 frame 04 22 4D 18)");
    }

    /// <summary>Reads the story of <paramref name="path"/> (located with <see cref="Locate"/>).</summary>
    /// <exception cref="FileNotFoundException">neither the file nor its partial/finished counterpart exists</exception>
    /// <exception cref="StoryInputException">not a plog or trace, or damaged</exception>
    /// <exception cref="IOException">unreadable</exception>
    public static StorySnapshot Read(string path, ProcessStoryOptions? options = null, CancellationToken ct = default)
    {
        var actual = Locate(path) ?? throw new FileNotFoundException($"no such file: {path}", path);
        try
        {
            return Detect(actual) switch
            {
                StoryInputKind.Plog => ReadPlog(actual, options),
                StoryInputKind.PartialPlog => ReadPartialPlog(actual, options),
                _ => ReadTrace(actual, options, ct),
            };
        }
        catch (PandalogFormatException e)
        {
            throw new StoryInputException(Naming(actual, e.Message), e);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new StoryInputException($"{actual}: damaged entry: {e.Message}", e);
        }
        catch (TraceFormatException e)
        {
            throw new StoryInputException(Naming(actual, e.Message), e);
        }
    }

    /// <summary>The readers' messages usually name the file already.</summary>
    static string Naming(string path, string message) =>
        message.Contains(path, StringComparison.Ordinal) ? message : $"{path}: {message}";

    static StorySnapshot ReadPlog(string path, ProcessStoryOptions? options)
    {
        using var reader = PandalogReader.Open(path);
        // Most entries are file and registry calls: the builder parses only the kinds the story reads.
        return new StorySnapshot(ProcessStory.Build(reader.ReadRecords(), options), Complete: true, null);
    }

    static StorySnapshot ReadPartialPlog(string path, ProcessStoryOptions? options) =>
        new(ProcessStory.Build(PandalogReader.ReadCompleteChunks(path), options), Complete: false,
            $"{path} is still being written: its complete chunks were shown");

    /// <summary>Runs the analyzer's process handlers only: the entries procstory needs, nothing written to disk.</summary>
    static StorySnapshot ReadTrace(string path, ProcessStoryOptions? options, CancellationToken ct)
    {
        var builder = new ProcessStoryBuilder(options);
        var analysis = new AnalyzerOptions { Only = new HashSet<SyscallFamily> { SyscallFamily.Processes } };
        var report = TraceAnalyzer.Analyze(path, analysis, builder.Add, ct: ct);
        var truncated = report.Truncation is { } truncation ? $"{Naming(path, truncation.Reason)} (every complete record was used)" : null;
        return new StorySnapshot(builder.Build(), truncated is null, truncated);
    }
}
