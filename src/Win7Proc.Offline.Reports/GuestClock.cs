using System.Globalization;

namespace Win7Proc.Offline.Reports;

/// <summary>
/// The guest's wall clock at an instruction count, for "Time of Day" and CAPE's first_seen. Anchors are the processes
/// whose creation the log shows: EPROCESS.CreateTime (a FILETIME, UTC) was set at the creation's instruction. Between
/// two anchors the time is interpolated; outside them it runs on at the rate of the nearest pair, or, with a single
/// anchor or anchors that disagree (time not increasing with instructions), at the nominal rate of one instruction per
/// nanosecond. Without any anchor the clock is the documented epoch 1601-01-01 00:00:00 UTC (FILETIME 0) plus one
/// nanosecond per instruction, so "Time of Day" is the instruction count read as nanoseconds after midnight.
/// docs/reports.md states this rule.
/// </summary>
public sealed class GuestClock
{
    /// <summary>FILETIME ticks (100 ns) per instruction at the nominal rate (1 instruction = 1 ns).</summary>
    public const double NominalTicksPerInstr = 0.01;
    /// <summary>Most anchors used (a hostile log could hold millions of creations; a few thousand fix the clock).</summary>
    const int MaxAnchors = 4096;

    readonly (ulong Instr, ulong FileTime)[] _anchors;

    GuestClock((ulong, ulong)[] anchors) => _anchors = anchors;

    /// <summary>"process creation times" when anchored, else "epoch 1601-01-01 + 1 ns per instruction".</summary>
    public string Source => _anchors.Length == 0
        ? "no guest clock in the log: 1601-01-01T00:00:00Z + 1 ns per instruction"
        : $"guest clock from {_anchors.Length} process creation time(s)";

    public bool Anchored => _anchors.Length > 0;

    public static GuestClock From(IEnumerable<ReportProcess> processes)
    {
        var anchors = processes
            .Where(p => p.Birth is not null && p.CreateTime is ulong ft && ft > 0 && ft < MaxFileTime)
            .Select(p => (Instr: p.Birth!.Value, FileTime: p.CreateTime!.Value))
            .DistinctBy(a => a.Instr).OrderBy(a => a.Instr).Take(MaxAnchors).ToArray();
        // Anchors must agree (time grows with instructions); otherwise keep the first only.
        for (int i = 1; i < anchors.Length; i++)
            if (anchors[i].FileTime < anchors[i - 1].FileTime) { anchors = anchors[..1]; break; }
        return new GuestClock(anchors);
    }

    /// <summary>FILETIME of 9999-12-31, beyond which .NET cannot show a date.</summary>
    const ulong MaxFileTime = 2650467743999999999;

    /// <summary>The FILETIME at <paramref name="instr"/>.</summary>
    public ulong FileTimeAt(ulong instr)
    {
        if (_anchors.Length == 0) return Clamp(instr * NominalTicksPerInstr);
        int i = Array.FindLastIndex(_anchors, a => a.Instr <= instr);
        (ulong Instr, ulong FileTime) from, to;
        if (_anchors.Length == 1) return Offset(_anchors[0].FileTime, instr, _anchors[0].Instr, NominalTicksPerInstr);
        if (i < 0) (from, to) = (_anchors[0], _anchors[1]);
        else if (i == _anchors.Length - 1) (from, to) = (_anchors[^2], _anchors[^1]);
        else (from, to) = (_anchors[i], _anchors[i + 1]);
        double rate = to.Instr == from.Instr ? NominalTicksPerInstr : (double)(to.FileTime - from.FileTime) / (to.Instr - from.Instr);
        return Offset(from.FileTime, instr, from.Instr, rate);
    }

    /// <summary>fileTime + (instr − anchorInstr) × rate, with the offset rounded in double and added in integers (a
    /// FILETIME of 1.3e17 has no 100 ns resolution left in a double).</summary>
    static ulong Offset(ulong fileTime, ulong instr, ulong anchorInstr, double rate)
    {
        double delta = Math.Round(((double)instr - anchorInstr) * rate);
        if (delta >= 0) return delta >= MaxFileTime - (double)fileTime ? MaxFileTime : fileTime + (ulong)delta;
        return -delta >= fileTime ? 0 : fileTime - (ulong)(-delta);
    }

    static ulong Clamp(double fileTime) => fileTime <= 0 ? 0 : fileTime >= MaxFileTime ? MaxFileTime : (ulong)fileTime;

    public DateTime At(ulong instr) => FileTimeToUtc(FileTimeAt(instr));

    public static DateTime FileTimeToUtc(ulong fileTime) =>
        DateTime.FromFileTimeUtc((long)Math.Min(fileTime, MaxFileTime));

    /// <summary>Procmon's Time of Day: <c>8:05:48.9287602 AM</c> (here in UTC).</summary>
    public string TimeOfDay(ulong instr) => At(instr).ToString("h:mm:ss.fffffff tt", CultureInfo.InvariantCulture);

    /// <summary>ISO-8601 with 100 ns precision: <c>2016-05-01T12:00:00.0100000Z</c>.</summary>
    public static string Iso(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    public string IsoAt(ulong instr) => Iso(At(instr));
}
