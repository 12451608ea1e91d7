using System.Globalization;
using System.Net;
using System.Text;
using Win7Proc.Offline.Reports;

namespace Win7Proc.Offline.Procstory;

/// <summary>One mark on a process lane: something worth seeing at an instruction (a file write, a registry set, an
/// injection, a port connection, a deletion).</summary>
public sealed record StoryMark(ProcessInstance Process, ulong Instr, string Kind, string Detail);

/// <summary>
/// <c>procstory --html FILE</c>: one self-contained HTML page (inline CSS and script, no network): a lane per process
/// on the instruction axis in the chart's order (interesting processes; the boring ones in a folded list), births (C),
/// deaths (T), unknown ends (?), branches (+) and parent links, activity marks, hover details (pid, image, command
/// line, instructions), zoom to a range (drag on the chart, or the from/to fields) and search.
/// </summary>
public static class StoryHtmlRenderer
{
    /// <summary>Most marks drawn (a page with millions of elements would not open): beyond it, marks are sampled
    /// evenly and the page says so.</summary>
    public const int MaxMarks = 20_000;

    /// <summary>The marks of an activity log, on the story's instances (matched by pid + instance key, else by pid and time).</summary>
    public static List<StoryMark> MarksFrom(ProcessStory story, ActivityLog log)
    {
        var byPid = story.Processes.GroupBy(p => p.Pid).ToDictionary(g => g.Key, g => g.OrderBy(p => p.FirstMention).ToList());
        ProcessInstance? Find(ReportProcess p, ulong instr)
        {
            if (!byPid.TryGetValue(p.Pid, out var candidates)) return null;
            return candidates.FirstOrDefault(c => c.InstanceKey == p.Instance)
                ?? candidates.LastOrDefault(c => c.FirstMention <= instr) ?? candidates[0];
        }
        var paths = log.Paths;
        var marks = new List<StoryMark>();
        foreach (var e in log.Events)
        {
            if (!e.Succeeded) continue;
            string? kind = e.Operation switch
            {
                Operation.FileWrite => "write",
                Operation.FileCreate when e.IoResult is null or 2 => "write",
                Operation.FileDelete or Operation.FileDeleteOnClose => "delete",
                Operation.FileDisposition when e.Delete != false => "delete",
                Operation.ValueSet => "regset",
                Operation.MemoryWrite when e.Other is { } t && t != e.Process => "inject",
                Operation.SectionMap when e.Other is { } t && t != e.Process => "inject",
                Operation.PortConnect => "port",
                _ => null,
            };
            if (kind is null || Find(e.Process, e.Instr) is not { } lane) continue;
            var detail = $"{ProcmonNames.Operation(e.Operation)} {paths.Of(e)}";
            var more = ProcmonNames.Detail(e, paths);
            if (more.Length > 0) detail += " (" + more + ")";
            marks.Add(new StoryMark(lane, e.Instr, kind, detail));
        }
        return marks;
    }

