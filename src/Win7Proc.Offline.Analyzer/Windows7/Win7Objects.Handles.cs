using System.Buffers.Binary;

namespace Win7Proc.Offline.Analyzer.Windows7;

// Handle tables and object headers (layouts §2, §3).
public sealed partial class Win7Objects
{
    /// <summary>Resolves <paramref name="handle"/> in <paramref name="process"/>'s handle table. The current-thread
    /// pseudo-handle needs the thread: use the overload taking a <see cref="ThreadInfo"/>.</summary>
    public HandleEntry? ResolveHandle(uint cr3, ProcessInfo process, uint handle) =>
        ResolveHandle(cr3, process, handle, currentThread: null, systemProcess: null);

    /// <summary>
    /// Resolves a handle value: −1 is <paramref name="process"/> itself, −2 is <paramref name="currentThread"/>
    /// (null without it), kernel handles (bit 31) are looked up in <paramref name="systemProcess"/>'s table (null
    /// without it), anything else in the process's table (TableCode level 0, 1 or 2). Null for free entries, values
    /// above <see cref="GuestLimits.MaxHandleValue"/>, level 3, or any unreadable step.
    /// </summary>
    public HandleEntry? ResolveHandle(uint cr3, ProcessInfo process, uint handle, ThreadInfo? currentThread, ProcessInfo? systemProcess = null)
    {
        ArgumentNullException.ThrowIfNull(process);
        if (handle == Win7Layout.CurrentProcessHandle)
            return PseudoHandle(handle, process.EProcess, Win7Layout.TypeIndexProcess);
        if (handle == Win7Layout.CurrentThreadHandle)
            return currentThread is null ? null : PseudoHandle(handle, currentThread.KThread, Win7Layout.TypeIndexThread);

        uint objectTable = process.ObjectTable;
        uint value = handle;
        if ((handle & Win7Layout.KernelHandleMask) != 0)
        {
            if (systemProcess is null) return null;
            objectTable = systemProcess.ObjectTable;
            value = handle & ~Win7Layout.KernelHandleMask;
        }
        uint? entry = FindHandleTableEntry(cr3, objectTable, value);
        if (entry is null) return null;

        Span<byte> e = stackalloc byte[Win7Layout.HandleEntrySize];
        if (!ReadExact(cr3, entry.Value, e)) return null;
        uint header = BinaryPrimitives.ReadUInt32LittleEndian(e[(int)Win7Layout.HandleEntryObject..]) & Win7Layout.HandleEntryObjectMask;
        uint access = BinaryPrimitives.ReadUInt32LittleEndian(e[(int)Win7Layout.HandleEntryGrantedAccess..]);
        if (header == 0 || access == Win7Layout.AdditionalInfoSignature) return null;

        if (!TryReadU8(cr3, header + Win7Layout.ObjectHeaderTypeIndex, out byte typeIndex)) return null;
        return new HandleEntry(handle, header, header + Win7Layout.ObjectHeaderBody, typeIndex, TypeFromIndex(typeIndex),
            access, ReadObjectNameFromHeader(cr3, header));
    }

    private static HandleEntry PseudoHandle(uint handle, uint body, byte typeIndex) =>
        new(handle, body - Win7Layout.ObjectHeaderBody, body, typeIndex, TypeFromIndex(typeIndex), Win7Layout.AllAccess, null);

    /// <summary>
    /// Address of the HANDLE_TABLE_ENTRY for <paramref name="handle"/> (tag bits 0–1 ignored), or null. Level 0: one
    /// page of 512 entries; level 1: a page of pointers to entry pages; level 2: top → middle → entry pages
    /// (layouts §2, V2/OSI/PWold/WRK).
    /// </summary>
    public uint? FindHandleTableEntry(uint cr3, uint handleTable, uint handle)
    {
        if (handleTable == 0 || handle > Limits.MaxHandleValue) return null;
        uint index = handle >> 2;
        if (index == 0) return null; // handle 0 (and 1–3) never names an object
        if (!TryReadU32(cr3, handleTable + Win7Layout.HandleTableTableCode, out uint tableCode)) return null;
        uint level = tableCode & Win7Layout.TableCodeLevelMask;
        uint table = tableCode & Win7Layout.TableCodeBaseMask;
        if (table == 0) return null;

        uint lowIndex = index % Win7Layout.EntriesPerLowPage;
        uint lowPageNumber = index / Win7Layout.EntriesPerLowPage;
        uint lowPage;
        switch (level)
        {
            case 0:
                if (lowPageNumber != 0) return null;
                lowPage = table;
                break;
            case 1:
                if (lowPageNumber >= Win7Layout.PointersPerMidPage) return null;
                if (!TryReadU32(cr3, table + 4 * lowPageNumber, out lowPage)) return null;
                break;
            case 2:
                uint midPageNumber = lowPageNumber / Win7Layout.PointersPerMidPage;
                if (midPageNumber >= Win7Layout.PointersPerMidPage) return null;
                if (!TryReadU32(cr3, table + 4 * midPageNumber, out uint midPage) || midPage == 0) return null;
                if (!TryReadU32(cr3, midPage + 4 * (lowPageNumber % Win7Layout.PointersPerMidPage), out lowPage)) return null;
                break;
            default:
                return null; // level 3 does not exist
        }
        return lowPage == 0 ? null : lowPage + (uint)Win7Layout.HandleEntrySize * lowIndex;
    }

