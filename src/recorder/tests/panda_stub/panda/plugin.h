/* Compile stub of panda-re/panda's plugin API: only what src/recorder/panda/win7rec.cpp uses, with the names,
 * signatures and target conditionals of the real headers at panda-re/panda c3634879 (compared by hand with
 * panda/include/panda/plugin.h, panda/include/panda/callbacks/cb-defs.h, panda/include/panda/types.h and
 * target/i386/cpu.h). Not PANDA: the fake-PANDA tests (test_panda_glue.cpp) implement the functions.
 * Define the target like QEMU does: TARGET_I386 (i386), TARGET_I386 + TARGET_X86_64 (x86_64), TARGET_ARM (arm). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "panda/types.h"

#if defined(TARGET_I386)
/* target/i386/cpu.h */
#ifdef TARGET_X86_64
#define CPU_NB_REGS 16
#else
#define CPU_NB_REGS 8
#endif
enum { R_EAX = 0, R_ECX = 1, R_EDX = 2, R_EBX = 3, R_ESP = 4, R_EBP = 5, R_ESI = 6, R_EDI = 7 };
enum { R_ES = 0, R_CS = 1, R_SS = 2, R_DS = 3, R_FS = 4, R_GS = 5 };
typedef struct SegmentCache {
    uint32_t selector;
    target_ulong base;
    uint32_t limit;
    uint32_t flags;
} SegmentCache;
typedef struct CPUX86State {
    target_ulong regs[CPU_NB_REGS];
    target_ulong eip;
    target_ulong eflags;
    SegmentCache segs[6];
    SegmentCache ldt;
    SegmentCache tr;
    SegmentCache gdt;
    SegmentCache idt;
    target_ulong cr[5];
} CPUX86State;
typedef CPUX86State CPUArchState;
#elif defined(TARGET_ARM)
/* target/arm/cpu.h (the part a plugin could touch) */
typedef struct CPUARMState { uint32_t regs[16]; } CPUARMState;
typedef CPUARMState CPUArchState;
#endif

/* include/qom/cpu.h: CPUState (env_ptr, PANDA's rr_guest_instr_count) */
typedef struct CPUState {
    void *env_ptr;
    uint64_t rr_guest_instr_count;
} CPUState;
/* include/exec/exec-all.h */
typedef struct TranslationBlock {
    target_ulong pc;
    target_ulong cs_base;
    uint32_t flags;
    uint16_t size;
    uint16_t icount;
} TranslationBlock;

#ifdef __cplusplus
extern "C" {
#endif

/* panda/include/panda/callbacks/cb-defs.h (the members win7rec and hooks use; same names and signatures) */
typedef enum panda_cb_type {
    PANDA_CB_BEFORE_BLOCK_TRANSLATE,
    PANDA_CB_AFTER_BLOCK_TRANSLATE,
    PANDA_CB_BEFORE_BLOCK_EXEC_INVALIDATE_OPT,
    PANDA_CB_BEFORE_TCG_CODEGEN,
    PANDA_CB_BEFORE_BLOCK_EXEC,
    PANDA_CB_AFTER_BLOCK_EXEC,
    PANDA_CB_INSN_TRANSLATE,
    PANDA_CB_INSN_EXEC,
    PANDA_CB_AFTER_INSN_TRANSLATE,
    PANDA_CB_START_BLOCK_EXEC,
    PANDA_CB_END_BLOCK_EXEC,
    PANDA_CB_ASID_CHANGED,
    PANDA_CB_LAST
} panda_cb_type;
typedef union panda_cb {
    void (*before_tcg_codegen)(CPUState *env, TranslationBlock *tb);
    void (*before_block_exec)(CPUState *env, TranslationBlock *tb);
    bool (*asid_changed)(CPUState *env, target_ptr_t oldval, target_ptr_t newval);
    void (*cbaddr)(void);
} panda_cb;

/* panda/include/panda/plugin.h */
void panda_register_callback(void *plugin, panda_cb_type type, panda_cb cb);
void panda_disable_callback(void *plugin, panda_cb_type type, panda_cb cb);
void *panda_get_plugin_by_name(const char *name);
void panda_require(const char *name);
typedef struct panda_arg_list panda_arg_list;
panda_arg_list *panda_get_args(const char *plugin_name);
void panda_free_args(panda_arg_list *args);
const char *panda_parse_string_opt(panda_arg_list *args, const char *argname, const char *defval, const char *help);
uint32_t panda_parse_uint32_opt(panda_arg_list *args, const char *argname, uint32_t defval, const char *help);
bool panda_parse_bool_opt(panda_arg_list *args, const char *argname, const char *help);
typedef enum OSFamilyEnum { OS_UNKNOWN, OS_WINDOWS, OS_LINUX, OS_FREEBSD } PandaOsFamily;
extern char *panda_os_name;
extern char *panda_os_family;
extern char *panda_os_variant;
extern uint32_t panda_os_bits;
extern PandaOsFamily panda_os_familyno;

#ifdef __cplusplus
}
#endif

/* The real plugin.h ends by including these. */
#include "panda/common.h"
#include "panda/plugin_plugin.h"
#include "panda/rr/rr_log.h"
