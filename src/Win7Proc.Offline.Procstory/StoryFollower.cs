namespace Win7Proc.Offline.Procstory;

/// <summary>
/// <c>procstory --follow</c>: reads the input again every <see cref="Interval"/> while it is still being written (a
/// trace without END, a plog still named <c>.partial</c>) and prints the story whenever it changed, until the input is
/// complete. On a terminal each render replaces the previous one; otherwise renders follow each other.
/// </summary>
public sealed class StoryFollower
{
    /// <summary>ANSI: cursor home, erase screen.</summary>
    public const string ClearScreenSequence = "\u001b[H\u001b[2J";

    public required Func<CancellationToken, StorySnapshot> Read { get; init; }
    public required Func<ProcessStory, string> Render { get; init; }
    public required TextWriter Output { get; init; }
    public bool ClearScreen { get; init; }
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>How to wait between readings (tests replace it to drive the writer in steps).</summary>
    public Action<TimeSpan, CancellationToken> Wait { get; init; } = (interval, ct) => ct.WaitHandle.WaitOne(interval);

    /// <summary>The input's current size, or null if it does not exist: an input that cannot be read yet (a trace
    /// whose header is not complete, an empty file) is tried again while it grows; once it stops growing the error
    /// stands. Null: every <see cref="StoryInputException"/> stands at once.</summary>
    public Func<long?>? InputLength { get; init; }

    /// <summary>Renders printed so far.</summary>
    public int Renders { get; private set; }

    /// <summary>Follows until the input is complete (returns its last snapshot) or <paramref name="ct"/> is cancelled
    /// (throws <see cref="OperationCanceledException"/>). A file missing for a moment (the analyzer renaming
    /// <c>.partial</c>) is read again at the next tick.</summary>
    public StorySnapshot Run(CancellationToken ct)
    {
        string? shown = null;
        long? lengthAtLastFailure = null;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            StorySnapshot? snapshot = null;
            try
            {
                snapshot = Read(ct);
            }
            catch (FileNotFoundException) when (!ct.IsCancellationRequested)
            {
                // between the writer's rename and our look: try again at the next tick
            }
            catch (StoryInputException) when (InputLength is not null && !ct.IsCancellationRequested)
            {
                var length = InputLength();
                if (lengthAtLastFailure is { } before && before == length) throw; // not growing: really invalid
                lengthAtLastFailure = length;
            }
            if (snapshot is not null)
            {
                var text = Render(snapshot.Story);
                if (text != shown)
                {
                    if (ClearScreen) Output.Write(ClearScreenSequence);
                    Output.Write(text);
                    Output.Flush();
                    shown = text;
                    Renders++;
                }
                if (snapshot.Complete) return snapshot;
            }
            Wait(Interval, ct);
        }
    }
}
