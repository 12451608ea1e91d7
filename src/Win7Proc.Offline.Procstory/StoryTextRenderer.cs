using System.Globalization;
using System.Text;

namespace Win7Proc.Offline.Procstory;

public sealed record StoryRenderOptions
{
    public const int DefaultWidth = 80;
    public const int MaxWidth = 10_000;

    /// <summary>Chart columns between the frame bars (the original: 80).</summary>
    public int Width { get; init; } = DefaultWidth;
    /// <summary>Full image paths and command lines in the tree, when the log has them.</summary>
    public bool Long { get; init; }

    public static StoryRenderOptions Default { get; } = new();
}

/// <summary>
/// The original procstory.py's text output: <c>max_instr</c>, the process tree with [b]oring / [i]nteresting marks,
/// the note, the chart of interesting processes and the legend. The drawing rules are the original's
/// (reference: win7proc-original.md "Drawing rules"); deviations are listed in docs/procstory.md.
/// </summary>
public static class StoryTextRenderer
{
    /// <summary>The original's separator (fixed length, whatever the chart width).</summary>
    public const string RuleLine = "==========================================";
    public const string Legend = "Legend: [C]reation [T]ermination [?]Unknown [+]Branch";
    public static readonly string[] BoringNote =
    {
        "Note: A process is either [b]oring or [i]nteresting. It is boring iff",
        "        (1) we did not see its creation,",
        "        (2) we did not see its termination,",
        "    and (3) it has no children",
    };

    /// <summary>Tree indentation stops growing at this depth (only a hostile log goes deeper): output stays linear.</summary>
    public const int MaxIndentDepth = 64;
    /// <summary>Width of the right-aligned short-name column.</summary>
    const int NameColumn = 11;
    /// <summary>First chart cell of the time span: cell 0 is blank and cell 1 the left frame bar.</summary>
    const int SpanStart = 2;

    public static string Render(ProcessStory story, StoryRenderOptions? options = null)
    {
        options ??= StoryRenderOptions.Default;
        if (options.Width is < 1 or > StoryRenderOptions.MaxWidth)
            throw new ArgumentOutOfRangeException(nameof(options), $"width must be 1..{StoryRenderOptions.MaxWidth}");
        var text = new StringBuilder();
        text.Append("max_instr = ").Append(Number(story.MaxInstr)).Append('\n');
        text.Append(RuleLine).Append('\n');
        foreach (var line in TreeLines(story, options.Long)) text.Append(line).Append('\n');
        foreach (var line in BoringNote) text.Append(line).Append('\n');
        text.Append(RuleLine).Append('\n');
        foreach (var line in ChartLines(story, options.Width)) text.Append(line).Append('\n');
        text.Append(RuleLine).Append('\n');
        text.Append(Legend).Append('\n');
        return text.ToString();
    }

    /// <summary>The tree listing: roots in order of first mention, children under their parent by first instruction.</summary>
    public static IEnumerable<string> TreeLines(ProcessStory story, bool longNames = false)
    {
        foreach (var (process, depth) in PreOrder(story.Roots))
        {
            var line = new StringBuilder();
            line.Append(' ', 1 + 2 * Math.Min(depth, MaxIndentDepth));
            line.Append(story.IsInteresting(process) ? "[i] " : "[b] ");
            line.Append(GuestText.Printable(process.ShortName).PadLeft(NameColumn)).Append(' ');
            line.Append(Number(process.Pid)).Append('-');
            line.Append(GuestText.Printable(longNames && process.ImagePath is not null ? process.ImagePath : process.Name));
            if (story.IsInteresting(process))
            {
                // birth "b<instr>" or "0"; death "d<instr>" or the last instr it can have lived to.
                line.Append('-').Append(process.Birth is { } birth ? "b" + Number(birth) : "0");
                line.Append('-').Append(process.Death is { } death ? "d" + Number(death) : Number(story.LastInstr(process)));
                if (process.Parent is { } parent) line.Append("-p-").Append(GuestText.Printable(parent.ShortName));
            }
            if (longNames && process.CommandLine is not null)
                line.Append(" cmdline=[").Append(GuestText.Printable(process.CommandLine)).Append(']');
            yield return line.ToString().TrimEnd();
        }
        foreach (var unresolved in story.UnresolvedTerminations)
        {
            var by = unresolved.By is { } caller ? GuestText.Printable(caller.ShortName) : "an unknown process";
            yield return $" [?] an unidentified process was terminated at d{Number(unresolved.Instr)} by {by}";
        }
    }

