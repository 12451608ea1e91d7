/* capture.h — one event's view of guest memory. Every read the capture rules make goes through here, and every
 * page a read touches is captured (its bytes kept for the trace), so the analyzer can repeat exactly the reads
 * the recorder made. A page that cannot be read is recorded as unreadable (content 0) and the read fails. */
#ifndef W7_CAPTURE_H
#define W7_CAPTURE_H

#include <stdint.h>
#include "w7rec.h"

/* Bounds on every walk through guest memory (FORMAT.md §8). */
#define W7_MAX_STRING_BYTES 65536u /* UNICODE_STRING buffers and names */
#define W7_MAX_CHAIN_DEPTH 64u     /* ParentKcb, RelatedFileObject, directory chains */

typedef struct w7_cap_page {
    uint32_t space;   /* CR3 for user pages, 0 for kernel pages */
    uint32_t vpn;
    uint32_t readable;
} w7_cap_page;

typedef struct w7_capture {
    /* set per event by w7_capture_begin */
    w7rec_read_fn read;
    void *opaque;
    uint32_t cr3;
    uint32_t kernel_base;
    uint32_t data_cap;
    /* pages of this event, in first-touch order; data[i*4096] holds page i's bytes */
    w7_cap_page *pages;
    uint8_t *data;
    uint32_t n_pages;
    uint32_t budget;        /* max pages per event */
    uint32_t denied;        /* reads refused this event because the budget was spent */
    uint32_t *page_slots;   /* open-addressing index: page index + 1, 0 = empty */
    uint32_t page_slot_mask;
    /* objects already walked this event (type tag + address), to stop cycles and repeated work */
    uint64_t *visited;
    uint32_t visited_mask;
    uint32_t n_visited;
    uint64_t read_calls;    /* read callback invocations (stats) */
} w7_capture;

int w7_capture_init(w7_capture *c, uint32_t budget);
void w7_capture_free(w7_capture *c);
void w7_capture_begin(w7_capture *c, w7rec_read_fn read, void *opaque, uint32_t cr3, uint32_t kernel_base,
                      uint32_t data_cap);

/* Reads `len` bytes at `va` (any length, may cross pages), capturing each page touched. 0 on success, -1 if any
 * page is unreadable or over budget (the bytes of readable pages are still copied; the rest are zero). */
int w7_read(w7_capture *c, uint32_t va, void *dst, uint32_t len);
int w7_read_u32(w7_capture *c, uint32_t va, uint32_t *out);
int w7_read_u16(w7_capture *c, uint32_t va, uint16_t *out);
int w7_read_u8(w7_capture *c, uint32_t va, uint8_t *out);
/* Captures the pages of [va, va+len) without copying; len is clamped to `max_len`. */
int w7_touch(w7_capture *c, uint32_t va, uint32_t len, uint32_t max_len);
/* Captures a UNICODE_STRING at `va` and its buffer (Length clamped to W7_MAX_STRING_BYTES). */
int w7_capture_unicode_string(w7_capture *c, uint32_t va);
/* Returns 1 the first time (tag, addr) is seen this event, 0 after (or when the visited set is full). */
int w7_first_visit(w7_capture *c, uint32_t tag, uint32_t addr);
/* True when va lies in kernel space. */
static inline int w7_is_kernel(const w7_capture *c, uint32_t va) { return va >= c->kernel_base; }

#endif
