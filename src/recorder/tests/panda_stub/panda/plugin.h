/* Compile-check stub: the subset of panda-re/panda's plugin API that src/recorder/panda/win7rec.c uses, with the
 * signatures documented in /work/shared/reference/panda-plugin-api-and-pandalog.md §1–2. Not PANDA. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
typedef uint32_t target_ulong;
typedef uint32_t target_ptr_t;
typedef int32_t target_long;
typedef struct SegmentCache { uint32_t selector; target_ulong base; uint32_t limit; uint32_t flags; } SegmentCache;
typedef struct CPUX86State {
    target_ulong regs[8];
    target_ulong eip, eflags;
    target_ulong cr[5];
    SegmentCache segs[6];
    SegmentCache gdt, idt, ldt, tr;
} CPUX86State;
typedef struct CPUState { void *env_ptr; } CPUState;
enum { R_EAX = 0, R_ECX = 1, R_EDX = 2, R_EBX = 3, R_ESP = 4, R_EBP = 5, R_ESI = 6, R_EDI = 7 };
enum { R_ES = 0, R_CS = 1, R_SS = 2, R_DS = 3, R_FS = 4, R_GS = 5 };
typedef struct panda_arg_list panda_arg_list;
panda_arg_list *panda_get_args(const char *plugin_name);
void panda_free_args(panda_arg_list *args);
const char *panda_parse_string_opt(panda_arg_list *args, const char *name, const char *defval, const char *help);
uint32_t panda_parse_uint32_opt(panda_arg_list *args, const char *name, uint32_t defval, const char *help);
bool panda_parse_bool_opt(panda_arg_list *args, const char *name, const char *help);
void panda_require(const char *name);
typedef union panda_cb { bool (*asid_changed)(CPUState *env, target_ulong oldval, target_ulong newval); void *any; } panda_cb;
typedef enum panda_cb_type { PANDA_CB_ASID_CHANGED = 1 } panda_cb_type;
void panda_register_callback(void *plugin, panda_cb_type type, panda_cb cb);
int panda_virtual_memory_rw(CPUState *cpu, target_ulong addr, uint8_t *buf, int len, bool is_write);