    public static string Render(ProcessStory story, IReadOnlyList<StoryMark> marks, string title)
    {
        var chart = StoryTextRenderer.PreOrder(
            story.Roots.Where(story.IsInteresting).OrderBy(p => p.FirstInstr).ThenBy(p => p.MentionOrder), story.IsInteresting).ToList();
        var inChart = chart.Select(c => c.Process).ToHashSet();
        var shown = marks.Count <= MaxMarks ? marks : marks.Where((_, i) => (long)i * MaxMarks / marks.Count != (long)(i + 1) * MaxMarks / marks.Count).ToList();
        var marksByLane = shown.GroupBy(m => m.Process).ToDictionary(g => g.Key, g => g.ToList());

        var html = new StringBuilder(64 * 1024);
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>procstory: ")
            .Append(E(title)).Append("</title>\n<style>\n").Append(Css).Append("</style>\n</head>\n");
        html.Append("<body data-max-instr=\"").Append(N(story.MaxInstr)).Append("\">\n");
        html.Append("<header><h1>procstory: ").Append(E(title)).Append("</h1>\n<p>max_instr = ").Append(N(story.MaxInstr))
            .Append(" · ").Append(chart.Count).Append(" processes in the chart, ").Append(story.Processes.Count - chart.Count)
            .Append(" boring · ").Append(marks.Count).Append(" marks");
        if (shown.Count < marks.Count) html.Append(" (").Append(shown.Count).Append(" drawn)");
        html.Append("</p>\n<div id=\"controls\"><label>search <input id=\"search\" type=\"search\" placeholder=\"name, pid, path, command line\"></label>\n")
            .Append("<label>from <input id=\"from\" type=\"number\" min=\"0\"></label> <label>to <input id=\"to\" type=\"number\" min=\"0\"></label>\n")
            .Append("<button id=\"zoom\">zoom</button> <button id=\"reset\">whole replay</button>\n")
            .Append("<span class=\"legend\"><i class=\"birth\">C</i> creation <i class=\"death\">T</i> termination <i class=\"unknown\">?</i> unknown ")
            .Append("<i class=\"branch\">+</i> child <i class=\"mark write\"></i> file write <i class=\"mark delete\"></i> delete ")
            .Append("<i class=\"mark regset\"></i> registry set <i class=\"mark inject\"></i> injection <i class=\"mark port\"></i> port connection</span></div>\n");
        html.Append("<div id=\"axis\"><span id=\"axis-from\"></span><span id=\"axis-to\"></span></div>\n</header>\n");
        html.Append("<main id=\"lanes\">\n");
        foreach (var (process, depth) in chart) Lane(html, story, process, depth, marksByLane, story.IsInteresting(process));
        html.Append("</main>\n");
        html.Append("<details id=\"boring-list\"><summary>boring processes (creation and termination not seen, no children)</summary>\n<div id=\"boring\">\n");
        foreach (var process in story.Processes.Where(p => !inChart.Contains(p))) Lane(html, story, process, 0, marksByLane, interesting: false);
        html.Append("</div>\n</details>\n");
        foreach (var unresolved in story.UnresolvedTerminations)
            html.Append("<p class=\"note\">an unidentified process was terminated at instr ").Append(N(unresolved.Instr))
                .Append(" by ").Append(E(unresolved.By?.ShortName ?? "an unknown process")).Append("</p>\n");
        html.Append("<div id=\"tip\" hidden></div>\n<script>\n").Append(Script).Append("</script>\n</body>\n</html>\n");
        return html.ToString();
    }

    static void Lane(StringBuilder html, ProcessStory story, ProcessInstance p, int depth,
        Dictionary<ProcessInstance, List<StoryMark>> marksByLane, bool interesting)
    {
        var first = p.FirstInstr;
        var last = story.LastInstr(p);
        var tip = new StringBuilder();
        tip.Append(p.ShortName).Append(" · pid ").Append(p.Pid).Append(" · ").Append(p.Name);
        if (p.ImagePath is not null) tip.Append("\nimage: ").Append(p.ImagePath);
        if (p.CommandLine is not null) tip.Append("\ncommand line: ").Append(p.CommandLine);
        tip.Append("\ninstructions: ").Append(p.Birth is { } b ? "born " + N(b) : "before the recording")
            .Append(" – ").Append(p.Death is { } d ? "died " + N(d) : "end not seen (" + N(last) + ")");
        if (p.Parent is { } parent) tip.Append("\nparent: ").Append(parent.ShortName).Append(" pid ").Append(parent.Pid);
        var searchText = $"{p.ShortName} {p.Pid} {p.Name} {p.ImagePath} {p.CommandLine}";

        html.Append("<div class=\"lane").Append(interesting ? "" : " boring").Append("\" data-short=\"").Append(E(p.ShortName))
            .Append("\" data-pid=\"").Append(p.Pid).Append("\" data-first=\"").Append(N(first)).Append("\" data-last=\"").Append(N(last)).Append('"');
        if (p.Birth is { } birth) html.Append(" data-birth=\"").Append(N(birth)).Append('"');
        if (p.Death is { } death) html.Append(" data-death=\"").Append(N(death)).Append('"');
        if (p.Parent is { } par) html.Append(" data-parent=\"").Append(E(par.ShortName)).Append('"');
        html.Append(" data-search=\"").Append(E(searchText.ToLowerInvariant())).Append("\">");
        html.Append("<div class=\"label\" style=\"padding-left:").Append(Math.Min(depth, 20) * 10 + 4).Append("px\" data-tip=\"")
            .Append(E(tip.ToString())).Append("\">").Append(E(p.ShortName)).Append(" <small>").Append(p.Pid).Append("</small></div>");
        html.Append("<div class=\"track\">");
        html.Append("<span class=\"bar\" data-instr=\"").Append(N(first)).Append("\" data-end=\"").Append(N(last)).Append("\"></span>");
        if (p.Birth is { } b2) Marker(html, "birth", b2, "C", $"creation at instr {N(b2)}" + (p.Parent is { } pp ? $" by {pp.ShortName}" : ""));
        else Marker(html, "unknown start", first, "?", "creation not seen");
        if (p.Death is { } d2) Marker(html, "death", d2, "T", $"termination at instr {N(d2)}");
        else Marker(html, "unknown end", last, "?", "termination not seen");
        if (p.Parent is not null && p.Birth is { } b3) html.Append("<span class=\"link\" data-instr=\"").Append(N(b3)).Append("\"></span>");
        foreach (var child in p.Children.Where(c => c.Birth is not null))
            Marker(html, "branch", child.Birth!.Value, "+", $"created {child.ShortName} (pid {child.Pid})");
        if (marksByLane.TryGetValue(p, out var marks))
            foreach (var m in marks)
                html.Append("<span class=\"mark ").Append(m.Kind).Append("\" data-instr=\"").Append(N(m.Instr)).Append("\" data-tip=\"")
                    .Append(E($"{m.Kind} at instr {N(m.Instr)}\n{m.Detail}")).Append("\" data-search=\"").Append(E(m.Detail.ToLowerInvariant())).Append("\"></span>");
        html.Append("</div></div>\n");
    }

