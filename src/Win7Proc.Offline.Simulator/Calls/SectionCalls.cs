using Win7Proc.Offline.Simulator.Guest;

namespace Win7Proc.Offline.Simulator.Calls;

/// <summary>NtCreateSection, NtOpenSection, NtMapViewOfSection.</summary>
internal static class SectionCalls
{
    const uint SectionAllAccess = 0xf001f, SectionMapReadWrite = 0x6;
    const uint PageReadWrite = 4, SecCommit = 0x8000000;

    public static PreparedCall Prepare(CallContext c) => c.Event.Op switch
    {
        "create_section" => Create(c),
        "open_section" => Open(c),
        _ => MapView(c),
    };

    static PreparedCall Create(CallContext c)
    {
        var e = c.Event;
        var name = e.OptText("name");
        if (name is not null) GuestKernel.SplitObjectPath(name);
        var file = c.OptObject<FileObjectModel>("file");
        var size = e.OptNumber("size") ?? 0x10000;
        if (size == 0 || size > 0x10000000) throw e.Error("'size' must be between 1 and 0x10000000");
        var f = c.Frame("NtCreateSection");
        var slot = f.Local(4);
        var oa = name is null ? 0 : f.ObjectAttributes(0, name);
        var maximumSize = f.Local(8);
        f.WriteU32(maximumSize, size);
        f.SetArgs(slot, SectionAllAccess, oa, maximumSize, PageReadWrite, SecCommit, c.OptHandleValue("file"));
        return new PreparedCall
        {
            Frame = f,
            OnSuccess = () => f.WriteU32(slot, c.AddHandle(c.Sim.Sections.Create(name, file, size), SectionAllAccess)),
        };
    }

    static PreparedCall Open(CallContext c)
    {
        var e = c.Event;
        var name = e.Text("name");
        var section = c.Sim.Sections.FindNamed(name);
        if (section is null && e.Succeeds) throw e.Error($"no section named '{name}' exists (give a failure status to open a missing one)");
        var f = c.Frame("NtOpenSection");
        var slot = f.Local(4);
        f.SetArgs(slot, SectionMapReadWrite, f.ObjectAttributes(0, name));
        return new PreparedCall { Frame = f, OnSuccess = () => f.WriteU32(slot, c.AddHandle(section!, SectionMapReadWrite)) };
    }

    static PreparedCall MapView(CallContext c)
    {
        var section = c.Object<SectionObjectModel>("section");
        var target = c.TargetProcess("process");
        if (!target.Alive) throw c.Event.Error($"process {target.Pid} has exited");
        var f = c.Frame("NtMapViewOfSection");
        var baseSlot = f.Local(4);
        var offset = f.Local(8);
        var viewSize = f.Local(4);
        f.SetArgs(c.HandleValue("section"), c.TargetProcessHandle("process"), baseSlot, 0, 0, offset, viewSize, 1 /* ViewShare */, 0, PageReadWrite);
        return new PreparedCall
        {
            Frame = f,
            OnSuccess = () =>
            {
                var size = (uint)c.Memory.ReadU32(0, section.Segment + SectionLayout.SegmentTotalPtes) * 0x1000;
                var at = target.NextViewBase;
                var next = (ulong)at + Math.Max(size, 0x10000u);
                if (next > c.Kernel.Memory.KernelBase) throw c.Event.Error($"process {target.Pid} has no user address space left for another view");
                target.NextViewBase = (uint)next;
                f.WriteU32(baseSlot, at);
                f.WriteU32(viewSize, size);
            },
        };
    }
}
