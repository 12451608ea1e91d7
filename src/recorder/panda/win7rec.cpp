/* win7rec.cpp — PANDA plugin glue for the win7rec recorder core (src/recorder/include/w7rec.h).
 *
 *   panda-system-i386 -replay R -os windows-32-7sp1 -panda syscalls2 -panda win7rec:trace=R.trace.lz4
 *
 * Thin by design: it turns syscalls2's on_all_sys_enter2 / on_all_sys_return2, its own return-address hooks
 * (PANDA's `hooks` plugin) and PANDA's asid_changed into w7rec_* calls, reads guest memory one page at a time with
 * panda_virtual_memory_rw, takes the replay's total instruction count while the replay runs, and closes the trace
 * at uninit. Every capture and pairing decision lives in the core. C++ because the hooks plugin's API header
 * (hooks/hooks_int_fns.h) is C++-only.
 *
 * Records only on i386-softmmu (QEMU defines TARGET_I386 on x86_64-softmmu too, where `-os windows-32-7sp1`
 * selects syscalls2's Windows 7 *x64* profile); on every other target it loads, says so in one line and does
 * nothing, so a default multi-target PANDA build can list it in config.panda.
 *
 * PANDA API used (panda-re/panda c3634879; ../shared/reference/panda-plugin-api-and-pandalog.md):
 * panda_get_args / panda_parse_* / panda_free_args, panda_require, panda_get_plugin_by_name, init_syscalls2_api,
 * PPP_REG_CB, panda_register_callback / panda_disable_callback (ASID_CHANGED, BEFORE_BLOCK_EXEC),
 * hooks' add_hook via dlsym (as syscalls2.cpp does), panda_virtual_memory_rw, rr_get_guest_instr_count,
 * rr_in_replay, replay_get_total_num_instructions, panda_os_familyno / panda_os_bits / panda_os_variant,
 * CPUX86State via cpu->env_ptr.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "panda/plugin.h"

extern "C" {
bool init_plugin(void *self);
void uninit_plugin(void *self);
}

#if defined(TARGET_I386) && !defined(TARGET_X86_64)

#include "panda/common.h"
#include "panda/plugin_plugin.h"
#include "panda/rr/rr_log.h"
#include "panda/rr/rr_log_all.h"
#include "panda/rr/rr_api.h"

#include "syscalls2/syscalls_ext_typedefs.h"
#include "syscalls2/syscalls2_info.h"
#include "syscalls2/syscalls2_ext.h"

#include "hooks/hooks_int_fns.h"

#include "w7rec.h"

namespace {

struct Glue {
    w7rec *rec;
    char *trace_path;
    uint32_t kernel_base;
    bool use_hooks;
    void (*add_hook)(struct hook *);
    bool total_taken;
    uint64_t total;
    void *self;
    panda_cb total_cb;
    bool error_reported;
};
Glue g;

/* One page at a time (the core never crosses a page); any non-zero return means unreadable. */
int read_guest(void *opaque, uint32_t va, uint8_t *buf, uint32_t len) {
    return panda_virtual_memory_rw((CPUState *)opaque, (target_ulong)va, buf, (int)len, false) != 0 ? -1 : 0;
}

/* At asid_changed CR3 still holds the old value (target/i386/helper.c writes it after the callback): only kernel
 * pages, the same in every address space, are read there; a user address would come from the wrong space. */
int read_kernel_only(void *opaque, uint32_t va, uint8_t *buf, uint32_t len) {
    return va < g.kernel_base ? -1 : read_guest(opaque, va, buf, len);
}

/* A dedup key the guest cannot predict (w7rec_set_dedup_key): 16 bytes from /dev/urandom. 0 on success. */
int random_dedup_key(uint8_t key[16]) {
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f) return -1;
    size_t n = fread(key, 1, 16, f);
    fclose(f);
    return n == 16 ? 0 : -1;
}

void fill_cpu(CPUState *cpu, target_ulong pc, w7rec_cpu *out) {
    CPUX86State *env = (CPUX86State *)cpu->env_ptr;
    memset(out, 0, sizeof *out);
    out->instr = rr_get_guest_instr_count();
    out->pc = (uint32_t)pc;
    out->cr3 = (uint32_t)env->cr[3];
    out->eax = (uint32_t)env->regs[R_EAX];
    out->edx = (uint32_t)env->regs[R_EDX];
    out->esp = (uint32_t)env->regs[R_ESP];
    out->fs_base = (uint32_t)env->segs[R_FS].base;
    out->gdt_base = (uint32_t)env->gdt.base;
}

void report_error(const char *what, int rc) {
    if (!g.error_reported) {
        fprintf(stderr, "win7rec: %s failed (%d): %s; recording stops\n", what, rc, w7rec_last_error(g.rec));
        g.error_reported = true;
    }
}

/* The replay's total is only known while the replay log exists: PANDA frees it (rr_do_end_replay) before it
 * unloads plugins, so uninit would read 0. PANDA's asidstory takes it the same way (asidstory.cpp). */
