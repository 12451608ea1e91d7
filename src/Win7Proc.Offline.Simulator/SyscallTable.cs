using System.Reflection;

namespace Win7Proc.Offline.Simulator;

/// <summary>The Windows 7 SP1 x86 system call table (tracefmt/windows-7-x86-syscalls.tsv, embedded): name → number and
/// argument count.</summary>
public static class SyscallTable
{
    public readonly record struct Entry(uint Number, string Name, int ArgCount);

    static readonly Dictionary<string, Entry> s_byName = Load();

    static Dictionary<string, Entry> Load()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Simulator.windows-7-x86-syscalls.tsv")
            ?? throw new InvalidOperationException("embedded syscall table missing");
        using var reader = new StreamReader(stream);
        var table = new Dictionary<string, Entry>(StringComparer.Ordinal);
        reader.ReadLine(); // column header
        while (reader.ReadLine() is { } line)
        {
            var cols = line.Split('\t');
            if (cols.Length < 2 || !uint.TryParse(cols[0], out var number)) continue;
            var args = cols.Length > 2 && cols[2].Trim().Length > 0 ? cols[2].Split(';').Length : 0;
            table[cols[1]] = new Entry(number, cols[1], args);
        }
        return table;
    }

    public static bool TryGet(string name, out Entry entry) => s_byName.TryGetValue(name, out entry);

    public static Entry Get(string name) =>
        s_byName.TryGetValue(name, out var e) ? e : throw new InvalidOperationException($"{name} is not in the Windows 7 syscall table");
}
