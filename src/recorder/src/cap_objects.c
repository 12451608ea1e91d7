/* cap_objects.c — handles and kernel objects: the handle-table walk, OBJECT_HEADER and its name info (with the
 * directory chain), and the per-type object bodies (Process, Thread, File, Key, Section, ALPC Port). Also the
 * rules of the generic object calls (NtClose, NtDuplicateObject). Every walk is bounded by depth and the visited
 * set, and the event's page budget bounds the total. */
#include "rules.h"
#include "win7_layout.h"

enum { TAG_HEADER = 100, TAG_DIRECTORY, TAG_FILE, TAG_KCB, TAG_SECTION, TAG_PORT };

/* Handle value → OBJECT_HEADER via EPROCESS.ObjectTable → HANDLE_TABLE.TableCode (levels 0/1/2). */
static uint32_t handle_to_header(w7_capture *c, uint32_t eprocess, uint32_t handle) {
    uint32_t table, code, entry, object;
    if (!eprocess || w7_read_u32(c, eprocess + W7_EPROCESS_OBJECT_TABLE, &table) || !table) return 0;
    w7_touch(c, table, W7_HANDLE_TABLE_SIZE, W7_HANDLE_TABLE_SIZE);
    if (w7_read_u32(c, table + W7_HANDLE_TABLE_TABLE_CODE, &code)) return 0;
    uint32_t level = code & W7_HANDLE_TABLE_LEVEL_MASK, base = code & W7_HANDLE_TABLE_BASE_MASK;
    uint32_t idx = (handle & ~W7_HANDLE_KERNEL_BIT) >> 2; /* low 2 bits are tag bits */
    uint32_t low_idx = idx % W7_HANDLE_ENTRIES_PER_PAGE;
    if (!base) return 0;
    if (level == 0) {
        if (idx >= W7_HANDLE_ENTRIES_PER_PAGE) return 0;
        entry = base + W7_HANDLE_ENTRY_SIZE * idx;
    } else if (level == 1) {
        uint32_t mid_idx = idx / W7_HANDLE_ENTRIES_PER_PAGE, low;
        if (mid_idx >= W7_HANDLE_POINTERS_PER_PAGE || w7_read_u32(c, base + 4 * mid_idx, &low) || !low) return 0;
        entry = low + W7_HANDLE_ENTRY_SIZE * low_idx;
    } else if (level == 2) {
        uint32_t top_idx = idx / (W7_HANDLE_ENTRIES_PER_PAGE * W7_HANDLE_POINTERS_PER_PAGE);
        uint32_t mid_idx = (idx / W7_HANDLE_ENTRIES_PER_PAGE) % W7_HANDLE_POINTERS_PER_PAGE, mid, low;
        if (top_idx >= W7_HANDLE_POINTERS_PER_PAGE || w7_read_u32(c, base + 4 * top_idx, &mid) || !mid) return 0;
        if (w7_read_u32(c, mid + 4 * mid_idx, &low) || !low) return 0;
        entry = low + W7_HANDLE_ENTRY_SIZE * low_idx;
    } else {
        return 0; /* level 3 does not exist */
    }
    uint8_t raw[W7_HANDLE_ENTRY_SIZE];
    if (w7_read(c, entry, raw, sizeof raw)) return 0;
    object = (uint32_t)raw[0] | (uint32_t)raw[1] << 8 | (uint32_t)raw[2] << 16 | (uint32_t)raw[3] << 24;
    return object & W7_HANDLE_ENTRY_OBJECT_MASK;
}

uint32_t w7_capture_handle(w7_capture *c, const w7_call *call, uint32_t handle) {
    return w7_capture_handle_in(c, call, call->eprocess, handle);
}

uint32_t w7_capture_handle_in(w7_capture *c, const w7_call *call, uint32_t eprocess, uint32_t handle) {
    uint32_t header;
    if (handle == W7_HANDLE_CURRENT_PROCESS) {
        if (!call->eprocess) return 0;
        header = call->eprocess - W7_OBJECT_HEADER_BODY;
    } else if (handle == W7_HANDLE_CURRENT_THREAD) {
        if (!call->kthread) return 0;
        header = call->kthread - W7_OBJECT_HEADER_BODY;
    } else if (handle & W7_HANDLE_KERNEL_BIT) {
        return 0; /* kernel handle: lives in the System process's table, which the recorder does not locate */
    } else {
        /* Repeating a lookup is cheap (its pages are already in the event); the object walk below is not
         * repeated (visited set). */
        header = handle_to_header(c, eprocess, handle);
    }
    if (header) w7_capture_object_header(c, header, 0);
    return header;
}

