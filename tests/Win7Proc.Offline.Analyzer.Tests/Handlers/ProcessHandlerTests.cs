using Win7Proc.Offline.Analyzer.Windows7;

namespace Win7Proc.Offline.Analyzer.Tests.Handlers;

public class ProcessHandlerTests
{
    static uint Params(EngineHarness h, string image, string commandLine)
    {
        uint address = h.NewUserAddress();
        h.Kernel.Parameters[address] = new ProcessParametersInfo(image, commandLine);
        return address;
    }

    /// <summary>NtCreateUserProcess by <paramref name="parent"/> creating <paramref name="child"/> as handle 0x80.</summary>
    static IReadOnlyList<Pandalog.Schema.LogEntry> Create(EngineHarness h, GuestProcess parent, GuestProcess child, uint status = 0)
    {
        uint slot = h.OutSlot(parent);
        return h.Call("NtCreateUserProcess",
            [slot, h.OutSlot(parent), 0x2000000, 0x2000000, 0, 0, 0, 1, Params(h, @"\??\C:\Windows\system32\cmd.exe", "cmd.exe /c dir"), h.NewUserAddress(), h.NewUserAddress()],
            status,
            between: status != 0 ? null : () =>
            {
                h.Memory.WriteU32(parent.Cr3, slot, 0x80);
                h.AddHandle(parent, 0x80, Win7ObjectType.Process, child.EProcess);
            });
    }

    [Fact]
    public void NtCreateUserProcess_logs_caller_new_process_long_name_and_command_line()
    {
        var h = new EngineHarness();
        var explorer = h.AddProcess(1000, "explorer.exe");
        var cmd = h.AddProcess(2000, "cmd.exe", ppid: 1000, imagePath: @"\Device\HarddiskVolume2\Windows\System32\cmd.exe");
        h.SwitchTo(explorer);
        var entry = Assert.Single(Create(h, explorer, cmd)).NtCreateUserProcess;
        Assert.Equal(1000u, entry.CurP.Pid);
        Assert.Equal(2000u, entry.NewP.Pid);
        Assert.Equal("cmd.exe", entry.NewP.Name);
        Assert.Equal(1000u, entry.NewP.Ppid);
        Assert.Equal(@"\Device\HarddiskVolume2\Windows\System32\cmd.exe", entry.NewP.ImagePath);
        Assert.Equal(@"\??\C:\Windows\system32\cmd.exe", entry.NewLongName);
        Assert.Equal("cmd.exe /c dir", entry.CommandLine);
        Assert.Equal(h.Instr, entry.NewP.InstanceInstr); // the creation's instr is the instance key
    }

    [Fact]
    public void A_failed_creation_is_logged_with_an_unknown_new_process_and_creates_nothing()
    {
        var h = new EngineHarness();
        var explorer = h.AddProcess(1000, "explorer.exe");
        var ghost = h.AddProcess(2000, "cmd.exe", ppid: 1000);
        h.SwitchTo(explorer);
        var entry = Assert.Single(Create(h, explorer, ghost, status: 0xC0000022));
        Assert.False(entry.CallSucceeded);
        Assert.Equal("unknown", entry.NtCreateUserProcess.NewP.Name);
        Assert.Equal(0u, entry.NtCreateUserProcess.NewP.Pid);
        Assert.Null(h.Engine.Processes.Find(2000));
    }

    [Fact]
    public void Terminating_another_process_resolves_its_handle_through_the_handle_table()
    {
        var h = new EngineHarness();
        var killer = h.AddProcess(1000, "taskkill.exe");
        var victim = h.AddProcess(3000, "victim.exe");
        h.SwitchTo(killer);
        h.AddHandle(killer, 0x90, Win7ObjectType.Process, victim.EProcess);
        var enter = h.Enter("NtTerminateProcess", [0x90, 7]);
        Assert.DoesNotContain(h.Entries, e => e.NtTerminateProcess is not null); // waiting for the status
        h.Return(enter, 0);
        var entry = Assert.Single(h.Entries, e => e.NtTerminateProcess is not null);
        Assert.Equal(enter.Instr, entry.Instr); // logged at the enter
        Assert.Equal(1000u, entry.NtTerminateProcess.CurP.Pid);
        Assert.Equal(3000u, entry.NtTerminateProcess.TermP.Pid);
        Assert.Equal("victim.exe", entry.NtTerminateProcess.TermP.Name);
        Assert.Equal(7u, entry.NtTerminateProcess.ExitStatus);
        Assert.True(entry.CallSucceeded);
    }