void take_total(void) {
    if (g.total_taken || !rr_in_replay()) return;
    uint64_t total = replay_get_total_num_instructions();
    if (!total) return;
    w7rec_set_total_instr(g.rec, total);
    g.total = total;
    g.total_taken = true;
}

void on_block(CPUState *cpu, TranslationBlock *tb) {
    (void)cpu;
    (void)tb;
    take_total();
    if (g.total_taken || !rr_in_replay()) panda_disable_callback(g.self, PANDA_CB_BEFORE_BLOCK_EXEC, g.total_cb);
}

void on_return_hook(CPUState *cpu, TranslationBlock *tb, struct hook *h);

/* Our own hook at a pending call's return address, in its address space, user mode (as syscalls2's, but kept
 * until no pending call of that address space waits there: syscalls2 drops its hook after the first hit). */
void add_return_hook(uint32_t pc, uint32_t cr3) {
    struct hook h;
    memset(&h, 0, sizeof h);
    h.addr = pc;
    h.asid = cr3;
    h.type = PANDA_CB_BEFORE_TCG_CODEGEN;
    h.cb.before_tcg_codegen = on_return_hook;
    h.km = MODE_USER_ONLY;
    h.enabled = true;
    g.add_hook(&h); /* an identical hook already present is not added twice (hooks.cpp keeps a set) */
}

void on_return_hook(CPUState *cpu, TranslationBlock *tb, struct hook *h) {
    (void)tb;
    if (!g.rec) {
        h->enabled = false;
        return;
    }
    take_total();
    w7rec_cpu c;
    fill_cpu(cpu, h->addr, &c);
    int rc = w7rec_return_hook(g.rec, &c, read_guest, cpu); /* nothing unless ESP matches a pending call */
    if (rc != W7REC_OK) report_error("return_hook", rc);
    if (!w7rec_hook_wanted(g.rec, (uint32_t)h->asid, (uint32_t)h->addr)) h->enabled = false;
}

void on_sys_enter(CPUState *cpu, target_ulong pc, const syscall_info_t *call, const syscall_ctx_t *ctx) {
    (void)call;
    (void)ctx;
    if (!g.rec) return;
    take_total();
    w7rec_cpu c;
    fill_cpu(cpu, pc, &c);
    uint32_t return_pc = 0;
    int rc = w7rec_sys_enter(g.rec, &c, read_guest, cpu, &return_pc);
    if (rc != W7REC_OK) report_error("sys_enter", rc);
    else if (g.use_hooks && return_pc) add_return_hook(return_pc, c.cr3);
}

void on_sys_return(CPUState *cpu, target_ulong pc, const syscall_info_t *call, const syscall_ctx_t *ctx) {
    (void)call;
    if (!g.rec) return;
    take_total();
    w7rec_cpu c;
    fill_cpu(cpu, pc, &c);
    uint32_t hint = ctx ? (uint32_t)ctx->no : UINT32_MAX;
    int rc = w7rec_sys_return(g.rec, &c, hint, read_guest, cpu);
    if (rc != W7REC_OK) report_error("sys_return", rc);
}

bool on_asid_changed(CPUState *cpu, target_ptr_t old_asid, target_ptr_t new_asid) {
    if (g.rec) {
        take_total();
        w7rec_cpu c;
        fill_cpu(cpu, 0, &c);
        /* Old and new come from the arguments: env->cr[3] is still the old value here. */
        int rc = w7rec_asid_changed(g.rec, &c, (uint32_t)old_asid, (uint32_t)new_asid, read_kernel_only, cpu);
        if (rc != W7REC_OK) report_error("asid_changed", rc);
    }
    return false; /* never block the change */
}

void stop_recording(const char *reason) {
    w7rec_close(g.rec, reason);
    g.rec = NULL;
}

} // namespace

