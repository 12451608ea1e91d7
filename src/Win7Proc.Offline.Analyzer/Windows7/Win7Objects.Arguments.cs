using System.Buffers.Binary;

namespace Win7Proc.Offline.Analyzer.Windows7;

// User-mode structures passed as system call arguments (layouts §5).
public sealed partial class Win7Objects
{
    /// <summary>OBJECT_ATTRIBUTES: RootDirectory, ObjectName (null when the pointer is NULL or unreadable) and
    /// Attributes. Null when the structure's first 0x10 bytes are unreadable.</summary>
    public ObjectAttributesInfo? ReadObjectAttributes(uint cr3, uint address)
    {
        if (address == 0) return null;
        Span<byte> a = stackalloc byte[0x10];
        if (!ReadExact(cr3, address, a)) return null;
        uint root = BinaryPrimitives.ReadUInt32LittleEndian(a[(int)Win7Layout.ObjectAttributesRootDirectory..]);
        uint namePointer = BinaryPrimitives.ReadUInt32LittleEndian(a[(int)Win7Layout.ObjectAttributesObjectName..]);
        uint attributes = BinaryPrimitives.ReadUInt32LittleEndian(a[(int)Win7Layout.ObjectAttributesAttributes..]);
        return new ObjectAttributesInfo(root, namePointer == 0 ? null : ReadUnicodeString(cr3, namePointer), attributes);
    }

    /// <summary>RTL_USER_PROCESS_PARAMETERS ImagePathName and CommandLine. When Flags bit 0 (normalized) is clear the
    /// Buffer fields are offsets from the structure start (as passed to NtCreateUserProcess). Null when unreadable.</summary>
    public ProcessParametersInfo? ReadProcessParameters(uint cr3, uint address)
    {
        if (address == 0 || !TryReadU32(cr3, address + Win7Layout.ProcessParametersFlags, out uint flags)) return null;
        bool normalized = (flags & Win7Layout.ProcessParametersNormalized) != 0;
        return new ProcessParametersInfo(
            ReadParameterString(cr3, address, Win7Layout.ProcessParametersImagePathName, normalized),
            ReadParameterString(cr3, address, Win7Layout.ProcessParametersCommandLine, normalized));
    }

    private string? ReadParameterString(uint cr3, uint parameters, uint fieldOffset, bool normalized)
    {
        Span<byte> s = stackalloc byte[Win7Layout.UnicodeStringSize];
        if (!ReadExact(cr3, parameters + fieldOffset, s)) return null;
        ushort length = BinaryPrimitives.ReadUInt16LittleEndian(s[(int)Win7Layout.UnicodeStringLength..]);
        uint buffer = BinaryPrimitives.ReadUInt32LittleEndian(s[(int)Win7Layout.UnicodeStringBuffer..]);
        if (!normalized && buffer != 0) buffer = unchecked(parameters + buffer);
        return ReadUnicodeStringAt(cr3, length, buffer);
    }

    /// <summary>
    /// FILE_RENAME_INFORMATION (x86, pre-RS1): ReplaceIfExists, RootDirectory, and FileName of FileNameLength bytes,
    /// bounded by the call's <paramref name="length"/> and <see cref="GuestLimits.MaxStringBytes"/>. Null when
    /// <paramref name="length"/> cannot hold the header or the header is unreadable; a FileName cut by an unreadable
    /// page is returned as its readable prefix ("" if none).
    /// </summary>
    public FileRenameInfo? ReadFileRenameInformation(uint cr3, uint address, uint length)
    {
        if (address == 0 || length < Win7Layout.FileRenameFileName) return null;
        Span<byte> h = stackalloc byte[(int)Win7Layout.FileRenameFileName];
        if (!ReadExact(cr3, address, h)) return null;
        bool replace = h[(int)Win7Layout.FileRenameReplaceIfExists] != 0;
        uint root = BinaryPrimitives.ReadUInt32LittleEndian(h[(int)Win7Layout.FileRenameRootDirectory..]);
        uint nameLength = BinaryPrimitives.ReadUInt32LittleEndian(h[(int)Win7Layout.FileRenameFileNameLength..]);
        uint available = length - Win7Layout.FileRenameFileName;
        int bytes = (int)Math.Min(Math.Min(nameLength, available), (uint)Limits.MaxStringBytes);
        string name = ReadUtf16(cr3, address + Win7Layout.FileRenameFileName, bytes) ?? "";
        return new FileRenameInfo(replace, root, name);
    }
}
