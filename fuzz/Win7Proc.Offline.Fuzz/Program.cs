using System.Globalization;

namespace Win7Proc.Offline.Fuzz;

/// <summary>
/// w7fuzz: the hostile-input campaign of docs/robustness.md.
///   mutate --target trace|plog|scenario [--count N] [--seed S] [--stride N] [--no-systematic] [--child] [--timeout S] [--save DIR]
///   replay [--corpus DIR] [--child]         every corpus input through its target's contract
///   bounds [--full] [--only TEXT]                       peak memory of crafted inputs against the documented bounds (child processes)
///   afl TARGET | libfuzzer TARGET           SharpFuzz entry points (coverage-guided; fuzz/sharpfuzz.sh)
///   cli ARGS... | cli-hwm ARGS...           the CLI itself (cli-hwm prints the process's VmHWM as it exits)
/// Closing line: "N passed, N failed"; exit status 1 when anything failed.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 0) { Console.Error.WriteLine("usage: w7fuzz mutate|replay|bounds|afl|libfuzzer|cli|cli-hwm ..."); return 2; }
        switch (args[0])
        {
            case "cli": return Cli.Program.Main(args[1..]);
            case "cli-hwm":
                int exit = Cli.Program.Main(args[1..]);
                Console.Error.WriteLine($"w7fuzz: VmHWM {Bounds.VmHwmKb()} kB");
                return exit;
            case "afl": SharpFuzzTargets.Afl(args[1]); return 0;
            case "libfuzzer": SharpFuzzTargets.LibFuzzer(args[1]); return 0;
        }
        var options = Options.Parse(args[1..]);
        if (!options.Child && args[0] is "mutate" or "replay") QuietStdout.Redirect();
        string scratch = Directory.CreateTempSubdirectory("w7fuzz-").FullName;
        var tally = new Tally();
        var harness = new Harness(options.Child, TimeSpan.FromSeconds(options.TimeoutSeconds));
        try
        {
            switch (args[0])
            {
                case "mutate":
                    foreach (var target in options.Targets)
                    {
                        var samples = Campaign.Samples(target, options.Samples, options.Corpus).ToList();
                        Campaign.Mutate(target, samples, options.Count, options.Seed, options.Stride, options.Systematic, harness, scratch, options.Save, tally);
                    }
                    break;
                case "replay": Campaign.Replay(options.Corpus, harness, scratch, tally); break;
                case "bounds": Bounds.Run(scratch, options.Full, options.Only, TimeSpan.FromSeconds(Math.Max(options.TimeoutSeconds, 600)), tally); break;
                default: Console.Error.WriteLine($"w7fuzz: unknown command {args[0]}"); return 2;
            }
        }
        finally { try { Directory.Delete(scratch, recursive: true); } catch (IOException) { } }
        Console.WriteLine($"{tally.Passed} passed, {tally.Failed} failed");
        return tally.Failed == 0 ? 0 : 1;
    }

    sealed class Options
    {
        public List<string> Targets = [];
        public int Count = 200, Seed = 1, Stride = 64, TimeoutSeconds = 30;
        public bool Systematic = true, Child, Full;
        public string Samples = "samples", Corpus = "fuzz/corpus";
        public string? Save, Only;

        public static Options Parse(string[] args)
        {
            var o = new Options();
            for (int i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                int Number() => int.Parse(Next(), CultureInfo.InvariantCulture);
                switch (args[i])
                {
                    case "--target": o.Targets.AddRange(Next().Split(',')); break;
                    case "--count": o.Count = Number(); break;
                    case "--seed": o.Seed = Number(); break;
                    case "--stride": o.Stride = Number(); break;
                    case "--timeout": o.TimeoutSeconds = Number(); break;
                    case "--no-systematic": o.Systematic = false; break;
                    case "--child": o.Child = true; break;
                    case "--full": o.Full = true; break;
                    case "--samples": o.Samples = Next(); break;
                    case "--corpus": o.Corpus = Next(); break;
                    case "--save": o.Save = Next(); break;
                    case "--only": o.Only = Next(); break;
                    default: throw new ArgumentException($"unknown option {args[i]}");
                }
            }
            if (o.Targets.Count == 0) o.Targets.AddRange(Fuzz.Targets.Names);
            return o;
        }
    }
}
