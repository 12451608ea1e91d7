/* recorder.c — the public API (include/w7rec.h): open/close, pairing enters and returns by (CR3, stack) with a
 * stack of pending calls per thread, returns seen by syscalls2 or by the driver's own hook (and inferred when
 * neither saw them), context switches, and turning one event's captured pages into PAGE records and a page map. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "rules.h"
#include "syscalls.h"
#include "w7rec.h"
#include "win7_layout.h"
#include "writer.h"

/* A context-switch record ends the frame once it holds this many records, so a crash loses little. */
#define W7_FLUSH_RECORDS 4096u
/* Threads with calls in flight, keyed by (CR3, KTHREAD): open addressing, W7_THREAD_PROBES probes; when crowded
 * the home slot is taken over and its calls are forgotten (their returns then come unmatched). */
#define W7_THREAD_SLOTS 4096u
#define W7_THREAD_PROBES 32u
/* Calls in flight on one thread: the outer call and the calls nested in it (a win32k user-mode callback or a
 * user APC making its own system call while the outer one waits in the kernel). Deeper nesting forgets the
 * outermost call. */
#define W7_MAX_NESTING 8u
/* Pending calls per (CR3, return address), for w7rec_hook_wanted. */
#define W7_RETADDR_SLOTS 16384u
#define W7_RETADDR_PROBES 32u
#define W7_DEDUP_WINDOW_DEFAULT 16384u
#define W7_DEDUP_WINDOW_MAX 262144u

/* SYSCALL capture bits (FORMAT.md §5) */
#define W7_CAPTURE_WATCHED 1u
#define W7_CAPTURE_NO_ENTER 2u
#define W7_CAPTURE_NOT_SEEN 4u
#define W7_CAPTURE_BY_HOOK 8u

typedef struct w7_pending {
    uint8_t watched;
    uint16_t nargs;
    uint32_t callno;
    uint32_t edx;        /* EDX at enter: the user stack at the stub's call; the return comes at ESP = edx + 4 */
    uint32_t retaddr;    /* [EDX] at enter, 0 if unreadable */
    uint64_t enter_instr;
    uint32_t args[W7_MAX_ARGS];
} w7_pending;

typedef struct w7_thread_calls {
    uint8_t state;       /* 0 never used, 1 holds calls, 2 emptied (probing continues past it) */
    uint8_t depth;       /* calls[0] outermost .. calls[depth-1] innermost */
    uint32_t cr3, thread;
    w7_pending calls[W7_MAX_NESTING];
} w7_thread_calls;

typedef struct w7_retaddr_count { uint8_t used; uint32_t cr3, pc, count; } w7_retaddr_count;

/* A return seen by the driver's own hook is held until the next call into the core: if syscalls2 reports the same
 * return at the same moment, the record says syscalls2 saw it (bit 3 clear); otherwise it is written with bit 3.
 * Its pages stay in r->cap meanwhile (nothing captures in between). */
typedef struct w7_held_return {
    int active;
    w7rec_cpu cpu;
    uint32_t thread;
    w7_pending call;
} w7_held_return;

typedef struct w7_rule_slot { w7_rule_fn enter, ret; } w7_rule_slot;

/* Recently written pages by (space, vpn), direct-mapped: a page whose bytes did not change since it was last
 * captured reuses its content id after a memcmp, without hashing (SipHash of a page costs about 2 µs).
 * Exact comparison, so it never changes what a page map means; an id that has left the content-id window is not
 * reused. W7_RECENT_PAGES × 4 KiB of memory. */
#define W7_RECENT_PAGES 1024u
typedef struct w7_recent_page {
    uint32_t space, vpn, content_id; /* content_id 0 = empty slot */
    uint8_t data[W7_PAGE_SIZE];
} w7_recent_page;

struct w7rec {
    w7rec_options opts;
    w7_writer writer;
    w7_capture cap;
    w7_thread_calls *threads;
    w7_retaddr_count *retaddrs;
    w7_held_return held;
    uint8_t *watched;          /* by call number, w7_syscall_count entries */
    w7_rule_slot *rules;       /* by call number */
    w7_recent_page *recent;
    uint32_t *ids;             /* content id of each page of the event being written, page_budget entries */
    uint64_t total_instr;
    int total_known;
    w7rec_stats stats;
    char error[256];
};

static char g_open_error[256];

void w7rec_default_options(w7rec_options *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->replay_name = "";
    o->recorder_name = "win7rec";
    o->recorder_version = "0.2.0";
    o->kernel_base = 0x80000000u;
    o->data_cap = 256;
    o->page_budget = 512;
    o->frame_size = 1u << 20;
    o->dedup_entries = 1u << 20;
    o->watch_all = 0;
    o->compression_level = 0;
    o->dedup_window = W7_DEDUP_WINDOW_DEFAULT;
    o->returns = "syscalls2";
}

