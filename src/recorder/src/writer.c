/* writer.c — record framing, LZ4 frames and page dedup (tracefmt/FORMAT.md). Deterministic: the output depends
 * only on the records (fixed LZ4 preferences, no timestamps). */
#include "writer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* libxxhash (Debian libxxhash-dev), header-only: the functions are compiled into this unit, nothing to link. */
#define XXH_INLINE_ALL
#include <xxhash.h>

uint64_t w7_page_hash(const uint8_t *data, size_t len) {
    return (uint64_t)XXH3_64bits(data, len);
}

#define W7_ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define W7_SIPROUND                                                                                              \
    do {                                                                                                         \
        v0 += v1; v1 = W7_ROTL64(v1, 13); v1 ^= v0; v0 = W7_ROTL64(v0, 32);                                      \
        v2 += v3; v3 = W7_ROTL64(v3, 16); v3 ^= v2;                                                              \
        v0 += v3; v3 = W7_ROTL64(v3, 21); v3 ^= v0;                                                              \
        v2 += v1; v1 = W7_ROTL64(v1, 17); v1 ^= v2; v2 = W7_ROTL64(v2, 32);                                      \
    } while (0)

/* SipHash-2-4 as published ("SipHash: a fast short-input PRF", Aumasson & Bernstein, 2012): 2 compression
 * rounds per 8-byte word, 4 finalization rounds, the length in the last word's top byte. */
