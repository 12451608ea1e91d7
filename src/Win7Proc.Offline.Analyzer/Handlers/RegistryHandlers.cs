using Win7Proc.Offline.Pandalog.Schema;

namespace Win7Proc.Offline.Analyzer;

/// <summary>
/// Registry calls. Every key name is the full path from the kernel's key control block chain of the handle in play
/// (so keys opened before the recording have names, unlike in the original), or for a create/open that failed, the
/// requested name joined to its RootDirectory's path. Argument positions: tracefmt/windows-7-x86-syscalls.tsv.
/// </summary>
internal static class RegistryHandlers
{
    public static IEnumerable<SyscallHandler> All() =>
    [
        // NtCreateKey(KeyHandle*, DesiredAccess, ObjectAttributes*, TitleIndex, Class*, CreateOptions, Disposition*)
        OpenKey("NtCreateKey", "nt_create_key", dispositionArg: 6, (e, k) => e.NtCreateKey = k),
        // NtCreateKeyTransacted(KeyHandle*, DesiredAccess, ObjectAttributes*, TitleIndex, Class*, CreateOptions, TransactionHandle, Disposition*)
        OpenKey("NtCreateKeyTransacted", "nt_create_key_transacted", dispositionArg: 7, (e, k) => e.NtCreateKeyTransacted = k),
        // NtOpenKey(KeyHandle*, DesiredAccess, ObjectAttributes*) and the Ex / Transacted forms (same first three).
        OpenKey("NtOpenKey", "nt_open_key", dispositionArg: null, (e, k) => e.NtOpenKey = k),
        OpenKey("NtOpenKeyEx", "nt_open_key_ex", dispositionArg: null, (e, k) => e.NtOpenKeyEx = k),
        OpenKey("NtOpenKeyTransacted", "nt_open_key_transacted", dispositionArg: null, (e, k) => e.NtOpenKeyTransacted = k),
        OpenKey("NtOpenKeyTransactedEx", "nt_open_key_transacted_ex", dispositionArg: null, (e, k) => e.NtOpenKeyTransactedEx = k),
        // NtDeleteKey(KeyHandle), NtQueryKey(KeyHandle, ...): the name is read at enter (a deleted key's chain may go).
        OnKey("NtDeleteKey", "nt_delete_key", (e, call, k) => e.NtDeleteKey = k),
        OnKey("NtQueryKey", "nt_query_key", (e, call, k) => e.NtQueryKey = k),
        // NtEnumerateKey / NtEnumerateValueKey(KeyHandle, Index, ...)
        OnKey("NtEnumerateKey", "nt_enumerate_key", (e, call, k) => e.NtEnumerateKey = new ProcessKeyIndex { Pk = k, Index = call.Arg(1) }),
        OnKey("NtEnumerateValueKey", "nt_enumerate_value_key", (e, call, k) => e.NtEnumerateValueKey = new ProcessKeyIndex { Pk = k, Index = call.Arg(1) }),
        // NtQueryValueKey / NtDeleteValueKey(KeyHandle, ValueName*, ...)
        OnValue("NtQueryValueKey", "nt_query_value_key", withData: false, (e, v) => e.NtQueryValueKey = v),
        OnValue("NtDeleteValueKey", "nt_delete_value_key", withData: false, (e, v) => e.NtDeleteValueKey = v),
        // NtSetValueKey(KeyHandle, ValueName*, TitleIndex, Type, Data*, DataSize)
        OnValue("NtSetValueKey", "nt_set_value_key", withData: true, (e, v) => e.NtSetValueKey = v),
    ];

    sealed record Requested(string? Name);
    sealed record KeyInputs(string? KeyName);
    sealed record ValueInputs(string? KeyName, string? ValueName, byte[]? Data);

    static SyscallHandler OpenKey(string syscall, string kind, int? dispositionArg, Action<LogEntry, ProcessKey> set) =>
        SyscallHandler.Create(syscall, SyscallFamily.Registry,
            call => new Requested(call.FullObjectName(call.ReadObjectAttributes(call.Arg(2)))),
            (call, requested) =>
            {
                uint handle = 0;
                string? name = null;
                if (call.Succeeded && call.ReadU32(call.Arg(0)) is uint opened)
                {
                    handle = opened;
                    name = call.HandleObjectName(opened); // the KCB chain: canonical, full
                }
                name ??= requested.Name;
                var key = new ProcessKey { Proc = call.Caller, Keyname = name ?? ProcessTracker.UnknownName, Handle = handle };
                if (dispositionArg is int arg && call.Succeeded && call.Arg(arg) != 0 && call.ReadU32(call.Arg(arg)) is uint disposition)
                    key.Disposition = disposition;
                call.RememberHandle(handle, name);
                call.Emit(kind, e => set(e, key));
            });

    static ProcessKey KeyMessage(SyscallCall call, string? keyName) =>
        new() { Proc = call.Caller, Keyname = keyName ?? ProcessTracker.UnknownName, Handle = call.Arg(0) };

    static SyscallHandler OnKey(string syscall, string kind, Action<LogEntry, SyscallCall, ProcessKey> set) =>
        SyscallHandler.Create(syscall, SyscallFamily.Registry,
            call => new KeyInputs(call.HandleObjectName(call.Arg(0))),
            (call, inputs) =>
            {
                var key = KeyMessage(call, inputs.KeyName);
                call.Emit(kind, e => set(e, call, key));
            });

    static SyscallHandler OnValue(string syscall, string kind, bool withData, Action<LogEntry, ProcessKeyValue> set) =>
        SyscallHandler.Create(syscall, SyscallFamily.Registry,
            call => new ValueInputs(
                call.HandleObjectName(call.Arg(0)),
                call.Arg(1) == 0 ? "" : call.ReadUnicodeString(call.Arg(1)) ?? ProcessTracker.UnknownName,
                withData ? call.ReadBytes(call.Arg(4), call.Arg(5), call.DataCap) : null),
            (call, inputs) =>
            {
                // A null or empty ValueName designates the key's default value: logged as "".
                var value = new ProcessKeyValue { Pk = KeyMessage(call, inputs.KeyName), ValueName = inputs.ValueName ?? "" };
                if (withData)
                {
                    value.ValueType = call.Arg(3);
                    value.ValueDataSize = call.Arg(5);
                    value.ValueData = Google.Protobuf.ByteString.CopyFrom(inputs.Data ?? []);
                }
                call.Emit(kind, e => set(e, value));
            });
}
