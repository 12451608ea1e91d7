using System.Globalization;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Win7Proc.Offline.Pandalog.Schema;

namespace Win7Proc.Offline.Pandalog;

/// <summary>
/// One text line per entry in the format of PANDA's old <c>pandalog_reader</c> (qemu/panda/pandalog_print.c @974ecd;
/// reference notes §5), which the original <c>procstory.py</c> parsed:
/// <list type="bullet">
/// <item>prefix <c>instr=N pc=0xHEX :</c> (no space after the colon), or <c>[after replay end] : </c> when instr is
/// UINT64_MAX;</item>
/// <item>the original fragments in the original order and spacing: <c> asid=HEX</c>, <c>(process, new_pid, PID, NAME)</c>,
/// <c> nt_create_user_process  [ (process, cur, P, N) ] [ (process, new, P, N) ] name=[LONG] </c>, file calls
/// <c> nt_xxx (process, , P, N)(filename,F)(handle,H)</c>, keys <c>(process_key,K)</c>, values
/// <c>(process_key_value,V)</c>, indices <c>(process_key_index,I)</c>, sections <c>(section,(id,HEX),(name,N),(file_name,F))</c>,
/// ports <c> nt_create_port name = N (local_port,(process, server, ..)(process, client, ..))</c>, VM calls
/// <c>(process, proc, ..)(process, target, ..)</c>, <c> nt_any_syscall (num=N)</c>, <c> total instr N</c>.
/// pid and handle print as signed 32-bit (<c>%d</c>), as the C code did.</item>
/// </list>
/// win7proc-offline additions, after all of that, so that a line holding only original fields is byte-identical to
/// the old dumper's:
/// <list type="bullet">
/// <item>new call messages reuse the fragment of the original call they mirror, in field-number order:
/// <c> nt_open_file </c>+file fragment, <c> nt_create_process_ex </c>like nt_create_user_process,
/// <c> nt_open_process (process, proc, P, N)(process, target, P, N)</c>, <c> nt_alpc_create_port </c>/
/// <c> nt_alpc_connect_port </c>like nt_create_port, <c> nt_alpc_accept_connect_port </c>/
/// <c> nt_alpc_send_wait_receive_port </c>like the local-port calls, <c> file_disposition </c>like the file calls;</item>
/// <item>then, if any other field is set, <c> |</c> followed by one <c> path=value</c> per field the fragments do not
/// show (additions, and the few original fields the old dumper never printed such as LocalPort.proc/id), in
/// field-number order, path = field names from LogEntry joined by dots (<c>nt_create_file.proc.ppid=4</c>). Values:
/// strings <c>[text]</c>; bytes <c>[hex]</c>; bool <c>true</c>/<c>false</c>; NTSTATUS, addresses, ids and access masks
/// <c>0xHEX</c>; other numbers decimal.</item>
/// </list>
/// Control characters in strings (which would break the one-line-per-entry rule) print as <c>\xNN</c>.
/// </summary>
public static class PlogTextFormatter
{
    public static string Format(LogEntry entry)
    {
        var sb = new StringBuilder(160);
        Append(sb, entry);
        return sb.ToString();
    }

