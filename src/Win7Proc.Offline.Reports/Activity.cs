using Win7Proc.Offline.Pandalog.Schema;

namespace Win7Proc.Offline.Reports;

/// <summary>What one event did. The export names each as Process Monitor does where it has the operation
/// (<see cref="ProcmonNames.Operation"/>), else with a clear name of ours.</summary>
public enum Operation
{
    ProcessCreate, ProcessExit, ProcessOpen,
    FileCreate, FileOpen, FileRead, FileWrite, FileRename, FileDelete, FileDisposition, FileDeleteOnClose,
    KeyOpen, KeyCreate, KeyQuery, KeyDelete, KeyEnum, ValueQuery, ValueSet, ValueDelete, ValueEnum,
    SectionCreate, SectionOpen, SectionMap,
    PortCreate, PortConnect, PortAccept, PortListen, PortMessage,
    MemoryRead, MemoryWrite,
}

/// <summary>
/// One operation of one process instance, from one pandalog entry. <see cref="Path"/> is the object name as logged
/// (device path, <c>\REGISTRY\...</c>, section or port name); renderers turn it into what users expect
/// (<see cref="ProcmonPaths"/>). Fields not relevant to the operation are null.
/// </summary>
public sealed record ActivityEvent
{
    public required ulong Instr { get; init; }
    public required ReportProcess Process { get; init; }
    public required Operation Operation { get; init; }
    /// <summary>The LogEntry field the event came from (nt_create_file, ...).</summary>
    public required string Kind { get; init; }
    public uint? Tid { get; init; }
    /// <summary>NTSTATUS; null when unknown (a self-termination never returns).</summary>
    public uint? Status { get; init; }
    public string? Path { get; init; }
    /// <summary>Rename target; section's backing file.</summary>
    public string? SecondPath { get; init; }
    /// <summary>The other process: created, terminated, opened, written to, mapped into, port peer.</summary>
    public ReportProcess? Other { get; init; }
    public ulong? Bytes { get; init; }
    public ulong? Offset { get; init; }
    public uint? Length { get; init; }
    public uint? CreateDisposition { get; init; }
    public uint? IoResult { get; init; }
    public string? ValueName { get; init; }
    public uint? ValueType { get; init; }
    public byte[]? ValueData { get; init; }
    public uint? ValueSize { get; init; }
    public uint? Index { get; init; }
    public uint? Address { get; init; }
    public uint? ObjectId { get; init; }
    public uint? DesiredAccess { get; init; }
    public uint? ExitStatus { get; init; }
    public bool? Delete { get; init; }
    /// <summary>Command line of a created process.</summary>
    public string? CommandLine { get; init; }

    public bool Succeeded => Status is null or < 0x80000000u;
    public bool Failed => Status is >= 0xC0000000u;
}

/// <summary>
/// The processes and events of a log, built entry by entry in log order. Process identity follows the analyzer's
/// instance key (pid + <c>instance_instr</c>); for logs without it (PANDA's own plogs) a creation, or a different
/// name under the same pid, starts a new instance.
/// </summary>
public sealed class ActivityLog
{
    /// <summary>Bound on process instances (a hostile log cannot grow the table without end); beyond it, events of
    /// further processes are attributed to one "unknown" instance.</summary>
    public const int MaxProcesses = 1 << 16;
    /// <summary>Bound on kept events (about 200 bytes each): a log with more keeps its first ones and says how many
    /// it left out (<see cref="DroppedEvents"/>), rather than exhausting memory.</summary>
    public const int MaxEvents = 10_000_000;

    readonly List<ReportProcess> _processes = new();
    readonly Dictionary<(uint Pid, ulong Instance), ReportProcess> _byKey = new();
    readonly Dictionary<uint, ReportProcess> _latestByPid = new();
    readonly List<ActivityEvent> _events = new();
    ReportProcess? _overflow;

