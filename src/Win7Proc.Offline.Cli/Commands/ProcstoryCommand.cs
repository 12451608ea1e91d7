using System.CommandLine;
using Win7Proc.Offline.Procstory;
using Win7Proc.Offline.Reports;

namespace Win7Proc.Offline.Cli.Commands;

/// <summary><c>win7proc-offline procstory INPUT</c>: the original procstory.py's process tree and chart, from a plog
/// or directly from a trace (see docs/procstory.md).</summary>
public static class ProcstoryCommand
{
    public sealed record Settings(string Input, int Width, bool Long, bool Json, bool Follow, bool LinkByPpid = false, string? Html = null);

    public static Command Create()
    {
        var input = new Argument<string>("input")
        {
            Description = "A pandalog (.plog, ours or PANDA's; while the analyzer writes OUT.plog, OUT.plog finds its in-progress file) " +
                          "or a trace (.lz4); - is stdin redirected from a file",
            HelpName = "INPUT",
        };
        var width = new Option<int>("--width", "-w")
        {
            Description = $"Chart width in columns (1..{StoryRenderOptions.MaxWidth})",
            DefaultValueFactory = _ => StoryRenderOptions.DefaultWidth,
            CustomParser = CliValues.Number<int>,
            HelpName = "N",
        };
        var longNames = new Option<bool>("--long", "-l") { Description = "Full image paths and command lines in the tree, when logged" };
        var format = new Option<string>("--format", "-f") { Description = "text (the original's chart) or json (the tree)", DefaultValueFactory = _ => "text", HelpName = "FORMAT" };
        var byPpid = new Option<bool>("--ppid")
        {
            Description = "Also place processes whose creation was not seen under their parent pid (the original drew them as roots)",
        };
        var follow = new Option<bool>("--follow")
        {
            Description = "Re-read every second while the input is still being written, and show the story as it grows, until its end",
        };

        var html = new Option<string?>("--html")
        {
            Description = "Write the timeline as one self-contained HTML page to FILE (lanes, births, deaths, activity marks, zoom, search)",
            HelpName = "FILE",
        };

        var command = new Command("procstory", "Process births and deaths as a tree and an ASCII chart (the original procstory.py)");
        command.Arguments.Add(input);
        command.Options.Add(width);
        command.Options.Add(longNames);
        command.Options.Add(format);
        command.Options.Add(byPpid);
        command.Options.Add(follow);
        command.Options.Add(html);
        command.SetAction((parse, ct) =>
        {
            var chartWidth = parse.GetValue(width);
            if (chartWidth is < 1 or > StoryRenderOptions.MaxWidth)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: --width must be between 1 and {StoryRenderOptions.MaxWidth}, not {chartWidth}");
                return Task.FromResult(ExitCodes.UsageError);
            }
            var json = parse.GetValue(format) switch
            {
                "text" => (bool?)false,
                "json" => true,
                _ => null,
            };
            if (json is null)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: unknown --format '{parse.GetValue(format)}' (text or json)");
                return Task.FromResult(ExitCodes.UsageError);
            }
            var settings = new Settings(parse.GetValue(input)!, chartWidth, parse.GetValue(longNames), json.Value, parse.GetValue(follow),
                parse.GetValue(byPpid), parse.GetValue(html));
            return Task.FromResult(Run(settings, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, isTerminal: ReferenceEquals(parse.InvocationConfiguration.Output, Console.Out) && !Console.IsOutputRedirected, ct));
        });
        return command;
    }

    /// <summary>The command's work, with its streams given (tests call this).</summary>
    public static int Run(Settings settings, TextWriter stdout, TextWriter stderr, bool isTerminal, CancellationToken ct,
        Action<TimeSpan, CancellationToken>? wait = null)
    {
        var renderOptions = new StoryRenderOptions { Width = settings.Width, Long = settings.Long };
        var storyOptions = new ProcessStoryOptions { LinkByPpid = settings.LinkByPpid };
        Func<ProcessStory, string> render = settings.Json
            ? StoryJsonRenderer.Render
            : story => StoryTextRenderer.Render(story, renderOptions);
        if (Directory.Exists(settings.Input))
        {
            stderr.WriteLine($"error: input is a directory, not a file: {settings.Input}");
            return ExitCodes.IoError;
        }
        if (settings.Input == "-")
        {
            // Read twice (its kind from the first bytes, then the story): only stdin redirected from a file works.
            if (CliPaths.SeekableInputProblem("-", "pandalog or trace") is { } problem)
            {
                stderr.WriteLine($"error: {problem}");
                return ExitCodes.IoError;
            }
            settings = settings with { Input = "/dev/stdin", Follow = false };
        }
        try
        {
            if (settings.Html is not null) return WriteHtml(settings, storyOptions, stderr, ct);
            StorySnapshot snapshot;
            if (settings.Follow)
            {
                if (StoryInput.Locate(settings.Input) is null)
                    throw new FileNotFoundException($"no such file: {settings.Input}", settings.Input);
                var follower = new StoryFollower
                {
                    Read = token => StoryInput.Read(settings.Input, storyOptions, token),
                    Render = render,
                    Output = stdout,
                    ClearScreen = isTerminal,
                    Wait = wait ?? ((interval, token) => token.WaitHandle.WaitOne(interval)),
                    InputLength = () => StoryInput.Locate(settings.Input) is { } file ? new FileInfo(file).Length : null,
                };
                snapshot = follower.Run(ct);
            }
            else
            {
                snapshot = StoryInput.Read(settings.Input, storyOptions, ct);
                stdout.Write(render(snapshot.Story));
                stdout.Flush();
            }
            if (snapshot.Complete) return ExitCodes.Success;
            stderr.WriteLine($"warning: {snapshot.IncompleteReason}");
            return ExitCodes.PartialInput;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return ExitCodes.Interrupted;
        }
        catch (FileNotFoundException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return ExitCodes.IoError;
        }
        catch (ReportInputException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return ExitCodes.InvalidInput;
        }
        catch (StoryInputException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return ExitCodes.InvalidInput;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"error: cannot read {settings.Input}: {CliPaths.Reason(e)}");
            return ExitCodes.IoError;
        }
    }

    /// <summary>The input's folder and file name (<c>seed-story/trace.lz4</c>): enough to tell pages apart, no full path.</summary>
    static string PageTitle(string input)
    {
        var folder = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(input)));
        return string.IsNullOrEmpty(folder) ? Path.GetFileName(input) : $"{folder}/{Path.GetFileName(input)}";
    }

    /// <summary>--html: reads every entry once (the story and the activity marks) and writes the page.</summary>
    static int WriteHtml(Settings settings, ProcessStoryOptions storyOptions, TextWriter stderr, CancellationToken ct)
    {
        var builder = new ProcessStoryBuilder(storyOptions);
        var log = new ActivityLog();
        var warning = ReportInput.Read(settings.Input, entry => { builder.Add(entry); log.Add(entry); }, ct);
        log.Complete();
        var story = builder.Build();
        var page = StoryHtmlRenderer.Render(story, StoryHtmlRenderer.MarksFrom(story, log), PageTitle(settings.Input));
        try
        {
            File.WriteAllText(settings.Html!, page);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"error: cannot write {settings.Html}: {e.Message}");
            return ExitCodes.IoError;
        }
        if (warning is null) return ExitCodes.Success;
        stderr.WriteLine($"warning: {warning}");
        return ExitCodes.PartialInput;
    }
}
