using System.Globalization;
using System.Text;
using Win7Proc.Offline.Simulator.Guest;

namespace Win7Proc.Offline.Simulator.Calls;

/// <summary>NtCreateKey(Transacted), NtOpenKey(Ex/Transacted), NtDeleteKey, NtQueryKey, NtQueryValueKey,
/// NtDeleteValueKey, NtEnumerateKey, NtEnumerateValueKey, NtSetValueKey.</summary>
internal static class RegistryCalls
{
    const uint KeyAllAccess = 0xf003f, KeyRead = 0x20019;
    const uint RegCreatedNewKey = 1, RegOpenedExistingKey = 2;

    public static PreparedCall Prepare(CallContext c) => c.Event.Op switch
    {
        "create_key" => CreateOrOpen(c, "NtCreateKey"),
        "create_key_transacted" => CreateOrOpen(c, "NtCreateKeyTransacted"),
        "open_key" => CreateOrOpen(c, "NtOpenKey"),
        "open_key_ex" => CreateOrOpen(c, "NtOpenKeyEx"),
        "open_key_transacted" => CreateOrOpen(c, "NtOpenKeyTransacted"),
        "delete_key" => OnKey(c, "NtDeleteKey"),
        "query_key" => OnKey(c, "NtQueryKey"),
        "enumerate_key" => OnKey(c, "NtEnumerateKey"),
        "enumerate_value_key" => OnKey(c, "NtEnumerateValueKey"),
        "query_value_key" => OnValue(c, "NtQueryValueKey"),
        "delete_value_key" => OnValue(c, "NtDeleteValueKey"),
        _ => SetValue(c),
    };

    static PreparedCall CreateOrOpen(CallContext c, string syscall)
    {
        var e = c.Event;
        var path = e.Text("path");
        var root = c.OptObject<KeyObject>("root");
        var full = root is null ? path : path.Length == 0 ? root.Kcb.FullPath : root.Kcb.FullPath + "\\" + path.TrimStart('\\');
        RegistryModel.Components(full);
        var f = c.Frame(syscall);
        var slot = f.Local(4);
        var oa = f.ObjectAttributes(c.OptHandleValue("root"), path);
        var disposition = f.Local(4);
        uint tx = 0;
        if (syscall.EndsWith("Transacted")) { c.Object<TransactionObject>("transaction"); tx = c.HandleValue("transaction"); }
        bool create = syscall.StartsWith("NtCreateKey");
        var access = create ? KeyAllAccess : KeyRead;
        f.SetArgs(syscall switch
        {
            "NtCreateKey" => [slot, access, oa, 0, 0, 0, disposition],
            "NtCreateKeyTransacted" => [slot, access, oa, 0, 0, 0, tx, disposition],
            "NtOpenKey" => [slot, access, oa],
            "NtOpenKeyEx" => [slot, access, oa, 0],
            _ => [slot, access, oa, tx],
        });
        return new PreparedCall
        {
            Frame = f,
            OnSuccess = () =>
            {
                var existed = c.Sim.Registry.Exists(full);
                var key = c.Sim.Registry.NewKeyObject(c.Sim.Registry.GetKcb(full), c.Process.Pid);
                f.WriteU32(slot, c.AddHandle(key, access));
                if (create) f.WriteU32(disposition, existed ? RegOpenedExistingKey : RegCreatedNewKey);
            },
        };
    }

    static PreparedCall OnKey(CallContext c, string syscall)
    {
        var e = c.Event;
        var key = c.Object<KeyObject>("handle");
        var h = c.HandleValue("handle");
        var f = c.Frame(syscall);
        var info = f.HeapZero(0x100);
        var resultLength = f.Local(4);
        switch (syscall)
        {
            case "NtDeleteKey":
                f.SetArgs(h);
                return new PreparedCall { Frame = f, OnSuccess = () => c.Sim.Registry.Delete(key.Kcb) };
            case "NtQueryKey":
                f.SetArgs(h, 2 /* KeyFullInformation */, info, 0x100, resultLength);
                break;
            default:
                f.SetArgs(h, e.Number("index"), 0 /* Basic */, info, 0x100, resultLength);
                break;
        }
        return new PreparedCall { Frame = f, OnSuccess = () => f.WriteU32(resultLength, 0x30) };
    }

    static PreparedCall OnValue(CallContext c, string syscall)
    {
        c.Object<KeyObject>("handle");
        var f = c.Frame(syscall);
        var name = f.UnicodeString(c.Event.Text("value"));
        if (syscall == "NtDeleteValueKey")
        {
            f.SetArgs(c.HandleValue("handle"), name);
            return new PreparedCall { Frame = f };
        }
        var info = f.HeapZero(0x100);
        var resultLength = f.Local(4);
        f.SetArgs(c.HandleValue("handle"), name, 2 /* KeyValuePartialInformation */, info, 0x100, resultLength);
        return new PreparedCall { Frame = f, OnSuccess = () => f.WriteU32(resultLength, 0x10) };
    }

    static readonly Dictionary<string, uint> s_types = new(StringComparer.Ordinal)
    { ["REG_NONE"] = 0, ["REG_SZ"] = 1, ["REG_EXPAND_SZ"] = 2, ["REG_BINARY"] = 3, ["REG_DWORD"] = 4, ["REG_MULTI_SZ"] = 7, ["REG_QWORD"] = 11 };

    static PreparedCall SetValue(CallContext c)
    {
        var e = c.Event;
        c.Object<KeyObject>("handle");
        var typeName = e.OptText("type") ?? "REG_SZ";
        if (!s_types.TryGetValue(typeName, out var type)) throw e.Error($"unknown value type '{typeName}' ({string.Join(", ", s_types.Keys)})");
        var text = e.OptText("data") ?? "";
        byte[] data = type switch
        {
            1 or 2 => Encoding.Unicode.GetBytes(text + "\0"),
            7 => Encoding.Unicode.GetBytes(text.Replace('|', '\0') + "\0\0"),
            4 => BitConverter.GetBytes(ParseNumber(e, text)),
            11 => BitConverter.GetBytes((ulong)ParseNumber(e, text)),
            _ => Encoding.UTF8.GetBytes(text),
        };
        var f = c.Frame("NtSetValueKey");
        var name = f.UnicodeString(e.Text("value"));
        var buffer = f.HeapBytes(data);
        f.SetArgs(c.HandleValue("handle"), name, 0, type, buffer, (uint)data.Length);
        return new PreparedCall { Frame = f };
    }

    static uint ParseNumber(ScenarioEvent e, string text)
    {
        if (uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v)) return v;
        if (Scenario.TryParseHex(text, out var hex) && hex <= uint.MaxValue) return (uint)hex;
        throw e.Error($"value data '{text}' is not a number");
    }
}
