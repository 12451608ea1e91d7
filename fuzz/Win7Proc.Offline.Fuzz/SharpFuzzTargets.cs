namespace Win7Proc.Offline.Fuzz;

/// <summary>
/// Coverage-guided entry points for SharpFuzz (afl-fuzz with the instrumented assemblies, or libFuzzer via
/// libfuzzer-dotnet): each input runs through <see cref="Targets.Run"/> in this process; a broken contract (crash,
/// stack trace, undocumented exit code, stray file) is thrown, which the fuzzer records as a crash.
/// </summary>
static class SharpFuzzTargets
{
    static readonly string Scratch = Directory.CreateTempSubdirectory("w7fuzz-sf-").FullName;
    static readonly Harness InProcess = new(child: false, TimeSpan.FromSeconds(60));

    static void One(string target, byte[] input)
    {
        var verdict = Targets.Run(target, input, InProcess, Scratch);
        if (verdict.Problem is not null) throw new ContractBrokenException($"{target}: {verdict.Problem}");
    }

    public static void Afl(string target) =>
        SharpFuzz.Fuzzer.OutOfProcess.Run(stream =>
        {
            var ms = new MemoryStream();
            stream.CopyTo(ms);
            One(target, ms.ToArray());
        });

    public static void LibFuzzer(string target) => SharpFuzz.Fuzzer.LibFuzzer.Run(span => One(target, span.ToArray()));
}

sealed class ContractBrokenException(string message) : Exception(message);