bool init_plugin(void *self) {
    memset(&g, 0, sizeof g);
    g.self = self;
    if (panda_os_familyno != OS_WINDOWS || panda_os_bits != 32 || !panda_os_variant ||
        strncmp(panda_os_variant, "7", 1) != 0) {
        fprintf(stderr, "win7rec: needs -os windows-32-7sp1 (or windows-32-7sp0), got -os %s\n",
                panda_os_name ? panda_os_name : "(none)");
        return false;
    }
    panda_arg_list *args = panda_get_args("win7rec");
    w7rec_options opts;
    w7rec_default_options(&opts);
    g.trace_path = strdup(panda_parse_string_opt(args, "trace", "trace.lz4", "output trace file (trace.lz4 format 2.0)"));
    opts.data_cap = panda_parse_uint32_opt(args, "data_cap", opts.data_cap,
                                           "bytes of NtWriteFile/NtSetValueKey data to capture (0 = none)");
    opts.page_budget = panda_parse_uint32_opt(args, "page_budget", opts.page_budget, "max pages captured per event");
    opts.dedup_window = panda_parse_uint32_opt(args, "dedup_window", opts.dedup_window,
                                               "content-id window: contents a reader keeps (1..262144)");
    opts.kernel_base = panda_parse_uint32_opt(args, "kernel_base", opts.kernel_base,
                                              "lowest kernel address (0xC0000000 for a /3GB guest)");
    opts.watch_all = panda_parse_bool_opt(args, "watch_all", "capture the argument closure of every system call");
    g.use_hooks = !panda_parse_bool_opt(args, "syscalls2_only",
                                        "see returns through syscalls2 only (no return-address hooks of our own)");
    char *replay = strdup(panda_parse_string_opt(args, "replay", g.trace_path, "replay name written in the header"));
    panda_free_args(args);
    opts.recorder_name = "win7rec";
    opts.replay_name = replay;
    opts.returns = g.use_hooks ? "hooks+syscalls2" : "syscalls2";
    g.kernel_base = opts.kernel_base;

    if (g.use_hooks) {
        /* As syscalls2.cpp does: the hooks plugin's add_hook by name (its API header has no _ext.h). */
        void *hooks = panda_get_plugin_by_name("hooks");
        if (!hooks) {
            panda_require("hooks");
            hooks = panda_get_plugin_by_name("hooks");
        }
        g.add_hook = hooks ? (void (*)(struct hook *))dlsym(hooks, "add_hook") : NULL;
        if (!g.add_hook) {
            fprintf(stderr, "win7rec: the hooks plugin's add_hook is not available; use win7rec:syscalls2_only=true\n");
            free(replay);
            return false;
        }
    }

    g.rec = w7rec_open(g.trace_path, &opts); /* copies the option strings */
    free(replay);
    if (!g.rec) {
        fprintf(stderr, "win7rec: cannot open trace: %s\n", w7rec_last_error(NULL));
        return false;
    }
    uint8_t key[16];
    if (random_dedup_key(key) != 0 || w7rec_set_dedup_key(g.rec, key) != W7REC_OK) {
        /* The default key is public: a guest could make the trace hold the wrong bytes for a page. */
        fprintf(stderr, "win7rec: cannot read a random dedup key from /dev/urandom; not recording\n");
        stop_recording("no random dedup key");
        return false;
    }

    panda_require("syscalls2");
    if (!init_syscalls2_api()) {
        fprintf(stderr, "win7rec: syscalls2 API not available\n");
        stop_recording("syscalls2 API not available");
        return false;
    }
    PPP_REG_CB("syscalls2", on_all_sys_enter2, on_sys_enter);
    PPP_REG_CB("syscalls2", on_all_sys_return2, on_sys_return);

    panda_cb pcb;
    memset(&pcb, 0, sizeof pcb);
    pcb.asid_changed = on_asid_changed;
    panda_register_callback(self, PANDA_CB_ASID_CHANGED, pcb);
    memset(&g.total_cb, 0, sizeof g.total_cb);
    g.total_cb.before_block_exec = on_block; /* disabled again once the total is taken */
    panda_register_callback(self, PANDA_CB_BEFORE_BLOCK_EXEC, g.total_cb);
    return true;
}

void uninit_plugin(void *self) {
    (void)self;
    if (!g.rec) return;
    /* The replay ran to its end if the guest got to the total taken while it ran; without a total: stopped. */
    uint64_t now = rr_get_guest_instr_count();
    const char *reason = g.total_taken && now >= g.total ? "replay-end" : "replay-stopped";
    w7rec_stats st;
    w7rec_get_stats(g.rec, &st);
    int rc = w7rec_close(g.rec, reason);
    g.rec = NULL;
    fprintf(stderr,
            "win7rec: %s: %s, %llu syscall records, %llu switches, %llu pages (%llu refs, %llu unreadable), "
            "returns: %llu without enter, %llu not seen (inferred), %llu seen only by our hook; %llu enters never "
            "returned; %llu bytes%s\n",
            g.trace_path, reason, (unsigned long long)st.syscall_records, (unsigned long long)st.switch_records,
            (unsigned long long)st.page_records, (unsigned long long)st.page_refs,
            (unsigned long long)st.unreadable_refs, (unsigned long long)st.unmatched_returns,
            (unsigned long long)st.returns_inferred, (unsigned long long)st.returns_by_hook,
            (unsigned long long)st.enters_pending, (unsigned long long)st.bytes_written,
            rc == W7REC_OK ? "" : " (close failed)");
    free(g.trace_path);
    g.trace_path = NULL;
}

#else /* not i386-softmmu */

bool init_plugin(void *self) {
    (void)self;
    fprintf(stderr, "win7rec: records Windows 7 SP1 x86 guests on i386-softmmu only (panda-system-i386 -os "
                    "windows-32-7sp1); not recording on this target\n");
    return true;
}

void uninit_plugin(void *self) { (void)self; }

#endif
