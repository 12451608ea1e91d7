using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Win7Proc.Offline.Pandalog.Schema;

namespace Win7Proc.Offline.Pandalog;

/// <summary>
/// JSON of entries, two ways.
/// <para><see cref="Format"/>: as PANDA's <c>python -m pandare.plog_reader</c> prints it (protobuf <c>MessageToJson</c>):
/// lowerCamelCase field names, 64-bit integers as strings, bytes as base64, only fields that are set; indented by two
/// spaces. <c>dump --format json</c> uses it and must stay byte-identical to PANDA's reader.</para>
/// <para><see cref="FormatJsonl"/>: the <c>jsonl</c> mapping, for <c>jq</c> and scripts (README "JSON mapping"):
/// proto field names (snake_case, as <c>--kind</c> takes them); integers as JSON numbers when exact in a double
/// (&lt;= 2^53), else as decimal strings; addresses and masks (<see cref="HexFields"/>) as <c>"0x..."</c> strings;
/// FILETIMEs (<c>create_time</c>) as ISO-8601 UTC strings (about 1.3e17, beyond 2^53: jq would round them); NTSTATUS
/// values (<c>nt_status</c>, <c>exit_status</c>) as <c>"0x%08X"</c> with a <c>*_name</c> member beside them when the
/// name is known; registry data decoded by its type (REG_SZ/EXPAND_SZ/LINK text, MULTI_SZ an array of strings,
/// DWORD/DWORD_BIG_ENDIAN/QWORD numbers, anything else or data cut short by the recorder's cap as lowercase hex) with
/// <c>value_type_name</c>; other bytes as lowercase hex.</para>
/// </summary>
public static class PlogJsonFormatter
{
    static readonly JsonFormatter s_compact = new(JsonFormatter.Settings.Default);
    static readonly JsonFormatter s_indented = new(JsonFormatter.Settings.Default.WithIndentation("  "));

    /// <summary>One entry as PANDA's reader prints it: indented (as in the json array) or compact.</summary>
    public static string Format(LogEntry entry, bool indented = false) =>
        (indented ? s_indented : s_compact).Format(entry);

    /// <summary>Fields written as <c>"0x..."</c>: guest addresses, kernel object addresses, access masks.</summary>
    public static readonly IReadOnlySet<string> HexFields = new HashSet<string>(StringComparer.Ordinal)
    { "pc", "asid", "base_address", "section_id", "id", "desired_access" };

    /// <summary>NTSTATUS fields: <c>"0x%08X"</c> and, when known, <c>&lt;field&gt;_name</c>.</summary>
    public static readonly IReadOnlySet<string> StatusFields = new HashSet<string>(StringComparer.Ordinal) { "nt_status", "exit_status" };

    /// <summary>FILETIME fields (100 ns since 1601-01-01 UTC).</summary>
    public static readonly IReadOnlySet<string> FileTimeFields = new HashSet<string>(StringComparer.Ordinal) { "create_time" };

    /// <summary>Largest integer every double represents exactly (2^53).</summary>
    const ulong MaxExactInDouble = 1UL << 53;