    /// <summary>Appends the line for <paramref name="entry"/> (without the newline).</summary>
    public static void Append(StringBuilder sb, LogEntry entry)
    {
        if (entry.Instr == PandalogFormat.AfterReplayEnd) sb.Append("[after replay end] : ");
        else sb.Append("instr=").Append(entry.Instr.ToString(CultureInfo.InvariantCulture))
               .Append(" pc=0x").Append(entry.Pc.ToString("x", CultureInfo.InvariantCulture)).Append(" :");
        if (entry.HasAsid) sb.Append(" asid=").Append(entry.Asid.ToString("x", CultureInfo.InvariantCulture));

        if (entry.NewPid is { } newPid) Process(sb, "new_pid", newPid);
        if (entry.NtCreateUserProcess is { } cup) CreateProcess(sb, " nt_create_user_process ", cup);
        if (entry.NtTerminateProcess is { } tp)
        {
            sb.Append(" nt_terminate_process ").Append(" [ ");
            Process(sb, "cur", tp.CurP);
            sb.Append(" ]").Append(" [ ");
            Process(sb, "term", tp.TermP);
            sb.Append(" ]");
        }
        File(sb, " nt_create_file ", entry.NtCreateFile);
        File(sb, " nt_create_file_ret ", entry.NtCreateFileRet);
        File(sb, " nt_read_file ", entry.NtReadFile);
        File(sb, " nt_delete_file ", entry.NtDeleteFile);
        File(sb, " nt_write_file ", entry.NtWriteFile);
        if (entry.NtSetInformationFile is { } sif)
        {
            sb.Append(" nt_set_information_file ");
            Process(sb, "", sif.Proc);
            sb.Append("(orig_filename,"); Text(sb, sif.OrigFilename); sb.Append(')');
            sb.Append("(new_filename,"); Text(sb, sif.NewFilename); sb.Append(')');
        }
        Key(sb, " nt_create_key ", entry.NtCreateKey);
        Key(sb, " nt_create_key_transacted ", entry.NtCreateKeyTransacted);
        Key(sb, " nt_open_key ", entry.NtOpenKey);
        Key(sb, " nt_open_key_ex ", entry.NtOpenKeyEx);
        Key(sb, " nt_open_key_transacted ", entry.NtOpenKeyTransacted);
        Key(sb, " nt_open_key_transacted_ex ", entry.NtOpenKeyTransactedEx);
        Key(sb, " nt_delete_key ", entry.NtDeleteKey);
        Key(sb, " nt_query_key ", entry.NtQueryKey);
        KeyValue(sb, " nt_query_value_key ", entry.NtQueryValueKey);
        KeyValue(sb, " nt_delete_value_key ", entry.NtDeleteValueKey);
        KeyValue(sb, " nt_set_value_key ", entry.NtSetValueKey);
        KeyIndex(sb, " nt_enumerate_key ", entry.NtEnumerateKey);
        KeyIndex(sb, " nt_enumerate_value_key ", entry.NtEnumerateValueKey);
        if (entry.NtCreateSection is { } cs) { sb.Append(" nt_create_section "); Section(sb, cs); }
        if (entry.NtOpenSection is { } os) { sb.Append(" nt_open_section "); Section(sb, os); }
        if (entry.NtMapViewOfSection is { } mv)
        {
            sb.Append(" nt_map_view_of_section ");
            Process(sb, "target", mv.Target);
            Section(sb, mv.Section);
        }
        PortInit(sb, " nt_create_port ", entry.NtCreatePort);
        PortInit(sb, " nt_connect_port ", entry.NtConnectPort);
        Port(sb, " nt_listen_port ", entry.NtListenPort);
        Port(sb, " nt_accept_connect_port ", entry.NtAcceptConnectPort);
        Port(sb, " nt_complete_connect_port ", entry.NtCompleteConnectPort);
        Port(sb, " nt_request_port ", entry.NtRequestPort);
        Port(sb, " nt_request_wait_reply_port ", entry.NtRequestWaitReplyPort);
        Port(sb, " nt_reply_port ", entry.NtReplyPort);
        Port(sb, " nt_reply_wait_reply_port ", entry.NtReplyWaitReplyPort);
        Port(sb, " nt_reply_wait_receive_port ", entry.NtReplyWaitReceivePort);
        Port(sb, " nt_impersonate_client_of_port ", entry.NtImpersonateClientOfPort);
        Memory(sb, " nt_read_virtual_memory ", entry.NtReadVirtualMemory);
        Memory(sb, " nt_write_virtual_memory ", entry.NtWriteVirtualMemory);
        if (entry.HasNtAnySyscall) sb.Append(" nt_any_syscall (num=").Append((int)entry.NtAnySyscall).Append(')');
        if (entry.HasTotalInstr) sb.Append(" total instr ").Append((long)entry.TotalInstr);

        // --- additions: new calls in the style of the original call they mirror ---
        File(sb, " nt_open_file ", entry.NtOpenFile);
        if (entry.NtCreateProcessEx is { } cpx) CreateProcess(sb, " nt_create_process_ex ", cpx);
        if (entry.NtOpenProcess is { } op)
        {
            sb.Append(" nt_open_process ");
            Process(sb, "proc", op.Proc);
            Process(sb, "target", op.Target);
        }
        PortInit(sb, " nt_alpc_create_port ", entry.NtAlpcCreatePort);
        PortInit(sb, " nt_alpc_connect_port ", entry.NtAlpcConnectPort);
        Port(sb, " nt_alpc_accept_connect_port ", entry.NtAlpcAcceptConnectPort);
        Port(sb, " nt_alpc_send_wait_receive_port ", entry.NtAlpcSendWaitReceivePort);
        if (entry.FileDisposition is { } fd)
        {
            // Like the file calls' fragment; delete_file and cause follow in the " |" tail.
            sb.Append(" file_disposition ");
            Process(sb, "", fd.Proc);
            sb.Append("(filename,"); Text(sb, fd.Filename); sb.Append(')');
            sb.Append("(handle,").Append((int)fd.Handle).Append(')');
        }

        // --- additions: every field the fragments above do not show ---
        int mark = sb.Length;
        sb.Append(" |");
        int before = sb.Length;
        AppendUnshown(sb, entry, "", covered: true);
        if (sb.Length == before) sb.Length = mark;
    }