static const w7_rule *const kFamilies[] = {
    w7_process_rules, w7_file_rules, w7_registry_rules, w7_section_rules, w7_port_rules, w7_vm_rules,
    w7_object_rules,
};

static int find_call(const char *name) {
    for (unsigned i = 0; i < w7_syscall_count; i++)
        if (strcmp(w7_syscalls[i].name, name) == 0) return (int)i;
    return -1;
}

static size_t str_len16(const char *s) {
    size_t n = s ? strlen(s) : 0;
    return n > 0xffff ? 0xffff : n;
}

static uint8_t *put_str(uint8_t *p, const char *s) {
    size_t n = str_len16(s);
    p = w7_put_u16(p, (uint16_t)n);
    if (n) memcpy(p, s, n);
    return p + n;
}

static int write_header(w7rec *r) {
    char data_cap[16], budget[16], frame[16], dedup[16], flush[16], window[16];
    snprintf(data_cap, sizeof data_cap, "%u", r->opts.data_cap);
    snprintf(budget, sizeof budget, "%u", r->opts.page_budget);
    snprintf(frame, sizeof frame, "%u", r->opts.frame_size);
    snprintf(dedup, sizeof dedup, "%u", r->opts.dedup_entries);
    snprintf(flush, sizeof flush, "%u", W7_FLUSH_RECORDS);
    snprintf(window, sizeof window, "%u", r->opts.dedup_window);
    const char *settings[][2] = {
        {"data_cap", data_cap}, {"page_budget", budget}, {"frame_size", frame},
        {"watch", r->opts.watch_all ? "all" : "default"}, {"dedup_entries", dedup}, {"flush_records", flush},
        {"dedup_window", window}, {"returns", r->opts.returns},
    };
    const unsigned n_settings = sizeof settings / sizeof settings[0];
    size_t len = 4 + 2 + 2 + 4 + 4 + 2 + str_len16("windows_7_x86") + 2 + str_len16(r->opts.recorder_name) + 2 +
                 str_len16(r->opts.recorder_version) + 2 + str_len16(r->opts.replay_name) + 2;
    for (unsigned i = 0; i < n_settings; i++) len += 4 + strlen(settings[i][0]) + strlen(settings[i][1]);
    uint8_t *p = w7_writer_record(&r->writer, W7_REC_HEADER, (uint32_t)len);
    if (!p) return W7REC_E_NOMEM;
    p = w7_put_u32(p, W7_TRACE_MAGIC);
    p = w7_put_u16(p, W7_TRACE_MAJOR);
    p = w7_put_u16(p, W7_TRACE_MINOR);
    p = w7_put_u32(p, 4096);
    p = w7_put_u32(p, r->opts.kernel_base);
    p = put_str(p, "windows_7_x86");
    p = put_str(p, r->opts.recorder_name);
    p = put_str(p, r->opts.recorder_version);
    p = put_str(p, r->opts.replay_name);
    p = w7_put_u16(p, (uint16_t)n_settings);
    for (unsigned i = 0; i < n_settings; i++) {
        p = put_str(p, settings[i][0]);
        p = put_str(p, settings[i][1]);
    }
    /* The header gets a frame of its own so even a recording that dies at once is readable. */
    return w7_writer_end_frame(&r->writer);
}

static char *dup_or_empty(const char *s) {
    return strdup(s ? s : "");
}

/* Frees everything w7rec_open allocated (the caller closes the writer first). */
static void recorder_free(w7rec *r) {
    w7_capture_free(&r->cap);
    free(r->threads);
    free(r->retaddrs);
    free(r->watched);
    free(r->rules);
    free(r->recent);
    free(r->ids);
    free((char *)r->opts.replay_name);
    free((char *)r->opts.recorder_name);
    free((char *)r->opts.recorder_version);
    free((char *)r->opts.returns);
    free(r);
}

