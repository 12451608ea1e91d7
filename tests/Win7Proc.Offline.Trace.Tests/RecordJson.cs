using System.Text.Json.Nodes;

namespace Win7Proc.Offline.Trace.Tests;

/// <summary>Records in the shape of the test vectors' NAME.expected.jsonl (see the C recorder's tracefmt/vectors).</summary>
internal static class RecordJson
{
    public static JsonObject Format(TraceRecord record) => record switch
    {
        TraceHeader h => new JsonObject
        {
            ["type"] = "header", ["major"] = h.Major, ["minor"] = h.Minor, ["page_size"] = h.PageSize,
            ["kernel_base"] = h.KernelBase, ["guest_profile"] = h.GuestProfile, ["recorder_name"] = h.RecorderName,
            ["recorder_version"] = h.RecorderVersion, ["replay_name"] = h.ReplayName,
            ["settings"] = Settings(h.Settings),
        },
        PageRecord p => new JsonObject { ["type"] = "page", ["content_id"] = p.ContentId, ["hash"] = p.Hash.ToString("x16") },
        SyscallRecord s => new JsonObject
        {
            ["type"] = "syscall", ["instr"] = s.Instr, ["pc"] = s.Pc, ["cr3"] = s.Cr3, ["thread"] = s.Thread,
            ["phase"] = (int)s.Phase, ["capture"] = s.Capture, ["callno"] = s.CallNo, ["eax"] = s.Eax, ["edx"] = s.Edx,
            ["esp"] = s.Esp, ["fs_base"] = s.FsBase, ["gdt_base"] = s.GdtBase, ["enter_instr"] = s.EnterInstr,
            ["args"] = new JsonArray(s.Args.Select(a => (JsonNode)a).ToArray()), ["pages"] = Pages(s.Pages),
        },
        ContextSwitchRecord c => new JsonObject
        {
            ["type"] = "switch", ["instr"] = c.Instr, ["old_cr3"] = c.OldCr3, ["new_cr3"] = c.NewCr3,
            ["thread"] = c.Thread, ["pages"] = Pages(c.Pages),
        },
        TraceEnd e => new JsonObject
        {
            ["type"] = "end", ["total_instr"] = e.TotalInstr, ["total_known"] = e.TotalKnown ? 1 : 0,
            ["syscall_records"] = e.SyscallRecords,
            ["switch_records"] = e.SwitchRecords, ["page_records"] = e.PageRecords, ["page_refs"] = e.PageRefs,
            ["unreadable_refs"] = e.UnreadableRefs, ["unmatched_returns"] = e.UnmatchedReturns,
            ["returns_inferred"] = e.ReturnsInferred, ["returns_by_hook"] = e.ReturnsByHook,
            ["enters_pending"] = e.EntersPending, ["reason"] = e.Reason,
        },
        UnknownRecord u => new JsonObject { ["type"] = "unknown", ["record_type"] = u.Type, ["length"] = u.Length },
        _ => throw new ArgumentException($"no JSON shape for {record.GetType().Name}"),
    };

    static JsonObject Settings(IReadOnlyList<KeyValuePair<string, string>> settings)
    {
        var o = new JsonObject();
        foreach (var (k, v) in settings) o[k] = v;
        return o;
    }

    static JsonArray Pages(PageRef[] pages) =>
        new(pages.Select(p => (JsonNode)new JsonArray(p.Space, p.Vpn, p.ContentId)).ToArray());
}