    static void Process(StringBuilder sb, string label, Process? p)
    {
        sb.Append("(process, ").Append(label).Append(", ").Append(p is null ? 0 : (int)p.Pid).Append(", ");
        Text(sb, p?.Name);
        sb.Append(')');
    }

    static void CreateProcess(StringBuilder sb, string keyword, NtCreateUserProcess cup)
    {
        sb.Append(keyword).Append(" [ ");
        Process(sb, "cur", cup.CurP);
        sb.Append(" ]").Append(" [ ");
        Process(sb, "new", cup.NewP);
        sb.Append(" ]").Append(" name=[");
        Text(sb, cup.NewLongName);
        sb.Append("] ");
    }

    static void File(StringBuilder sb, string keyword, ProcessFile? pf)
    {
        if (pf is null) return;
        sb.Append(keyword);
        Process(sb, "", pf.Proc);
        sb.Append("(filename,"); Text(sb, pf.Filename); sb.Append(')');
        sb.Append("(handle,").Append((int)pf.Handle).Append(')');
    }

    static void KeyBody(StringBuilder sb, ProcessKey? pk)
    {
        Process(sb, "", pk?.Proc);
        sb.Append("(process_key,"); Text(sb, pk?.Keyname); sb.Append(')');
    }

    static void Key(StringBuilder sb, string keyword, ProcessKey? pk)
    {
        if (pk is null) return;
        sb.Append(keyword);
        KeyBody(sb, pk);
    }

    static void KeyValue(StringBuilder sb, string keyword, ProcessKeyValue? pkv)
    {
        if (pkv is null) return;
        sb.Append(keyword);
        KeyBody(sb, pkv.Pk);
        sb.Append("(process_key_value,"); Text(sb, pkv.ValueName); sb.Append(')');
    }

    static void KeyIndex(StringBuilder sb, string keyword, ProcessKeyIndex? pki)
    {
        if (pki is null) return;
        sb.Append(keyword);
        KeyBody(sb, pki.Pk);
        sb.Append("(process_key_index,").Append(pki.Index).Append(')');
    }

    static void Section(StringBuilder sb, Section? s)
    {
        Process(sb, "", s?.Proc);
        sb.Append("(section,(id,").Append((s?.SectionId ?? 0).ToString("x", CultureInfo.InvariantCulture)).Append("),");
        if (s is { HasName: true }) { sb.Append("(name,"); Text(sb, s.Name); sb.Append("),"); }
        if (s is { HasFileName: true }) { sb.Append("(file_name,"); Text(sb, s.FileName); sb.Append(')'); }
        sb.Append(')');
    }

    static void LocalPort(StringBuilder sb, LocalPort? port)
    {
        sb.Append("(local_port,");
        if (port?.Server is { } server) Process(sb, "server", server);
        if (port?.Client is { } client) Process(sb, "client", client);
        sb.Append(')');
    }

    static void PortInit(StringBuilder sb, string keyword, LocalPortInit? init)
    {
        if (init is null) return;
        sb.Append(keyword).Append("name = ");
        Text(sb, init.PortName);
        sb.Append(' ');
        LocalPort(sb, init.Port);
    }

    static void Port(StringBuilder sb, string keyword, LocalPort? port)
    {
        if (port is null) return;
        sb.Append(keyword);
        LocalPort(sb, port);
    }

