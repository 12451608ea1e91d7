using Google.Protobuf;
using Win7Proc.Offline.Pandalog.Schema;

namespace Win7Proc.Offline.Pandalog.Tests;

/// <summary>LogEntry builders for tests.</summary>
static class Entries
{
    public static Process P(uint pid, string name) => new() { Pid = pid, Name = name };

    public static LogEntry At(ulong instr, ulong pc = 0x7777a5b2) => new() { Instr = instr, Pc = pc };

    public static LogEntry NewPid(ulong instr, uint pid, string name) { var e = At(instr, 0x82a1b2c3); e.NewPid = P(pid, name); return e; }

    public static LogEntry CreateFile(ulong instr, uint pid, string name, string file, uint handle)
    {
        var e = At(instr);
        e.NtCreateFile = new ProcessFile { Proc = P(pid, name), Filename = file, Handle = handle };
        return e;
    }

    /// <summary>One entry of every kind the schema has, original and added, with additions set, in instr order
    /// from <paramref name="start"/> (two per instr, to exercise the same-instruction rule).</summary>
    public static List<LogEntry> EveryKind(ulong start = 1000)
    {
        var explorer = P(1232, "explorer.exe");
        var cmd = P(1316, "cmd.exe");
        var list = new List<LogEntry>();
        ulong instr = start;
        LogEntry Next() { var e = At(instr, 0x77000000 + instr); if (list.Count % 2 == 1) instr += 17; list.Add(e); return e; }

        Next().NewPid = explorer;
        var withAsid = Next(); withAsid.Asid = 0x3f2a1000; withAsid.NewPid = cmd.Clone();
        Next().NtCreateUserProcess = new NtCreateUserProcess { CurP = explorer, NewP = cmd, NewLongName = @"C:\Windows\system32\cmd.exe" };
        var created = Next();
        created.NtCreateUserProcess = new NtCreateUserProcess
        {
            CurP = explorer, NewLongName = @"C:\Windows\system32\notepad.exe", CommandLine = "notepad.exe a.txt",
            NewP = new Process { Pid = 1400, Name = "notepad.exe", Ppid = 1232, ImagePath = @"\Device\HarddiskVolume2\Windows\System32\notepad.exe", CreateTime = 129876543210000000, InstanceInstr = instr },
        };
        created.NtStatus = 0; created.CallSucceeded = true; created.Tid = 1236;
        Next().NtTerminateProcess = new NtTerminateProcess { CurP = cmd, TermP = cmd, ExitStatus = 0xC000013A };
        Next().NtCreateFile = new ProcessFile { Proc = cmd, Filename = @"\Device\HarddiskVolume2\Users\bob\a.txt", Handle = 0x24, CreateDisposition = 3, IoResult = 2 };
        Next().NtCreateFileRet = new ProcessFile { Proc = cmd, Filename = "unk(ret)", Handle = 0x24 };
        Next().NtReadFile = new ProcessFile { Proc = cmd, Filename = @"\Device\HarddiskVolume2\Users\bob\a.txt", Handle = 0x24, BytesTransferred = 512, RequestedLength = 4096, ByteOffset = 0 };
        Next().NtDeleteFile = new ProcessFile { Proc = cmd, Filename = @"\??\C:\tmp\x.tmp", Handle = 0 };
        Next().NtWriteFile = new ProcessFile { Proc = cmd, Filename = @"\Device\HarddiskVolume2\Users\bob\a.txt", Handle = 0xFFFFFFFF };
        Next().NtSetInformationFile = new NtSetInformationFile { Proc = cmd, OrigFilename = @"\Device\HarddiskVolume2\a.txt", NewFilename = @"\Device\HarddiskVolume2\b.txt", Handle = 0x28 };
        var key = new ProcessKey { Proc = explorer, Keyname = @"\REGISTRY\MACHINE\SOFTWARE\MICROSOFT\WINDOWS" };
        Next().NtCreateKey = new ProcessKey(key) { Handle = 0x30, Disposition = 1 };
        Next().NtCreateKeyTransacted = key.Clone();
        Next().NtOpenKey = key.Clone();
        Next().NtOpenKeyEx = key.Clone();
        Next().NtOpenKeyTransacted = key.Clone();
        Next().NtOpenKeyTransactedEx = key.Clone();
        Next().NtDeleteKey = key.Clone();
        Next().NtQueryKey = key.Clone();
        Next().NtQueryValueKey = new ProcessKeyValue { Pk = key.Clone(), ValueName = "ProgramFilesDir" };
        Next().NtDeleteValueKey = new ProcessKeyValue { Pk = key.Clone(), ValueName = "Old" };
        Next().NtEnumerateKey = new ProcessKeyIndex { Pk = key.Clone(), Index = 3 };
        Next().NtEnumerateValueKey = new ProcessKeyIndex { Pk = key.Clone(), Index = 4 };
        Next().NtSetValueKey = new ProcessKeyValue { Pk = key.Clone(), ValueName = "Run", ValueType = 1, ValueData = ByteString.CopyFrom(0x61, 0x00, 0x62, 0x00), ValueDataSize = 4 };
        Next().NtCreateSection = new Section { Proc = cmd, SectionId = 0x85a3c0d8, Name = @"\BaseNamedObjects\S", FileName = @"\Device\HarddiskVolume2\Windows\System32\kernel32.dll", Handle = 0x40 };
        Next().NtOpenSection = new Section { Proc = cmd, SectionId = 0x85a3c0e0 };
        Next().NtMapViewOfSection = new SectionMapView { Section = new Section { Proc = cmd, SectionId = 0x85a3c0d8, Name = "S" }, Target = explorer, BaseAddress = 0x10000, ViewSize = 0x2000 };
        var port = new LocalPort { Proc = explorer, Id = 0x86000000, Server = explorer, Client = cmd };
        Next().NtCreatePort = new LocalPortInit { Port = port.Clone(), PortName = @"\RPC Control\epmapper" };
        Next().NtConnectPort = new LocalPortInit { Port = new LocalPort { Proc = cmd, Id = 0x86000010 }, PortName = @"\RPC Control\epmapper" };
        Next().NtListenPort = port.Clone();
        Next().NtAcceptConnectPort = port.Clone();
        Next().NtCompleteConnectPort = port.Clone();
        Next().NtRequestPort = port.Clone();
        Next().NtRequestWaitReplyPort = port.Clone();
        Next().NtReplyPort = port.Clone();
        Next().NtReplyWaitReplyPort = port.Clone();
        Next().NtReplyWaitReceivePort = new LocalPort { Proc = explorer, Id = 0x86000000, Server = explorer };
        Next().NtImpersonateClientOfPort = new LocalPort { Proc = explorer, Id = 0x86000000, PortName = "epmapper", Handle = 0x50 };
        Next().NtReadVirtualMemory = new VirtualMemory { Proc = explorer, Target = cmd, BaseAddress = 0x7ffd0000, Size = 0x100, BytesTransferred = 0x100 };
        Next().NtWriteVirtualMemory = new VirtualMemory { Proc = explorer, Target = cmd };
        var any = Next(); any.NtAnySyscall = 0x1001; any.SyscallName = "NtUserGetMessage";
        Next().NtSetInformationFile = new NtSetInformationFile { Proc = cmd, OrigFilename = "line\nbreak", NewFilename = "tab\there" };
        Next().NtOpenFile = new ProcessFile { Proc = cmd, Filename = @"\Device\HarddiskVolume2\Windows", Handle = 0x60, IoResult = 1 };
        Next().NtCreateProcessEx = new NtCreateUserProcess { CurP = explorer, NewP = P(1500, "svchost.exe"), NewLongName = @"\Device\HarddiskVolume2\Windows\System32\svchost.exe" };
        Next().NtOpenProcess = new ProcessAccess { Proc = explorer, Target = cmd, DesiredAccess = 0x1F0FFF, Handle = 0x70 };
        Next().NtAlpcCreatePort = new LocalPortInit { Port = port.Clone(), PortName = @"\RPC Control\lsasspirpc" };
        Next().NtAlpcConnectPort = new LocalPortInit { Port = port.Clone(), PortName = @"\RPC Control\lsasspirpc" };
        Next().NtAlpcAcceptConnectPort = port.Clone();
        Next().NtAlpcSendWaitReceivePort = port.Clone();
        var failed = Next(); failed.NtOpenKey = key.Clone(); failed.NtStatus = 0xC0000034; failed.CallSucceeded = false;
        Next().TotalInstr = 9349975980;
        var late = At(PandalogFormat.AfterReplayEnd, PandalogFormat.AfterReplayEnd); late.TotalInstr = 9349975980; list.Add(late);
        return list;
    }
}
