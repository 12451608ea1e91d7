using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;
using Win7Proc.Offline.Pandalog;

namespace Win7Proc.Offline.Cli;

/// <summary>Up-front checks of the paths a command reads and writes, so that a mistake gets one clear line (and exit
/// code 3) before any work is done, rather than an operating-system message after it.</summary>
public static class CliPaths
{
    /// <summary>Null when <paramref name="path"/> is an existing file; otherwise why not, naming it as <paramref name="what"/>.</summary>
    public static string? InputProblem(string path, string what) =>
        Directory.Exists(path) ? $"{what} is a directory, not a file: {path}"
        : !File.Exists(path) ? $"{what} not found: {path}"
        : null;

    /// <summary>For an input that must be read at random (a plog: its chunk directory is at its end): null when
    /// <paramref name="path"/> is a regular file, else why not. <c>-</c> is stdin, which works when it is redirected
    /// from a file (<c>&lt; x.plog</c>), not from a pipe.</summary>
    public static string? SeekableInputProblem(string path, string what)
    {
        var actual = path == "-" ? "/dev/stdin" : path;
        var kind = OutputPath.KindOf(actual);
        if (kind is FileKind.Regular or FileKind.Unknown) return null;
        if (kind == FileKind.Missing) return path == "-" ? $"{what}: stdin is closed" : $"{what} not found: {path}";
        if (kind == FileKind.Directory) return $"{what} is a directory, not a file: {path}";
        var source = path == "-" ? "stdin" : path;
        return $"{source} is {OutputPath.Describe(kind)}: a {what} cannot be read from it (its chunk directory is at its end, " +
               "so it is read at random): save it to a file and give that";
    }

    /// <summary>One line for a failed file operation, without .NET's wording of internal paths.</summary>
    public static string Reason(Exception e) => e switch
    {
        UnauthorizedAccessException => "permission denied",
        FileNotFoundException => "not found",
        DirectoryNotFoundException => "its directory does not exist",
        _ => FirstLine(e.Message),
    };

    static string FirstLine(string message)
    {
        var line = message.Split('\n', 2)[0].Trim();
        int quote = line.IndexOf(" : '", StringComparison.Ordinal); // .NET appends " : 'path'" to OS errors
        return quote > 0 ? line[..quote] : line;
    }

    /// <summary>Null when a file can be created at <paramref name="path"/> as far as can be told up front (its directory
    /// exists and the path is not itself a directory); otherwise why not.</summary>
    public static string? OutputProblem(string path, string what)
    {
        if (Directory.Exists(path)) return $"{what} is a directory: {path} (give a file name)";
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        return directory is not null && !Directory.Exists(directory) ? $"output directory does not exist: {directory}" : null;
    }
}

/// <summary>Parsers for option values whose default error would name a .NET type ("System.Nullable`1[System.Int32]").</summary>
public static class CliValues
{
    /// <summary>A whole number of type <typeparamref name="T"/> (use as an option's <c>CustomParser</c>); a value that is
    /// not one is a parse error naming the option and the value.</summary>
    public static T Number<T>(ArgumentResult result) where T : struct, IBinaryInteger<T>
    {
        if (result.Tokens.Count == 0) return default;
        var text = result.Tokens[^1].Value;
        if (T.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)) return value;
        var name = result.Parent is OptionResult option ? option.Option.Name : result.Argument.Name;
        result.AddError($"{name}: '{text}' is not a whole number, or is out of range");
        return default;
    }
}