    static void Memory(StringBuilder sb, string keyword, VirtualMemory? vm)
    {
        if (vm is null) return;
        sb.Append(keyword);
        Process(sb, "proc", vm.Proc);
        Process(sb, "target", vm.Target);
    }

    /// <summary>Guest text as is, except control characters (a newline would split the entry's line).</summary>
    static void Text(StringBuilder sb, string? s)
    {
        if (s is null) { sb.Append("(null)"); return; } // what the C printf printed for a missing string
        foreach (char c in s)
        {
            if (c < 0x20 || c == 0x7f) sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
            else sb.Append(c);
        }
    }

    // Fields shown by the fragments above, per message type (field numbers). Anything else goes to the " |" tail.
    static readonly Dictionary<MessageDescriptor, HashSet<int>> s_shown = new()
    {
        [Schema.LogEntry.Descriptor] = new()
        {
            1, 2, 3, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28, 29, 30, 31, 40, 41, 42, 43, 44,
            45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 60, 61, 62, 65, 78, 79, 80, 81, 82, 83, 84, 96,
        },
        [Schema.Process.Descriptor] = new() { 1, 2 },
        [NtCreateUserProcess.Descriptor] = new() { 1, 2, 3 },
        [NtTerminateProcess.Descriptor] = new() { 1, 2 },
        [ProcessFile.Descriptor] = new() { 1, 2, 3 },
        [NtSetInformationFile.Descriptor] = new() { 1, 2, 3 },
        [ProcessKey.Descriptor] = new() { 1, 2 },
        [ProcessKeyValue.Descriptor] = new() { 1, 2 },
        [ProcessKeyIndex.Descriptor] = new() { 1, 2 },
        [Schema.Section.Descriptor] = new() { 1, 2, 3, 4 },
        [SectionMapView.Descriptor] = new() { 1, 2 },
        [Schema.LocalPort.Descriptor] = new() { 3, 4 },
        [LocalPortInit.Descriptor] = new() { 2, 3 },
        [VirtualMemory.Descriptor] = new() { 1, 2 },
        [ProcessAccess.Descriptor] = new() { 1, 2 },
        [FileDisposition.Descriptor] = new() { 1, 2, 3 },
    };

    // Numbers that read best in hex: NTSTATUS, guest addresses, kernel object ids, access masks.
    static readonly HashSet<string> s_hexFields = new() { "nt_status", "exit_status", "base_address", "desired_access", "id", "section_id" };

    static void AppendUnshown(StringBuilder sb, IMessage message, string prefix, bool covered)
    {
        var descriptor = message.Descriptor;
        s_shown.TryGetValue(descriptor, out var shown);
        foreach (var field in descriptor.Fields.InFieldNumberOrder())
        {
            if (field.IsRepeated || !field.Accessor.HasValue(message)) continue;
            bool fieldCovered = covered && shown is not null && shown.Contains(field.FieldNumber);
            var value = field.Accessor.GetValue(message);
            if (field.FieldType == FieldType.Message)
            {
                AppendUnshown(sb, (IMessage)value, prefix + field.Name + ".", fieldCovered);
                continue;
            }
            if (fieldCovered) continue;
            sb.Append(' ').Append(prefix).Append(field.Name).Append('=');
            switch (value)
            {
                case string s: sb.Append('['); Text(sb, s); sb.Append(']'); break;
                case ByteString bytes: sb.Append('[').Append(Convert.ToHexStringLower(bytes.Span)).Append(']'); break;
                case bool b: sb.Append(b ? "true" : "false"); break;
                case uint u when s_hexFields.Contains(field.Name): sb.Append("0x").Append(u.ToString("x", CultureInfo.InvariantCulture)); break;
                case ulong ul when s_hexFields.Contains(field.Name): sb.Append("0x").Append(ul.ToString("x", CultureInfo.InvariantCulture)); break;
                case Enum e when field.FieldType == FieldType.Enum:
                    // The proto name (SET_DISPOSITION), as PANDA's readers print it, not the C# member name.
                    sb.Append(field.EnumType.FindValueByNumber(Convert.ToInt32(e, CultureInfo.InvariantCulture))?.Name ?? e.ToString()); break;
                case IFormattable f: sb.Append(f.ToString(null, CultureInfo.InvariantCulture)); break;
                default: sb.Append(value); break;
            }
        }
    }
}
