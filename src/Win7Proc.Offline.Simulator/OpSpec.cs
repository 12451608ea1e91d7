namespace Win7Proc.Offline.Simulator;

/// <summary>The fields each scenario op takes (samples/README.md documents them; scenario.schema.json mirrors this).</summary>
internal static class OpSpec
{
    public static readonly string[] Common = ["instr", "pid", "op", "tid", "status", "comment", .. Scenario.Format2EventFields];

    public sealed record Spec(string[] Required, string[] Optional);

    static Spec S(string[] required, params string[] optional) => new(required, optional);

    static readonly string[] PortMessageOps =
    [
        "listen_port", "complete_connect_port", "request_port", "request_wait_reply_port", "reply_port",
        "reply_wait_reply_port", "reply_wait_receive_port", "impersonate_client_of_port", "alpc_send_wait_receive_port",
    ];

    public static readonly Dictionary<string, Spec> Ops = BuildOps();

    static Dictionary<string, Spec> BuildOps()
    {
        var ops = new Dictionary<string, Spec>(StringComparer.Ordinal)
        {
            ["switch"] = S([]),
            ["syscall"] = S(["name"]),
            ["create_process"] = S(["child_pid", "image"], "cmdline", "as", "thread_as", "child_tid", "normalized"),
            ["terminate_process"] = S([], "process", "exit_status"),
            ["open_process"] = S(["target_pid"], "as"),
            ["create_file"] = S(["path"], "root", "as", "delete_on_close"),
            ["open_file"] = S(["path"], "root", "as", "delete_on_close"),
            ["read_file"] = S(["handle"], "size"),
            ["write_file"] = S(["handle"], "data"),
            ["delete_file"] = S(["path"], "root"),
            ["rename_file"] = S(["handle", "new_path"], "root"),
            ["set_disposition_file"] = S(["handle"], "delete"),
            ["create_key"] = S(["path"], "root", "as"),
            ["open_key"] = S(["path"], "root", "as"),
            ["open_key_ex"] = S(["path"], "root", "as"),
            ["create_key_transacted"] = S(["path", "transaction"], "root", "as"),
            ["open_key_transacted"] = S(["path", "transaction"], "root", "as"),
            ["delete_key"] = S(["handle"]),
            ["query_key"] = S(["handle"]),
            ["query_value_key"] = S(["handle", "value"]),
            ["delete_value_key"] = S(["handle", "value"]),
            ["enumerate_key"] = S(["handle", "index"]),
            ["enumerate_value_key"] = S(["handle", "index"]),
            ["set_value_key"] = S(["handle", "value"], "type", "data"),
            ["create_section"] = S([], "name", "file", "size", "as"),
            ["open_section"] = S(["name"], "as"),
            ["map_view_of_section"] = S(["section"], "process"),
            ["create_port"] = S(["name"], "as"),
            ["alpc_create_port"] = S(["name"], "as"),
            ["connect_port"] = S(["name"], "as"),
            ["alpc_connect_port"] = S(["name"], "as"),
            ["accept_connect_port"] = S(["port", "client_pid"], "as"),
            ["read_virtual_memory"] = S(["process", "address"], "size"),
            ["write_virtual_memory"] = S(["process", "address"], "data"),
            ["close"] = S(["handle"]),
            ["duplicate_object"] = S(["handle"], "target_process", "as"),
        };
        foreach (var op in PortMessageOps) ops[op] = S(["port"], "data");
        return ops;
    }
}

/// <summary>NTSTATUS names the scenarios may use (values from Wine's include/ntstatus.h).</summary>
public static class NtStatus
{
    public const uint Success = 0;
    public static readonly IReadOnlyDictionary<string, uint> Names = new Dictionary<string, uint>(StringComparer.Ordinal)
    {
        ["STATUS_SUCCESS"] = 0x00000000, ["STATUS_PENDING"] = 0x00000103, ["STATUS_OBJECT_NAME_EXISTS"] = 0x40000000,
        ["STATUS_BUFFER_OVERFLOW"] = 0x80000005, ["STATUS_NO_MORE_FILES"] = 0x80000006, ["STATUS_NO_MORE_ENTRIES"] = 0x8000001A,
        ["STATUS_INVALID_HANDLE"] = 0xC0000008, ["STATUS_INVALID_PARAMETER"] = 0xC000000D, ["STATUS_ACCESS_DENIED"] = 0xC0000022,
        ["STATUS_BUFFER_TOO_SMALL"] = 0xC0000023, ["STATUS_OBJECT_NAME_INVALID"] = 0xC0000033,
        ["STATUS_OBJECT_NAME_NOT_FOUND"] = 0xC0000034, ["STATUS_OBJECT_NAME_COLLISION"] = 0xC0000035,
        ["STATUS_OBJECT_PATH_NOT_FOUND"] = 0xC000003A, ["STATUS_SHARING_VIOLATION"] = 0xC0000043,
        ["STATUS_PORT_CONNECTION_REFUSED"] = 0xC0000041, ["STATUS_KEY_DELETED"] = 0xC000017C,
    };

    public static uint Parse(string text, string where)
    {
        if (Names.TryGetValue(text, out var v)) return v;
        if (Scenario.TryParseHex(text, out var hex) && hex <= uint.MaxValue) return (uint)hex;
        throw new ScenarioException($"{where}: unknown status '{text}' (use a STATUS_ name or 0x hex)");
    }
}
