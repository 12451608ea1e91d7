namespace Win7Proc.Offline.Analyzer.Tests.Handlers;

public class RegistryHandlerTests
{
    const string Run = @"\REGISTRY\MACHINE\SOFTWARE\MICROSOFT\WINDOWS\CURRENTVERSION\RUN";

    [Fact]
    public void A_key_opened_relative_to_a_root_opened_before_the_recording_gets_its_full_path()
    {
        var h = new EngineHarness();
        var p = h.AddProcess(1234, "evil.exe");
        h.SwitchTo(p);
        h.AddKeyHandle(p, 0x10, @"\REGISTRY\MACHINE"); // opened before the recording: never seen opening
        uint slot = h.OutSlot(p);
        var entry = Assert.Single(h.Call("NtOpenKey", [slot, 0x20019, h.ObjectAttributes(@"Software\Microsoft\Windows\CurrentVersion\Run", root: 0x10)],
            between: () => { h.Memory.WriteU32(p.Cr3, slot, 0x24); h.AddKeyHandle(p, 0x24, Run); })).NtOpenKey;
        Assert.Equal(Run, entry.Keyname); // the kernel's canonical name from the KCB chain
        Assert.Equal(0x24u, entry.Handle);

        // Failed open: the requested name joined to the root's path.
        var failed = Assert.Single(h.Call("NtOpenKeyEx", [h.OutSlot(p), 0x20019, h.ObjectAttributes(@"Software\Nope", root: 0x10), 0], status: 0xC0000034));
        Assert.Equal(@"\REGISTRY\MACHINE\Software\Nope", failed.NtOpenKeyEx.Keyname);
        Assert.False(failed.CallSucceeded);
    }

    [Fact]
    public void Operations_on_a_handle_never_seen_opening_still_have_the_key_name()
    {
        var h = new EngineHarness();
        var p = h.AddProcess(1234, "evil.exe");
        h.SwitchTo(p);
        h.AddKeyHandle(p, 0x30, Run);
        uint valueName = h.UnicodeString("Updater"), data = h.OutSlot(p);
        var bytes = "C:\\x.exe\0"u8.ToArray();
        h.Memory.Write(p.Cr3, data, bytes);

        var set = Assert.Single(h.Call("NtSetValueKey", [0x30, valueName, 0, 1, data, (uint)bytes.Length])).NtSetValueKey;
        Assert.Equal(Run, set.Pk.Keyname);
        Assert.Equal(0x30u, set.Pk.Handle);
        Assert.Equal("Updater", set.ValueName);
        Assert.Equal(1u, set.ValueType);
        Assert.Equal((uint)bytes.Length, set.ValueDataSize);
        Assert.Equal(bytes, set.ValueData.ToByteArray());

        Assert.Equal(Run, Assert.Single(h.Call("NtQueryKey", [0x30, 2, h.OutSlot(p), 100, h.OutSlot(p)])).NtQueryKey.Keyname);
        Assert.Equal(3u, Assert.Single(h.Call("NtEnumerateKey", [0x30, 3, 0, h.OutSlot(p), 100, h.OutSlot(p)])).NtEnumerateKey.Index);
        Assert.Equal(5u, Assert.Single(h.Call("NtEnumerateValueKey", [0x30, 5, 0, h.OutSlot(p), 100, h.OutSlot(p)])).NtEnumerateValueKey.Index);
        Assert.Equal("Updater", Assert.Single(h.Call("NtQueryValueKey", [0x30, valueName, 2, h.OutSlot(p), 100, h.OutSlot(p)])).NtQueryValueKey.ValueName);
        Assert.Equal("", Assert.Single(h.Call("NtDeleteValueKey", [0x30, 0])).NtDeleteValueKey.ValueName); // default value
        Assert.Equal(Run, Assert.Single(h.Call("NtDeleteKey", [0x30], between: () => h.Kernel.KeyPaths.Clear())).NtDeleteKey.Keyname);
    }

    [Fact]
    public void Value_data_is_bounded_by_the_capture_cap()
    {
        var h = new EngineHarness(dataCap: 16);
        var p = h.AddProcess(1234, "a.exe");
        h.SwitchTo(p);
        h.AddKeyHandle(p, 0x30, Run);
        uint data = h.OutSlot(p);
        h.Memory.Write(p.Cr3, data, new byte[64]);
        var set = Assert.Single(h.Call("NtSetValueKey", [0x30, h.UnicodeString("v"), 0, 3, data, 0x7FFFFFFF])).NtSetValueKey;
        Assert.Equal(16, set.ValueData.Length);
        Assert.Equal(0x7FFFFFFFu, set.ValueDataSize);
    }

    [Fact]
    public void Create_key_reports_its_disposition()
    {
        var h = new EngineHarness();
        var p = h.AddProcess(1234, "a.exe");
        h.SwitchTo(p);
        uint slot = h.OutSlot(p), disposition = h.OutSlot(p);
        var key = Assert.Single(h.Call("NtCreateKey", [slot, 0xF003F, h.ObjectAttributes(@"\Registry\Machine\Software\New"), 0, 0, 0, disposition],
            between: () =>
            {
                h.Memory.WriteU32(p.Cr3, slot, 0x34);
                h.Memory.WriteU32(p.Cr3, disposition, 1);
                h.AddKeyHandle(p, 0x34, @"\REGISTRY\MACHINE\SOFTWARE\NEW");
            })).NtCreateKey;
        Assert.Equal(@"\REGISTRY\MACHINE\SOFTWARE\NEW", key.Keyname);
        Assert.Equal(1u, key.Disposition);
    }
}
