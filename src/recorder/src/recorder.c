/* recorder.c — the public API (include/w7rec.h): open/close, enter/return pairing per (CR3, KTHREAD), context
 * switches, and turning one event's captured pages into PAGE records and a page map. */
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
/* Calls in flight (entered, not yet returned), keyed by (CR3, KTHREAD). 32 probes; evicts when crowded. */
#define W7_PENDING_SLOTS 8192u
#define W7_PENDING_PROBES 32u

typedef struct w7_pending {
    uint8_t state; /* 0 empty, 1 used, 2 deleted */
    uint8_t watched;
    uint16_t nargs;
    uint32_t cr3, thread, callno;
    uint64_t enter_instr;
    uint32_t args[W7_MAX_ARGS];
} w7_pending;

typedef struct w7_rule_slot { w7_rule_fn enter, ret; } w7_rule_slot;

/* Recently written pages by (space, vpn), direct-mapped: a page whose bytes did not change since it was last
 * captured reuses its content id after a memcmp, without hashing (FNV-1a is serial, about 5 µs a page).
 * Exact comparison, so it never changes what a page map means. W7_RECENT_PAGES × 4 KiB of memory. */
#define W7_RECENT_PAGES 1024u
typedef struct w7_recent_page {
    uint32_t space, vpn, content_id; /* content_id 0 = empty slot */
    uint8_t data[W7_PAGE_SIZE];
} w7_recent_page;

struct w7rec {
    w7rec_options opts;
    w7_writer writer;
    w7_capture cap;
    w7_pending *pending;
    uint8_t *watched;          /* by call number, w7_syscall_count entries */
    w7_rule_slot *rules;       /* by call number */
    w7_recent_page *recent;
    uint32_t *ids;             /* content id of each page of the event being written, page_budget entries */
    w7rec_stats stats;
    char error[256];
};

static char g_open_error[256];

