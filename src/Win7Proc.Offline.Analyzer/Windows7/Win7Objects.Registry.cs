namespace Win7Proc.Offline.Analyzer.Windows7;

// Registry key paths (layouts §4 Registry).
public sealed partial class Win7Objects
{
    /// <summary>
    /// Full path of a key object (CM_KEY_BODY): KeyControlBlock, then ParentKcb up to NULL, prepending "\" + the
    /// NameBlock name at every level including the root KCB, as WRK CmpConstructName does:
    /// \REGISTRY\MACHINE\SOFTWARE\... (names are upper-case in the NCB). A compressed name (byte 0 bit 0) is one
    /// Latin-1 byte per char, otherwise UTF-16LE with NameLength in bytes. Null when the first KCB or its name is
    /// unreadable. A walk broken by an unreadable level, a cycle or <see cref="GuestLimits.MaxKeyDepth"/> returns the
    /// readable tail without a leading "\".
    /// </summary>
    public string? ReadKeyPath(uint cr3, uint keyBody)
    {
        if (keyBody == 0 || !TryReadU32(cr3, keyBody + Win7Layout.KeyBodyKeyControlBlock, out uint kcb) || kcb == 0) return null;
        return ReadKcbPath(cr3, kcb);
    }

    /// <summary>The path of a KEY_CONTROL_BLOCK; see <see cref="ReadKeyPath"/>.</summary>
    public string? ReadKcbPath(uint cr3, uint kcb)
    {
        int maxDepth = Limits.MaxKeyDepth;
        Span<uint> seen = maxDepth <= StackWalkDepth ? stackalloc uint[maxDepth] : new uint[maxDepth];
        var parts = new List<string>(8);
        int depth = 0;
        int total = 0;
        bool complete = false;
        while (true)
        {
            if (kcb == 0) { complete = true; break; }
            if (depth >= maxDepth || seen[..depth].Contains(kcb)) break;
            seen[depth++] = kcb;
            string? name = ReadKcbName(cr3, kcb);
            if (name is null) break;
            total += name.Length + 1;
            if (total > Limits.MaxPathChars) break;
            parts.Add(name);
            if (!TryReadU32(cr3, kcb + Win7Layout.KcbParentKcb, out kcb)) break;
        }
        return parts.Count == 0 ? null : JoinPath(parts, rooted: complete, Limits.MaxPathChars);
    }

    /// <summary>The NameBlock name of one KCB, or null.</summary>
    private string? ReadKcbName(uint cr3, uint kcb)
    {
        if (!TryReadU32(cr3, kcb + Win7Layout.KcbNameBlock, out uint ncb) || ncb == 0) return null;
        if (!TryReadU8(cr3, ncb + Win7Layout.NcbCompressed, out byte compressed)) return null;
        if (!TryReadU16(cr3, ncb + Win7Layout.NcbNameLength, out ushort length)) return null;
        return (compressed & 1) != 0
            ? ReadLatin1(cr3, ncb + Win7Layout.NcbName, length)
            : ReadUtf16(cr3, ncb + Win7Layout.NcbName, length);
    }
}
