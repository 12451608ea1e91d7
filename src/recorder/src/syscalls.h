/* syscalls.h — the Windows 7 x86 system call table, generated at build time from
 * tracefmt/windows-7-x86-syscalls.tsv by tools/gen_syscalls.c (see CMakeLists.txt). */
#ifndef W7_SYSCALLS_H
#define W7_SYSCALLS_H

#include <stdint.h>

#define W7_MAX_ARGS 17

/* What an argument word is, from its declared Windows type (tools/gen_syscalls.c maps type → kind). */
typedef enum w7_arg_kind {
    W7_ARG_VALUE = 0,          /* a number, mask, class, BOOLEAN … */
    W7_ARG_HANDLE,             /* HANDLE */
    W7_ARG_PHANDLE,            /* PHANDLE: output handle, read at return */
    W7_ARG_OBJECT_ATTRIBUTES,  /* POBJECT_ATTRIBUTES */
    W7_ARG_UNICODE_STRING,     /* PUNICODE_STRING */
    W7_ARG_IO_STATUS_BLOCK,    /* PIO_STATUS_BLOCK: output, read at return */
    W7_ARG_LARGE_INTEGER,      /* PLARGE_INTEGER */
    W7_ARG_CLIENT_ID,          /* PCLIENT_ID */
    W7_ARG_PROCESS_PARAMETERS, /* PRTL_USER_PROCESS_PARAMETERS */
    W7_ARG_ATTRIBUTE_LIST,     /* PPS_ATTRIBUTE_LIST / PPROCESS_ATTRIBUTE_LIST */
    W7_ARG_PSIZE,              /* PSIZE_T */
    W7_ARG_PULONG,             /* PULONG */
    W7_ARG_POINTER,            /* any other pointer */
} w7_arg_kind;

typedef struct w7_syscall_info {
    uint16_t number;
    const char *name;
    uint8_t nargs;
    uint8_t kinds[W7_MAX_ARGS];
} w7_syscall_info;

extern const w7_syscall_info w7_syscalls[];
extern const unsigned w7_syscall_count;

/* The table entry for `callno`, or NULL (win32k calls, numbers past the table). */
static inline const w7_syscall_info *w7_syscall_lookup(uint32_t callno) {
    return callno < w7_syscall_count ? &w7_syscalls[callno] : 0;
}

#endif
