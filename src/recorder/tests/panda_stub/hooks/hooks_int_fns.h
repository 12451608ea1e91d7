/* Compile stub of panda/plugins/hooks/hooks_int_fns.h at c3634879: struct hook, hooks_panda_cb and add_hook with
 * the real layout and names (C++ only, like the real header: it uses extern "C"). */
#ifndef __HOOKS_INT_FNS_H__
#define __HOOKS_INT_FNS_H__
#include "dynamic_symbols/dynamic_symbols_int_fns.h"
#include "panda/plugin.h"
extern "C" {
struct hook;
typedef union hooks_panda_cb {
    void (*before_tcg_codegen)(CPUState *env, TranslationBlock *tb, struct hook *);
    void (*before_block_translate)(CPUState *env, target_ptr_t pc, struct hook *);
    void (*after_block_translate)(CPUState *env, TranslationBlock *tb, struct hook *);
    bool (*before_block_exec_invalidate_opt)(CPUState *env, TranslationBlock *tb, struct hook *);
    void (*before_block_exec)(CPUState *env, TranslationBlock *tb, struct hook *);
    void (*after_block_exec)(CPUState *env, TranslationBlock *tb, uint8_t exitCode, struct hook *);
    void (*start_block_exec)(CPUState *env, TranslationBlock *tb, struct hook *);
    void (*end_block_exec)(CPUState *env, TranslationBlock *tb, struct hook *);
} hooks_panda_cb;
enum kernel_mode {
    MODE_ANY,
    MODE_KERNEL_ONLY,
    MODE_USER_ONLY,
};
typedef struct hook {
    target_ulong addr;
    target_ulong asid;
    panda_cb_type type;
    hooks_panda_cb cb;
    enum kernel_mode km;
    bool enabled;
    struct symbol sym;
    void *context;
} hook;
extern "C" void add_hook(struct hook *h);
}
#endif