    public IReadOnlyList<ReportProcess> Processes => _processes;
    public IReadOnlyList<ActivityEvent> Events => _events;
    /// <summary>Events beyond <see cref="MaxEvents"/>, counted but not kept.</summary>
    public long DroppedEvents { get; private set; }
    public ulong? TotalInstr { get; private set; }
    public ulong LastInstr { get; private set; }
    public ProcmonPaths Paths { get; } = new();

    /// <summary>Reads every entry of a plog or trace (<see cref="ReportInput.Read"/>).</summary>
    public static ActivityLog Read(string path, out string? warning, CancellationToken ct = default)
    {
        var log = new ActivityLog();
        warning = ReportInput.Read(path, log.Add, ct);
        log.Complete();
        if (log.DroppedEvents > 0)
            warning = (warning is null ? "" : warning + "; ") + string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{path}: only the first {MaxEvents:N0} operations were kept ({log.DroppedEvents:N0} more left out)");
        return log;
    }

    public static ActivityLog From(IEnumerable<LogEntry> entries)
    {
        var log = new ActivityLog();
        foreach (var entry in entries) log.Add(entry);
        log.Complete();
        return log;
    }

    /// <summary>PANDA's instr for entries outside the replay (the placeholder, entries after the end).</summary>
    const ulong OutsideReplay = ulong.MaxValue;

