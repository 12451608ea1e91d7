using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using Win7Proc.Offline.Cli.Commands;

namespace Win7Proc.Offline.Cli;

public static class Program
{
    /// <summary>Words that are commands (besides the root's own job, analysing a trace).</summary>
    static readonly string[] CommandNames = ["dump", "procstory", "simulate", "bench", "help"];

    public static int Main(string[] args)
    {
        // Plain writers on fds 1 and 2, not .NET's console streams: their first write on a terminal switches it into
        // keypad-transmit mode (ESC[?1h ESC=) and nothing switches it back, so the user's terminal was left changed.
        var stdout = StandardStreams.Writer(1, autoFlush: false);
        var stderr = StandardStreams.Writer(2, autoFlush: true);
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try { return MainCore(args); }
        finally
        {
            try { stdout.Flush(); } catch (IOException) { /* stdout closed early (a pipe's reader quit): nothing to say */ }
        }
    }

    static int MainCore(string[] args)
    {
        using var signals = new SignalCancellation();
        SignalCancellation.ForcedExitCleanup += Pandalog.PandalogWriter.DeleteUnfinishedFiles;
        int code = Run(args, Console.Out, Console.Error, signals.Token);
        // A command that was cancelled reports 130 (Interrupted); a SIGTERM's convention is 143.
        return signals.Signal is { } && code == ExitCodes.Interrupted ? signals.ExitCode : code;
    }

    /// <summary>Parses and runs (tests call this). Parse errors print on <paramref name="stderr"/> and give
    /// <see cref="ExitCodes.UsageError"/> (System.CommandLine's own default would be 1).</summary>
    public static int Run(string[] args, TextWriter stderr) => Run(args, Console.Out, stderr, CancellationToken.None);

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (Rewrite(args, out var problem) is not { } rewritten)
        {
            stderr.WriteLine($"error: {problem}");
            return ExitCodes.UsageError;
        }
        var parseResult = BuildRootCommand().Parse(rewritten);
        if (parseResult.Errors.Count > 0)
        {
            foreach (var error in parseResult.Errors)
                stderr.WriteLine($"error: {error.Message}");
            stderr.WriteLine("Run 'win7proc-offline help' (or 'win7proc-offline help COMMAND') for usage.");
            return ExitCodes.UsageError;
        }
        // No ProcessTerminationTimeout: System.CommandLine would hook Console.CancelKeyPress, which switches the
        // terminal into keypad mode (ESC[?1h ESC=) and leaves it so; SignalCancellation handles SIGINT/SIGTERM.
        var configuration = new InvocationConfiguration { ProcessTerminationTimeout = null, Output = stdout, Error = stderr };
        return parseResult.InvokeAsync(configuration, ct).GetAwaiter().GetResult();
    }

    /// <summary>
    /// <c>help</c> and <c>help COMMAND</c> become <c>--help</c> and <c>COMMAND --help</c>. The root command takes a trace
    /// path where a command name would stand, so a word that is neither a command nor an existing file is a mistyped
    /// command: null and a one-line problem ("did you mean").
    /// </summary>
    public static string[]? Rewrite(string[] args, out string problem)
    {
        problem = "";
        if (args.Length == 0) return args;
        var first = args[0];
        if (first == "help")
        {
            if (args.Length == 1) return ["--help"];
            if (args[1] is "dump" or "procstory" or "simulate" or "bench") return [args[1], "--help"];
            problem = $"help: unknown command '{args[1]}'{Suggestion(args[1])} (commands: {string.Join(", ", CommandNames)})";
            return null;
        }
        if (CommandNames.Contains(first) || first.StartsWith('-') || first.Contains('/') || first.Contains('.')
            || File.Exists(first) || Directory.Exists(first))
            return args;
        var suggestion = Suggestion(first);
        problem = suggestion.Length > 0
            ? $"unknown command '{first}'{suggestion}"
            : $"'{first}' is neither a command ({string.Join(", ", CommandNames)}) nor an existing trace file";
        return null;
    }

    /// <summary>" (did you mean 'dump'?)" when a command is within two edits of <paramref name="word"/> or starts with it.</summary>
    static string Suggestion(string word)
    {
        var best = CommandNames
            .Select(name => (name, distance: name.StartsWith(word, StringComparison.OrdinalIgnoreCase) && word.Length >= 2 ? 0 : Distance(word.ToLowerInvariant(), name)))
            .OrderBy(c => c.distance).First();
        return best.distance <= 2 ? $" (did you mean '{best.name}'?)" : "";
    }

    /// <summary>Levenshtein distance (words are short).</summary>
    static int Distance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            previous = current;
        }
        return previous[b.Length];
    }

    /// <summary>The exit codes, as <c>--help</c> shows them after every command's help (README "Exit codes" too).</summary>
    public const string ExitCodeHelp =
        "Exit codes:\n" +
        "  0    success\n" +
        "  1    internal error (a bug: please report it with the message)\n" +
        "  2    bad command line\n" +
        "  3    an input is missing or unreadable, or an output cannot be written\n" +
        "  4    an input is not a valid trace / plog / scenario (the message says what and where)\n" +
        "  5    done, but the trace was truncated: every complete record was analysed\n" +
        "  6    simulate: the C recorder core (libw7rec.so) or its liblz4.so.1 cannot be loaded\n" +
        "  130  interrupted (Ctrl+C / SIGINT); 143 terminated (SIGTERM): no output left behind";

    /// <summary>The whole command line: the root command analyses a trace; subcommands show and simulate.</summary>
    public static RootCommand BuildRootCommand()
    {
        var root = new RootCommand(
            "Rebuild PANDA win7proc pandalogs from a win7rec trace, without re-running the replay.\n" +
            "  win7proc-offline trace.lz4 -o foo.plog     analyse a trace\n" +
            "  win7proc-offline dump foo.plog             print a pandalog\n" +
            "  win7proc-offline procstory foo.plog        process births and deaths as a chart\n" +
            "  win7proc-offline help COMMAND              a command's options");
        AnalyzeCommand.Configure(root);
        root.Subcommands.Add(DumpCommand.Create());
        root.Subcommands.Add(ProcstoryCommand.Create());
        root.Subcommands.Add(ReportCommand.Create());
        root.Subcommands.Add(ExportCommand.Create());
        root.Subcommands.Add(SimulateCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        var help = root.Options.OfType<HelpOption>().Single();
        help.Action = new SubcommandHelpAction((SynchronousCommandLineAction)help.Action!, root.Arguments);
        return root;
    }

    /// <summary>The default help, then the exit codes; a subcommand's help does not offer the root's own TRACE
    /// argument (System.CommandLine lists a parent's arguments in a subcommand's usage and arguments).</summary>
    sealed class SubcommandHelpAction(SynchronousCommandLineAction defaultHelp, IEnumerable<Argument> rootArguments)
        : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true; // as the default help: `dump --help` needs no plog

        public override int Invoke(ParseResult parseResult)
        {
            var shown = parseResult.CommandResult.Command is RootCommand ? [] : rootArguments.Where(a => !a.Hidden).ToList();
            shown.ForEach(a => a.Hidden = true);
            try { defaultHelp.Invoke(parseResult); }
            finally { shown.ForEach(a => a.Hidden = false); }
            var output = parseResult.InvocationConfiguration.Output;
            output.WriteLine(ExitCodeHelp);
            output.WriteLine();
            return ExitCodes.Success;
        }
    }
}
