using System.CommandLine;
using Win7Proc.Offline.Reports;

namespace Win7Proc.Offline.Cli.Commands;

/// <summary><c>win7proc-offline report PLOG|TRACE</c>: a per-process behaviour report (text, CAPE-shaped JSON,
/// markdown). See docs/reports.md.</summary>
public static class ReportCommand
{
    public sealed record Settings(string Input, string Format, ReportFilterSettings Filter, string? Output);

    public static Command Create()
    {
        var input = new Argument<string>("input") { Description = "A pandalog (.plog) or a trace (.lz4, analysed on the fly)" };
        var format = new Option<string>("--format", "-f")
        {
            Description = "text (a terminal), json (CAPE's behavior shape), markdown (a ticket)",
            DefaultValueFactory = _ => "text",
        };
        format.AcceptOnlyFromAmong("text", "json", "markdown");
        var output = new Option<string?>("--output", "-o") { Description = "Write to FILE instead of standard output", HelpName = "FILE" };
        var filters = ReportFilterOptions.Create();
        var command = new Command("report", "A per-process behaviour report: process tree, files, registry, sections, ports, memory, failures");
        command.Arguments.Add(input);
        command.Options.Add(format);
        command.Options.Add(output);
        filters.AddTo(command);
        command.SetAction((parse, ct) => Task.FromResult(Run(
            new Settings(parse.GetValue(input)!, parse.GetValue(format)!, filters.Read(parse), parse.GetValue(output)),
            Console.Out, Console.Error, ct)));
        return command;
    }

    /// <summary>The command's work, with its streams given (tests call this).</summary>
    public static int Run(Settings settings, TextWriter stdout, TextWriter stderr, CancellationToken ct = default) =>
        ReportFilterOptions.Guard(settings.Input, stderr, () =>
        {
            var filter = settings.Filter.Build();
            var log = ActivityLog.Read(settings.Input, out var warning, ct);
            var report = BehaviorReport.Build(log, filter, settings.Input);
            var text = settings.Format switch
            {
                "json" => ReportJsonRenderer.Render(report),
                "markdown" => ReportMarkdownRenderer.Render(report),
                _ => ReportTextRenderer.Render(report),
            };
            if (settings.Output is null) { stdout.Write(text); stdout.Flush(); }
            else File.WriteAllText(settings.Output, text);
            if (warning is null) return ExitCodes.Success;
            stderr.WriteLine($"warning: {warning}");
            return ExitCodes.PartialInput;
        });
}

/// <summary>The filters <c>report</c> and <c>export</c> share, as given on the command line.</summary>
public sealed record ReportFilterSettings(uint? Pid = null, string? Process = null, ulong? From = null, ulong? To = null,
    bool HideSystem = false, string? HideSystemFile = null)
{
    /// <exception cref="FormatException">a bad pattern file (the message names file and line)</exception>
    public ReportFilter Build() => new()
    {
        Pid = Pid, ProcessName = Process, From = From, To = To,
        Hide = HideSystemFile is not null ? SystemPatterns.Load(HideSystemFile) : HideSystem ? SystemPatterns.BuiltIn() : null,
    };
}

/// <summary>The filter options and the error handling both commands share.</summary>
public sealed class ReportFilterOptions
{
    readonly Option<uint?> _pid = new("--pid", "-p") { CustomParser = r => CliValues.Number<uint>(r), Description = "Only processes (and their events) with this pid; every instance of a reused pid" };
    readonly Option<string?> _process = new("--process") { Description = "Only processes with this name (EPROCESS name or image file name, any case)", HelpName = "NAME" };
    readonly Option<ulong?> _from = new("--from") { CustomParser = r => CliValues.Number<ulong>(r), Description = "Only activity at or after this instruction count" };
    readonly Option<ulong?> _to = new("--to") { CustomParser = r => CliValues.Number<ulong>(r), Description = "Only activity at or before this instruction count" };
    readonly Option<bool> _hide = new("--hide-system") { Description = "Hide activity every Windows 7 boot shows (the built-in pattern list, hide-system.patterns)" };
    readonly Option<string?> _hideFile = new("--hide-system-file") { Description = "Hide activity matching the patterns in FILE (same format; implies --hide-system)", HelpName = "FILE" };

    public static ReportFilterOptions Create() => new();

    public void AddTo(Command command)
    {
        command.Options.Add(_pid);
        command.Options.Add(_process);
        command.Options.Add(_from);
        command.Options.Add(_to);
        command.Options.Add(_hide);
        command.Options.Add(_hideFile);
    }

    public ReportFilterSettings Read(ParseResult parse) => new(parse.GetValue(_pid), parse.GetValue(_process),
        parse.GetValue(_from), parse.GetValue(_to), parse.GetValue(_hide), parse.GetValue(_hideFile));

    /// <summary>Runs <paramref name="work"/>, turning the user's mistakes and unreadable inputs into one-line errors
    /// and the documented exit codes.</summary>
    public static int Guard(string input, TextWriter stderr, Func<int> work)
    {
        if (Directory.Exists(input))
        {
            stderr.WriteLine($"error: input is a directory, not a file: {input}");
            return ExitCodes.IoError;
        }
        try
        {
            return work();
        }
        catch (OperationCanceledException)
        {
            return ExitCodes.Interrupted;
        }
        catch (FileNotFoundException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return ExitCodes.IoError;
        }
        catch (FormatException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return ExitCodes.UsageError;
        }
        catch (ReportInputException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return ExitCodes.InvalidInput;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"error: {e.Message}");
            return ExitCodes.IoError;
        }
    }
}
