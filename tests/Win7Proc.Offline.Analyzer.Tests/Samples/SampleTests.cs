using Win7Proc.Offline.Pandalog;
using Win7Proc.Offline.Pandalog.Schema;
using Win7Proc.Offline.Testing;

namespace Win7Proc.Offline.Analyzer.Tests.Samples;

/// <summary>
/// Every committed sample: analyse samples/NAME/trace.lz4 into a plog, read it back, and check it against the facts
/// derived from samples/NAME/scenario.json by <see cref="ScenarioFacts"/> (not by the analyzer or the simulator);
/// then compare its dump with the reviewed golden files.
/// </summary>
public class SampleTests
{
    public static TheoryData<string> Samples()
    {
        var data = new TheoryData<string>();
        if (Directory.Exists(RepoPaths.Samples))
            foreach (var dir in Directory.GetDirectories(RepoPaths.Samples).OrderBy(d => d, StringComparer.Ordinal))
                if (File.Exists(Path.Combine(dir, "scenario.json")) && File.Exists(Path.Combine(dir, "trace.lz4")))
                    data.Add(Path.GetFileName(dir));
        return data;
    }

    static readonly Dictionary<string, (AnalysisReport Report, List<LogEntry> Entries, string PlogPath)> Cache = new();
    static readonly object CacheLock = new();

    /// <summary>Analyses a sample once per test run (several tests look at the same plog).</summary>
    internal static (AnalysisReport Report, List<LogEntry> Entries, string PlogPath) Analyse(string sample)
    {
        lock (CacheLock)
        {
            if (Cache.TryGetValue(sample, out var cached)) return cached;
            var plog = Path.Combine(Path.GetTempPath(), $"w7-sample-{sample}-{Environment.ProcessId}.plog");
            var report = TraceAnalyzer.AnalyzeToPandalog(Path.Combine(RepoPaths.Samples, sample, "trace.lz4"), plog, new AnalyzerOptions());
            using var reader = PandalogReader.Open(plog);
            var result = (report, reader.ReadAll().ToList(), plog);
            Cache[sample] = result;
            return result;
        }
    }

    static readonly HashSet<string> MetaFields = ["asid", "nt_status", "call_succeeded", "tid", "syscall_name"];

    static string KindOf(LogEntry e) => PlogEntries.Kinds(e).First(k => !MetaFields.Contains(k));

    static bool SameName(string? expected, string? actual) =>
        expected is not null && actual is not null
        && string.Equals(ScenarioFacts.Canonical(expected), ScenarioFacts.Canonical(actual), StringComparison.OrdinalIgnoreCase);