    static void Marker(StringBuilder html, string cls, ulong instr, string glyph, string tip) =>
        html.Append("<span class=\"").Append(cls).Append("\" data-instr=\"").Append(N(instr)).Append("\" data-tip=\"")
            .Append(E(tip)).Append("\">").Append(glyph).Append("</span>");

    /// <summary>HTML-encodes text for content and attributes; control characters become '?' line by line (our tips
    /// separate their lines with newlines).</summary>
    static string E(string? text) =>
        WebUtility.HtmlEncode(string.Join('\n', (text ?? "").Split('\n').Select(line => GuestText.Printable(line, 4096))));

    static string N(ulong value) => value.ToString(CultureInfo.InvariantCulture);

    const string Css = """
        body { font: 13px/1.35 system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
        header { position: sticky; top: 0; background: #fff; border-bottom: 1px solid #ccc; padding: 6px 12px; z-index: 2; }
        h1 { font-size: 16px; margin: 0 0 2px; } header p { margin: 0 0 4px; color: #555; }
        #controls label { margin-right: 8px; } #controls input[type=number] { width: 11em; }
        .legend { margin-left: 12px; color: #555; } .legend i { font-style: normal; display: inline-block; min-width: 10px; text-align: center; margin: 0 3px 0 10px; }
        #axis { position: relative; height: 14px; margin-left: 160px; margin-right: 16px; color: #777; font-size: 11px; }
        #axis-from { position: absolute; left: 0; } #axis-to { position: absolute; right: 0; }
        main, #boring { padding: 4px 12px; }
        .lane { display: flex; align-items: center; height: 20px; }
        .lane.dim { opacity: .18; } .lane.hit .label { background: #ffef9e; }
        .label { width: 148px; flex: none; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; cursor: default; }
        .label small { color: #888; }
        .track { position: relative; flex: 1; height: 16px; margin-right: 4px; border-left: 1px solid #bbb; border-right: 1px solid #bbb; }
        .track > span { position: absolute; top: 0; }
        .bar { height: 4px; top: 6px !important; background: #7a9cc6; }
        .boring .bar { background: #c8c8c8; }
        .birth, .death, .unknown, .branch { width: 12px; margin-left: -6px; text-align: center; font: bold 12px/16px monospace; }
        .birth { color: #0a7d2c; } .death { color: #b3261e; } .unknown { color: #888; } .branch { color: #555; }
        .link { width: 1px; height: 20px; top: -12px !important; background: #999; }
        .mark { width: 6px; height: 6px; margin-left: -3px; top: 5px !important; border-radius: 3px; border: 1px solid #0003; }
        .mark.write { background: #e08a00; } .mark.delete { background: #b3261e; } .mark.regset { background: #7b3fb5; }
        .mark.inject { background: #d0006f; border-radius: 0; } .mark.port { background: #00838f; }
        .mark.hit { outline: 2px solid #000; }
        .out { display: none; }
        #tip { position: fixed; max-width: 640px; white-space: pre-wrap; background: #222; color: #fff; padding: 4px 6px; border-radius: 3px; font-size: 12px; pointer-events: none; z-index: 3; }
        #select { position: absolute; top: 0; bottom: 0; background: #4a90e244; pointer-events: none; }
        details { padding: 0 12px 12px; } .note { padding: 0 12px; color: #555; }
        """;

