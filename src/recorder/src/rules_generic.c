/* rules_generic.c — capture driven by each argument's declared kind (syscalls.h), for every watched call. */
#include "rules.h"
#include "win7_layout.h"

void w7_capture_generic(w7_capture *c, const w7_call *call) {
    if (!call->info) return;
    for (uint32_t i = 0; i < call->nargs && i < call->info->nargs; i++) {
        uint32_t a = call->args[i];
        switch ((w7_arg_kind)call->info->kinds[i]) {
        case W7_ARG_HANDLE:
            if (a) w7_capture_handle(c, call, a);
            break;
        case W7_ARG_PHANDLE:
            if (call->phase == 1 && a) {
                uint32_t handle;
                if (w7_read_u32(c, a, &handle) == 0 && handle && W7_NT_SUCCESS(call->status))
                    w7_capture_handle(c, call, handle);
            }
            break;
        case W7_ARG_OBJECT_ATTRIBUTES:
            w7_capture_object_attributes(c, call, a);
            break;
        case W7_ARG_UNICODE_STRING:
            if (a) w7_capture_unicode_string(c, a);
            break;
        case W7_ARG_IO_STATUS_BLOCK:
            if (call->phase == 1 && a) w7_touch(c, a, W7_IO_STATUS_BLOCK_SIZE, W7_IO_STATUS_BLOCK_SIZE);
            break;
        case W7_ARG_LARGE_INTEGER:
            if (a) w7_touch(c, a, 8, 8);
            break;
        case W7_ARG_CLIENT_ID:
            if (a) w7_touch(c, a, W7_CLIENT_ID_SIZE, W7_CLIENT_ID_SIZE);
            break;
        case W7_ARG_PSIZE:
        case W7_ARG_PULONG:
            if (call->phase == 1 && a) w7_touch(c, a, 4, 4); /* ResultLength, ViewSize, NumberOfBytes… */
            break;
        case W7_ARG_PROCESS_PARAMETERS: /* cap_process.c */
        case W7_ARG_ATTRIBUTE_LIST:
        case W7_ARG_POINTER:
        case W7_ARG_VALUE:
            break;
        }
    }
}