w7rec *w7rec_open(const char *path, const w7rec_options *opts) {
    w7rec_options defaults;
    w7rec_default_options(&defaults);
    if (!path) {
        snprintf(g_open_error, sizeof g_open_error, "no trace path given");
        return NULL;
    }
    w7rec *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(g_open_error, sizeof g_open_error, "out of memory");
        return NULL;
    }
    r->opts = opts ? *opts : defaults;
    if (!r->opts.kernel_base) r->opts.kernel_base = defaults.kernel_base;
    if (!r->opts.page_budget) r->opts.page_budget = defaults.page_budget;
    if (!r->opts.frame_size) r->opts.frame_size = defaults.frame_size;
    if (!r->opts.dedup_entries) r->opts.dedup_entries = defaults.dedup_entries;
    if (r->opts.page_budget > 65536) r->opts.page_budget = 65536; /* 256 MiB of event pages at most */
    if (!r->opts.dedup_window) r->opts.dedup_window = defaults.dedup_window;
    if (r->opts.dedup_window > W7_DEDUP_WINDOW_MAX) r->opts.dedup_window = W7_DEDUP_WINDOW_MAX;
    /* One event's page map names at most page_budget contents, all of which must be inside the window. */
    if (r->opts.page_budget > r->opts.dedup_window) r->opts.page_budget = r->opts.dedup_window;
    r->opts.replay_name = dup_or_empty(r->opts.replay_name);
    r->opts.recorder_name = dup_or_empty(opts && opts->recorder_name ? opts->recorder_name : defaults.recorder_name);
    r->opts.recorder_version =
        dup_or_empty(opts && opts->recorder_version ? opts->recorder_version : defaults.recorder_version);
    r->opts.returns = dup_or_empty(opts && opts->returns ? opts->returns : defaults.returns);
    r->threads = calloc(W7_THREAD_SLOTS, sizeof *r->threads);
    r->retaddrs = calloc(W7_RETADDR_SLOTS, sizeof *r->retaddrs);
    r->watched = calloc(w7_syscall_count, 1);
    r->rules = calloc(w7_syscall_count, sizeof *r->rules);
    r->recent = calloc(W7_RECENT_PAGES, sizeof *r->recent);
    r->ids = calloc(r->opts.page_budget, sizeof *r->ids);
    int rc = (!r->opts.replay_name || !r->opts.recorder_name || !r->opts.recorder_version || !r->opts.returns ||
              !r->threads || !r->retaddrs ||
              !r->watched || !r->rules || !r->recent || !r->ids || w7_capture_init(&r->cap, r->opts.page_budget))
                 ? W7REC_E_NOMEM
                 : W7REC_OK;
    if (rc == W7REC_OK)
        rc = w7_writer_open(&r->writer, path, r->opts.frame_size, r->opts.dedup_entries, r->opts.dedup_window,
                            r->opts.compression_level);
    if (rc == W7REC_OK) {
        for (unsigned f = 0; f < sizeof kFamilies / sizeof kFamilies[0]; f++)
            for (const w7_rule *rule = kFamilies[f]; rule->name; rule++) {
                int no = find_call(rule->name);
                if (no < 0) continue;
                r->watched[no] = 1;
                if (rule->enter) r->rules[no].enter = rule->enter;
                if (rule->ret) r->rules[no].ret = rule->ret;
            }
        if (r->opts.watch_all) memset(r->watched, 1, w7_syscall_count);
        rc = write_header(r);
    }
    if (rc != W7REC_OK) {
        snprintf(g_open_error, sizeof g_open_error, "%s",
                 r->writer.error[0] ? r->writer.error : "out of memory");
        w7_writer_close(&r->writer); /* frees whatever w7_writer_open allocated (none of it if never called) */
        recorder_free(r);
        return NULL;
    }
    return r;
}

int w7rec_set_dedup_key(w7rec *r, const uint8_t key[16]) {
    if (!r || !key) return W7REC_E_ARG;
    w7_writer_set_dedup_key(&r->writer, key);
    return W7REC_OK;
}

const char *w7rec_last_error(const w7rec *r) {
    if (!r) return g_open_error;
    if (r->error[0]) return r->error;
    return r->writer.error;
}

/* ---- calls in flight ---- */

static uint32_t mix2(uint32_t a, uint32_t b) {
    return (a * 0x9e3779b1u) ^ (b * 0x85ebca6bu) ^ (b >> 7) ^ (a >> 13);
}

static w7_thread_calls *thread_find(w7rec *r, uint32_t cr3, uint32_t thread) {
    uint32_t h = mix2(cr3, thread) & (W7_THREAD_SLOTS - 1);
    for (uint32_t i = 0; i < W7_THREAD_PROBES; i++, h = (h + 1) & (W7_THREAD_SLOTS - 1)) {
        w7_thread_calls *t = &r->threads[h];
        if (t->state == 0) return NULL;
        if (t->state == 1 && t->cr3 == cr3 && t->thread == thread) return t;
    }
    return NULL;
}

