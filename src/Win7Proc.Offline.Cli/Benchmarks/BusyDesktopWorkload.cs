using System.Globalization;
using System.Text;

namespace Win7Proc.Offline.Cli.Benchmarks;

/// <summary>
/// The busy-desktop workload of the scale issue (issue 12), as a scenario (samples/README.md format): six processes,
/// each holding at most <see cref="MaxOpen"/> open keys and files; per call, with a 5% chance of switching to another
/// process first: 25% open a key, 25% query a value, 10% close a key, 10% create a file, 10% write 0–199 bytes to an
/// open file, 5% read one, 5% close one, 10% NtYieldExecution. A call that needs an open handle when there is none
/// opens one instead; an open at the limit closes one instead. Deterministic for a given seed.
/// </summary>
public static class BusyDesktopWorkload
{
    public const int Processes = 6;
    public const int MaxOpen = 50;

    /// <summary>The scenario JSON of exactly <paramref name="calls"/> system calls.</summary>
    public static string Build(int calls, int seed = 12)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(calls);
        var c = CultureInfo.InvariantCulture;
        var random = new Random(seed);
        var pids = new uint[Processes];
        for (int p = 0; p < Processes; p++) pids[p] = 1200u + 4u * (uint)p * 37u;
        var sb = new StringBuilder(capacity: 64 + calls * 150);
        sb.Append("{\"format\":1,\"name\":\"busy-desktop\",\"processes\":[");
        for (int p = 0; p < Processes; p++)
        {
            if (p > 0) sb.Append(',');
            sb.Append(c, $"{{\"pid\":{pids[p]},\"ppid\":396,\"image\":\"C:\\\\Program Files\\\\Busy\\\\app{p}.exe\",\"cmdline\":\"app{p}.exe -busy\",")
              .Append("\"handles\":[{\"as\":\"hklm\",\"key\":\"\\\\REGISTRY\\\\MACHINE\"}]}");
        }
        sb.Append("],\"events\":[");

        // Per process: which key / file handle names are open (names are reused after a close).
        var openKeys = new List<int>[Processes];
        var openFiles = new List<int>[Processes];
        var freeKeys = new Stack<int>[Processes];
        var freeFiles = new Stack<int>[Processes];
        for (int p = 0; p < Processes; p++)
        {
            openKeys[p] = []; openFiles[p] = [];
            freeKeys[p] = new Stack<int>(Enumerable.Range(0, MaxOpen).Reverse());
            freeFiles[p] = new Stack<int>(Enumerable.Range(0, MaxOpen).Reverse());
        }

        ulong instr = 10_000;
        int current = 0;
        for (int call = 0; call < calls; call++)
        {
            if (random.Next(100) < 5) current = (current + 1 + random.Next(Processes - 1)) % Processes;
            if (call > 0) sb.Append(',');
            sb.Append(c, $"{{\"instr\":{instr},\"pid\":{pids[current]},");
            instr += 1000;
            var keys = openKeys[current];
            var files = openFiles[current];
            int roll = random.Next(100);
            string op = roll switch
            {
                < 25 => "open_key", < 50 => "query", < 60 => "close_key", < 70 => "create_file", < 80 => "write",
                < 85 => "read", < 90 => "close_file", _ => "yield",
            };
            if (op is "query" or "close_key" && keys.Count == 0) op = "open_key";
            if (op is "write" or "read" or "close_file" && files.Count == 0) op = "create_file";
            if (op == "open_key" && keys.Count >= MaxOpen) op = "close_key";
            if (op == "create_file" && files.Count >= MaxOpen) op = "close_file";
            switch (op)
            {
                case "open_key":
                {
                    int k = freeKeys[current].Pop();
                    keys.Add(k);
                    sb.Append(c, $"\"op\":\"open_key\",\"root\":\"hklm\",\"path\":\"SOFTWARE\\\\Vendor{random.Next(40)}\\\\Product{random.Next(25)}\\\\Settings\",\"as\":\"k{k}\"");
                    break;
                }
                case "query":
                    sb.Append(c, $"\"op\":\"query_value_key\",\"handle\":\"k{keys[random.Next(keys.Count)]}\",\"value\":\"Value{random.Next(30)}\"");
                    break;
                case "close_key":
                {
                    int i = random.Next(keys.Count);
                    int k = keys[i];
                    keys.RemoveAt(i);
                    freeKeys[current].Push(k);
                    sb.Append(c, $"\"op\":\"close\",\"handle\":\"k{k}\"");
                    break;
                }
                case "create_file":
                {
                    int f = freeFiles[current].Pop();
                    files.Add(f);
                    sb.Append(c, $"\"op\":\"create_file\",\"path\":\"\\\\??\\\\C:\\\\Users\\\\bob\\\\AppData\\\\Local\\\\Busy{current}\\\\file{random.Next(500)}.dat\",\"as\":\"f{f}\"");
                    break;
                }
                case "write":
                {
                    int length = random.Next(200);
                    sb.Append(c, $"\"op\":\"write_file\",\"handle\":\"f{files[random.Next(files.Count)]}\",\"data\":\"");
                    for (int i = 0; i < length; i++) sb.Append((char)('a' + random.Next(26)));
                    sb.Append('"');
                    break;
                }
                case "read":
                    sb.Append(c, $"\"op\":\"read_file\",\"handle\":\"f{files[random.Next(files.Count)]}\",\"size\":{64 + random.Next(1024)}");
                    break;
                case "close_file":
                {
                    int i = random.Next(files.Count);
                    int f = files[i];
                    files.RemoveAt(i);
                    freeFiles[current].Push(f);
                    sb.Append(c, $"\"op\":\"close\",\"handle\":\"f{f}\"");
                    break;
                }
                default:
                    sb.Append("\"op\":\"syscall\",\"name\":\"NtYieldExecution\"");
                    break;
            }
            sb.Append('}');
        }
        sb.Append(c, $"],\"total_instr\":{instr + 1000}}}");
        return sb.ToString();
    }
}