/* NAME_INFO lies below the header: header − 0x10 − (CREATOR_INFO present ? 0x10 : 0) [V3 pool.py]. Walks the
 * Directory chain up to the root so the full object path is readable. */
void w7_capture_object_name(w7_capture *c, uint32_t header) {
    for (unsigned depth = 0; header && depth < W7_MAX_CHAIN_DEPTH; depth++) {
        uint8_t mask;
        if (w7_read_u8(c, header + W7_OBJECT_HEADER_INFO_MASK, &mask) || !(mask & W7_OBJECT_INFO_NAME)) return;
        uint32_t name_info = header - W7_OBJECT_NAME_INFO_SIZE -
                             ((mask & W7_OBJECT_INFO_CREATOR) ? W7_OBJECT_CREATOR_INFO_SIZE : 0);
        uint32_t directory;
        if (w7_read_u32(c, name_info + W7_OBJECT_NAME_INFO_DIRECTORY, &directory)) return;
        w7_capture_unicode_string(c, name_info + W7_OBJECT_NAME_INFO_NAME);
        if (!directory || !w7_first_visit(c, TAG_DIRECTORY, directory)) return;
        header = directory - W7_OBJECT_HEADER_BODY;
        uint8_t header_bytes[W7_OBJECT_HEADER_BODY];
        if (w7_read(c, header, header_bytes, sizeof header_bytes)) return;
    }
}

void w7_capture_object_header(w7_capture *c, uint32_t header, unsigned depth) {
    if (!header || depth > W7_MAX_CHAIN_DEPTH || !w7_first_visit(c, TAG_HEADER, header)) return;
    uint8_t bytes[W7_OBJECT_HEADER_BODY];
    if (w7_read(c, header, bytes, sizeof bytes)) return;
    /* The optional headers that InfoMask says lie below the header (creator, name, handle, quota, process). */
    uint8_t mask = bytes[W7_OBJECT_HEADER_INFO_MASK];
    uint32_t below = ((mask & W7_OBJECT_INFO_CREATOR) ? W7_OBJECT_CREATOR_INFO_SIZE : 0) +
                     ((mask & W7_OBJECT_INFO_NAME) ? W7_OBJECT_NAME_INFO_SIZE : 0) +
                     ((mask & W7_OBJECT_INFO_HANDLE) ? W7_OBJECT_HANDLE_INFO_SIZE : 0) +
                     ((mask & W7_OBJECT_INFO_QUOTA) ? W7_OBJECT_QUOTA_INFO_SIZE : 0) +
                     ((mask & W7_OBJECT_INFO_PROCESS) ? W7_OBJECT_PROCESS_INFO_SIZE : 0);
    if (below) w7_touch(c, header - below, below, W7_OBJECT_OPTIONAL_HEADERS_MAX);
    w7_capture_object_name(c, header);
    uint32_t body = header + W7_OBJECT_HEADER_BODY;
    switch (bytes[W7_OBJECT_HEADER_TYPE_INDEX]) {
    case W7_TYPE_PROCESS: w7_capture_eprocess(c, body); break;
    case W7_TYPE_THREAD: w7_capture_ethread(c, body); break;
    case W7_TYPE_FILE: w7_capture_file_object(c, body, depth + 1); break;
    case W7_TYPE_KEY: w7_capture_key_body(c, body); break;
    case W7_TYPE_SECTION: w7_capture_section(c, body, depth + 1); break;
    case W7_TYPE_ALPC_PORT: w7_capture_alpc_port(c, body, depth + 1); break;
    default: break;
    }
}

void w7_capture_object_body(w7_capture *c, uint32_t body, unsigned depth) {
    if (body) w7_capture_object_header(c, body - W7_OBJECT_HEADER_BODY, depth);
}