static void retaddr_add(w7rec *r, uint32_t cr3, uint32_t pc, int delta) {
    if (!pc) return;
    uint32_t h = mix2(cr3, pc) & (W7_RETADDR_SLOTS - 1);
    w7_retaddr_count *reuse = NULL;
    for (uint32_t i = 0; i < W7_RETADDR_PROBES; i++, h = (h + 1) & (W7_RETADDR_SLOTS - 1)) {
        w7_retaddr_count *e = &r->retaddrs[h];
        if (e->used && e->cr3 == cr3 && e->pc == pc) {
            if (delta < 0 && e->count == 0) return;
            e->count += (uint32_t)delta;
            return;
        }
        if (!e->used) { if (!reuse) reuse = e; break; }
        if (e->count == 0 && !reuse) reuse = e;
    }
    /* Not counted when crowded: the driver then drops its hook early and syscalls2 or inference covers it. */
    if (delta > 0 && reuse) {
        reuse->used = 1;
        reuse->cr3 = cr3;
        reuse->pc = pc;
        reuse->count = 1;
    }
}

int w7rec_hook_wanted(const w7rec *r, uint32_t cr3, uint32_t pc) {
    if (!r || !pc) return 0;
    uint32_t h = mix2(cr3, pc) & (W7_RETADDR_SLOTS - 1);
    for (uint32_t i = 0; i < W7_RETADDR_PROBES; i++, h = (h + 1) & (W7_RETADDR_SLOTS - 1)) {
        const w7_retaddr_count *e = &r->retaddrs[h];
        if (!e->used) return 0;
        if (e->cr3 == cr3 && e->pc == pc) return e->count > 0;
    }
    return 0;
}

/* Removes call `i` of thread `t` (the caller has copied it if needed). A call that is only forgotten (no room)
 * stays counted in enters_pending: its return will never be paired. */
static void thread_remove(w7rec *r, w7_thread_calls *t, uint32_t i, int forgotten) {
    retaddr_add(r, t->cr3, t->calls[i].retaddr, -1);
    memmove(&t->calls[i], &t->calls[i + 1], (t->depth - i - 1) * sizeof t->calls[0]);
    t->depth--;
    if (!forgotten) r->stats.enters_pending--;
    if (t->depth == 0) t->state = 2;
}

/* Forgets every call of a thread slot that is being taken over (crowded table). */
static void thread_forget(w7rec *r, w7_thread_calls *t) {
    while (t->state == 1 && t->depth) thread_remove(r, t, t->depth - 1, 1);
    t->state = 2;
}

static void pending_push(w7rec *r, uint32_t cr3, uint32_t thread, const w7_pending *call) {
    w7_thread_calls *t = thread_find(r, cr3, thread);
    if (!t) {
        uint32_t home = mix2(cr3, thread) & (W7_THREAD_SLOTS - 1), h = home;
        for (uint32_t i = 0; i < W7_THREAD_PROBES; i++, h = (h + 1) & (W7_THREAD_SLOTS - 1))
            if (r->threads[h].state != 1) { t = &r->threads[h]; break; }
        if (!t) {
            t = &r->threads[home]; /* crowded: forget the calls of the thread in the home slot */
            thread_forget(r, t);
        }
        t->state = 1;
        t->depth = 0;
        t->cr3 = cr3;
        t->thread = thread;
    }
    if (t->depth == W7_MAX_NESTING) thread_remove(r, t, 0, 1); /* nested too deep: forget the outermost call */
    t->calls[t->depth++] = *call;
    r->stats.enters_pending++;
    retaddr_add(r, cr3, call->retaddr, +1);
}

/* ---- records ---- */

/* Dedups the event's pages into r->ids, writing new PAGE records first. 0, or an error code. Every id is checked
 * against the window as of the record that follows (later pages of this event may still be written). */
static int emit_pages(w7rec *r) {
    w7_capture *c = &r->cap;
    for (uint32_t i = 0; i < c->n_pages; i++) {
        if (!c->pages[i].readable) {
            r->ids[i] = 0;
            continue;
        }
        uint32_t later = c->n_pages - 1 - i;
        const uint8_t *page = c->data + (size_t)i * W7_PAGE_SIZE;
        uint32_t space = c->pages[i].space, vpn = c->pages[i].vpn;
        w7_recent_page *recent = &r->recent[(vpn ^ (vpn >> 10) ^ (space >> 5)) & (W7_RECENT_PAGES - 1)];
        if (recent->content_id && recent->space == space && recent->vpn == vpn &&
            w7_writer_id_usable(&r->writer, recent->content_id, later) &&
            memcmp(recent->data, page, W7_PAGE_SIZE) == 0) {
            r->ids[i] = recent->content_id;
            continue;
        }
        r->ids[i] = w7_writer_page(&r->writer, page, later);
        if (r->ids[i] == 0) return W7REC_E_IO;
        recent->space = space;
        recent->vpn = vpn;
        recent->content_id = r->ids[i];
        memcpy(recent->data, page, W7_PAGE_SIZE);
    }
    return W7REC_OK;
}