    public void Add(LogEntry e)
    {
        if (e.HasTotalInstr) TotalInstr = e.TotalInstr;
        if (e.Instr == OutsideReplay) return;
        ulong instr = e.Instr;
        LastInstr = Math.Max(LastInstr, instr);
        uint? status = e.HasNtStatus ? e.NtStatus : e.HasCallSucceeded ? (e.CallSucceeded ? 0u : 0xC0000001u) : null;
        uint? tid = e.HasTid ? e.Tid : null;

        ActivityEvent Event(Process? actor, Operation op, string kind) => new()
        {
            Instr = instr, Process = Resolve(actor, instr), Operation = op, Kind = kind, Tid = tid, Status = status,
        };
        void Log(ActivityEvent ev)
        {
            if (_events.Count < MaxEvents) _events.Add(ev);
            else DroppedEvents++;
        }

        if (e.NewPid is { } sighting) Resolve(sighting, instr);
        if ((e.NtCreateUserProcess ?? e.NtCreateProcessEx) is { } create)
        {
            var kind = e.NtCreateUserProcess is not null ? "nt_create_user_process" : "nt_create_process_ex";
            var creator = Resolve(create.CurP, instr);
            ReportProcess? child = null;
            bool ok = status is null || status < 0x80000000u;
            if (ok && create.NewP is { } born && born.Pid is not (0 or 0xFFFFFFFF))
            {
                child = Resolve(born, instr, creation: true);
                child.Birth = instr;
                if (child != creator) SetParent(child, creator);
                if (!string.IsNullOrEmpty(create.NewLongName)) child.ImagePath ??= create.NewLongName;
                if (create.HasCommandLine && create.CommandLine.Length > 0) child.CommandLine ??= create.CommandLine;
                Paths.LearnDrive(create.NewLongName, born.HasImagePath ? born.ImagePath : null);
            }
            Log(Event(create.CurP, Operation.ProcessCreate, kind) with
            {
                Path = create.NewLongName, Other = child, CommandLine = create.HasCommandLine ? create.CommandLine : null,
            });
        }
        if (e.NtTerminateProcess is { } term)
        {
            var caller = Resolve(term.CurP, instr);
            ReportProcess? victim = term.TermP is { } t && t.Pid is not (0 or 0xFFFFFFFF) ? Resolve(t, instr) : null;
            bool ok = status is null || status < 0x80000000u;
            if (victim is not null && ok)
            {
                if (victim.Death is null || instr > victim.Death) victim.Death = instr;
                if (term.HasExitStatus) victim.ExitStatus = term.ExitStatus;
                if (victim != caller) victim.TerminatedBy = caller;
            }
            Log(Event(term.CurP, Operation.ProcessExit, "nt_terminate_process") with
            {
                Other = victim, ExitStatus = term.HasExitStatus ? term.ExitStatus : null,
            });
        }
        if (e.NtOpenProcess is { } open)
            Log(Event(open.Proc, Operation.ProcessOpen, "nt_open_process") with
            {
                Other = Resolve(open.Target, instr), DesiredAccess = open.HasDesiredAccess ? open.DesiredAccess : null,
            });

        File(e.NtCreateFile, Operation.FileCreate, "nt_create_file");
        File(e.NtOpenFile, Operation.FileOpen, "nt_open_file");
        File(e.NtReadFile, Operation.FileRead, "nt_read_file");
        File(e.NtWriteFile, Operation.FileWrite, "nt_write_file");
        File(e.NtDeleteFile, Operation.FileDelete, "nt_delete_file");
        if (e.NtSetInformationFile is { } rename)
            Log(Event(rename.Proc, Operation.FileRename, "nt_set_information_file") with
            {
                Path = rename.OrigFilename, SecondPath = rename.NewFilename,
            });
        if (e.FileDisposition is { } disposition)
        {
            bool onClose = disposition.HasCause && disposition.Cause == FileDisposition.Types.Cause.DeleteOnClose;
            Log(Event(disposition.Proc, onClose ? Operation.FileDeleteOnClose : Operation.FileDisposition, "file_disposition") with
            {
                Path = disposition.Filename, Delete = disposition.HasDeleteFile ? disposition.DeleteFile : null,
            });
        }

        Key(e.NtCreateKey, Operation.KeyCreate, "nt_create_key");
        Key(e.NtCreateKeyTransacted, Operation.KeyCreate, "nt_create_key_transacted");
        Key(e.NtOpenKey, Operation.KeyOpen, "nt_open_key");
        Key(e.NtOpenKeyEx, Operation.KeyOpen, "nt_open_key_ex");
        Key(e.NtOpenKeyTransacted, Operation.KeyOpen, "nt_open_key_transacted");
        Key(e.NtOpenKeyTransactedEx, Operation.KeyOpen, "nt_open_key_transacted_ex");
        Key(e.NtDeleteKey, Operation.KeyDelete, "nt_delete_key");
        Key(e.NtQueryKey, Operation.KeyQuery, "nt_query_key");
        Value(e.NtQueryValueKey, Operation.ValueQuery, "nt_query_value_key");
        Value(e.NtDeleteValueKey, Operation.ValueDelete, "nt_delete_value_key");
        Value(e.NtSetValueKey, Operation.ValueSet, "nt_set_value_key");
        if (e.NtEnumerateKey is { } ek)
            Log(Event(ek.Pk?.Proc, Operation.KeyEnum, "nt_enumerate_key") with { Path = ek.Pk?.Keyname, Index = ek.Index });
        if (e.NtEnumerateValueKey is { } ev)
            Log(Event(ev.Pk?.Proc, Operation.ValueEnum, "nt_enumerate_value_key") with { Path = ev.Pk?.Keyname, Index = ev.Index });

        Section(e.NtCreateSection, Operation.SectionCreate, "nt_create_section");
        Section(e.NtOpenSection, Operation.SectionOpen, "nt_open_section");
        if (e.NtMapViewOfSection is { } map)
            Log(Event(map.Section?.Proc, Operation.SectionMap, "nt_map_view_of_section") with
            {
                Path = SectionName(map.Section), SecondPath = map.Section is { HasFileName: true } s ? s.FileName : null,
                Other = Resolve(map.Target, instr), ObjectId = map.Section?.SectionId,
                Address = map.HasBaseAddress ? map.BaseAddress : null, Length = map.HasViewSize ? map.ViewSize : null,
            });

        PortInit(e.NtCreatePort, Operation.PortCreate, "nt_create_port");
        PortInit(e.NtAlpcCreatePort, Operation.PortCreate, "nt_alpc_create_port");
        PortInit(e.NtConnectPort, Operation.PortConnect, "nt_connect_port");
        PortInit(e.NtAlpcConnectPort, Operation.PortConnect, "nt_alpc_connect_port");
        Port(e.NtListenPort, Operation.PortListen, "nt_listen_port");
        Port(e.NtAcceptConnectPort, Operation.PortAccept, "nt_accept_connect_port");
        Port(e.NtAlpcAcceptConnectPort, Operation.PortAccept, "nt_alpc_accept_connect_port");
        Port(e.NtCompleteConnectPort, Operation.PortMessage, "nt_complete_connect_port");
        Port(e.NtRequestPort, Operation.PortMessage, "nt_request_port");
        Port(e.NtRequestWaitReplyPort, Operation.PortMessage, "nt_request_wait_reply_port");
        Port(e.NtReplyPort, Operation.PortMessage, "nt_reply_port");
        Port(e.NtReplyWaitReplyPort, Operation.PortMessage, "nt_reply_wait_reply_port");
        Port(e.NtReplyWaitReceivePort, Operation.PortMessage, "nt_reply_wait_receive_port");
        Port(e.NtImpersonateClientOfPort, Operation.PortMessage, "nt_impersonate_client_of_port");
        Port(e.NtAlpcSendWaitReceivePort, Operation.PortMessage, "nt_alpc_send_wait_receive_port");

        Memory(e.NtReadVirtualMemory, Operation.MemoryRead, "nt_read_virtual_memory");
        Memory(e.NtWriteVirtualMemory, Operation.MemoryWrite, "nt_write_virtual_memory");

        void File(ProcessFile? f, Operation op, string kind)
        {
            if (f is null) return;
            Log(Event(f.Proc, op, kind) with
            {
                Path = f.Filename,
                Bytes = f.HasBytesTransferred ? f.BytesTransferred : null,
                Offset = f.HasByteOffset ? f.ByteOffset : null,
                Length = f.HasRequestedLength ? f.RequestedLength : null,
                CreateDisposition = f.HasCreateDisposition ? f.CreateDisposition : null,
                IoResult = f.HasIoResult ? f.IoResult : null,
            });
        }
        void Key(ProcessKey? k, Operation op, string kind)
        {
            if (k is not null) Log(Event(k.Proc, op, kind) with { Path = k.Keyname });
        }
        void Value(ProcessKeyValue? v, Operation op, string kind)
        {
            if (v is null) return;
            Log(Event(v.Pk?.Proc, op, kind) with
            {
                Path = v.Pk?.Keyname, ValueName = v.ValueName,
                ValueType = v.HasValueType ? v.ValueType : null,
                ValueData = v.HasValueData ? v.ValueData.ToByteArray() : null,
                ValueSize = v.HasValueDataSize ? v.ValueDataSize : null,
            });
        }
        void Section(Section? s, Operation op, string kind)
        {
            if (s is null) return;
            Log(Event(s.Proc, op, kind) with
            {
                Path = SectionName(s), SecondPath = s.HasFileName ? s.FileName : null, ObjectId = s.SectionId,
            });
        }
        void PortInit(LocalPortInit? init, Operation op, string kind)
        {
            if (init is null) return;
            var actor = init.Port?.Proc ?? (op == Operation.PortCreate ? init.Port?.Server : init.Port?.Client);
            var peer = op == Operation.PortCreate ? null : init.Port?.Server;
            Log(Event(actor, op, kind) with
            {
                Path = init.PortName, Other = peer is null ? null : Resolve(peer, instr), ObjectId = init.Port?.Id,
            });
        }
        void Port(LocalPort? port, Operation op, string kind)
        {
            if (port is null) return;
            var actor = port.Proc ?? port.Server ?? port.Client;
            // The peer is the side the actor is not: a server talks to its client and the other way round.
            var peer = port.Server is { } server && actor is not null && server.Pid == actor.Pid ? port.Client : port.Server;
            Log(Event(actor, op, kind) with
            {
                Path = port.HasPortName ? port.PortName : null, Other = peer is null ? null : Resolve(peer, instr),
                ObjectId = port.Id,
            });
        }
        void Memory(VirtualMemory? vm, Operation op, string kind)
        {
            if (vm is null) return;
            Log(Event(vm.Proc, op, kind) with
            {
                Other = Resolve(vm.Target, instr), Address = vm.HasBaseAddress ? vm.BaseAddress : null,
                Length = vm.HasSize ? vm.Size : null, Bytes = vm.HasBytesTransferred ? vm.BytesTransferred : null,
            });
        }
    }

