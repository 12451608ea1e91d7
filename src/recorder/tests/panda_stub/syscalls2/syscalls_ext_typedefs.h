/* Compile stub of panda/plugins/syscalls2/generated/syscalls_ext_typedefs.h (struct syscall_ctx and the two
 * generic callbacks' PPP_CB_TYPEDEFs as in the real file). */
#pragma once
#include "panda/plugin.h"
#include "panda/types.h"
#include "syscalls2/syscalls2_info.h"
#define GLOBAL_MAX_SYSCALL_ARGS 17
#define GLOBAL_MAX_SYSCALL_ARG_SIZE sizeof(uint64_t)
struct syscall_ctx {
    int no;
    target_ptr_t asid;
    target_ptr_t retaddr;
    uint8_t args[GLOBAL_MAX_SYSCALL_ARGS][GLOBAL_MAX_SYSCALL_ARG_SIZE];
    bool double_return;
    int profile;
};
typedef struct syscall_ctx syscall_ctx_t;
PPP_CB_TYPEDEF(void, on_all_sys_enter2, CPUState *cpu, target_ulong pc, const syscall_info_t *call, const syscall_ctx_t *ctx);
PPP_CB_TYPEDEF(void, on_all_sys_return2, CPUState *cpu, target_ulong pc, const syscall_info_t *call, const syscall_ctx_t *ctx);