/* Writes the event's new pages (unless `with_pages` is 0: then the page map is empty), then reserves its record:
 * `fixed_len` bytes of fields followed by the page map. Returns the field pointer (the caller fills the fields,
 * then calls end_event_record), or NULL on error. */
static uint8_t *begin_event_record(w7rec *r, uint16_t type, uint32_t fixed_len, int with_pages) {
    if (with_pages && emit_pages(r) != W7REC_OK) return NULL;
    uint32_t n = with_pages ? r->cap.n_pages : 0;
    return w7_writer_record(&r->writer, type, fixed_len + 4 + W7_PAGE_REF_SIZE * n);
}

/* Writes the page map at `p` (just after the fields) and ends the frame if it is due. */
static int end_event_record(w7rec *r, uint8_t *p, int with_pages, int end_frame) {
    w7_capture *c = &r->cap;
    uint32_t n = with_pages ? c->n_pages : 0;
    p = w7_put_u32(p, n);
    for (uint32_t i = 0; i < n; i++) {
        p = w7_put_u32(p, c->pages[i].space);
        p = w7_put_u32(p, c->pages[i].vpn);
        p = w7_put_u32(p, r->ids[i]);
        if (r->ids[i] == 0) r->stats.unreadable_refs++;
    }
    r->stats.page_refs += n;
    return end_frame ? w7_writer_end_frame(&r->writer) : w7_writer_maybe_end_frame(&r->writer);
}

/* Keeps the writer's message for a failed event (the writer is the only thing an event can fail in); returns rc. */
static int event_failed(w7rec *r, int rc) {
    if (!r->error[0]) snprintf(r->error, sizeof r->error, "%s", r->writer.error);
    return rc;
}

/* One SYSCALL record. `cr3`/`thread` name the call's thread (for a return: those of its enter, the pairing key);
 * the other CPU fields come from `cpu`, `eax` is written as given. */
static int write_syscall(w7rec *r, const w7rec_cpu *cpu, uint32_t cr3, uint32_t thread, uint32_t eax, int phase,
                         uint8_t capture, const w7_call *call, uint64_t enter_instr, int with_pages) {
    uint8_t *p = begin_event_record(r, W7_REC_SYSCALL, W7_SYSCALL_FIXED_SIZE + 4 * call->nargs, with_pages);
    if (!p) return event_failed(r, W7REC_E_IO);
    p = w7_put_u64(p, cpu->instr);
    p = w7_put_u32(p, cpu->pc);
    p = w7_put_u32(p, cr3);
    p = w7_put_u32(p, thread);
    p = w7_put_u8(p, (uint8_t)phase);
    p = w7_put_u8(p, capture);
    p = w7_put_u16(p, (uint16_t)call->nargs);
    p = w7_put_u32(p, call->callno);
    p = w7_put_u32(p, eax);
    p = w7_put_u32(p, cpu->edx);
    p = w7_put_u32(p, cpu->esp);
    p = w7_put_u32(p, cpu->fs_base);
    p = w7_put_u32(p, cpu->gdt_base);
    p = w7_put_u64(p, enter_instr);
    for (uint32_t i = 0; i < call->nargs; i++) p = w7_put_u32(p, call->args[i]);
    r->stats.syscall_records++;
    int rc = end_event_record(r, p, with_pages, 0);
    return rc == W7REC_OK ? W7REC_OK : event_failed(r, rc);
}

static void call_from_pending(w7_call *call, const w7_pending *p) {
    memset(call, 0, sizeof *call);
    call->phase = 1;
    call->callno = p->callno;
    call->nargs = p->nargs;
    memcpy(call->args, p->args, sizeof call->args);
    call->info = w7_syscall_lookup(p->callno);
}

/* A pending call ended without its return being seen (FORMAT.md §5 capture bit 2): status unknown, no pages; the
 * CPU fields are those of the event `cpu` that showed it. */
static int write_not_seen(w7rec *r, const w7rec_cpu *cpu, uint32_t cr3, uint32_t thread, const w7_pending *p) {
    w7_call call;
    call_from_pending(&call, p);
    r->stats.returns_inferred++;
    return write_syscall(r, cpu, cr3, thread, 0, 1, W7_CAPTURE_NOT_SEEN, &call, p->enter_instr, 0);
}