    // Positions every element with data-instr inside the view [v0, v1]; zoom, search and hover details.
    const string Script = """
        (function () {
          'use strict';
          var max = Number(document.body.dataset.maxInstr) || 1;
          var v0 = 0, v1 = max;
          var fromInput = document.getElementById('from'), toInput = document.getElementById('to');
          function pct(instr) { return (instr - v0) / (v1 - v0) * 100; }
          function layout() {
            document.querySelectorAll('.track > span').forEach(function (el) {
              var a = Number(el.dataset.instr);
              if (el.classList.contains('bar')) {
                var b = Number(el.dataset.end);
                var l = Math.max(a, v0), r = Math.min(b, v1);
                el.classList.toggle('out', r < l);
                el.style.left = pct(l) + '%';
                el.style.width = Math.max(pct(r) - pct(l), 0.1) + '%';
              } else {
                el.classList.toggle('out', a < v0 || a > v1);
                el.style.left = pct(a) + '%';
              }
            });
            fromInput.value = v0; toInput.value = v1;
            document.getElementById('axis-from').textContent = 'instr ' + v0.toLocaleString('en');
            document.getElementById('axis-to').textContent = 'instr ' + v1.toLocaleString('en');
          }
          function zoom(a, b) {
            a = Math.max(0, Math.min(a, max)); b = Math.max(0, Math.min(b, max));
            if (b < a) { var t = a; a = b; b = t; }
            if (b - a < 1) return;
            v0 = a; v1 = b; layout();
          }
          document.getElementById('zoom').addEventListener('click', function () { zoom(Number(fromInput.value), Number(toInput.value)); });
          document.getElementById('reset').addEventListener('click', function () { zoom(0, max); });
          // Drag across a track to zoom to that range.
          var dragTrack = null, dragStart = 0, sel = null;
          function instrAt(track, clientX) {
            var r = track.getBoundingClientRect();
            return v0 + (Math.min(Math.max(clientX - r.left, 0), r.width) / r.width) * (v1 - v0);
          }
          document.addEventListener('mousedown', function (ev) {
            var track = ev.target.closest && ev.target.closest('.track');
            if (!track) return;
            dragTrack = track; dragStart = ev.clientX;
            sel = document.createElement('div'); sel.id = 'select'; track.appendChild(sel);
            ev.preventDefault();
          });
          document.addEventListener('mousemove', function (ev) {
            if (dragTrack && sel) {
              var r = dragTrack.getBoundingClientRect();
              var a = Math.min(dragStart, ev.clientX) - r.left, b = Math.max(dragStart, ev.clientX) - r.left;
              sel.style.left = a + 'px'; sel.style.width = (b - a) + 'px';
            }
            var t = ev.target.closest && ev.target.closest('[data-tip]');
            var tip = document.getElementById('tip');
            if (t) { tip.textContent = t.dataset.tip; tip.hidden = false; tip.style.left = (ev.clientX + 12) + 'px'; tip.style.top = (ev.clientY + 14) + 'px'; }
            else tip.hidden = true;
          });
          document.addEventListener('mouseup', function (ev) {
            if (!dragTrack) return;
            var a = instrAt(dragTrack, dragStart), b = instrAt(dragTrack, ev.clientX);
            if (sel) sel.remove();
            var moved = Math.abs(ev.clientX - dragStart) > 3;
            dragTrack = null; sel = null;
            if (moved) zoom(a, b);
          });
          document.getElementById('search').addEventListener('input', function (ev) {
            var q = ev.target.value.trim().toLowerCase();
            document.querySelectorAll('.lane').forEach(function (lane) {
              var hitMarks = 0;
              lane.querySelectorAll('.mark').forEach(function (m) {
                var hit = q !== '' && m.dataset.search.indexOf(q) >= 0;
                m.classList.toggle('hit', hit); if (hit) hitMarks++;
              });
              var hit = q !== '' && (lane.dataset.search.indexOf(q) >= 0 || hitMarks > 0);
              lane.classList.toggle('hit', hit);
              lane.classList.toggle('dim', q !== '' && !hit);
            });
          });
          layout();
        })();
        """;
}