    static string? SectionName(Section? s) =>
        s is null ? null : s.HasName && s.Name.Length > 0 ? s.Name : s.HasFileName ? s.FileName : null;

    /// <summary>A process the analyzer knew only by its pid (its EPROCESS was unreadable): it is named "unknown" and has
    /// no instance_instr, so it means the pid's current instance, not a new one.</summary>
    static bool IsUnread(Process p) => p.Pid != 0 && p.Name == "unknown" && !p.HasInstanceInstr && !p.HasCreateTime;

    /// <summary>The instance a Process message means at <paramref name="instr"/> (a new one for an unseen key).</summary>
    ReportProcess Resolve(Process? p, ulong instr, bool creation = false)
    {
        p ??= new Process { Pid = 0, Name = "unknown" };
        ReportProcess? found = null;
        if (p.HasInstanceInstr)
        {
            _byKey.TryGetValue((p.Pid, p.InstanceInstr), out found);
        }
        else if (_latestByPid.TryGetValue(p.Pid, out var latest)
                 && (string.Equals(latest.Name, p.Name, StringComparison.Ordinal) || IsUnread(p))
                 && !(creation && (latest.Birth is not null || latest.Death is not null)))
        {
            found = latest;
        }
        if (found is null)
        {
            if (_processes.Count >= MaxProcesses)
                return _overflow ??= new ReportProcess(0, 0, "unknown", _processes.Count);
            found = new ReportProcess(p.Pid, p.HasInstanceInstr ? p.InstanceInstr : instr, p.Name ?? "", _processes.Count)
            {
                FirstSeen = instr,
            };
            _processes.Add(found);
            _byKey[(found.Pid, found.Instance)] = found;
            _latestByPid[found.Pid] = found;
        }
        else if (_latestByPid.TryGetValue(p.Pid, out var current) && current.Instance < found.Instance)
        {
            _latestByPid[p.Pid] = found;
        }
        found.LastSeen = Math.Max(found.LastSeen, instr);
        if (p.HasImagePath && p.ImagePath.Length > 0 && (found.ImagePath is null || !found.ImagePath.StartsWith('\\')))
            found.ImagePath = p.ImagePath; // the kernel's full device path wins over a creator's Win32 path
        if (p.HasCommandLine && p.CommandLine.Length > 0) found.CommandLine ??= p.CommandLine;
        if (p.HasCreateTime) found.CreateTime ??= p.CreateTime;
        if (p.HasPpid) found.Ppid ??= p.Ppid;
        return found;
    }

    static void SetParent(ReportProcess child, ReportProcess parent)
    {
        for (var up = parent; up is not null; up = up.Parent)
            if (up == child) return; // a hostile log could close a loop
        child.Parent = parent;
    }

    /// <summary>After the last entry: processes whose creation was not seen get the parent their ppid names: the latest
    /// instance of that pid not born after the child was first seen (a reused pid is no parent: create times must not
    /// contradict it either).</summary>
    public void Complete()
    {
        foreach (var process in _processes)
        {
            if (process.Parent is not null || process.Birth is not null || process.Ppid is not uint ppid || ppid == process.Pid) continue;
            // Not one born after the child was first seen, nor one created after the child (its create time says so).
            var parent = _processes.Where(p => p.Pid == ppid && p != process && (p.Birth ?? 0) <= process.FirstSeen
                    && !(p.CreateTime is { } pt && process.CreateTime is { } ct && pt > ct))
                .OrderByDescending(p => p.Instance).FirstOrDefault();
            if (parent is not null) SetParent(process, parent);
        }
    }
}