    /// <summary>The names an entry carries (object name, second name), and the other process it is about.</summary>
    static (string? Name, string? Second, uint? Target, LogEntry Entry) View(LogEntry e)
    {
        ProcessFile? file = e.NtCreateFile ?? e.NtOpenFile ?? e.NtReadFile ?? e.NtWriteFile ?? e.NtDeleteFile;
        if (file is not null) return (file.Filename, null, null, e);
        if (e.NtSetInformationFile is { } rename) return (rename.OrigFilename, rename.NewFilename, null, e);
        if (e.FileDisposition is { } disposition) return (disposition.Filename, null, null, e);
        ProcessKey? key = e.NtCreateKey ?? e.NtOpenKey ?? e.NtOpenKeyEx ?? e.NtCreateKeyTransacted ?? e.NtOpenKeyTransacted
            ?? e.NtOpenKeyTransactedEx ?? e.NtDeleteKey ?? e.NtQueryKey;
        if (key is not null) return (key.Keyname, null, null, e);
        ProcessKeyValue? value = e.NtQueryValueKey ?? e.NtDeleteValueKey ?? e.NtSetValueKey;
        if (value is not null) return (value.Pk.Keyname, value.ValueName, null, e);
        ProcessKeyIndex? index = e.NtEnumerateKey ?? e.NtEnumerateValueKey;
        if (index is not null) return (index.Pk.Keyname, null, null, e);
        Section? section = e.NtCreateSection ?? e.NtOpenSection;
        if (section is not null) return (section.HasName ? section.Name : null, section.HasFileName ? section.FileName : null, null, e);
        if (e.NtMapViewOfSection is { } map)
            return (map.Section.HasName ? map.Section.Name : map.Section.HasFileName ? map.Section.FileName : null, null, map.Target.Pid, e);
        LocalPortInit? init = e.NtCreatePort ?? e.NtConnectPort ?? e.NtAlpcCreatePort ?? e.NtAlpcConnectPort;
        if (init is not null) return (init.PortName, null, null, e);
        LocalPort? port = e.NtListenPort ?? e.NtAcceptConnectPort ?? e.NtCompleteConnectPort ?? e.NtRequestPort
            ?? e.NtRequestWaitReplyPort ?? e.NtReplyPort ?? e.NtReplyWaitReplyPort ?? e.NtReplyWaitReceivePort
            ?? e.NtImpersonateClientOfPort ?? e.NtAlpcAcceptConnectPort ?? e.NtAlpcSendWaitReceivePort;
        if (port is not null) return (port.HasPortName ? port.PortName : null, null, port.Client?.Pid, e);
        if ((e.NtReadVirtualMemory ?? e.NtWriteVirtualMemory) is { } vm) return (null, null, vm.Target.Pid, e);
        if ((e.NtCreateUserProcess ?? e.NtCreateProcessEx) is { } create) return (create.NewLongName, create.CommandLine, create.NewP.Pid, e);
        if (e.NtTerminateProcess is { } term) return (null, null, term.TermP.Pid, e);
        if (e.NtOpenProcess is { } open) return (null, null, open.Target.Pid, e);
        return (null, null, null, e);
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void The_plog_holds_every_fact_of_the_scenario(string sample)
    {
        var facts = new ScenarioFacts(Path.Combine(RepoPaths.Samples, sample, "scenario.json"));
        var (_, entries, _) = Analyse(sample);
        AssertHoldsEveryFact(sample, facts, entries);
    }

    /// <summary>Each fact has exactly one entry of its kind at its instruction, with the acting process, status and
    /// names the scenario gives.</summary>
    internal static void AssertHoldsEveryFact(string sample, ScenarioFacts facts, List<LogEntry> entries)
    {
        var problems = new List<string>();
        foreach (var expected in facts.Facts)
        {
            var fact = expected;
            var matches = entries.Where(e => e.Instr == fact.Instr && KindOf(e) == fact.Kind).ToList();
            if (matches.Count != 1) { problems.Add($"{fact}: {matches.Count} {fact.Kind} entries at that instr"); continue; }
            var (name, second, target, entry) = View(matches[0]);
            var actor = PlogEntries.ActingProcess(entry);
            if (actor?.Pid != fact.Pid) problems.Add($"{fact}: acting pid {actor?.Pid}");
            // A call whose return is not in the trace (a self-termination, a call killed or still pending when the
            // recording stopped, a return the recorder inferred): its status is unknown and left unset, never guessed.
            if (fact.StatusUnknown ? entry.HasCallSucceeded || entry.HasNtStatus : entry.CallSucceeded != fact.Succeeds)
                problems.Add($"{fact}: call_succeeded {(entry.HasCallSucceeded ? entry.CallSucceeded : "unset")}");
            // Outputs (new handles, created pids) exist only for a call seen to succeed.
            if (fact.StatusUnknown) fact = fact with { TargetPid = fact.Kind == "nt_terminate_process" ? fact.TargetPid : null };
            switch (fact.Kind)
            {
                case "nt_create_user_process":
                    if (fact.Succeeds && fact.TargetPid is not null && target != fact.TargetPid) problems.Add($"{fact}: new pid {target}, expected {fact.TargetPid}");
                    if (fact.Image is not null && !SameName(fact.Image, name)) problems.Add($"{fact}: new_long_name {name}, expected {fact.Image}");
                    if (fact.CommandLine != second) problems.Add($"{fact}: command line [{second}], expected [{fact.CommandLine}]");
                    if (fact.Succeeds && !fact.StatusUnknown && entry.NtCreateUserProcess.NewP.Ppid != fact.Pid) problems.Add($"{fact}: new_p.ppid {entry.NtCreateUserProcess.NewP.Ppid}");
                    break;
                case "nt_create_section" or "nt_open_section":
                    if (fact.Name is not null && !SameName(fact.Name, name)) problems.Add($"{fact}: section name {name}, expected {fact.Name}");
                    if (fact.SecondName is not null && !SameName(fact.SecondName, second)) problems.Add($"{fact}: backing file {second}, expected {fact.SecondName}");
                    break;
                default:
                    if (fact.Name is not null && !SameName(fact.Name, name)) problems.Add($"{fact}: name {name}, expected {fact.Name}");
                    // Value names are compared exactly (the kernel keeps their case).
                    if (fact.SecondName is not null && fact.Kind != "nt_set_information_file" && fact.SecondName != second)
                        problems.Add($"{fact}: value/second name {second}, expected {fact.SecondName}");
                    if (fact.Kind == "nt_set_information_file" && !SameName(fact.SecondName, second))
                        problems.Add($"{fact}: new name {second}, expected {fact.SecondName}");
                    if (fact.TargetPid is uint pid && fact.Succeeds && target != pid) problems.Add($"{fact}: other process {target}, expected {pid}");
                    break;
            }
        }
        Assert.True(problems.Count == 0, $"{sample}: {problems.Count} facts missing or wrong:\n" + string.Join("\n", problems));
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void The_plog_says_nothing_the_scenario_contradicts(string sample)
    {
        var facts = new ScenarioFacts(Path.Combine(RepoPaths.Samples, sample, "scenario.json"));
        var (report, entries, _) = Analyse(sample);
        AssertNothingContradicted(facts, report, entries);
    }

    /// <summary>No entry kind beyond the facts, parents as the scenario says, total_instr, the run report's counts.</summary>
    internal static void AssertNothingContradicted(ScenarioFacts facts, AnalysisReport report, List<LogEntry> entries)
    {
        var counts = entries.Select(KindOf).Where(k => k is not "new_pid" and not "total_instr")
            .GroupBy(k => k).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(facts.CountByKind.OrderBy(k => k.Key), counts.OrderBy(k => k.Key));
        Assert.All(entries.Where(e => e.NewPid is not null), e =>
        {
            Assert.Contains(e.NewPid.Pid, facts.KnownPids);
            Assert.Equal(facts.ParentAt(e.NewPid.Pid, e.Instr), e.NewPid.Ppid);
        });
        var last = entries[^1];
        Assert.Equal(facts.TotalInstr, last.TotalInstr);
        Assert.Null(report.Truncation);
        Assert.Equal(0, report.HandlerErrors);
        // Unreadable structures are counted for exactly the calls whose pages the scenario made unreadable.
        Assert.Equal(facts.UnreadableCallKinds, report.UnreadableByCallKind.Keys.Order(StringComparer.Ordinal));
        // Every lost or unpaired call is counted, as many as the scenario implies.
        Assert.Equal((facts.UnmatchedReturns, facts.ReturnsInferred, facts.EntersWithoutReturn, facts.EntriesWithUnknownStatus),
            (report.UnmatchedReturns, report.ReturnsInferred, report.EntersWithoutReturn, report.EntriesWithUnknownStatus));
        Assert.Equal(facts.ReturnsOnlyTheHookSees, report.ReturnsByHook);
        // Entries come in instruction order (PANDA's readers seek by instr).
        Assert.True(entries.Zip(entries.Skip(1)).All(p => p.First.Instr <= p.Second.Instr));
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void Dump_text_matches_the_reviewed_golden_file(string sample)
    {
        var (_, _, plog) = Analyse(sample);
        Golden.Verify(DumpAs(plog, PlogDumpFormat.Text), $"{sample}.dump", "txt");
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void Dump_json_matches_the_reviewed_golden_file(string sample)
    {
        var (_, _, plog) = Analyse(sample);
        Golden.Verify(DumpAs(plog, PlogDumpFormat.Json), $"{sample}.dump", "json");
    }

    static string DumpAs(string plog, PlogDumpFormat format)
    {
        using var reader = PandalogReader.Open(plog);
        var output = new StringWriter();
        PlogDumper.Dump(reader, PlogEntryFilter.Create(), format, output);
        return output.ToString();
    }
}