/* Writes returns not seen for the calls of `t` from index `from` up (the innermost ones), innermost first. */
static int end_calls_from(w7rec *r, const w7rec_cpu *cpu, w7_thread_calls *t, uint32_t from) {
    uint32_t cr3 = t->cr3, thread = t->thread;
    while (t->state == 1 && t->depth > from) {
        w7_pending gone = t->calls[t->depth - 1];
        thread_remove(r, t, t->depth - 1, 0);
        int rc = write_not_seen(r, cpu, cr3, thread, &gone);
        if (rc != W7REC_OK) return rc;
    }
    return W7REC_OK;
}

static void run_rules(w7rec *r, const w7_call *call) {
    if (call->callno >= w7_syscall_count || !r->watched[call->callno]) return;
    w7_capture_generic(&r->cap, call);
    w7_rule_fn fn = call->phase == 0 ? r->rules[call->callno].enter : r->rules[call->callno].ret;
    if (fn) fn(&r->cap, call);
}

/* Writes the held hook return (bit 3) unless `cpu` is syscalls2 reporting that same return now. Returns 1 when
 * the held return was that report (then it has been written as syscalls2's), 0 otherwise, or an error (< 0). */
static int flush_held(w7rec *r, const w7rec_cpu *same_return) {
    w7_held_return *h = &r->held;
    if (!h->active) return 0;
    h->active = 0;
    int same = same_return && same_return->instr == h->cpu.instr && same_return->cr3 == h->cpu.cr3 &&
               same_return->esp == h->cpu.esp && same_return->pc == h->cpu.pc;
    w7_call call;
    call_from_pending(&call, &h->call);
    uint8_t capture = (uint8_t)((h->call.watched ? W7_CAPTURE_WATCHED : 0) | (same ? 0 : W7_CAPTURE_BY_HOOK));
    if (!same) r->stats.returns_by_hook++;
    int rc = write_syscall(r, &h->cpu, h->cpu.cr3, h->thread, h->cpu.eax, 1, capture, &call, h->call.enter_instr, 1);
    return rc != W7REC_OK ? rc : same;
}

static int begin_call(w7rec *r, const w7rec_cpu *cpu) {
    if (!r || !cpu) return W7REC_E_ARG;
    if (r->writer.failed) return W7REC_E_IO;
    return W7REC_OK;
}

int w7rec_sys_enter(w7rec *r, const w7rec_cpu *cpu, w7rec_read_fn read, void *opaque, uint32_t *return_pc) {
    if (return_pc) *return_pc = 0;
    int rc = begin_call(r, cpu);
    if (rc != W7REC_OK) return rc;
    if ((rc = flush_held(r, NULL)) < 0) return rc;
    w7_capture *c = &r->cap;
    w7_capture_begin(c, read, opaque, cpu->cr3, r->opts.kernel_base, r->opts.data_cap);
    w7_call call;
    memset(&call, 0, sizeof call);
    call.callno = cpu->eax;
    call.info = w7_syscall_lookup(cpu->eax);
    call.kthread = w7_capture_identity(c, cpu->gdt_base, &call.eprocess);
    call.nargs = call.info ? call.info->nargs : 0;
    uint32_t retaddr = 0;
    if (w7_read_u32(c, cpu->edx, &retaddr) != 0) retaddr = 0;
    for (uint32_t i = 0; i < call.nargs; i++)
        w7_read_u32(c, cpu->edx + W7_SYSCALL_ARG_OFFSET + 4 * i, &call.args[i]); /* unreadable → 0 */
    int watched = call.info && r->watched[call.callno];
    run_rules(r, &call);
    /* A pending call of this thread whose frame is at or below this enter's stack has ended unseen: a nested call
     * runs deeper (lower EDX) than the call it is nested in. Without a thread identity there is no such order. */
    w7_thread_calls *t = call.kthread ? thread_find(r, cpu->cr3, call.kthread) : NULL;
    if (t) {
        uint32_t from = t->depth;
        while (from > 0 && t->calls[from - 1].edx <= cpu->edx) from--; /* innermost first, while ended */
        if ((rc = end_calls_from(r, cpu, t, from)) != W7REC_OK) return rc;
    }
    rc = write_syscall(r, cpu, cpu->cr3, call.kthread, cpu->eax, 0, (uint8_t)(watched ? W7_CAPTURE_WATCHED : 0), &call,
                       0, 1);
    if (rc != W7REC_OK) return rc;
    w7_pending p;
    memset(&p, 0, sizeof p);
    p.watched = (uint8_t)watched;
    p.callno = call.callno;
    p.nargs = (uint16_t)call.nargs;
    p.edx = cpu->edx;
    p.retaddr = retaddr;
    p.enter_instr = cpu->instr;
    memcpy(p.args, call.args, sizeof p.args);
    pending_push(r, cpu->cr3, call.kthread, &p);
    if (return_pc) *return_pc = retaddr;
    return W7REC_OK;
}

