/* win7rec.c — PANDA plugin glue for the win7rec recorder core (src/recorder/include/w7rec.h).
 *
 *   panda-system-i386 -replay R -os windows-32-7sp1 -panda syscalls2 -panda win7rec:trace=R.trace.lz4
 *
 * Thin by design: it turns syscalls2's on_all_sys_enter2 / on_all_sys_return2 and PANDA's asid_changed into
 * w7rec_* calls, reads guest memory one page at a time with panda_virtual_memory_rw, and closes the trace at
 * uninit. Every capture decision lives in the core; each run sets a random page-dedup key from /dev/urandom
 * (w7rec_set_dedup_key). PANDA API used (panda-re/panda, see the reference notes):
 * panda_get_args / panda_parse_* / panda_free_args, panda_require, init_syscalls2_api, PPP_REG_CB,
 * panda_register_callback(PANDA_CB_ASID_CHANGED), panda_virtual_memory_rw, rr_get_guest_instr_count,
 * replay_get_total_num_instructions, CPUX86State via cpu->env_ptr.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strdup under strict C11 (QEMU/PANDA builds define it already) */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "panda/plugin.h"
#include "panda/plugin_plugin.h"
#include "panda/rr/rr_log.h"
#include "panda/rr/rr_log_all.h"

#include "syscalls2/syscalls_ext_typedefs.h"
#include "syscalls2/syscalls2_info.h"
#include "syscalls2/syscalls2_ext.h"

#include "w7rec.h"

bool init_plugin(void *self);
void uninit_plugin(void *self);

static w7rec *g_rec;
static char *g_trace_path;

/* One page at a time (the core never crosses a page); any non-zero return means unreadable. */
static int read_guest(void *opaque, uint32_t va, uint8_t *buf, uint32_t len) {
    return panda_virtual_memory_rw((CPUState *)opaque, (target_ulong)va, buf, (int)len, false) != 0 ? -1 : 0;
}

/* A dedup key the guest cannot predict (w7rec_set_dedup_key): 16 bytes from /dev/urandom. 0 on success. */
static int random_dedup_key(uint8_t key[16]) {
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f) return -1;
    size_t n = fread(key, 1, 16, f);
    fclose(f);
    return n == 16 ? 0 : -1;
}

static void fill_cpu(CPUState *cpu, target_ulong pc, w7rec_cpu *out) {
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

static void report_error(const char *what, int rc) {
    static int reported;
    if (!reported) {
        fprintf(stderr, "win7rec: %s failed (%d): %s; recording stops\n", what, rc, w7rec_last_error(g_rec));
        reported = 1;
    }
}

static void on_sys_enter(CPUState *cpu, target_ulong pc, const syscall_info_t *call, const syscall_ctx_t *ctx) {
    (void)call;
    (void)ctx;
    if (!g_rec) return;
    w7rec_cpu c;
    fill_cpu(cpu, pc, &c);
    int rc = w7rec_sys_enter(g_rec, &c, read_guest, cpu, NULL);
    if (rc != W7REC_OK) report_error("sys_enter", rc);
}

static void on_sys_return(CPUState *cpu, target_ulong pc, const syscall_info_t *call, const syscall_ctx_t *ctx) {
    (void)call;
    if (!g_rec) return;
    w7rec_cpu c;
    fill_cpu(cpu, pc, &c);
    uint32_t hint = ctx ? (uint32_t)ctx->no : UINT32_MAX;
    int rc = w7rec_sys_return(g_rec, &c, hint, read_guest, cpu);
    if (rc != W7REC_OK) report_error("sys_return", rc);
}

static bool on_asid_changed(CPUState *cpu, target_ulong old_asid, target_ulong new_asid) {
    if (g_rec) {
        w7rec_cpu c;
        fill_cpu(cpu, 0, &c);
        int rc = w7rec_asid_changed(g_rec, &c, (uint32_t)old_asid, (uint32_t)new_asid, read_guest, cpu);
        if (rc != W7REC_OK) report_error("asid_changed", rc);
    }
    return false; /* never block the change */
}

bool init_plugin(void *self) {
    panda_arg_list *args = panda_get_args("win7rec");
    w7rec_options opts;
    w7rec_default_options(&opts);
    g_trace_path = strdup(panda_parse_string_opt(args, "trace", "trace.lz4", "output trace file (trace.lz4 format v1)"));
    opts.data_cap = panda_parse_uint32_opt(args, "data_cap", opts.data_cap,
                                           "bytes of NtWriteFile/NtSetValueKey data to capture (0 = none)");
    opts.page_budget = panda_parse_uint32_opt(args, "page_budget", opts.page_budget, "max pages captured per event");
    opts.watch_all = panda_parse_bool_opt(args, "watch_all", "capture the argument closure of every system call");
    char *replay = strdup(panda_parse_string_opt(args, "replay", g_trace_path, "replay name written in the header"));
    panda_free_args(args);
    opts.recorder_name = "win7rec";
    opts.replay_name = replay;

    g_rec = w7rec_open(g_trace_path, &opts); /* copies the option strings */
    free(replay);
    if (!g_rec) {
        fprintf(stderr, "win7rec: cannot open trace: %s\n", w7rec_last_error(NULL));
        return false;
    }
    uint8_t key[16];
    if (random_dedup_key(key) != 0 || w7rec_set_dedup_key(g_rec, key) != W7REC_OK) {
        /* The default key is public: a guest could make the trace hold the wrong bytes for a page. */
        fprintf(stderr, "win7rec: cannot read a random dedup key from /dev/urandom; not recording\n");
        w7rec_close(g_rec, "no random dedup key");
        g_rec = NULL;
        return false;
    }

    panda_require("syscalls2");
    if (!init_syscalls2_api()) {
        fprintf(stderr, "win7rec: syscalls2 API not available\n");
        w7rec_close(g_rec, "syscalls2 API not available");
        g_rec = NULL;
        return false;
    }
    PPP_REG_CB("syscalls2", on_all_sys_enter2, on_sys_enter);
    PPP_REG_CB("syscalls2", on_all_sys_return2, on_sys_return);

    panda_cb pcb;
    memset(&pcb, 0, sizeof pcb);
    pcb.asid_changed = on_asid_changed;
    panda_register_callback(self, PANDA_CB_ASID_CHANGED, pcb);
    return true;
}

void uninit_plugin(void *self) {
    (void)self;
    if (!g_rec) return;
    uint64_t total = replay_get_total_num_instructions();
    const char *reason = rr_get_guest_instr_count() >= total ? "replay-end" : "uninit";
    w7rec_stats st;
    w7rec_get_stats(g_rec, &st);
    w7rec_set_total_instr(g_rec, total);
    int rc = w7rec_close(g_rec, reason);
    g_rec = NULL;
    fprintf(stderr,
            "win7rec: %s: %llu syscall records, %llu switches, %llu pages (%llu refs, %llu unreadable), "
            "%llu unmatched returns, %llu bytes%s\n",
            g_trace_path, (unsigned long long)st.syscall_records, (unsigned long long)st.switch_records,
            (unsigned long long)st.page_records, (unsigned long long)st.page_refs,
            (unsigned long long)st.unreadable_refs, (unsigned long long)st.unmatched_returns,
            (unsigned long long)st.bytes_written, rc == W7REC_OK ? "" : " (close failed)");
    free(g_trace_path);
    g_trace_path = NULL;
}
