using System.Collections.Frozen;

namespace Win7Proc.Offline.Trace;

/// <summary>One argument of a system call as the table declares it (Windows type and parameter name).</summary>
public sealed record SyscallArg(string Type, string Name)
{
    // Enumeration types whose names happen to start with 'P' but are passed by value.
    static readonly FrozenSet<string> ValueTypesStartingWithP = FrozenSet.ToFrozenSet(
    [
        "PROCESSINFOCLASS", "PORT_INFORMATION_CLASS", "PLUGPLAY_CONTROL_CLASS", "POWER_ACTION", "POWER_INFORMATION_LEVEL",
    ]);

    public bool IsHandle => Type == "HANDLE";
    /// <summary>A pointer argument (P- or LP-prefixed Windows type, e.g. PHANDLE, PUNICODE_STRING, PVOID, LPGUID).</summary>
    public bool IsPointer => Type.StartsWith("LP", StringComparison.Ordinal)
        || (Type.StartsWith('P') && !ValueTypesStartingWithP.Contains(Type));

    public override string ToString() => $"{Type} {Name}";
}

public sealed record SyscallInfo(uint Number, string Name, IReadOnlyList<SyscallArg> Args)
{
    /// <summary>The index of the argument called <paramref name="argName"/>, or -1.</summary>
    public int ArgIndex(string argName)
    {
        for (int i = 0; i < Args.Count; i++)
            if (Args[i].Name == argName) return i;
        return -1;
    }
}

/// <summary>
/// The Windows 7 SP1 x86 system call table (tracefmt/windows-7-x86-syscalls.tsv, embedded): numbers, names and
/// argument lists. Lines are <c>number TAB name TAB "TYPE Name; TYPE Name; …"</c> after one header line.
/// </summary>
public sealed class SyscallTable
{
    const string ResourceName = "windows-7-x86-syscalls.tsv";
    static readonly Lazy<SyscallTable> LazyWindows7X86 = new(() => Load(ResourceName));

    readonly SyscallInfo?[] _byNumber;
    readonly FrozenDictionary<string, SyscallInfo> _byName;

    public static SyscallTable Windows7X86 => LazyWindows7X86.Value;

    public IReadOnlyList<SyscallInfo> All { get; }

    SyscallTable(IReadOnlyList<SyscallInfo> all)
    {
        All = all;
        _byNumber = new SyscallInfo?[all.Count == 0 ? 0 : all.Max(s => s.Number) + 1];
        foreach (var s in all) _byNumber[s.Number] = s;
        _byName = all.ToFrozenDictionary(s => s.Name, StringComparer.Ordinal);
    }

    public SyscallInfo? ByNumber(uint number) => number < (uint)_byNumber.Length ? _byNumber[number] : null;
    public SyscallInfo? ByName(string name) => _byName.GetValueOrDefault(name);

    /// <summary>The name of <paramref name="number"/>, or <c>syscall_0x…</c> for a number not in the table.</summary>
    public string NameOf(uint number) => ByNumber(number)?.Name ?? $"syscall_0x{number:x}";

    /// <summary>Parses a table in the TSV layout (used for the embedded table; public for tests).</summary>
    public static SyscallTable Parse(TextReader reader)
    {
        var list = new List<SyscallInfo>();
        var seenNumbers = new HashSet<uint>();
        var seenNames = new HashSet<string>(StringComparer.Ordinal);
        int lineNo = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNo++;
            if (lineNo == 1 || line.Length == 0) continue; // header line
            var cols = line.Split('\t');
            if (cols.Length < 2 || !uint.TryParse(cols[0], out var number) || cols[1].Length == 0)
                throw new FormatException($"syscall table line {lineNo}: expected 'number<TAB>name<TAB>args'");
            if (!seenNumbers.Add(number) || !seenNames.Add(cols[1]))
                throw new FormatException($"syscall table line {lineNo}: duplicate number or name");
            var args = new List<SyscallArg>();
            if (cols.Length > 2)
            {
                foreach (var part in cols[2].Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                {
                    int space = part.LastIndexOf(' ');
                    if (space <= 0) throw new FormatException($"syscall table line {lineNo}: argument '{part}' is not 'TYPE Name'");
                    args.Add(new SyscallArg(part[..space].Trim(), part[(space + 1)..]));
                }
            }
            list.Add(new SyscallInfo(number, cols[1], args));
        }
        list.Sort((a, b) => a.Number.CompareTo(b.Number));
        return new SyscallTable(list);
    }

    static SyscallTable Load(string resource)
    {
        using var stream = typeof(SyscallTable).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"embedded resource {resource} is missing from the Trace assembly");
        using var reader = new StreamReader(stream);
        return Parse(reader);
    }
}
