using System.Text;

namespace Win7Proc.Offline.Procstory;

/// <summary>Makes guest strings safe to print on a terminal: no control characters (escape sequences), no
/// bidirectional overrides, bounded length.</summary>
internal static class GuestText
{
    public const int MaxPrintedLength = 1024;

    public static string Printable(string? text, int maxLength = MaxPrintedLength)
    {
        if (string.IsNullOrEmpty(text)) return "";
        var cut = text.Length > maxLength;
        var span = cut ? text.AsSpan(0, maxLength) : text.AsSpan();
        var builder = new StringBuilder(span.Length + 3);
        foreach (var c in span)
            builder.Append(IsUnsafe(c) ? '?' : c);
        if (cut) builder.Append("...");
        return builder.ToString();
    }

    public static bool IsUnsafe(char c) =>
        char.IsControl(c)                     // C0, DEL, C1 (ESC, CSI ...)
        || c is >= '\u202A' and <= '\u202E'   // bidi embeddings and overrides
        || c is >= '\u2066' and <= '\u2069'   // bidi isolates
        || c is '\u2028' or '\u2029';         // line/paragraph separators
}
