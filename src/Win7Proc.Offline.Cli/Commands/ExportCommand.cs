using System.CommandLine;
using Win7Proc.Offline.Reports;

namespace Win7Proc.Offline.Cli.Commands;

/// <summary><c>win7proc-offline export PLOG|TRACE</c>: one row per operation in Process Monitor's CSV layout (for
/// Noriben, ProcDOT and scripts), or the same rows as JSON lines. See docs/reports.md.</summary>
public static class ExportCommand
{
    public sealed record Settings(string Input, string Format, bool Columns, ReportFilterSettings Filter, string? Output);

    public static Command Create()
    {
        var input = new Argument<string>("input") { Description = "A pandalog (.plog) or a trace (.lz4, analysed on the fly)" };
        var format = new Option<string>("--format", "-f")
        {
            Description = "csv (Process Monitor's layout: UTF-8 with BOM, CRLF, every field quoted) or jsonl (the same rows, snake_case keys)",
            DefaultValueFactory = _ => "csv",
        };
        format.AcceptOnlyFromAmong("csv", "jsonl");
        var columns = new Option<bool>("--columns")
        {
            Description = "CSV: add Sequence, TID, Parent PID, Command Line, Instr after Procmon's seven columns",
        };
        var output = new Option<string?>("--output", "-o") { Description = "Write to FILE instead of standard output", HelpName = "FILE" };
        var filters = ReportFilterOptions.Create();
        var command = new Command("export", "One row per operation, as Process Monitor's CSV (or JSON lines)");
        command.Arguments.Add(input);
        command.Options.Add(format);
        command.Options.Add(columns);
        command.Options.Add(output);
        filters.AddTo(command);
        command.SetAction((parse, ct) =>
        {
            var settings = new Settings(parse.GetValue(input)!, parse.GetValue(format)!, parse.GetValue(columns), filters.Read(parse), parse.GetValue(output));
            using var stdout = Console.OpenStandardOutput();
            return Task.FromResult(Run(settings, stdout, Console.Error, ct));
        });
        return command;
    }

    /// <summary>The command's work, with its streams given (tests call this).</summary>
    public static int Run(Settings settings, Stream stdout, TextWriter stderr, CancellationToken ct = default) =>
        ReportFilterOptions.Guard(settings.Input, stderr, () =>
        {
            var filter = settings.Filter.Build();
            var log = ActivityLog.Read(settings.Input, out var warning, ct);
            var rows = EventExport.Rows(log, filter);
            using (var file = settings.Output is null ? null : new FileStream(settings.Output, FileMode.Create, FileAccess.Write))
            {
                var output = (Stream?)file ?? stdout;
                if (settings.Format == "jsonl") EventExport.WriteJsonl(rows, output);
                else EventExport.WriteCsv(rows, output, settings.Columns);
                output.Flush();
            }
            if (warning is null) return ExitCodes.Success;
            stderr.WriteLine($"warning: {warning}");
            return ExitCodes.PartialInput;
        });
}