/* Finds the pending call this return ends: the call of (cr3, thread) whose EDX at enter + 4 is ESP now. */
static w7_thread_calls *match_return(w7rec *r, const w7rec_cpu *cpu, uint32_t thread, uint32_t *index) {
    w7_thread_calls *t = thread_find(r, cpu->cr3, thread);
    if (!t) return NULL;
    for (uint32_t i = t->depth; i-- > 0;)
        if (t->calls[i].edx + W7_RETURN_ESP_DELTA == cpu->esp) {
            *index = i;
            return t;
        }
    return NULL;
}

/* Captures the return's identity and finds its pending call: if one matches (*found = 1), calls nested deeper
 * are written as returns not seen, the call is removed into *out and its return rules run. */
static int take_return(w7rec *r, const w7rec_cpu *cpu, w7_call *call, w7_pending *out, uint32_t *thread_out,
                       int *found) {
    w7_capture *c = &r->cap;
    memset(call, 0, sizeof *call);
    call->phase = 1;
    call->status = cpu->eax;
    call->kthread = w7_capture_identity(c, cpu->gdt_base, &call->eprocess);
    *thread_out = call->kthread;
    *found = 0;
    uint32_t i;
    w7_thread_calls *t = match_return(r, cpu, call->kthread, &i);
    if (!t) return W7REC_OK;
    /* Calls nested deeper than this one ended before it, unseen. */
    int rc = end_calls_from(r, cpu, t, i + 1);
    if (rc != W7REC_OK) return rc;
    *out = t->calls[i];
    thread_remove(r, t, i, 0);
    uint32_t status = call->status, kthread = call->kthread, eprocess = call->eprocess;
    call_from_pending(call, out);
    call->status = status;
    call->kthread = kthread;
    call->eprocess = eprocess;
    run_rules(r, call);
    *found = 1;
    return W7REC_OK;
}

int w7rec_sys_return(w7rec *r, const w7rec_cpu *cpu, uint32_t callno_hint, w7rec_read_fn read, void *opaque) {
    int rc = begin_call(r, cpu);
    if (rc != W7REC_OK) return rc;
    if ((rc = flush_held(r, cpu)) != 0) return rc < 0 ? rc : W7REC_OK; /* 1: our hook saw this very return */
    w7_capture_begin(&r->cap, read, opaque, cpu->cr3, r->opts.kernel_base, r->opts.data_cap);
    w7_call call;
    w7_pending p;
    uint32_t thread;
    int found;
    if ((rc = take_return(r, cpu, &call, &p, &thread, &found)) != W7REC_OK) return rc;
    if (found)
        return write_syscall(r, cpu, cpu->cr3, thread, cpu->eax, 1, (uint8_t)(p.watched ? W7_CAPTURE_WATCHED : 0),
                             &call, p.enter_instr, 1);
    /* The enter predates the recording or was lost: trust the caller's number, but we have no arguments. */
    call.callno = callno_hint;
    call.info = w7_syscall_lookup(callno_hint);
    r->stats.unmatched_returns++;
    return write_syscall(r, cpu, cpu->cr3, thread, cpu->eax, 1, W7_CAPTURE_NO_ENTER, &call, 0, 1);
}

int w7rec_return_hook(w7rec *r, const w7rec_cpu *cpu, w7rec_read_fn read, void *opaque) {
    int rc = begin_call(r, cpu);
    if (rc != W7REC_OK) return rc;
    const w7_held_return *h = &r->held;
    if (h->active && h->cpu.instr == cpu->instr && h->cpu.cr3 == cpu->cr3 && h->cpu.esp == cpu->esp &&
        h->cpu.pc == cpu->pc)
        return W7REC_OK; /* the same hook twice at one moment */
    if ((rc = flush_held(r, NULL)) < 0) return rc;
    /* Only the moment of a pending call's return counts; any other pass through this address is nothing to us. */
    w7_capture_begin(&r->cap, read, opaque, cpu->cr3, r->opts.kernel_base, r->opts.data_cap);
    w7_call call;
    w7_pending p;
    uint32_t thread;
    int found;
    if ((rc = take_return(r, cpu, &call, &p, &thread, &found)) != W7REC_OK || !found) return rc;
    r->held.active = 1;
    r->held.cpu = *cpu;
    r->held.thread = thread;
    r->held.call = p;
    return W7REC_OK;
}

