/* w7rec.h — the recorder core's public API (PANDA-independent).
 *
 * The PANDA plugin (src/recorder/panda/win7rec.c) and the simulator (C#, via P/Invoke on libw7rec.so) drive
 * the core through these calls; the core decides what guest memory to capture and writes trace.lz4
 * (tracefmt/FORMAT.md). All functions return 0 on success and a negative W7REC_E* code on failure;
 * w7rec_last_error() describes the last failure. Not thread-safe: one recorder per replay/CPU.
 */
#ifndef W7REC_H
#define W7REC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define W7REC_API_VERSION 2

#if defined(__GNUC__)
#define W7REC_EXPORT __attribute__((visibility("default")))
#else
#define W7REC_EXPORT
#endif

enum {
    W7REC_OK = 0,
    W7REC_E_IO = -1,       /* could not open/write the trace file */
    W7REC_E_ARG = -2,      /* NULL recorder or bad option */
    W7REC_E_NOMEM = -3,
    W7REC_E_CLOSED = -4,   /* call after w7rec_close */
};

/* Read `len` bytes at guest virtual address `va` in the *current* address space into `buf`.
 * The core never asks for a range that crosses a 4 KiB page boundary. Return 0 on success,
 * non-zero if the page is unreadable (unmapped, paged out, MMIO). */
typedef int (*w7rec_read_fn)(void *opaque, uint32_t va, uint8_t *buf, uint32_t len);

/* CPU state at the callback. */
typedef struct w7rec_cpu {
    uint64_t instr;     /* guest instruction count */
    uint32_t pc;        /* enter: sysenter address; return: return address */
    uint32_t cr3;
    uint32_t eax;       /* enter: syscall number; return: NTSTATUS */
    uint32_t edx;       /* enter: user stack pointer (args at edx+8+4i) */
    uint32_t esp;
    uint32_t fs_base;
    uint32_t gdt_base;
} w7rec_cpu;

typedef struct w7rec_options {
    const char *replay_name;       /* written in the header */
    const char *recorder_name;     /* "win7rec", "win7proc-offline-simulate" */
    const char *recorder_version;
    uint32_t kernel_base;          /* default 0x80000000 */
    uint32_t data_cap;             /* bytes of NtWriteFile/NtSetValueKey data to capture; default 256; 0 = none */
    uint32_t page_budget;          /* max pages captured per event; default 512 */
    uint32_t frame_size;           /* decompressed bytes per LZ4 frame; default 1 MiB */
    uint32_t dedup_entries;        /* page-content dedup table entries (memory bound); default 1<<20 */
    int watch_all;                 /* 1: capture the argument closure of every call, not just the watched ones */
    int compression_level;         /* LZ4 frame compression level; default 0 (fast) */
    uint32_t dedup_window;         /* content-id window (FORMAT.md §4); default 16384, clamped to 1..262144.
                                    * page_budget is clamped to it (one event's pages must fit in the window). */
    const char *returns;           /* header setting `returns`: "hooks+syscalls2", "syscalls2" (default) or
                                    * "simulated": how the driver observes returns */
} w7rec_options;

typedef struct w7rec w7rec;

W7REC_EXPORT void w7rec_default_options(w7rec_options *opts);
/* Opens `path` for writing (truncates) and writes the HEADER record. NULL on failure (see w7rec_last_error(NULL)). */
W7REC_EXPORT w7rec *w7rec_open(const char *path, const w7rec_options *opts);
/* A system call enters (syscalls2's on_all_sys_enter2; cpu->pc = the sysenter address). `*return_pc` (may be
 * NULL) receives the call's return address, [EDX], or 0 if unreadable: a driver with its own return-address hooks
 * hooks it and calls w7rec_return_hook there. A pending call of the same thread whose stack frame this enter
 * shows to be gone (EDX at or above its EDX) is written as a return not seen (capture bit 2). */
W7REC_EXPORT int w7rec_sys_enter(w7rec *r, const w7rec_cpu *cpu, w7rec_read_fn read, void *opaque,
                                 uint32_t *return_pc);
