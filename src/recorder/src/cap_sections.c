/* cap_sections.c — section calls. Generic rules capture section/file/process handles (section → segment →
 * control area → backing FILE_OBJECT), OBJECT_ATTRIBUTES, SectionOffset/MaximumSize and ViewSize at return;
 * this adds NtMapViewOfSection's BaseAddress output. */
#include "rules.h"
#include "win7_layout.h"

/* NtMapViewOfSection(SectionHandle, ProcessHandle, BaseAddress* 2 (PVOID*), ZeroBits, CommitSize,
 * SectionOffset*, ViewSize* 6, …) */
static void map_view_of_section(w7_capture *c, const w7_call *call) {
    if (call->nargs >= 7) {
        if (call->args[2]) w7_touch(c, call->args[2], 4, 4);
        if (call->args[6]) w7_touch(c, call->args[6], 4, 4);
    }
}

const w7_rule w7_section_rules[] = {
    {"NtCreateSection", NULL, NULL},
    {"NtOpenSection", NULL, NULL},
    {"NtMapViewOfSection", map_view_of_section, map_view_of_section},
    {NULL, NULL, NULL},
};