/* FILE_OBJECT: FileName, DeviceObject's header and name, RelatedFileObject (recursively, bounded). */
void w7_capture_file_object(w7_capture *c, uint32_t file_object, unsigned depth) {
    for (; file_object && depth <= W7_MAX_CHAIN_DEPTH; depth++) {
        if (!w7_first_visit(c, TAG_FILE, file_object)) return;
        uint32_t device, related;
        w7_touch(c, file_object, W7_FILE_OBJECT_SIZE, W7_FILE_OBJECT_SIZE);
        if (w7_read_u32(c, file_object + W7_FILE_OBJECT_DEVICE_OBJECT, &device)) return;
        w7_capture_unicode_string(c, file_object + W7_FILE_OBJECT_FILE_NAME);
        if (device) {
            w7_touch(c, device, W7_DEVICE_OBJECT_SIZE, W7_DEVICE_OBJECT_SIZE);
            w7_capture_object_header(c, device - W7_OBJECT_HEADER_BODY, depth + 1);
        }
        if (w7_read_u32(c, file_object + W7_FILE_OBJECT_RELATED, &related)) return;
        file_object = related;
    }
}

/* CM_KEY_BODY → KCB, then the ParentKcb chain to the root with each NameBlock (NameLength, Name). */
void w7_capture_key_body(w7_capture *c, uint32_t key_body) {
    uint32_t kcb;
    if (!key_body) return;
    w7_touch(c, key_body, W7_CM_KEY_BODY_SIZE, W7_CM_KEY_BODY_SIZE);
    if (w7_read_u32(c, key_body + W7_CM_KEY_BODY_KCB, &kcb)) return;
    for (unsigned depth = 0; kcb && depth < W7_MAX_CHAIN_DEPTH; depth++) {
        if (!w7_first_visit(c, TAG_KCB, kcb)) return;
        w7_touch(c, kcb, W7_KCB_SIZE, W7_KCB_SIZE);
        uint32_t flags, parent, name_block;
        if (w7_read_u32(c, kcb + W7_KCB_FLAGS, &flags) || w7_read_u32(c, kcb + W7_KCB_PARENT, &parent) ||
            w7_read_u32(c, kcb + W7_KCB_NAME_BLOCK, &name_block))
            return;
        uint8_t compressed;
        uint16_t length;
        if (name_block && w7_read_u8(c, name_block, &compressed) == 0 &&
            w7_read_u16(c, name_block + W7_NCB_NAME_LENGTH, &length) == 0)
            w7_touch(c, name_block + W7_NCB_NAME, length, W7_MAX_STRING_BYTES);
        kcb = parent;
    }
}

/* Section body → Segment → ControlArea → FilePointer (EX_FAST_REF) → FILE_OBJECT. */
void w7_capture_section(w7_capture *c, uint32_t section, unsigned depth) {
    if (!section || !w7_first_visit(c, TAG_SECTION, section)) return;
    uint8_t bytes[W7_SECTION_SIZE];
    uint32_t segment, control_area, file_pointer, back;
    if (w7_read(c, section, bytes, sizeof bytes)) return;
    if (w7_read_u32(c, section + W7_SECTION_SEGMENT, &segment) || !segment) return;
    uint8_t seg_bytes[W7_SEGMENT_HEADER_SIZE];
    if (w7_read(c, segment, seg_bytes, sizeof seg_bytes)) return;
    if (w7_read_u32(c, segment + W7_SEGMENT_CONTROL_AREA, &control_area) || !control_area) return;
    w7_touch(c, control_area, W7_CONTROL_AREA_SIZE, W7_CONTROL_AREA_SIZE);
    if (w7_read_u32(c, control_area, &back)) return; /* ControlArea.Segment, for validation by the analyzer */
    if (w7_read_u32(c, control_area + W7_CONTROL_AREA_FILE_POINTER, &file_pointer)) return;
    file_pointer &= W7_FAST_REF_MASK;
    if (file_pointer) {
        uint8_t fo_header[W7_OBJECT_HEADER_BODY];
        w7_read(c, file_pointer - W7_OBJECT_HEADER_BODY, fo_header, sizeof fo_header);
        w7_capture_file_object(c, file_pointer, depth + 1);
    }
}

