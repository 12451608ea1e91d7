/* Compile-check stub (panda/plugins/syscalls2/generated/syscalls_ext_typedefs.h). */
#pragma once
#include "panda/plugin.h"
#include "syscalls2/syscalls2_info.h"
typedef struct syscall_ctx {
    int no; target_ptr_t asid; target_ptr_t retaddr; uint8_t args[17][8]; bool double_return; int profile;
} syscall_ctx_t;
typedef void (*on_all_sys_enter2_t)(CPUState *cpu, target_ulong pc, const syscall_info_t *call, const syscall_ctx_t *ctx);
typedef void (*on_all_sys_return2_t)(CPUState *cpu, target_ulong pc, const syscall_info_t *call, const syscall_ctx_t *ctx);
