#pragma once
#include <stdbool.h>
#include <stdint.h>
typedef struct syscall_info_t {
    int no; const char *name; int nargs; void *argt; uint8_t *argsz; const char *const *argn;
    const char *const *argtn; bool noreturn;
} syscall_info_t;
