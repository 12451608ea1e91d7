using System.Runtime.CompilerServices;
using System.Text;
using Xunit.Sdk;

namespace Win7Proc.Offline.Testing;

/// <summary>
/// Golden-file assertions following Verify's conventions: the reviewed expectation is committed as
/// <c>Name.verified.ext</c> beside the test source; on mismatch the actual output is written to
/// <c>Name.received.ext</c> (git-ignored) and the assertion fails with a line diff.
/// Set <c>WIN7PROC_ACCEPT=1</c> to accept received output as verified (then review the git diff).
/// </summary>
public static class Golden
{
    public const string AcceptVariable = "WIN7PROC_ACCEPT";

    public static void Verify(string actual, string name, string extension = "txt",
        [CallerFilePath] string callerFile = "")
    {
        var dir = Path.Combine(Path.GetDirectoryName(callerFile)!, "golden");
        Directory.CreateDirectory(dir);
        var verified = Path.Combine(dir, $"{name}.verified.{extension}");
        var received = Path.Combine(dir, $"{name}.received.{extension}");
        actual = Normalize(actual);

        if (Environment.GetEnvironmentVariable(AcceptVariable) == "1")
        {
            File.WriteAllText(verified, actual, new UTF8Encoding(false));
            if (File.Exists(received)) File.Delete(received);
            return;
        }

        var expected = File.Exists(verified) ? Normalize(File.ReadAllText(verified)) : null;
        if (expected == actual)
        {
            if (File.Exists(received)) File.Delete(received);
            return;
        }

        File.WriteAllText(received, actual, new UTF8Encoding(false));
        var message = expected is null
            ? $"No verified file {verified}.\nReview {received} and rename it to .verified.{extension} (or run with {AcceptVariable}=1)."
            : $"Golden mismatch for {name}.\nverified: {verified}\nreceived: {received}\n{Diff(expected, actual)}\n(accept with {AcceptVariable}=1 after review)";
        throw new XunitException(message);
    }

    static string Normalize(string s) => s.Replace("\r\n", "\n");

    /// <summary>A short line diff: the first differing lines with context, '-' verified, '+' received.</summary>
    public static string Diff(string expected, string actual, int maxLines = 40)
    {
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        var sb = new StringBuilder();
        int shown = 0;
        for (int i = 0; i < Math.Max(e.Length, a.Length) && shown < maxLines; i++)
        {
            var el = i < e.Length ? e[i] : null;
            var al = i < a.Length ? a[i] : null;
            if (el == al) continue;
            sb.Append("@@ line ").Append(i + 1).Append('\n');
            if (el is not null) sb.Append("- ").Append(el).Append('\n');
            if (al is not null) sb.Append("+ ").Append(al).Append('\n');
            shown += 2;
        }
        if (shown >= maxLines) sb.Append("... (more differences)\n");
        return sb.ToString();
    }
}

/// <summary>Paths inside the repository, found from the test assembly's location.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    static string FindRoot()
    {
        var baked = typeof(RepoPaths).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "RepoRoot")?.Value;
        if (baked is not null && File.Exists(Path.Combine(baked, "Win7Proc.Offline.sln")))
            return Path.GetFullPath(baked);
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Win7Proc.Offline.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root (Win7Proc.Offline.sln) not found");
    }

    public static string Samples => Path.Combine(Root, "samples");
    public static string TraceFormat => Path.Combine(Root, "tracefmt");
    /// <summary>Copies, committed in the repository, of the files from the project's shared reference folder that tests
    /// read (the seed document, ...), laid out as there: tests never read anything outside the repository, so the
    /// suite passes in a plain clone.</summary>
    public static string ReferenceData => Path.Combine(Root, "tests", "data", "shared");
}