    /// <summary>The Win7 SP1 x86 object type of a TypeIndex (no header cookie on Win7; layouts §3).</summary>
    public static Win7ObjectType TypeFromIndex(byte typeIndex) => typeIndex switch
    {
        Win7Layout.TypeIndexProcess => Win7ObjectType.Process,
        Win7Layout.TypeIndexThread => Win7ObjectType.Thread,
        Win7Layout.TypeIndexFile => Win7ObjectType.File,
        Win7Layout.TypeIndexKey => Win7ObjectType.Key,
        Win7Layout.TypeIndexSection => Win7ObjectType.Section,
        Win7Layout.TypeIndexAlpcPort => Win7ObjectType.AlpcPort,
        Win7Layout.TypeIndexDirectory => Win7ObjectType.Directory,
        Win7Layout.TypeIndexSymbolicLink => Win7ObjectType.SymbolicLink,
        Win7Layout.TypeIndexEvent => Win7ObjectType.Event,
        Win7Layout.TypeIndexMutant => Win7ObjectType.Mutant,
        Win7Layout.TypeIndexToken => Win7ObjectType.Token,
        Win7Layout.TypeIndexDevice => Win7ObjectType.Device,
        >= Win7Layout.TypeIndexType and <= Win7Layout.TypeIndexMax => Win7ObjectType.Other,
        _ => Win7ObjectType.Unknown,
    };

    /// <summary>TypeIndex of the object whose body is at <paramref name="objectBody"/>, or null.</summary>
    public byte? ReadObjectTypeIndex(uint cr3, uint objectBody) =>
        objectBody >= Win7Layout.ObjectHeaderBody && TryReadU8(cr3, objectBody - Win7Layout.ObjectHeaderBody + Win7Layout.ObjectHeaderTypeIndex, out byte t)
            ? t : null;

    /// <summary>The object's name from its NAME_INFO header, with its directory chain (\RPC Control\x).
    /// See <see cref="ReadObjectNameFromHeader"/>.</summary>
    public string? ReadObjectName(uint cr3, uint objectBody) =>
        objectBody < Win7Layout.ObjectHeaderBody ? null : ReadObjectNameFromHeader(cr3, objectBody - Win7Layout.ObjectHeaderBody);

    /// <summary>
    /// Name from the OBJECT_HEADER_NAME_INFO below <paramref name="objectHeader"/> (present when InfoMask bit 0x02 is
    /// set; it sits below the creator info, layouts §3 V2/V3), prefixed by each parent directory's name up to the
    /// root directory "\", e.g. \BaseNamedObjects\x. Null when unnamed or unreadable. If a directory in the chain is
    /// unreadable, or the chain is cyclic or deeper than <see cref="GuestLimits.MaxDirectoryDepth"/>, the readable
    /// tail is returned without a leading "\" (so it never looks absolute).
    /// </summary>
    public string? ReadObjectNameFromHeader(uint cr3, uint objectHeader)
    {
        if (!ReadNameInfo(cr3, objectHeader, out uint directory, out string? name) || name is null) return null;
        if (directory == 0) return name;

        int maxDepth = Limits.MaxDirectoryDepth;
        Span<uint> seen = maxDepth <= StackWalkDepth ? stackalloc uint[maxDepth] : new uint[maxDepth];
        var parts = new List<string>(4) { name };
        int total = name.Length;
        int depth = 0;
        bool rooted = false;
        while (directory != 0)
        {
            if (depth >= seen.Length || seen[..depth].Contains(directory)) break;
            seen[depth++] = directory;
            if (directory < Win7Layout.ObjectHeaderBody) break;
            if (!ReadNameInfo(cr3, directory - Win7Layout.ObjectHeaderBody, out uint parent, out string? dirName) || dirName is null) break;
            if (parent == 0)
            {
                // The root directory is named "\" and has no parent; a parentless directory with another name is
                // the top of a detached chain: keep it but do not claim an absolute path.
                if (dirName == "\\") rooted = true;
                else parts.Add(dirName);
                break;
            }
            total += dirName.Length + 1;
            if (total > Limits.MaxPathChars) break;
            parts.Add(dirName);
            directory = parent;
        }
        return JoinPath(parts, rooted, Limits.MaxPathChars);
    }

    /// <summary>Reads the NAME_INFO header of an object header: its Directory pointer and Name.</summary>
    private bool ReadNameInfo(uint cr3, uint objectHeader, out uint directory, out string? name)
    {
        directory = 0;
        name = null;
        if (objectHeader == 0 || !TryReadU8(cr3, objectHeader + Win7Layout.ObjectHeaderInfoMask, out byte infoMask)) return false;
        if ((infoMask & Win7Layout.InfoMaskNameInfo) == 0) return false;
        uint nameInfo = objectHeader - Win7Layout.NameInfoSize
            - ((infoMask & Win7Layout.InfoMaskCreatorInfo) != 0 ? Win7Layout.CreatorInfoSize : 0);
        if (!TryReadU32(cr3, nameInfo + Win7Layout.NameInfoDirectory, out directory)) return false;
        name = ReadUnicodeString(cr3, nameInfo + Win7Layout.NameInfoName);
        return name is not null;
    }

    /// <summary>Joins <paramref name="partsLeafFirst"/> (leaf first) with "\"; a leading "\" when rooted.
    /// Truncated from the left to <paramref name="maxChars"/> (then never rooted).</summary>
    private static string JoinPath(List<string> partsLeafFirst, bool rooted, int maxChars)
    {
        var builder = new System.Text.StringBuilder();
        for (int i = partsLeafFirst.Count - 1; i >= 0; i--)
        {
            if (rooted || i != partsLeafFirst.Count - 1) builder.Append('\\');
            builder.Append(partsLeafFirst[i]);
        }
        if (builder.Length > maxChars) builder.Remove(0, builder.Length - maxChars);
        return builder.ToString();
    }
}
