/* Compile stub of panda/plugins/syscalls2/syscalls2_info.h (syscall_info_t as in the real file). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
typedef enum {
    SYSCALL_ARG_U64 = 0x00, SYSCALL_ARG_U32, SYSCALL_ARG_U16,
    SYSCALL_ARG_S64 = 0x10, SYSCALL_ARG_S32, SYSCALL_ARG_S16,
    SYSCALL_ARG_BUF_PTR = 0x20, SYSCALL_ARG_STRUCT_PTR, SYSCALL_ARG_STR_PTR,
    SYSCALL_ARG_STRUCT = 0x30, SYSCALL_ARG_ARR
} syscall_argtype_t;
typedef struct {
    int no;
    const char *name;
    int nargs;
    syscall_argtype_t *argt;
    uint8_t *argsz;
    const char *const *argn;
    const char *const *argtn;
    bool noreturn;
} syscall_info_t;
