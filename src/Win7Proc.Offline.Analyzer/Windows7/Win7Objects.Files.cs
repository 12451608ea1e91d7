namespace Win7Proc.Offline.Analyzer.Windows7;

// FILE_OBJECT names (layouts §4).
public sealed partial class Win7Objects
{
    /// <summary>
    /// Full name of a FILE_OBJECT: the device's object name (\Device\HarddiskVolume2, from the DeviceObject's
    /// NAME_INFO and directory) + FileName. A relative FileName (not starting with "\") is prefixed by its
    /// RelatedFileObject's FileName, and so on, at most <see cref="GuestLimits.MaxRelatedFileDepth"/> links, stopping
    /// on a cycle (FILE_OBJECT semantics per MS ns-wdm-_file_object; V2 file_name_with_device). When the device name
    /// is unreadable the volume-relative name is returned; when the related chain is cut (unreadable, cyclic or too
    /// deep) the readable relative tail is returned without device and leading "\" (so it never looks absolute);
    /// null when nothing is readable.
    /// </summary>
    public string? ReadFileObjectName(uint cr3, uint fileObject)
    {
        if (fileObject == 0) return null;
        string? device = TryReadU32(cr3, fileObject + Win7Layout.FileObjectDeviceObject, out uint deviceObject) && deviceObject != 0
            ? ReadObjectName(cr3, deviceObject)
            : null;

        // Collect FileNames leaf first while each is relative and has a related object.
        var parts = new List<string>(2);
        int maxObjects = Limits.MaxRelatedFileDepth + 1; // the file object itself, then its links
        Span<uint> seen = maxObjects <= StackWalkDepth ? stackalloc uint[maxObjects] : new uint[maxObjects];
        int depth = 0;
        int total = 0;
        uint current = fileObject;
        bool complete = false;
        while (current != 0 && depth < seen.Length && !seen[..depth].Contains(current))
        {
            seen[depth++] = current;
            string? name = ReadUnicodeString(cr3, current + Win7Layout.FileObjectFileName);
            if (name is null) break;
            total += name.Length + 1;
            if (total > Limits.MaxPathChars) break;
            if (name.Length > 0) parts.Add(name);
            if (name.StartsWith('\\')) { complete = true; break; }
            if (!TryReadU32(cr3, current + Win7Layout.FileObjectRelatedFileObject, out uint related)) break;
            if (related == 0) { complete = true; break; }
            current = related;
        }

        if (parts.Count == 0) return complete ? device : null;
        var builder = new System.Text.StringBuilder(complete ? device : null);
        for (int i = parts.Count - 1; i >= 0; i--)
        {
            string part = parts[i];
            bool needSeparator = builder.Length > 0 && builder[^1] != '\\' && !part.StartsWith('\\');
            if (needSeparator) builder.Append('\\');
            builder.Append(part);
        }
        if (builder.Length > Limits.MaxPathChars) builder.Length = Limits.MaxPathChars;
        return builder.ToString();
    }
}