    static readonly JsonWriterOptions s_writerOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>One entry in the jsonl mapping (one line, no newline). <paramref name="statusName"/> gives an NTSTATUS
    /// value's name (e.g. STATUS_ACCESS_DENIED) or null when unknown; without it no names are written.</summary>
    public static string FormatJsonl(LogEntry entry, Func<uint, string?>? statusName = null)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, s_writerOptions))
            WriteMessage(json, entry, statusName);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    static void WriteMessage(Utf8JsonWriter json, IMessage message, Func<uint, string?>? statusName)
    {
        json.WriteStartObject();
        foreach (var field in message.Descriptor.Fields.InFieldNumberOrder())
        {
            var accessor = field.Accessor;
            if (field.IsRepeated)
            {
                var list = (System.Collections.IList)accessor.GetValue(message);
                if (list.Count == 0) continue;
                json.WritePropertyName(field.Name);
                json.WriteStartArray();
                foreach (var item in list) WriteValue(json, field, item, statusName);
                json.WriteEndArray();
                continue;
            }
            if (!accessor.HasValue(message)) continue;
            var value = accessor.GetValue(message);
            if (field.FieldType == FieldType.Bytes && field.Name == "value_data")
            {
                WriteRegistryData(json, message, (ByteString)value);
                continue;
            }
            json.WritePropertyName(field.Name);
            WriteValue(json, field, value, statusName);
            if (StatusFields.Contains(field.Name) && value is uint status && statusName?.Invoke(status) is { } name)
                json.WriteString(field.Name + "_name", name);
            if (field.Name == "value_type" && value is uint type && RegistryTypeName(type) is { } typeName)
                json.WriteString("value_type_name", typeName);
        }
        json.WriteEndObject();
    }

    static void WriteValue(Utf8JsonWriter json, FieldDescriptor field, object value, Func<uint, string?>? statusName)
    {
        switch (value)
        {
            case IMessage nested:
                WriteMessage(json, nested, statusName);
                break;
            case uint u when StatusFields.Contains(field.Name):
                json.WriteStringValue("0x" + u.ToString("X8", CultureInfo.InvariantCulture));
                break;
            case uint u when HexFields.Contains(field.Name):
                json.WriteStringValue("0x" + u.ToString("x", CultureInfo.InvariantCulture));
                break;
            case ulong ul when HexFields.Contains(field.Name):
                json.WriteStringValue("0x" + ul.ToString("x", CultureInfo.InvariantCulture));
                break;
            case ulong ul when FileTimeFields.Contains(field.Name):
                WriteFileTime(json, ul);
                break;
            case ulong ul:
                WriteUInt64(json, ul);
                break;
            case long l:
                if (l is >= -(long)MaxExactInDouble and <= (long)MaxExactInDouble) json.WriteNumberValue(l);
                else json.WriteStringValue(l.ToString(CultureInfo.InvariantCulture));
                break;
            case uint u: json.WriteNumberValue(u); break;
            case int i: json.WriteNumberValue(i); break;
            case bool b: json.WriteBooleanValue(b); break;
            case string s: json.WriteStringValue(s); break;
            case ByteString bytes: json.WriteStringValue(Convert.ToHexStringLower(bytes.Span)); break;
            case float f: json.WriteNumberValue(f); break;
            case double d: json.WriteNumberValue(d); break;
            default: json.WriteStringValue(value.ToString()); break; // enums: their names
        }
    }

    static void WriteUInt64(Utf8JsonWriter json, ulong value)
    {
        if (value <= MaxExactInDouble) json.WriteNumberValue(value);
        else json.WriteStringValue(value.ToString(CultureInfo.InvariantCulture)); // e.g. instr UINT64_MAX after the replay end
    }

    /// <summary>ISO-8601 UTC with the FILETIME's full 100 ns precision; 0 (unknown) and values past year 9999 as numbers/strings.</summary>
    static void WriteFileTime(Utf8JsonWriter json, ulong fileTime)
    {
        if (fileTime == 0 || fileTime > (ulong)DateTime.MaxValue.ToFileTimeUtc())
        {
            WriteUInt64(json, fileTime);
            return;
        }
        json.WriteStringValue(DateTime.FromFileTimeUtc((long)fileTime).ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
    }

    /// <summary>Windows registry value types (winnt.h REG_*).</summary>
    public static string? RegistryTypeName(uint type) => type switch
    {
        0 => "REG_NONE",
        1 => "REG_SZ",
        2 => "REG_EXPAND_SZ",
        3 => "REG_BINARY",
        4 => "REG_DWORD",
        5 => "REG_DWORD_BIG_ENDIAN",
        6 => "REG_LINK",
        7 => "REG_MULTI_SZ",
        8 => "REG_RESOURCE_LIST",
        9 => "REG_FULL_RESOURCE_DESCRIPTOR",
        10 => "REG_RESOURCE_REQUIREMENTS_LIST",
        11 => "REG_QWORD",
        _ => null,
    };

    /// <summary><c>value_data</c> decoded by the sibling <c>value_type</c>; data that cannot be decoded as its type
    /// (odd-length UTF-16, a DWORD of fewer than 4 bytes: cut by the recorder's cap) stays hex, never half-decoded.</summary>
    static void WriteRegistryData(Utf8JsonWriter json, IMessage message, ByteString data)
    {
        var typeField = message.Descriptor.FindFieldByName("value_type");
        uint? type = typeField is not null && typeField.Accessor.HasValue(message) ? (uint)typeField.Accessor.GetValue(message) : null;
        var bytes = data.Span;
        json.WritePropertyName("value_data");
        switch (type)
        {
            case 1 or 2 or 6 when bytes.Length % 2 == 0:
                json.WriteStringValue(Utf16(bytes).TrimEnd('\0'));
                return;
            case 7 when bytes.Length % 2 == 0:
                json.WriteStartArray();
                // REG_MULTI_SZ: strings each ended by NUL, the list by an empty string.
                foreach (var s in Utf16(bytes).TrimEnd('\0').Split('\0')) json.WriteStringValue(s);
                json.WriteEndArray();
                return;
            case 4 when bytes.Length == 4:
                json.WriteNumberValue(System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes));
                return;
            case 5 when bytes.Length == 4:
                json.WriteNumberValue(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes));
                return;
            case 11 when bytes.Length == 8:
                WriteUInt64(json, System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bytes));
                return;
            default:
                json.WriteStringValue(Convert.ToHexStringLower(bytes));
                return;
        }
    }

    static string Utf16(ReadOnlySpan<byte> bytes) => Encoding.Unicode.GetString(bytes);
}
