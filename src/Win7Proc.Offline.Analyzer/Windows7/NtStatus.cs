namespace Win7Proc.Offline.Analyzer.Windows7;

/// <summary>NTSTATUS names. The §7 values are from Wine include/ntstatus.h (layouts §7, WINE); the others are the
/// standard ntstatus.h values (spot-checked against public NTSTATUS tables).</summary>
public static class NtStatus
{
    public const uint Success = 0x00000000;
    public const uint Timeout = 0x00000102;
    public const uint Pending = 0x00000103;
    public const uint ObjectNameExists = 0x40000000;
    public const uint BufferOverflow = 0x80000005;
    /// <summary>STATUS_PARTIAL_COPY: a cross-process read or write stopped early (a warning status).</summary>
    public const uint PartialCopy = 0x8000000D;
    public const uint NoMoreFiles = 0x80000006;
    public const uint NoMoreEntries = 0x8000001A;
    public const uint InvalidHandle = 0xC0000008;
    public const uint AccessDenied = 0xC0000022;
    public const uint BufferTooSmall = 0xC0000023;
    public const uint ObjectNameNotFound = 0xC0000034;

    private static readonly Dictionary<uint, string> s_names = new()
    {
        [0x00000000] = "STATUS_SUCCESS",
        [0x00000102] = "STATUS_TIMEOUT",
        [0x00000103] = "STATUS_PENDING",
        [0x00000104] = "STATUS_REPARSE",
        [0x40000000] = "STATUS_OBJECT_NAME_EXISTS",
        [0x80000005] = "STATUS_BUFFER_OVERFLOW",
        [0x80000006] = "STATUS_NO_MORE_FILES",
        [0x8000001A] = "STATUS_NO_MORE_ENTRIES",
        [0xC0000001] = "STATUS_UNSUCCESSFUL",
        [0xC0000002] = "STATUS_NOT_IMPLEMENTED",
        [0xC0000004] = "STATUS_INFO_LENGTH_MISMATCH",
        [0xC0000005] = "STATUS_ACCESS_VIOLATION",
        [0xC0000008] = "STATUS_INVALID_HANDLE",
        [0xC000000D] = "STATUS_INVALID_PARAMETER",
        [0xC000000F] = "STATUS_NO_SUCH_FILE",
        [0xC0000011] = "STATUS_END_OF_FILE",
        [0xC0000022] = "STATUS_ACCESS_DENIED",
        [0xC0000023] = "STATUS_BUFFER_TOO_SMALL",
        [0xC0000024] = "STATUS_OBJECT_TYPE_MISMATCH",
        [0xC0000033] = "STATUS_OBJECT_NAME_INVALID",
        [0xC0000034] = "STATUS_OBJECT_NAME_NOT_FOUND",
        [0xC0000035] = "STATUS_OBJECT_NAME_COLLISION",
        [0xC0000037] = "STATUS_PORT_DISCONNECTED",
        [0xC0000039] = "STATUS_OBJECT_PATH_INVALID",
        [0xC000003A] = "STATUS_OBJECT_PATH_NOT_FOUND",
        [0xC000003B] = "STATUS_OBJECT_PATH_SYNTAX_BAD",
        [0xC0000043] = "STATUS_SHARING_VIOLATION",
        [0xC0000056] = "STATUS_DELETE_PENDING",
        [0xC00000BA] = "STATUS_FILE_IS_A_DIRECTORY",
        [0xC00000BB] = "STATUS_NOT_SUPPORTED",
        [0xC0000103] = "STATUS_NOT_A_DIRECTORY",
        [0xC0000121] = "STATUS_CANNOT_DELETE",
        [0xC000017C] = "STATUS_KEY_DELETED",
    };

    /// <summary>The status's name if known, else its value as 0x%08X (e.g. "0xC0000999").</summary>
    public static string Describe(uint status) =>
        s_names.TryGetValue(status, out string? name) ? name : "0x" + status.ToString("X8", System.Globalization.CultureInfo.InvariantCulture);
}