uint64_t w7_siphash24(uint64_t k0, uint64_t k1, const uint8_t *data, size_t len) {
    uint64_t v0 = 0x736f6d6570736575ull ^ k0, v1 = 0x646f72616e646f6dull ^ k1;
    uint64_t v2 = 0x6c7967656e657261ull ^ k0, v3 = 0x7465646279746573ull ^ k1;
    const uint8_t *end = data + (len & ~(size_t)7);
    for (; data != end; data += 8) {
        uint64_t m = w7_get_u64(data);
        v3 ^= m;
        W7_SIPROUND;
        W7_SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < (len & 7); i++) b |= (uint64_t)data[i] << (8 * i);
    v3 ^= b;
    W7_SIPROUND;
    W7_SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    W7_SIPROUND;
    W7_SIPROUND;
    W7_SIPROUND;
    W7_SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* The dedup key until w7_writer_set_dedup_key replaces it: fixed, so a recording (the simulator's) is
 * reproducible; a recorder facing a hostile guest sets a random key (w7rec_set_dedup_key). */
static const uint8_t kDefaultDedupKey[16] = {'w', '7', 'r', 'e', 'c', ' ', 'p', 'a',
                                              'g', 'e', ' ', 'd', 'e', 'd', 'u', 'p'};

void w7_writer_set_dedup_key(w7_writer *w, const uint8_t key[16]) {
    w->dedup_key[0] = w7_get_u64(key);
    w->dedup_key[1] = w7_get_u64(key + 8);
    /* Hashes under the old key mean nothing now: forget them (contents seen again are written again). */
    if (w->dedup && w->next_content_id > 1) memset(w->dedup, 0, ((size_t)w->dedup_mask + 1) * sizeof *w->dedup);
}

static void set_error(w7_writer *w, const char *what) {
    w->failed = 1;
    snprintf(w->error, sizeof w->error, "%s", what);
}

static LZ4F_preferences_t preferences(const w7_writer *w) {
    LZ4F_preferences_t p;
    memset(&p, 0, sizeof p);
    p.frameInfo.blockSizeID = LZ4F_max4MB;
    p.frameInfo.blockMode = LZ4F_blockIndependent;
    p.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    p.frameInfo.frameType = LZ4F_frame;
    p.compressionLevel = w->compression_level;
    p.autoFlush = 1;
    return p;
}

int w7_writer_open(w7_writer *w, const char *path, uint32_t frame_size, uint32_t dedup_entries, uint32_t dedup_window,
                   int level) {
    memset(w, 0, sizeof *w);
    w->dedup_window = dedup_window ? dedup_window : 1;
    w->frame_size = frame_size ? frame_size : (1u << 20);
    w->compression_level = level;
    w->next_content_id = 1;
    uint32_t slots = 16;
    while (slots < dedup_entries && slots < (1u << 30)) slots <<= 1;
    w->dedup = calloc(slots, sizeof *w->dedup);
    w->dedup_mask = slots - 1;
    w7_writer_set_dedup_key(w, kDefaultDedupKey);
    w->cap = (size_t)w->frame_size + 65536;
    w->buf = malloc(w->cap);
    if (!w->dedup || !w->buf || LZ4F_isError(LZ4F_createCompressionContext(&w->cctx, LZ4F_VERSION))) {
        set_error(w, "out of memory");
        return W7REC_E_NOMEM;
    }
    w->file = fopen(path, "wb");
    if (!w->file) {
        snprintf(w->error, sizeof w->error, "cannot open %s: %s", path, strerror(errno));
        w->failed = 1;
        return W7REC_E_IO;
    }
    return W7REC_OK;
}

uint8_t *w7_writer_record(w7_writer *w, uint16_t type, uint32_t body_len) {
    if (w->failed) return NULL;
    size_t need = w->len + W7_RECORD_HEADER_SIZE + body_len;
    if (need > w->cap) {
        size_t cap = w->cap * 2 > need ? w->cap * 2 : need;
        uint8_t *nb = realloc(w->buf, cap);
        if (!nb) { set_error(w, "out of memory"); return NULL; }
        w->buf = nb;
        w->cap = cap;
    }
    uint8_t *p = w->buf + w->len;
    p = w7_put_u16(p, type);
    p = w7_put_u16(p, 0);
    p = w7_put_u32(p, body_len);
    w->len = need;
    w->frame_records++;
    w->bytes_uncompressed += W7_RECORD_HEADER_SIZE + body_len;
    return p;
}

int w7_writer_end_frame(w7_writer *w) {
    if (w->failed) return W7REC_E_IO;
    if (w->len == 0) return W7REC_OK;
    LZ4F_preferences_t prefs = preferences(w);
    size_t bound = LZ4F_HEADER_SIZE_MAX + LZ4F_compressBound(w->len, &prefs) + 64;
    if (bound > w->ccap) {
        uint8_t *nb = realloc(w->cbuf, bound);
        if (!nb) { set_error(w, "out of memory"); return W7REC_E_NOMEM; }
        w->cbuf = nb;
        w->ccap = bound;
    }
    /* One reusable context (LZ4F_compressFrame would allocate a fresh one per frame); same bytes as a one-shot
     * frame with these preferences. */
    size_t n = LZ4F_compressBegin(w->cctx, w->cbuf, w->ccap, &prefs);
    if (!LZ4F_isError(n)) {
        size_t m = LZ4F_compressUpdate(w->cctx, w->cbuf + n, w->ccap - n, w->buf, w->len, NULL);
        n = LZ4F_isError(m) ? m : n + m;
    }
    if (!LZ4F_isError(n)) {
        size_t m = LZ4F_compressEnd(w->cctx, w->cbuf + n, w->ccap - n, NULL);
        n = LZ4F_isError(m) ? m : n + m;
    }
    if (LZ4F_isError(n)) {
        char msg[160];
        snprintf(msg, sizeof msg, "lz4 compression failed: %s", LZ4F_getErrorName(n));
        set_error(w, msg);
        return W7REC_E_IO;
    }
    if (fwrite(w->cbuf, 1, n, w->file) != n || fflush(w->file) != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "write failed: %s", strerror(errno));
        set_error(w, msg);
        return W7REC_E_IO;
    }
    w->bytes_written += n;
    w->len = 0;
    w->frame_records = 0;
    return W7REC_OK;
}

int w7_writer_maybe_end_frame(w7_writer *w) {
    return w->len >= w->frame_size ? w7_writer_end_frame(w) : (w->failed ? W7REC_E_IO : W7REC_OK);
}

uint32_t w7_writer_page(w7_writer *w, const uint8_t *page, uint32_t later_pages) {
    uint64_t key = w7_siphash24(w->dedup_key[0], w->dedup_key[1], page, 4096);
    uint32_t home = (uint32_t)(key ^ (key >> 32)) & w->dedup_mask;
    uint32_t slot = home, free_slot = UINT32_MAX;
    for (uint32_t i = 0; i < W7_DEDUP_PROBES; i++, slot = (slot + 1) & w->dedup_mask) {
        if (w->dedup[slot].content_id == 0) { free_slot = slot; break; }
        if (w->dedup[slot].keyed_hash == key) {
            if (w7_writer_id_usable(w, w->dedup[slot].content_id, later_pages)) return w->dedup[slot].content_id;
            free_slot = slot; /* the content left the window: write it again, this slot then names the new id */
            break;
        }
    }
    if (free_slot == UINT32_MAX) free_slot = home; /* bucket full: forget the oldest-placed content */
    uint8_t *p = w7_writer_record(w, W7_REC_PAGE, W7_PAGE_BODY_SIZE);
    if (!p) return 0;
    uint32_t id = w->next_content_id++;
    p = w7_put_u32(p, id);
    p = w7_put_u64(p, w7_page_hash(page, 4096)); /* the record's hash is XXH3-64 (FORMAT.md §4), not the key */
    memcpy(p, page, 4096);
    w->page_records++;
    w->dedup[free_slot].keyed_hash = key;
    w->dedup[free_slot].content_id = id;
    if (w7_writer_maybe_end_frame(w)) return 0;
    return id;
}

int w7_writer_close(w7_writer *w) {
    int rc = w->failed ? W7REC_E_IO : w7_writer_end_frame(w);
    if (w->file && fclose(w->file) != 0 && rc == W7REC_OK) {
        set_error(w, "close failed");
        rc = W7REC_E_IO;
    }
    w->file = NULL;
    free(w->buf);
    free(w->cbuf);
    free(w->dedup);
    if (w->cctx) LZ4F_freeCompressionContext(w->cctx);
    w->buf = w->cbuf = NULL;
    w->dedup = NULL;
    w->cctx = NULL;
    return rc;
}