int w7rec_asid_changed(w7rec *r, const w7rec_cpu *cpu, uint32_t old_cr3, uint32_t new_cr3, w7rec_read_fn read,
                       void *opaque) {
    int rc = begin_call(r, cpu);
    if (rc != W7REC_OK) return rc;
    if (old_cr3 == new_cr3) return W7REC_OK; /* a reload of the same value (TLB flush): no switch */
    if ((rc = flush_held(r, NULL)) < 0) return rc;
    w7_capture *c = &r->cap;
    /* PANDA calls this before CR3 is written: the new address space is the argument, not cpu->cr3. The pages read
     * here are kernel pages, shared by all address spaces. */
    w7_capture_begin(c, read, opaque, new_cr3, r->opts.kernel_base, r->opts.data_cap);
    uint32_t eprocess;
    uint32_t thread = w7_capture_identity(c, cpu->gdt_base, &eprocess);
    /* The guest clock at the switch (KUSER_SHARED_DATA.SystemTime). */
    w7_touch(c, W7_KUSER_SHARED_DATA, W7_PAGE_SIZE, W7_PAGE_SIZE);
    uint8_t *p = begin_event_record(r, W7_REC_SWITCH, 8 + 4 + 4 + 4, 1);
    if (!p) return event_failed(r, W7REC_E_IO);
    p = w7_put_u64(p, cpu->instr);
    p = w7_put_u32(p, old_cr3);
    p = w7_put_u32(p, new_cr3);
    p = w7_put_u32(p, thread);
    r->stats.switch_records++;
    /* A switch ends a frame that holds flush_records records, so a crash loses little. */
    rc = end_event_record(r, p, 1, r->writer.frame_records >= W7_FLUSH_RECORDS);
    return rc == W7REC_OK ? W7REC_OK : event_failed(r, rc);
}

void w7rec_set_total_instr(w7rec *r, uint64_t total_instr) {
    if (!r) return;
    r->total_instr = total_instr;
    r->total_known = total_instr != 0;
}

void w7rec_get_stats(const w7rec *r, w7rec_stats *out) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    if (!r) return;
    *out = r->stats;
    if (r->held.active) { /* a hook return not yet written: it will be, with bit 3, unless syscalls2 reports it */
        out->syscall_records++;
        out->returns_by_hook++;
    }
    out->page_records = r->writer.page_records;
    out->bytes_uncompressed = r->writer.bytes_uncompressed;
    out->bytes_written = r->writer.bytes_written;
    out->pages_read_calls = r->cap.read_calls;
}

int w7rec_close(w7rec *r, const char *reason) {
    if (!r) return W7REC_E_ARG;
    int rc = W7REC_OK;
    if (!r->writer.failed) flush_held(r, NULL);
    if (!r->writer.failed) {
        const char *why = reason ? reason : "replay-stopped";
        uint8_t *p = w7_writer_record(&r->writer, W7_REC_END, W7_END_FIXED_SIZE + (uint32_t)str_len16(why));
        if (p) {
            p = w7_put_u64(p, r->total_known ? r->total_instr : 0);
            p = w7_put_u8(p, (uint8_t)(r->total_known ? 1 : 0));
            p = w7_put_u64(p, r->stats.syscall_records);
            p = w7_put_u64(p, r->stats.switch_records);
            p = w7_put_u64(p, r->writer.page_records);
            p = w7_put_u64(p, r->stats.page_refs);
            p = w7_put_u64(p, r->stats.unreadable_refs);
            p = w7_put_u64(p, r->stats.unmatched_returns);
            p = w7_put_u64(p, r->stats.returns_inferred);
            p = w7_put_u64(p, r->stats.returns_by_hook);
            p = w7_put_u64(p, r->stats.enters_pending);
            put_str(p, why);
        }
    }
    rc = w7_writer_close(&r->writer);
    if (rc != W7REC_OK) snprintf(g_open_error, sizeof g_open_error, "%s", r->writer.error);
    recorder_free(r);
    return rc;
}

/* ---- test hooks (recorder_internal.h) ---- */
#include "recorder_internal.h"

int w7rec_internal_inject_record(w7rec *r, uint16_t type, const uint8_t *body, uint32_t length) {
    if (!r) return W7REC_E_ARG;
    uint8_t *p = w7_writer_record(&r->writer, type, length);
    if (!p) return W7REC_E_IO;
    if (length) memcpy(p, body, length);
    return w7_writer_maybe_end_frame(&r->writer);
}

int w7rec_internal_end_frame(w7rec *r) {
    return r ? w7_writer_end_frame(&r->writer) : W7REC_E_ARG;
}