    /// <summary>The chart rows of the interesting processes (the original's drawing rules).</summary>
    public static IEnumerable<string> ChartLines(ProcessStory story, int width)
    {
        var rows = new List<char[]>();
        var labels = new List<string>();
        var rowOf = new Dictionary<ProcessInstance, int>();
        // Per (parent, column): the last row a connector already went through. A sibling's connector in the same
        // column only extends the earlier one, so each cell is visited once (a flat tree stays linear).
        var connectedDownTo = new Dictionary<(ProcessInstance, int), int>();
        var roots = story.Roots.Where(story.IsInteresting).OrderBy(p => p.FirstInstr).ThenBy(p => p.MentionOrder);
        foreach (var (process, _) in PreOrder(roots, story.IsInteresting))
        {
            if (process.Parent is { } parent && rowOf.TryGetValue(parent, out var parentRow))
            {
                // A '|' from the row under the parent down to the row above this child, and '+' on the parent's row.
                var column = Column(process.FirstInstr, story.MaxInstr, width);
                var from = connectedDownTo.TryGetValue((parent, column), out var done) ? done + 1 : parentRow + 1;
                for (var row = from; row < rows.Count; row++)
                    if (rows[row][column] is ' ' or '-') rows[row][column] = '|';
                connectedDownTo[(parent, column)] = rows.Count - 1;
                rows[parentRow][column] = '+';
            }
            rowOf[process] = rows.Count;
            rows.Add(DrawSpan(story, process, width));
            labels.Add(GuestText.Printable(process.ShortName).PadLeft(NameColumn) + " : ");
        }
        for (var i = 0; i < rows.Count; i++)
            yield return (labels[i] + new string(rows[i])).TrimEnd();
    }

    static char[] DrawSpan(ProcessStory story, ProcessInstance process, int width)
    {
        var cells = new char[width + 5];
        Array.Fill(cells, ' ');
        cells[1] = '|';
        cells[width + 3] = '|';
        var first = Column(process.FirstInstr, story.MaxInstr, width);
        var last = Column(story.LastInstr(process), story.MaxInstr, width);
        for (var c = first; c <= last; c++) cells[c] = '-';
        cells[first] = process.Birth is null ? '?' : 'C';
        cells[last] = process.Death is null ? '?' : 'T'; // birth and death in one column show T, as in the original
        return cells;
    }

    /// <summary>The original's <c>2 + int(instr * width / max_instr)</c>, in exact integer arithmetic (no rounding
    /// surprise at max_instr), clamped to the chart.</summary>
    public static int Column(ulong instr, ulong maxInstr, int width)
    {
        if (maxInstr == 0) return SpanStart;
        var clamped = Math.Min(instr, maxInstr);
        return SpanStart + (int)((UInt128)clamped * (uint)width / maxInstr);
    }

    /// <summary>Depth-first, parents before children, children by first instruction. Iterative: a hostile log can
    /// make the tree as deep as it has processes.</summary>
    internal static IEnumerable<(ProcessInstance Process, int Depth)> PreOrder(IEnumerable<ProcessInstance> roots,
        Func<ProcessInstance, bool>? include = null)
    {
        var stack = new Stack<(ProcessInstance, int)>();
        foreach (var root in roots)
        {
            if (include is not null && !include(root)) continue;
            stack.Push((root, 0));
            while (stack.Count > 0)
            {
                var (process, depth) = stack.Pop();
                yield return (process, depth);
                var children = ProcessStory.ChildrenInOrder(process).Where(c => include is null || include(c)).ToList();
                for (var i = children.Count - 1; i >= 0; i--) stack.Push((children[i], depth + 1));
            }
        }
    }

    static string Number(ulong value) => value.ToString(CultureInfo.InvariantCulture);
}
