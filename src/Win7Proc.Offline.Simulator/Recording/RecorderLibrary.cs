using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Win7Proc.Offline.Simulator.Recording;

/// <summary>libw7rec.so (the C recorder core) cannot be loaded. The message is one line: what is missing and the
/// command that fixes it. A <see cref="DllNotFoundException"/>, so callers that catch that keep working.</summary>
public sealed class RecorderUnavailableException(string message, Exception? inner = null) : DllNotFoundException(message, inner);

/// <summary>
/// Finds and loads libw7rec.so before the first P/Invoke, so that a missing library (a build without cmake or
/// liblz4's headers) or a missing dependency of it (the system's liblz4.so.1) is reported in one line instead of the
/// runtime's eight lines of probing paths.
/// </summary>
public static partial class RecorderLibrary
{
    /// <summary>The name the P/Invoke declarations use (<c>[DllImport("w7rec")]</c> probes <c>libw7rec.so</c>).</summary>
    public const string Name = "w7rec";
    public const string FileName = "libw7rec.so";
    public const string BuildFix = "apt-get install cmake gcc liblz4-dev libxxhash-dev, then rebuild (dotnet build src/Win7Proc.Offline.Cli)";

    static readonly Lazy<string?> s_problem = new(FindProblem, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Null when the library loads; else the one-line reason (also the message of <see cref="EnsureLoaded"/>).</summary>
    public static string? Problem => s_problem.Value;

    /// <exception cref="RecorderUnavailableException">the library or one of its dependencies cannot be loaded</exception>
    public static void EnsureLoaded()
    {
        if (Problem is { } problem) throw new RecorderUnavailableException(problem);
    }

    static string? FindProblem()
    {
        var assembly = typeof(RecorderLibrary).Assembly;
        if (NativeLibrary.TryLoad(Name, assembly, null, out _)) return null;
        var besideUs = Path.Combine(AppContext.BaseDirectory, FileName);
        if (!File.Exists(besideUs))
            return $"simulate needs the C recorder core {FileName}, which this build does not have ({FileName} is built only " +
                   $"where cmake and liblz4's headers are present): {BuildFix}";
        try
        {
            NativeLibrary.Free(NativeLibrary.Load(besideUs));
            return null; // loads by full path: the probing above was the problem; the P/Invokes probe the same folder
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            // dlerror's text names a missing dependency as "liblz4.so.1: cannot open shared object file".
            var missing = MissingObject().Match(e.Message);
            if (missing.Success)
                return $"{besideUs} cannot be loaded: its dependency {missing.Groups[1].Value} is missing " +
                       $"({FixFor(missing.Groups[1].Value)})";
            var firstLine = e.Message.Split('\n', 2)[0].Trim();
            return $"{besideUs} cannot be loaded ({firstLine}): rebuild it on this machine: {BuildFix}";
        }
    }

    static string FixFor(string soname) =>
        soname.StartsWith("liblz4.", StringComparison.Ordinal) ? "Debian: apt-get install liblz4-1" : "install the package that provides it";

    [GeneratedRegex(@"([A-Za-z0-9_.+-]+\.so[.0-9]*): cannot open shared object file")]
    private static partial Regex MissingObject();
}
