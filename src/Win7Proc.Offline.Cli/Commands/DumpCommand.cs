using System.CommandLine;
using System.Text;
using Win7Proc.Offline.Pandalog;

namespace Win7Proc.Offline.Cli.Commands;

/// <summary><c>win7proc-offline dump foo.plog</c>: prints a pandalog as the old pandalog_reader text, or JSON.</summary>
public static class DumpCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("plog") { Description = "The pandalog (.plog) to print" };
        var format = new Option<string>("--format", "-f")
        {
            Description = "text (the old pandalog_reader lines), json (an array, as PANDA's plog_reader), jsonl (one object per line)",
            DefaultValueFactory = _ => "text",
        };
        format.AcceptOnlyFromAmong("text", "json", "jsonl"); // a parse error: Program.Run prints it and exits 2
        var kind = new Option<string[]>("--kind", "-k")
        {
            Description = "Only entries with one of these LogEntry fields (comma list), e.g. nt_create_file,new_pid",
            AllowMultipleArgumentsPerToken = true,
        };
        var pid = new Option<uint?>("--pid", "-p") { CustomParser = r => CliValues.Number<uint>(r), Description = "Only entries whose acting process (new_pid, cur_p, proc) has this pid" };
        var from = new Option<ulong?>("--from") { CustomParser = r => CliValues.Number<ulong>(r), Description = "Only entries at or after this instruction count" };
        var to = new Option<ulong?>("--to") { CustomParser = r => CliValues.Number<ulong>(r), Description = "Only entries at or before this instruction count" };

        var command = new Command("dump", "Print a pandalog: text like the old pandalog_reader, or JSON like PANDA's plog_reader");
        command.Arguments.Add(file);
        command.Options.Add(format);
        command.Options.Add(kind);
        command.Options.Add(pid);
        command.Options.Add(from);
        command.Options.Add(to);
        command.SetAction(parse =>
        {
            PlogEntryFilter filter;
            try
            {
                filter = PlogEntryFilter.Create(parse.GetValue(kind), parse.GetValue(pid), parse.GetValue(from), parse.GetValue(to));
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.UsageError;
            }
            var dumpFormat = parse.GetValue(format) switch
            {
                "json" => PlogDumpFormat.Json,
                "jsonl" => PlogDumpFormat.Jsonl,
                _ => PlogDumpFormat.Text,
            };
            return Run(parse.GetValue(file)!, filter, dumpFormat, Console.Out, Console.Error);
        });
        return command;
    }

    /// <summary>The command's work, with its streams given (tests call this).</summary>
    public static int Run(string path, PlogEntryFilter filter, PlogDumpFormat format, TextWriter stdout, TextWriter stderr)
    {
        if (CliPaths.InputProblem(path, "plog") is { } problem)
        {
            stderr.WriteLine($"error: {problem}");
            return ExitCodes.IoError;
        }
        PandalogReader reader;
        try
        {
            reader = PandalogReader.Open(path);
        }
        catch (PandalogFormatException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return ExitCodes.InvalidInput;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"error: cannot read {path}: {e.Message}");
            return ExitCodes.IoError;
        }
        using (reader)
        {
            // Console.Out flushes on every write; a large buffer keeps multi-GB dumps fast.
            var output = ReferenceEquals(stdout, Console.Out)
                ? new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16)
                : stdout;
            try
            {
                PlogDumper.Dump(reader, filter, format, output);
                return ExitCodes.Success;
            }
            catch (PandalogFormatException e)
            {
                output.Flush();
                stderr.WriteLine($"error: {e.Message}");
                return ExitCodes.InvalidInput;
            }
            catch (IOException e)
            {
                stderr.WriteLine($"error: {e.Message}");
                return ExitCodes.IoError;
            }
            finally
            {
                if (!ReferenceEquals(output, stdout)) output.Flush();
            }
        }
    }
}