/* A return reported by syscalls2 (on_all_sys_return2; cpu->pc = the return address). `callno_hint` is the number
 * the caller believes returned, or UINT32_MAX if unknown. The core pairs the return with its enter by (CR3,
 * stack): the pending call of this CR3 whose EDX at enter + 4 equals cpu->esp. Deeper pending calls of the same
 * thread are written as returns not seen. A return already written (by w7rec_return_hook) is ignored. */
W7REC_EXPORT int w7rec_sys_return(w7rec *r, const w7rec_cpu *cpu, uint32_t callno_hint, w7rec_read_fn read, void *opaque);
/* The driver's own hook at a pending return address fired (cpu->pc = that address, user mode). Writes the return
 * of the pending call of cpu->cr3 whose EDX at enter + 4 equals cpu->esp; does nothing if there is none (not this
 * call's moment, or syscalls2 reported it first). Either callback may come first; one return record is written. */
W7REC_EXPORT int w7rec_return_hook(w7rec *r, const w7rec_cpu *cpu, w7rec_read_fn read, void *opaque);
/* Non-zero while a pending call of `cr3` waits for its return at `pc` (a driver keeps its hook until this is 0). */
W7REC_EXPORT int w7rec_hook_wanted(const w7rec *r, uint32_t cr3, uint32_t pc);
/* The address space changes from `old_cr3` to `new_cr3` (PANDA's asid_changed runs before CR3 is written, so the
 * core reads user pages in `new_cr3`, never cpu->cr3). A reload of the same value writes nothing. */
W7REC_EXPORT int w7rec_asid_changed(w7rec *r, const w7rec_cpu *cpu, uint32_t old_cr3, uint32_t new_cr3,
                                    w7rec_read_fn read, void *opaque);
/* The replay's total instruction count, taken while the replay runs (PANDA frees the replay log before plugins
 * are unloaded). END says the total is unknown if this is never called. */
W7REC_EXPORT void w7rec_set_total_instr(w7rec *r, uint64_t total_instr);
/* Sets the 128-bit key of the page-content dedup hash (SipHash-2-4; `key` is 16 bytes). The dedup table trusts a
 * hash match without comparing bytes, so a guest that could predict the hash could make the trace hold another
 * page's bytes; the default key is fixed (reproducible output, e.g. the simulator's), so a recorder facing a
 * real guest sets a random key (the PANDA plugin reads 16 bytes from /dev/urandom) right after w7rec_open.
 * Changing the key forgets the contents seen so far (they are written again if seen again). It does not change
 * the trace format: PAGE records keep their XXH3-64 `hash`. W7REC_E_ARG if `r` or `key` is NULL. */
W7REC_EXPORT int w7rec_set_dedup_key(w7rec *r, const uint8_t key[16]);
/* Writes the END record (reason: "replay-end", "replay-stopped", "simulated" or an error text; NULL =
 * "replay-stopped"), flushes and closes; frees `r`. Calls still pending are counted as enters_pending. */
W7REC_EXPORT int w7rec_close(w7rec *r, const char *reason);
W7REC_EXPORT const char *w7rec_last_error(const w7rec *r);

/* Counters, for benchmarks and the plugin's uninit message. */
typedef struct w7rec_stats {
    uint64_t syscall_records, switch_records, page_records, page_refs, unreadable_refs, unmatched_returns;
    uint64_t bytes_uncompressed, bytes_written, pages_read_calls;
    uint64_t returns_inferred;  /* return records with capture bit 2 (the call ended, its return was not seen) */
    uint64_t returns_by_hook;   /* returns seen only by w7rec_return_hook (syscalls2 had not reported them) */
    uint64_t enters_pending;    /* calls entered and not yet returned, now, including calls the core had to forget
                                 * (more than 4096 threads with calls in flight, nesting deeper than 8) */
} w7rec_stats;
W7REC_EXPORT void w7rec_get_stats(const w7rec *r, w7rec_stats *out);

#ifdef __cplusplus
}
#endif
#endif
