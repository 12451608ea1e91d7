using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;

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
