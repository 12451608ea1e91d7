using Win7Proc.Offline.Analyzer.Windows7;
using Win7Proc.Offline.Pandalog.Schema;

namespace Win7Proc.Offline.Analyzer;

/// <summary>
/// Section calls. section_id is the kernel address of the section object body; the backing file comes from the
/// section's segment → control area → FILE_OBJECT, else from the FileHandle argument (resolved through the handle
/// table, where the original dereferenced the handle value). Argument positions: tracefmt/windows-7-x86-syscalls.tsv.
/// </summary>
internal static class SectionHandlers
{
    public static IEnumerable<SyscallHandler> All() =>
    [
        // NtCreateSection(SectionHandle*, DesiredAccess, ObjectAttributes*, MaximumSize*, SectionPageProtection,
        //   AllocationAttributes, FileHandle)
        SyscallHandler.Create("NtCreateSection", SyscallFamily.Sections,
            call => new Requested(
                call.FullObjectName(call.ReadObjectAttributes(call.Arg(2))),
                call.Arg(6) == 0 ? null : call.HandleObjectName(call.Arg(6))),
            (call, requested) => LogCreateOrOpen(call, requested, "nt_create_section", (e, s) => e.NtCreateSection = s)),
        // NtOpenSection(SectionHandle*, DesiredAccess, ObjectAttributes*)
        SyscallHandler.Create("NtOpenSection", SyscallFamily.Sections,
            call => new Requested(call.FullObjectName(call.ReadObjectAttributes(call.Arg(2))), null),
            (call, requested) => LogCreateOrOpen(call, requested, "nt_open_section", (e, s) => e.NtOpenSection = s)),
        // NtMapViewOfSection(SectionHandle, ProcessHandle, BaseAddress*, ZeroBits, CommitSize, SectionOffset*,
        //   ViewSize*, InheritDisposition, AllocationType, Win32Protect)
        SyscallHandler.Create("NtMapViewOfSection", SyscallFamily.Sections,
            call => new MapInputs(DescribeSection(call, call.Arg(0), null, null), call.ResolveProcessHandle(call.Arg(1))),
            LogMapView),
    ];

    sealed record Requested(string? Name, string? FileName);
    sealed record MapInputs(Section Section, ProcessInfo? Target);

    /// <summary>The Section message for the object behind <paramref name="handle"/>, now.</summary>
    static Section DescribeSection(SyscallCall call, uint handle, string? requestedName, string? fileFromArgument)
    {
        var section = new Section { Proc = call.Caller, SectionId = 0, Handle = handle };
        var entry = handle == 0 ? null : call.ResolveHandle(handle);
        string? name = requestedName, fileName = fileFromArgument;
        if (entry is not null)
        {
            section.SectionId = entry.Body;
            name ??= entry.ObjectName;
            var info = call.Objects.ReadSection(call.Cr3, entry.Body);
            if (info is null) call.Miss();
            fileName = info?.FileName ?? fileName;
        }
        name ??= handle == 0 ? null : call.Engine.Handles.Lookup(call.Cr3, handle);
        if (name is not null) section.Name = name;
        if (fileName is not null) section.FileName = fileName;
        return section;
    }

    static void LogCreateOrOpen(SyscallCall call, Requested requested, string kind, Action<LogEntry, Section> set)
    {
        uint handle = call.Succeeded && call.ReadU32(call.Arg(0)) is uint opened ? opened : 0;
        var section = DescribeSection(call, handle, requested.Name, requested.FileName);
        call.RememberHandle(handle, requested.Name);
        call.Emit(kind, e => set(e, section));
    }

    static void LogMapView(SyscallCall call, MapInputs inputs)
    {
        var view = new SectionMapView
        {
            Section = inputs.Section,
            Target = inputs.Target is null ? ProcessTracker.Unknown() : call.ProcessMessage(inputs.Target),
        };
        // The caller's Process as of the return (the enter-time message was built before the return's reads).
        view.Section.Proc = call.Caller;
        // *BaseAddress and *ViewSize are outputs in the caller's memory, whatever the target process.
        if (call.Succeeded)
        {
            if (call.ReadU32(call.Arg(2)) is uint baseAddress) view.BaseAddress = baseAddress;
            if (call.ReadU32(call.Arg(6)) is uint viewSize) view.ViewSize = viewSize;
        }
        call.Emit("nt_map_view_of_section", e => e.NtMapViewOfSection = view, view.Target.Pid);
    }
}
