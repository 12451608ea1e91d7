/* writer.h — the trace.lz4 writer: records (tracefmt/FORMAT.md §2–7) into LZ4 frames, page-content dedup. */
#ifndef W7_WRITER_H
#define W7_WRITER_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <lz4frame.h>

#include "w7rec.h"

enum { W7_REC_HEADER = 1, W7_REC_PAGE = 2, W7_REC_SYSCALL = 3, W7_REC_SWITCH = 4, W7_REC_END = 5 };

#define W7_TRACE_MAGIC 0x52543757u
#define W7_TRACE_MAJOR 2
#define W7_TRACE_MINOR 0
#define W7_RECORD_HEADER_SIZE 8u
#define W7_PAGE_BODY_SIZE (4u + 8u + 4096u)
#define W7_SYSCALL_FIXED_SIZE 56u
#define W7_PAGE_REF_SIZE 12u
#define W7_END_FIXED_SIZE (8u + 1u + 9u * 8u + 2u) /* counters, then the reason string's length */

/* Page-content dedup: keyed hash (SipHash-2-4, 128-bit key) → content id. Open addressing over a power-of-two
 * table of at least `dedup_entries` 16-byte slots, probing 8 slots; when all 8 are taken the home slot is
 * overwritten, so the writer forgets an old content and may write it again under a new id (FORMAT.md §4 allows
 * it). A hit is used only while its id is inside the content-id window (FORMAT.md §4, `dedup_window`); an older
 * one is written again under a new id. A hit is trusted without comparing bytes, so the key must be one the guest
 * cannot predict: XXH3 (the PAGE record's `hash`) is fast but not a keyed PRF, so a guest could craft colliding
 * pages for it. The default key is fixed (deterministic output for the simulator); the PANDA plugin sets a
 * random one. */
typedef struct w7_dedup_slot { uint64_t keyed_hash; uint32_t content_id; uint32_t unused; } w7_dedup_slot;
#define W7_DEDUP_PROBES 8u

typedef struct w7_writer {
    FILE *file;
    uint8_t *buf;           /* the frame being filled: whole records */
    size_t len, cap;
    uint64_t frame_records;
    uint32_t frame_size;
    int compression_level;
    LZ4F_cctx *cctx;
    uint8_t *cbuf;
    size_t ccap;
    w7_dedup_slot *dedup;
    uint32_t dedup_mask;
    uint64_t dedup_key[2];  /* SipHash key k0, k1 */
    uint32_t next_content_id;
    uint32_t dedup_window;  /* FORMAT.md §4: a record may name content c only if newest - c < dedup_window */
    int failed;             /* an I/O error happened; everything after is refused */
    char error[256];
    uint64_t bytes_uncompressed, bytes_written, page_records;
} w7_writer;

int w7_writer_open(w7_writer *w, const char *path, uint32_t frame_size, uint32_t dedup_entries, uint32_t dedup_window,
                   int level);
/* Reserves a record of `body_len` bytes in the current frame; returns the body pointer (NULL on error). */
uint8_t *w7_writer_record(w7_writer *w, uint16_t type, uint32_t body_len);
/* Ends the current frame if it holds at least frame_size bytes (call after each record). */
int w7_writer_maybe_end_frame(w7_writer *w);
/* Compresses and writes the current frame (if not empty) and fflushes. */
int w7_writer_end_frame(w7_writer *w);
/* True when a record written after at most `later_pages` further PAGE records may still name content `id`
 * (the window rule, FORMAT.md §4). */
static inline int w7_writer_id_usable(const w7_writer *w, uint32_t id, uint32_t later_pages) {
    uint64_t newest = (uint64_t)w->next_content_id - 1 + later_pages;
    return id != 0 && newest - id < w->dedup_window;
}
/* Returns a content id of `page` (4096 bytes) that a record written after at most `later_pages` further PAGE
 * records may name, writing a PAGE record first if the content is new or its id would leave the window. 0 on
 * error. */
uint32_t w7_writer_page(w7_writer *w, const uint8_t *page, uint32_t later_pages);
int w7_writer_close(w7_writer *w);
/* Sets the dedup hash key (16 bytes, read as two little-endian words) and forgets the contents seen so far. */
void w7_writer_set_dedup_key(w7_writer *w, const uint8_t key[16]);
/* XXH3-64, seed 0 (the PAGE record's `hash`, FORMAT.md §4). */
uint64_t w7_page_hash(const uint8_t *data, size_t len);
/* SipHash-2-4 (Aumasson & Bernstein, 2012) of `data` under the key (k0, k1). */
uint64_t w7_siphash24(uint64_t k0, uint64_t k1, const uint8_t *data, size_t len);

/* little-endian loads and stores */
static inline uint64_t w7_get_u64(const uint8_t *p) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8); /* one load */
    return v;
#else
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
#endif
}
static inline uint8_t *w7_put_u8(uint8_t *p, uint8_t v) { *p = v; return p + 1; }
static inline uint8_t *w7_put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); return p + 2; }
static inline uint8_t *w7_put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
    return p + 4;
}
static inline uint8_t *w7_put_u64(uint8_t *p, uint64_t v) { p = w7_put_u32(p, (uint32_t)v); return w7_put_u32(p, (uint32_t)(v >> 32)); }

#endif
