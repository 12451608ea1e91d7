/* cap_process.c — processes and threads: the current thread/process identity, EPROCESS/ETHREAD fields, and the
 * process-creation calls (NtCreateUserProcess parameters and attribute list, NtOpenProcess client id). */
#include "rules.h"
#include "win7_layout.h"

void w7_capture_eprocess(w7_capture *c, uint32_t eprocess) {
    if (!eprocess || !w7_first_visit(c, W7_TYPE_PROCESS, eprocess)) return;
    uint32_t audit;
    /* The whole structure (dispatcher header, DirectoryTableBase, CreateTime, pid, ObjectTable, parent pid,
     * ImageFileName, Peb, Flags, ExitStatus…): readers may read it in one block. At most two pages. */
    w7_touch(c, eprocess, W7_EPROCESS_SIZE, W7_EPROCESS_SIZE);
    /* SeAuditProcessCreationInfo.ImageFileName → OBJECT_NAME_INFORMATION (one UNICODE_STRING) → buffer. */
    if (w7_read_u32(c, eprocess + W7_EPROCESS_AUDIT_IMAGE_NAME, &audit) == 0 && audit)
        w7_capture_unicode_string(c, audit);
}

void w7_capture_ethread(w7_capture *c, uint32_t ethread) {
    if (!ethread || !w7_first_visit(c, W7_TYPE_THREAD, ethread)) return;
    uint32_t process;
    w7_touch(c, ethread, W7_ETHREAD_SIZE, W7_ETHREAD_SIZE); /* Process at 0x150, Cid at 0x22c */
    if (w7_read_u32(c, ethread + W7_KTHREAD_PROCESS, &process) == 0) w7_capture_eprocess(c, process);
}

uint32_t w7_capture_identity(w7_capture *c, uint32_t gdt_base, uint32_t *eprocess) {
    uint32_t e1, e2, kthread = 0, process = 0;
    *eprocess = 0;
    /* Descriptor base = e1[31:16] | e2[7:0] << 16 | e2[31:24] << 24 (PW get_kpcr_i386). */
    if (w7_read_u32(c, gdt_base + W7_GDT_KPCR_SELECTOR, &e1) || w7_read_u32(c, gdt_base + W7_GDT_KPCR_SELECTOR + 4, &e2))
        return 0;
    uint32_t kpcr = (e1 >> 16) | ((e2 & 0xffu) << 16) | (e2 & 0xff000000u);
    if (!kpcr) return 0;
    w7_touch(c, kpcr, W7_KPCR_CAPTURE_SIZE, W7_KPCR_CAPTURE_SIZE);
    if (w7_read_u32(c, kpcr + W7_KPCR_CURRENT_THREAD, &kthread) || !kthread) return 0;
    w7_touch(c, kthread, W7_ETHREAD_SIZE, W7_ETHREAD_SIZE); /* KTHREAD.Process 0x150, ETHREAD.Cid 0x22c */
    if (w7_read_u32(c, kthread + W7_KTHREAD_PROCESS, &process) == 0 && process) {
        *eprocess = process;
        w7_first_visit(c, W7_TYPE_THREAD, kthread);
        w7_capture_eprocess(c, process);
    }
    return kthread;
}

/* RTL_USER_PROCESS_PARAMETERS: ImagePathName and CommandLine (and CurrentDirectory). If the block is not
 * normalized (Flags & 1 clear) the Buffers are offsets from the block's start [PH ntrtl.h]. */
static void capture_process_parameters(w7_capture *c, uint32_t params) {
    uint32_t flags;
    if (!params || w7_read_u32(c, params + W7_PROCESS_PARAMETERS_FLAGS, &flags)) return;
    w7_touch(c, params, W7_PROCESS_PARAMETERS_HEADER_SIZE, W7_PROCESS_PARAMETERS_HEADER_SIZE);
    const uint32_t strings[] = {W7_PROCESS_PARAMETERS_IMAGE_PATH_NAME, W7_PROCESS_PARAMETERS_COMMAND_LINE,
                                W7_PROCESS_PARAMETERS_CURRENT_DIRECTORY};
    for (unsigned i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        uint16_t length;
        uint32_t buffer;
        if (w7_read_u16(c, params + strings[i], &length) || w7_read_u32(c, params + strings[i] + 4, &buffer)) continue;
        if (!(flags & W7_PROCESS_PARAMETERS_NORMALIZED)) buffer += params;
        if (buffer && length) w7_touch(c, buffer, length, W7_MAX_STRING_BYTES);
    }
}

/* PS_ATTRIBUTE_LIST: TotalLength, then 16-byte entries (Attribute, Size, Value/ValuePtr, ReturnLength). */
static void capture_attribute_list(w7_capture *c, uint32_t list, int at_return) {
    uint32_t total;
    if (!list || w7_read_u32(c, list, &total) || total < W7_ATTRIBUTE_LIST_HEADER) return;
    uint32_t n = (total - W7_ATTRIBUTE_LIST_HEADER) / W7_ATTRIBUTE_ENTRY_SIZE;
    if (n > W7_ATTRIBUTE_MAX_ENTRIES) n = W7_ATTRIBUTE_MAX_ENTRIES;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t e = list + W7_ATTRIBUTE_LIST_HEADER + i * W7_ATTRIBUTE_ENTRY_SIZE, attribute, size, value;
        if (w7_read_u32(c, e + W7_ATTRIBUTE_ENTRY_ATTRIBUTE, &attribute) ||
            w7_read_u32(c, e + W7_ATTRIBUTE_ENTRY_SIZE_FIELD, &size) ||
            w7_read_u32(c, e + W7_ATTRIBUTE_ENTRY_VALUE, &value))
            continue;
        if (attribute == W7_ATTRIBUTE_IMAGE_NAME && !at_return)
            w7_touch(c, value, size, W7_MAX_STRING_BYTES);
        else if (attribute == W7_ATTRIBUTE_CLIENT_ID && at_return)
            w7_touch(c, value, W7_CLIENT_ID_SIZE, W7_CLIENT_ID_SIZE);
    }
}

/* NtCreateUserProcess(ProcessHandle*, ThreadHandle*, …, ProcessParameters* 8, CreateInfo* 9, AttributeList* 10) */
static void create_user_process_enter(w7_capture *c, const w7_call *call) {
    if (call->nargs < 11) return;
    capture_process_parameters(c, call->args[8]);
    capture_attribute_list(c, call->args[10], 0);
}

static void create_user_process_return(w7_capture *c, const w7_call *call) {
    if (call->nargs < 11) return;
    capture_process_parameters(c, call->args[8]);
    capture_attribute_list(c, call->args[10], 1);
}

const w7_rule w7_process_rules[] = {
    {"NtCreateUserProcess", create_user_process_enter, create_user_process_return},
    {"NtTerminateProcess", NULL, NULL},
    {"NtOpenProcess", NULL, NULL},   /* PCLIENT_ID: generic rules */
    {"NtCreateProcessEx", NULL, NULL},
    {NULL, NULL, NULL},
};
