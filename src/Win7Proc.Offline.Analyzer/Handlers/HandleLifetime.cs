namespace Win7Proc.Offline.Analyzer;

/// <summary>
/// Names learned for handles at create/open, per (address space, handle value). Only a fallback for when the
/// handle table itself cannot be read at a later call: every handle is first resolved from the captured handle table
/// at the time of the call. NtClose and NtDuplicateObject keep it honest, so a reused handle value never inherits
/// a stale name (the original's key map was never cleared on close).
/// </summary>
internal sealed class HandleCache
{
    /// <summary>Bound on remembered handles; beyond it new ones are dropped and nothing is evicted (the cache is only a
    /// fallback).</summary>
    public const int MaxEntries = 1 << 20;

    readonly Dictionary<(uint Space, uint Handle), string> _names = new();

    public int Count => _names.Count;

    public void Remember(uint space, uint handle, string name)
    {
        if (_names.Count < MaxEntries || _names.ContainsKey((space, handle))) _names[(space, handle)] = name;
    }

    public string? Lookup(uint space, uint handle) => _names.GetValueOrDefault((space, handle));

    public void Forget(uint space, uint handle) => _names.Remove((space, handle));
}

/// <summary>NtClose and NtDuplicateObject: they write no entries, they keep <see cref="HandleCache"/> in step.</summary>
internal static class HandleLifetime
{
    /// <summary>DUPLICATE_CLOSE_SOURCE (phnt ntobapi.h): the source handle is closed by the duplication.</summary>
    const uint DuplicateCloseSource = 0x1;

    public static IEnumerable<SyscallHandler> All() =>
    [
        // NtClose(Handle)
        // It also ends files opened with FILE_DELETE_ON_CLOSE (FileHandlers: the deletion is logged at the last close).
        new SyscallHandler
        {
            SyscallName = "NtClose", Family = SyscallFamily.Processes,
            AtEnter = FileHandlers.DeleteOnCloseAtClose,
            AtReturn = (call, state) =>
            {
                FileHandlers.LogDeleteOnClose(call, state);
                // Only a successful close frees the value (a protected handle survives a failed close).
                if (call.Succeeded) call.Engine.Handles.Forget(call.Cr3, call.Arg(0));
            },
        },
        // NtDuplicateObject(SourceProcessHandle, SourceHandle, TargetProcessHandle, TargetHandle*, DesiredAccess,
        //                   HandleAttributes, Options)
        SyscallHandler.Create("NtDuplicateObject", SyscallFamily.Processes,
            call =>
            {
                // Each process handle is resolved once (handle table walk + EPROCESS read); often both are the same.
                var source = call.ResolveProcessHandle(call.Arg(0));
                var target = call.Arg(2) == call.Arg(0) ? source : call.ResolveProcessHandle(call.Arg(2));
                return new DuplicateInputs(source?.DirectoryTableBase, target?.DirectoryTableBase,
                    call.HandleObjectNameInProcess(call.Arg(0), source, call.Arg(1)));
            },
            (call, inputs) =>
            {
                if (!call.Succeeded) return;
                var handles = call.Engine.Handles;
                if ((call.Arg(6) & DuplicateCloseSource) != 0 && inputs.SourceSpace is uint sourceSpace)
                    handles.Forget(sourceSpace, call.Arg(1));
                if (inputs.TargetSpace is uint targetSpace && call.ReadU32(call.Arg(3)) is uint newHandle)
                {
                    handles.Forget(targetSpace, newHandle);
                    if (inputs.Name is not null) handles.Remember(targetSpace, newHandle, inputs.Name);
                }
            }),
    ];

    sealed record DuplicateInputs(uint? SourceSpace, uint? TargetSpace, string? Name);
}