/* ALPC port → CommunicationInfo → connection/server/client ports (each with header, name info and owner). */
void w7_capture_alpc_port(w7_capture *c, uint32_t port, unsigned depth) {
    if (!port || depth > W7_MAX_CHAIN_DEPTH || !w7_first_visit(c, TAG_PORT, port)) return;
    uint32_t comm, owner, state;
    w7_touch(c, port, W7_ALPC_PORT_SIZE, W7_ALPC_PORT_SIZE);
    if (w7_read_u32(c, port + W7_ALPC_PORT_COMMUNICATION_INFO, &comm)) return;
    if (w7_read_u32(c, port + W7_ALPC_PORT_OWNER_PROCESS, &owner) == 0 && owner) w7_capture_eprocess(c, owner);
    w7_read_u32(c, port + W7_ALPC_PORT_STATE, &state);
    if (!comm) return;
    w7_touch(c, comm, W7_ALPC_COMM_INFO_SIZE, W7_ALPC_COMM_INFO_SIZE);
    uint32_t ports[3];
    if (w7_read_u32(c, comm + W7_ALPC_COMM_CONNECTION_PORT, &ports[0]) ||
        w7_read_u32(c, comm + W7_ALPC_COMM_SERVER_PORT, &ports[1]) ||
        w7_read_u32(c, comm + W7_ALPC_COMM_CLIENT_PORT, &ports[2]))
        return;
    for (unsigned i = 0; i < 3; i++)
        if (ports[i] && ports[i] != port) w7_capture_object_body(c, ports[i], depth + 1);
}

void w7_capture_object_attributes(w7_capture *c, const w7_call *call, uint32_t va) {
    uint32_t root, name;
    if (!va) return;
    uint8_t bytes[W7_OBJECT_ATTRIBUTES_SIZE];
    if (w7_read(c, va, bytes, sizeof bytes)) return;
    if (w7_read_u32(c, va + W7_OBJECT_ATTRIBUTES_ROOT_DIRECTORY, &root) == 0 && root) w7_capture_handle(c, call, root);
    if (w7_read_u32(c, va + W7_OBJECT_ATTRIBUTES_OBJECT_NAME, &name) == 0 && name) w7_capture_unicode_string(c, name);
}

/* The EPROCESS behind a process handle (-1 = current), or 0. */
static uint32_t process_of_handle(w7_capture *c, const w7_call *call, uint32_t handle) {
    if (handle == W7_HANDLE_CURRENT_PROCESS) return call->eprocess;
    uint32_t header = w7_capture_handle(c, call, handle);
    uint8_t type;
    if (!header || w7_read_u8(c, header + W7_OBJECT_HEADER_TYPE_INDEX, &type) || type != W7_TYPE_PROCESS) return 0;
    return header + W7_OBJECT_HEADER_BODY;
}

/* NtDuplicateObject(SourceProcessHandle, SourceHandle 1, TargetProcessHandle 2, TargetHandle* 3, …): the source
 * handle lives in the source process's table and the new handle in the target's (both tables are kernel memory,
 * readable from any address space). */
static void duplicate_object_enter(w7_capture *c, const w7_call *call) {
    if (call->nargs < 4) return;
    uint32_t source = process_of_handle(c, call, call->args[0]);
    if (source && call->args[1]) w7_capture_handle_in(c, call, source, call->args[1]);
}

static void duplicate_object_return(w7_capture *c, const w7_call *call) {
    uint32_t target_handle;
    duplicate_object_enter(c, call);
    if (call->nargs < 4 || !call->args[3] || !W7_NT_SUCCESS(call->status)) return;
    uint32_t target = process_of_handle(c, call, call->args[2]);
    if (target && w7_read_u32(c, call->args[3], &target_handle) == 0 && target_handle)
        w7_capture_handle_in(c, call, target, target_handle);
}

const w7_rule w7_object_rules[] = {
    {"NtClose", NULL, NULL},
    {"NtDuplicateObject", duplicate_object_enter, duplicate_object_return},
    {NULL, NULL, NULL},
};
