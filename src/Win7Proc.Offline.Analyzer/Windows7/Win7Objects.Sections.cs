namespace Win7Proc.Offline.Analyzer.Windows7;

// Section objects (layouts §4 Sections).
public sealed partial class Win7Objects
{
    /// <summary>
    /// A section object body: Segment (0x14) → ControlArea (SEGMENT+0) whose Segment back-pointer must equal the
    /// segment (V2 dumpfiles.py validation) → FilePointer (CONTROL_AREA+0x24, EX_FAST_REF masked ~7; 0 =
    /// pagefile-backed, FileName null). Null when unreadable or the back-pointer disagrees.
    /// </summary>
    public SectionInfo? ReadSection(uint cr3, uint sectionBody)
    {
        if (sectionBody == 0) return null;
        if (!TryReadU32(cr3, sectionBody + Win7Layout.SectionObjectSegment, out uint segment) || segment == 0) return null;
        if (!TryReadU32(cr3, segment + Win7Layout.SegmentControlArea, out uint controlArea) || controlArea == 0) return null;
        if (!TryReadU32(cr3, controlArea + Win7Layout.ControlAreaSegment, out uint backPointer) || backPointer != segment) return null;
        if (!TryReadU32(cr3, controlArea + Win7Layout.ControlAreaFilePointer, out uint fastRef)) return null;
        uint fileObject = fastRef & Win7Layout.FastRefMask;
        return new SectionInfo(sectionBody, segment, controlArea, fileObject,
            fileObject == 0 ? null : ReadFileObjectName(cr3, fileObject));
    }
}
