using System.CommandLine;
using System.Globalization;
using System.Text;
using Win7Proc.Offline.Analyzer.Windows7;
using Win7Proc.Offline.Pandalog;
using Win7Proc.Offline.Pandalog.Schema;

namespace Win7Proc.Offline.Cli.Commands;

/// <summary><c>win7proc-offline dump foo.plog</c>: prints a pandalog as the old pandalog_reader text, PANDA's
/// plog_reader JSON, or jsonl for jq (README "JSON mapping"). Output goes to stdout; <c>-</c> as PLOG is stdin when it
/// is redirected from a file (a plog is read at random, so not from a pipe).</summary>
public static class DumpCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("plog") { Description = "The pandalog (.plog) to print; - is stdin redirected from a file", HelpName = "PLOG" };
        var format = new Option<string>("--format", "-f")
        {
            Description = "text (the old pandalog_reader lines), json (an array, exactly as PANDA's plog_reader), " +
                          "jsonl (one object per line, for jq: numbers as numbers, see README \"JSON mapping\")",
            DefaultValueFactory = _ => "text",
            HelpName = "FORMAT",
        };
        format.AcceptOnlyFromAmong("text", "json", "jsonl"); // a parse error: Program.Run prints it and exits 2
        var kind = new Option<string[]>("--kind", "-k")
        {
            Description = "Only entries with one of these LogEntry fields (repeatable or comma list), e.g. nt_create_file,new_pid",
            AllowMultipleArgumentsPerToken = true,
            HelpName = "LIST",
        };
        var pid = new Option<string[]>("--pid", "-p")
        {
            Description = "Only entries whose acting process (new_pid, cur_p, proc) has one of these pids (repeatable or comma list)",
            AllowMultipleArgumentsPerToken = true,
            HelpName = "LIST",
        };
        var from = new Option<ulong?>("--from") { CustomParser = r => CliValues.Number<ulong>(r), Description = "Only entries at or after this instruction count", HelpName = "N" };
        var to = new Option<ulong?>("--to") { CustomParser = r => CliValues.Number<ulong>(r), Description = "Only entries at or before this instruction count", HelpName = "N" };

        var command = new Command("dump", "Print a pandalog: text like the old pandalog_reader, JSON like PANDA's plog_reader, or jsonl for jq");
        command.Arguments.Add(file);
        command.Options.Add(format);
        command.Options.Add(kind);
        command.Options.Add(pid);
        command.Options.Add(from);
        command.Options.Add(to);
        command.SetAction((parse, ct) =>
        {
            if (!TryParsePids(parse.GetValue(pid), out var pids, out var pidError))
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: {pidError}");
                return Task.FromResult(ExitCodes.UsageError);
            }
            PlogEntryFilter filter;
            try
            {
                // One pid is filtered by the reader; several are checked here (the filter takes one).
                filter = PlogEntryFilter.Create(parse.GetValue(kind), pids is { Count: 1 } ? pids.Single() : null, parse.GetValue(from), parse.GetValue(to));
            }
            catch (ArgumentException e)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: {e.Message}");
                return Task.FromResult(ExitCodes.UsageError);
            }
            var dumpFormat = parse.GetValue(format) switch
            {
                "json" => PlogDumpFormat.Json,
                "jsonl" => PlogDumpFormat.Jsonl,
                _ => PlogDumpFormat.Text,
            };
            return Task.FromResult(Run(parse.GetValue(file)!, filter, dumpFormat, parse.InvocationConfiguration.Output,
                parse.InvocationConfiguration.Error, pids, ct));
        });
        return command;
    }

    /// <summary>A list of pids (comma lists and repeats); false with a one-line message on a value that is not one.</summary>
    public static bool TryParsePids(string[]? values, out IReadOnlySet<uint>? pids, out string error)
    {
        pids = null;
        error = "";
        HashSet<uint>? set = null;
        foreach (var text in (values ?? []).SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)))
        {
            if (!uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                error = $"--pid: '{text}' is not a process id (a number, e.g. --pid 1234 or --pid 4,1234)";
                return false;
            }
            (set ??= []).Add(value);
        }
        pids = set;
        return true;
    }

    /// <summary>The NTSTATUS names jsonl writes beside nt_status (null: unknown value).</summary>
    public static string? StatusName(uint status) =>
        NtStatus.Describe(status) is var name && name.StartsWith("STATUS_", StringComparison.Ordinal) ? name : null;

    /// <summary>The command's work, with its streams given (tests call this).</summary>
    public static int Run(string path, PlogEntryFilter filter, PlogDumpFormat format, TextWriter stdout, TextWriter stderr,
        IReadOnlySet<uint>? pids = null, CancellationToken ct = default)
    {
        if (CliPaths.SeekableInputProblem(path, "plog") is { } problem)
        {
            stderr.WriteLine($"error: {problem}");
            return ExitCodes.IoError;
        }
        PandalogReader reader;
        try
        {
            reader = PandalogReader.Open(path == "-" ? "/dev/stdin" : path);
        }
        catch (PandalogFormatException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return ExitCodes.InvalidInput;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"error: cannot read {path}: {CliPaths.Reason(e)}");
            return ExitCodes.IoError;
        }
        using (reader)
        {
            // Console.Out is synchronised (a lock per write); our own 64 KiB writer on stdout keeps multi-GB dumps fast.
            var output = ReferenceEquals(stdout, Console.Out) ? StandardStreams.Writer(1, autoFlush: false) : stdout;
            try
            {
                var entries = filter.Apply(reader);
                if (pids is { Count: > 1 })
                    entries = entries.Where(e => PlogEntries.ActingProcess(e) is { } actor && pids.Contains(actor.Pid));
                PlogDumper.Write(entries.TakeWhile(_ => !ct.IsCancellationRequested), format, output, StatusName);
                output.Flush();
                return ct.IsCancellationRequested ? ExitCodes.Interrupted : ExitCodes.Success; // Ctrl+C: stop at once
            }
            catch (PandalogFormatException e)
            {
                output.Flush();
                stderr.WriteLine($"error: {e.Message}");
                return ExitCodes.InvalidInput;
            }
            catch (IOException e) when (IsBrokenPipe(e))
            {
                return ExitCodes.Success; // `dump x.plog | head`: the reader has all it wanted
            }
            catch (IOException e)
            {
                stderr.WriteLine($"error: cannot read {path}: {CliPaths.Reason(e)}");
                return ExitCodes.IoError;
            }
        }
    }

    static bool IsBrokenPipe(IOException e) => e.Message.Contains("Broken pipe", StringComparison.OrdinalIgnoreCase);
}
