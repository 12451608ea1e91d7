using System.Text.RegularExpressions;

namespace Win7Proc.Offline.Reports;

/// <summary>
/// <c>--hide-system</c>: activity every Windows 7 boot shows, as an editable file of patterns. Format (one pattern a
/// line; <c>#</c> starts a comment; blank lines ignored):
/// <code>
/// [process]   image paths (C:\...) of processes whose own activity is hidden
/// [file]      file paths as Procmon shows them (C:\...)
/// [registry]  key paths as Procmon shows them (HKLM\..., HKU\...), value names included for value operations
/// </code>
/// Each pattern is a .NET regular expression searched case-insensitively (not anchored: use ^ and $), as Noriben's
/// approvelists are. A bad pattern is an error naming the file and line.
/// </summary>
public sealed class SystemPatterns
{
    /// <summary>Bounds on a pattern file (it is user input, but may come from anywhere).</summary>
    public const int MaxPatterns = 10_000, MaxPatternLength = 1_000;
    static readonly TimeSpan s_matchTimeout = TimeSpan.FromMilliseconds(100);

    readonly List<Regex> _processes = new(), _files = new(), _keys = new();

    public int Count => _processes.Count + _files.Count + _keys.Count;

    /// <summary>The patterns shipped with the tool (src/Win7Proc.Offline.Reports/hide-system.patterns).</summary>
    public static SystemPatterns BuiltIn()
    {
        using var stream = typeof(SystemPatterns).Assembly.GetManifestResourceStream("hide-system.patterns")
            ?? throw new InvalidOperationException("hide-system.patterns is not embedded");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd(), "hide-system.patterns (built in)");
    }

    /// <exception cref="FormatException">a line that is not a section or a valid pattern (message names file and line)</exception>
    public static SystemPatterns Load(string path) => Parse(File.ReadAllText(path), path);

    public static SystemPatterns Parse(string text, string source)
    {
        var patterns = new SystemPatterns();
        List<Regex>? section = null;
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r').Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            string where = $"{source}:{i + 1}";
            if (line.StartsWith('[') && line.EndsWith(']'))
            {
                section = line[1..^1].Trim().ToLowerInvariant() switch
                {
                    "process" => patterns._processes,
                    "file" => patterns._files,
                    "registry" => patterns._keys,
                    var other => throw new FormatException($"{where}: unknown section [{other}] (process, file or registry)"),
                };
                continue;
            }
            if (section is null) throw new FormatException($"{where}: a pattern before any [process], [file] or [registry] section");
            if (line.Length > MaxPatternLength) throw new FormatException($"{where}: pattern longer than {MaxPatternLength} characters");
            if (patterns.Count >= MaxPatterns) throw new FormatException($"{where}: more than {MaxPatterns} patterns");
            try
            {
                section.Add(new Regex(line, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, s_matchTimeout));
            }
            catch (ArgumentException e)
            {
                throw new FormatException($"{where}: not a regular expression: {e.Message}");
            }
        }
        return patterns;
    }

    public bool HidesProcess(string? imagePath) => Matches(_processes, imagePath);
    public bool HidesFile(string? path) => Matches(_files, path);
    public bool HidesKey(string? path) => Matches(_keys, path);

    static bool Matches(List<Regex> patterns, string? text)
    {
        if (string.IsNullOrEmpty(text)) return false;
        foreach (var pattern in patterns)
        {
            try { if (pattern.IsMatch(text)) return true; }
            catch (RegexMatchTimeoutException) { } // a pattern too slow on guest text hides nothing
        }
        return false;
    }
}