void w7rec_default_options(w7rec_options *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->replay_name = "";
    o->recorder_name = "win7rec";
    o->recorder_version = "0.1.0";
    o->kernel_base = 0x80000000u;
    o->data_cap = 256;
    o->page_budget = 512;
    o->frame_size = 1u << 20;
    o->dedup_entries = 1u << 20;
    o->watch_all = 0;
    o->compression_level = 0;
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
    char data_cap[16], budget[16], frame[16], dedup[16], flush[16];
    snprintf(data_cap, sizeof data_cap, "%u", r->opts.data_cap);
    snprintf(budget, sizeof budget, "%u", r->opts.page_budget);
    snprintf(frame, sizeof frame, "%u", r->opts.frame_size);
    snprintf(dedup, sizeof dedup, "%u", r->opts.dedup_entries);
    snprintf(flush, sizeof flush, "%u", W7_FLUSH_RECORDS);
    const char *settings[][2] = {
        {"data_cap", data_cap}, {"page_budget", budget}, {"frame_size", frame},
        {"watch", r->opts.watch_all ? "all" : "default"}, {"dedup_entries", dedup}, {"flush_records", flush},
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
    free(r->pending);
    free(r->watched);
    free(r->rules);
    free(r->recent);
    free(r->ids);
    free((char *)r->opts.replay_name);
    free((char *)r->opts.recorder_name);
    free((char *)r->opts.recorder_version);
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
    r->opts.replay_name = dup_or_empty(r->opts.replay_name);
    r->opts.recorder_name = dup_or_empty(opts && opts->recorder_name ? opts->recorder_name : defaults.recorder_name);
    r->opts.recorder_version =
        dup_or_empty(opts && opts->recorder_version ? opts->recorder_version : defaults.recorder_version);
    r->pending = calloc(W7_PENDING_SLOTS, sizeof *r->pending);
    r->watched = calloc(w7_syscall_count, 1);
    r->rules = calloc(w7_syscall_count, sizeof *r->rules);
    r->recent = calloc(W7_RECENT_PAGES, sizeof *r->recent);
    r->ids = calloc(r->opts.page_budget, sizeof *r->ids);
    int rc = (!r->opts.replay_name || !r->opts.recorder_name || !r->opts.recorder_version || !r->pending ||
              !r->watched || !r->rules || !r->recent || !r->ids || w7_capture_init(&r->cap, r->opts.page_budget))
                 ? W7REC_E_NOMEM
                 : W7REC_OK;
    if (rc == W7REC_OK)
        rc = w7_writer_open(&r->writer, path, r->opts.frame_size, r->opts.dedup_entries, r->opts.compression_level);
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

/* ---- pairing ---- */

static uint32_t pending_home(uint32_t cr3, uint32_t thread) {
    return ((cr3 * 0x9e3779b1u) ^ (thread * 0x85ebca6bu) ^ (thread >> 7)) & (W7_PENDING_SLOTS - 1);
}

static w7_pending *pending_find(w7rec *r, uint32_t cr3, uint32_t thread) {
    uint32_t h = pending_home(cr3, thread);
    for (uint32_t i = 0; i < W7_PENDING_PROBES; i++, h = (h + 1) & (W7_PENDING_SLOTS - 1)) {
        w7_pending *p = &r->pending[h];
        if (p->state == 0) return NULL;
        if (p->state == 1 && p->cr3 == cr3 && p->thread == thread) return p;
    }
    return NULL;
}

static w7_pending *pending_slot_for(w7rec *r, uint32_t cr3, uint32_t thread) {
    w7_pending *found = pending_find(r, cr3, thread);
    if (found) return found; /* an earlier enter never returned (e.g. a thread that exited): replace it */
    uint32_t h = pending_home(cr3, thread);
    for (uint32_t i = 0; i < W7_PENDING_PROBES; i++, h = (h + 1) & (W7_PENDING_SLOTS - 1))
        if (r->pending[h].state != 1) return &r->pending[h];
    return &r->pending[pending_home(cr3, thread)]; /* crowded: forget the call in the home slot */
}

/* ---- records ---- */

/* Dedups the event's pages into r->ids, writing new PAGE records first. 0, or an error code. */
static int emit_pages(w7rec *r) {
    w7_capture *c = &r->cap;
    for (uint32_t i = 0; i < c->n_pages; i++) {
        if (!c->pages[i].readable) {
            r->ids[i] = 0;
            continue;
        }
        const uint8_t *page = c->data + (size_t)i * W7_PAGE_SIZE;
        uint32_t space = c->pages[i].space, vpn = c->pages[i].vpn;
        w7_recent_page *recent = &r->recent[(vpn ^ (vpn >> 10) ^ (space >> 5)) & (W7_RECENT_PAGES - 1)];
        if (recent->content_id && recent->space == space && recent->vpn == vpn &&
            memcmp(recent->data, page, W7_PAGE_SIZE) == 0) {
            r->ids[i] = recent->content_id;
            continue;
        }
        r->ids[i] = w7_writer_page(&r->writer, page);
        if (r->ids[i] == 0) return W7REC_E_IO;
        recent->space = space;
        recent->vpn = vpn;
        recent->content_id = r->ids[i];
        memcpy(recent->data, page, W7_PAGE_SIZE);
    }
    return W7REC_OK;
}

/* Writes the event's new pages, then reserves its record: `fixed_len` bytes of fields followed by the page map.
 * Returns the field pointer (the caller fills the fields, then calls end_event_record), or NULL on error. */
static uint8_t *begin_event_record(w7rec *r, uint16_t type, uint32_t fixed_len) {
    if (emit_pages(r) != W7REC_OK) return NULL;
    return w7_writer_record(&r->writer, type, fixed_len + 4 + W7_PAGE_REF_SIZE * r->cap.n_pages);
}

/* Writes the page map at `p` (just after the fields) and ends the frame if it is due. */
static int end_event_record(w7rec *r, uint8_t *p, int end_frame) {
    w7_capture *c = &r->cap;
    p = w7_put_u32(p, c->n_pages);
    for (uint32_t i = 0; i < c->n_pages; i++) {
        p = w7_put_u32(p, c->pages[i].space);
        p = w7_put_u32(p, c->pages[i].vpn);
        p = w7_put_u32(p, r->ids[i]);
        if (r->ids[i] == 0) r->stats.unreadable_refs++;
    }
    r->stats.page_refs += c->n_pages;
    return end_frame ? w7_writer_end_frame(&r->writer) : w7_writer_maybe_end_frame(&r->writer);
}

/* Keeps the writer's message for a failed event (the writer is the only thing an event can fail in); returns rc. */
static int event_failed(w7rec *r, int rc) {
    if (!r->error[0]) snprintf(r->error, sizeof r->error, "%s", r->writer.error);
    return rc;
}

static int write_syscall(w7rec *r, const w7rec_cpu *cpu, uint32_t thread, int phase, uint8_t capture,
                         const w7_call *call, uint64_t enter_instr) {
    uint8_t *p = begin_event_record(r, W7_REC_SYSCALL, W7_SYSCALL_FIXED_SIZE + 4 * call->nargs);
    if (!p) return event_failed(r, W7REC_E_IO);
    p = w7_put_u64(p, cpu->instr);
    p = w7_put_u32(p, cpu->pc);
    p = w7_put_u32(p, cpu->cr3);
    p = w7_put_u32(p, thread);
    p = w7_put_u8(p, (uint8_t)phase);
    p = w7_put_u8(p, capture);
    p = w7_put_u16(p, (uint16_t)call->nargs);
    p = w7_put_u32(p, call->callno);
    p = w7_put_u32(p, cpu->eax);
    p = w7_put_u32(p, cpu->edx);
    p = w7_put_u32(p, cpu->esp);
    p = w7_put_u32(p, cpu->fs_base);
    p = w7_put_u32(p, cpu->gdt_base);
    p = w7_put_u64(p, enter_instr);
    for (uint32_t i = 0; i < call->nargs; i++) p = w7_put_u32(p, call->args[i]);
    r->stats.syscall_records++;
    int rc = end_event_record(r, p, 0);
    return rc == W7REC_OK ? W7REC_OK : event_failed(r, rc);
}

static void run_rules(w7rec *r, const w7_call *call) {
    if (call->callno >= w7_syscall_count || !r->watched[call->callno]) return;
    w7_capture_generic(&r->cap, call);
    w7_rule_fn fn = call->phase == 0 ? r->rules[call->callno].enter : r->rules[call->callno].ret;
    if (fn) fn(&r->cap, call);
}

int w7rec_sys_enter(w7rec *r, const w7rec_cpu *cpu, w7rec_read_fn read, void *opaque) {
    if (!r || !cpu) return W7REC_E_ARG;
    if (r->writer.failed) return W7REC_E_IO;
    w7_capture *c = &r->cap;
    w7_capture_begin(c, read, opaque, cpu->cr3, r->opts.kernel_base, r->opts.data_cap);
    w7_call call;
    memset(&call, 0, sizeof call);
    call.callno = cpu->eax;
    call.info = w7_syscall_lookup(cpu->eax);
    call.kthread = w7_capture_identity(c, cpu->gdt_base, &call.eprocess);
    call.nargs = call.info ? call.info->nargs : 0;
    for (uint32_t i = 0; i < call.nargs; i++)
        w7_read_u32(c, cpu->edx + W7_SYSCALL_ARG_OFFSET + 4 * i, &call.args[i]); /* unreadable → 0 */
    int watched = call.info && r->watched[call.callno];
    run_rules(r, &call);
    int rc = write_syscall(r, cpu, call.kthread, 0, (uint8_t)(watched ? 1 : 0), &call, 0);
    if (rc != W7REC_OK) return rc;
    w7_pending *p = pending_slot_for(r, cpu->cr3, call.kthread);
    p->state = 1;
    p->watched = (uint8_t)watched;
    p->cr3 = cpu->cr3;
    p->thread = call.kthread;
    p->callno = call.callno;
    p->nargs = (uint16_t)call.nargs;
    p->enter_instr = cpu->instr;
    memcpy(p->args, call.args, sizeof p->args);
    return W7REC_OK;
}

int w7rec_sys_return(w7rec *r, const w7rec_cpu *cpu, uint32_t callno_hint, w7rec_read_fn read, void *opaque) {
    if (!r || !cpu) return W7REC_E_ARG;
    if (r->writer.failed) return W7REC_E_IO;
    w7_capture *c = &r->cap;
    w7_capture_begin(c, read, opaque, cpu->cr3, r->opts.kernel_base, r->opts.data_cap);
    w7_call call;
    memset(&call, 0, sizeof call);
    call.phase = 1;
    call.status = cpu->eax;
    call.kthread = w7_capture_identity(c, cpu->gdt_base, &call.eprocess);
    w7_pending *p = pending_find(r, cpu->cr3, call.kthread);
    uint8_t capture;
    uint64_t enter_instr = 0;
    if (p) {
        call.callno = p->callno;
        call.nargs = p->nargs;
        memcpy(call.args, p->args, sizeof call.args);
        enter_instr = p->enter_instr;
        capture = p->watched;
        p->state = 2;
    } else {
        /* The enter predates the recording or was lost: trust the caller's number, but we have no arguments. */
        call.callno = callno_hint;
        capture = 2;
        r->stats.unmatched_returns++;
    }
    call.info = w7_syscall_lookup(call.callno);
    if (p) run_rules(r, &call);
    return write_syscall(r, cpu, call.kthread, 1, capture, &call, enter_instr);
}

int w7rec_asid_changed(w7rec *r, const w7rec_cpu *cpu, uint32_t old_cr3, uint32_t new_cr3, w7rec_read_fn read,
                       void *opaque) {
    if (!r || !cpu) return W7REC_E_ARG;
    if (r->writer.failed) return W7REC_E_IO;
    w7_capture *c = &r->cap;
    w7_capture_begin(c, read, opaque, cpu->cr3, r->opts.kernel_base, r->opts.data_cap);
    uint32_t eprocess;
    uint32_t thread = w7_capture_identity(c, cpu->gdt_base, &eprocess);
    uint8_t *p = begin_event_record(r, W7_REC_SWITCH, 8 + 4 + 4 + 4);
    if (!p) return event_failed(r, W7REC_E_IO);
    p = w7_put_u64(p, cpu->instr);
    p = w7_put_u32(p, old_cr3);
    p = w7_put_u32(p, new_cr3);
    p = w7_put_u32(p, thread);
    r->stats.switch_records++;
    /* A switch ends a frame that holds flush_records records, so a crash loses little. */
    int rc = end_event_record(r, p, r->writer.frame_records >= W7_FLUSH_RECORDS);
    return rc == W7REC_OK ? W7REC_OK : event_failed(r, rc);
}

void w7rec_get_stats(const w7rec *r, w7rec_stats *out) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    if (!r) return;
    *out = r->stats;
    out->page_records = r->writer.page_records;
    out->bytes_uncompressed = r->writer.bytes_uncompressed;
    out->bytes_written = r->writer.bytes_written;
    out->pages_read_calls = r->cap.read_calls;
}

int w7rec_close(w7rec *r, uint64_t total_instr, const char *reason) {
    if (!r) return W7REC_E_ARG;
    int rc = W7REC_OK;
    if (!r->writer.failed) {
        const char *why = reason ? reason : "uninit";
        uint8_t *p = w7_writer_record(&r->writer, W7_REC_END, 8 * 7 + 2 + (uint32_t)str_len16(why));
        if (p) {
            p = w7_put_u64(p, total_instr);
            p = w7_put_u64(p, r->stats.syscall_records);
            p = w7_put_u64(p, r->stats.switch_records);
            p = w7_put_u64(p, r->writer.page_records);
            p = w7_put_u64(p, r->stats.page_refs);
            p = w7_put_u64(p, r->stats.unreadable_refs);
            p = w7_put_u64(p, r->stats.unmatched_returns);
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