    [Fact]
    public void Self_termination_is_logged_at_enter_without_waiting_and_never_for_a_null_handle()
    {
        var h = new EngineHarness();
        var p = h.AddProcess(1000, "a.exe");
        h.SwitchTo(p);
        h.Enter("NtTerminateProcess", [0, 0]); // RtlExitUserProcess: other threads only
        Assert.DoesNotContain(h.Entries, e => e.NtTerminateProcess is not null);
        var enter = h.Enter("NtTerminateProcess", [0xFFFFFFFF, 0]);
        var entry = Assert.Single(h.Entries, e => e.NtTerminateProcess is not null);
        Assert.Equal(enter.Instr, entry.Instr);
        Assert.Equal(1000u, entry.NtTerminateProcess.TermP.Pid);
        Assert.False(entry.HasNtStatus);
    }

    [Fact]
    public void A_pid_reused_after_exit_is_a_new_instance()
    {
        var h = new EngineHarness();
        var parent = h.AddProcess(1000, "explorer.exe");
        var first = h.AddProcess(2000, "first.exe", ppid: 1000, createTime: 111);
        h.SwitchTo(parent);
        var created = Assert.Single(Create(h, parent, first)).NtCreateUserProcess.NewP;
        h.SwitchTo(first);
        h.Enter("NtTerminateProcess", [0xFFFFFFFF, 0]);
        h.Kernel.Processes.Remove(first.EProcess);

        var second = h.AddProcess(2000, "second.exe", ppid: 1000, createTime: 222);
        h.SwitchTo(parent);
        var again = Assert.Single(Create(h, parent, second)).NtCreateUserProcess.NewP;
        Assert.Equal(2000u, again.Pid);
        Assert.Equal("second.exe", again.Name);
        Assert.NotEqual(created.InstanceInstr, again.InstanceInstr);
        Assert.Equal(222ul, again.CreateTime);
        h.SwitchTo(second);
        var newPid = h.Entries.Last(e => e.NewPid is not null).NewPid;
        Assert.Equal(again.InstanceInstr, newPid.InstanceInstr);
        Assert.Equal(3, h.Engine.ProcessesSeen);
    }

    [Fact]
    public void NtOpenProcess_logs_the_target_and_access()
    {
        var h = new EngineHarness();
        var a = h.AddProcess(1000, "a.exe");
        var b = h.AddProcess(1100, "b.exe");
        h.SwitchTo(a);
        uint slot = h.OutSlot(a), clientId = h.OutSlot(a, initial: 1100);
        var entry = Assert.Single(h.Call("NtOpenProcess", [slot, 0x1F0FFF, h.ObjectAttributes(null), clientId],
            between: () => { h.Memory.WriteU32(a.Cr3, slot, 0x64); h.AddHandle(a, 0x64, Win7ObjectType.Process, b.EProcess); })).NtOpenProcess;
        Assert.Equal(1100u, entry.Target.Pid);
        Assert.Equal("b.exe", entry.Target.Name);
        Assert.Equal(0x1F0FFFu, entry.DesiredAccess);
        Assert.Equal(0x64u, entry.Handle);

        var denied = Assert.Single(h.Call("NtOpenProcess", [h.OutSlot(a), 0x1F0FFF, h.ObjectAttributes(null), clientId], status: 0xC0000022));
        Assert.Equal(1100u, denied.NtOpenProcess.Target.Pid); // from the ClientId argument
        Assert.Equal("unknown", denied.NtOpenProcess.Target.Name);
    }

    [Fact]
    public void NtCreateProcessEx_takes_the_image_name_from_the_section_file()
    {
        var h = new EngineHarness();
        var parent = h.AddProcess(1000, "services.exe");
        var child = h.AddProcess(1500, "legacy.exe", ppid: 1000);
        h.SwitchTo(parent);
        uint section = h.NewBody();
        h.AddHandle(parent, 0x70, Win7ObjectType.Section, section);
        h.Kernel.Sections[section] = new SectionInfo(section, 0, 0, 0, @"\Device\HarddiskVolume2\legacy.exe");
        uint slot = h.OutSlot(parent);
        var entry = Assert.Single(h.Call("NtCreateProcessEx", [slot, 0x1F0FFF, 0, 0xFFFFFFFF, 0, 0x70, 0, 0, 0],
            between: () => { h.Memory.WriteU32(parent.Cr3, slot, 0x74); h.AddHandle(parent, 0x74, Win7ObjectType.Process, child.EProcess); }));
        Assert.Equal(@"\Device\HarddiskVolume2\legacy.exe", entry.NtCreateProcessEx.NewLongName);
        Assert.Equal(1500u, entry.NtCreateProcessEx.NewP.Pid);
        Assert.Equal(1000u, entry.NtCreateProcessEx.CurP.Pid);
    }
}
