/* capture.c — per-event page capture with a page budget, a page index and a visited set. */
#include "capture.h"

#include <stdlib.h>
#include <string.h>

#include "win7_layout.h"

static uint32_t pow2_at_least(uint32_t n) {
    uint32_t p = 16;
    while (p < n && p < (1u << 30)) p <<= 1;
    return p;
}

int w7_capture_init(w7_capture *c, uint32_t budget) {
    memset(c, 0, sizeof *c);
    if (budget == 0) budget = 1;
    c->budget = budget;
    c->pages = calloc(budget, sizeof *c->pages);
    c->data = malloc((size_t)budget * W7_PAGE_SIZE);
    uint32_t slots = pow2_at_least(budget * 2);
    c->page_slots = calloc(slots, sizeof *c->page_slots);
    c->page_slot_mask = slots - 1;
    uint32_t vslots = pow2_at_least(budget * 4 < 1024 ? 1024 : budget * 4);
    c->visited = calloc(vslots, sizeof *c->visited);
    c->visited_mask = vslots - 1;
    if (!c->pages || !c->data || !c->page_slots || !c->visited) {
        w7_capture_free(c);
        return -1;
    }
    return 0;
}

void w7_capture_free(w7_capture *c) {
    free(c->pages);
    free(c->data);
    free(c->page_slots);
    free(c->visited);
    memset(c, 0, sizeof *c);
}

void w7_capture_begin(w7_capture *c, w7rec_read_fn read, void *opaque, uint32_t cr3, uint32_t kernel_base,
                      uint32_t data_cap) {
    c->read = read;
    c->opaque = opaque;
    c->cr3 = cr3;
    c->kernel_base = kernel_base;
    c->data_cap = data_cap;
    /* Clear only what this event used: the index slots of its pages and the visited set if it was used. */
    for (uint32_t i = 0; i < c->n_pages; i++) {
        uint32_t h = (c->pages[i].vpn * 0x9e3779b1u ^ c->pages[i].space) & c->page_slot_mask;
        while (c->page_slots[h]) { c->page_slots[h] = 0; h = (h + 1) & c->page_slot_mask; }
    }
    c->n_pages = 0;
    c->denied = 0;
    if (c->n_visited) {
        memset(c->visited, 0, (size_t)(c->visited_mask + 1) * sizeof *c->visited);
        c->n_visited = 0;
    }
}

/* The page holding `va`, captured on first touch. NULL if unreadable or over budget. */
static const uint8_t *page_for(w7_capture *c, uint32_t va) {
    uint32_t vpn = va >> 12;
    uint32_t space = w7_is_kernel(c, va) ? 0 : c->cr3;
    uint32_t h = (vpn * 0x9e3779b1u ^ space) & c->page_slot_mask;
    while (c->page_slots[h]) {
        w7_cap_page *p = &c->pages[c->page_slots[h] - 1];
        if (p->vpn == vpn && p->space == space)
            return p->readable ? c->data + (size_t)(c->page_slots[h] - 1) * W7_PAGE_SIZE : NULL;
        h = (h + 1) & c->page_slot_mask;
    }
    if (c->n_pages >= c->budget) {
        c->denied++;
        return NULL;
    }
    uint32_t idx = c->n_pages++;
    uint8_t *dst = c->data + (size_t)idx * W7_PAGE_SIZE;
    c->read_calls++;
    int rc = c->read ? c->read(c->opaque, vpn << 12, dst, W7_PAGE_SIZE) : -1;
    c->pages[idx].space = space;
    c->pages[idx].vpn = vpn;
    c->pages[idx].readable = rc == 0;
    c->page_slots[h] = idx + 1;
    if (rc != 0) {
        memset(dst, 0, W7_PAGE_SIZE);
        return NULL;
    }
    return dst;
}

int w7_read(w7_capture *c, uint32_t va, void *dst, uint32_t len) {
    uint8_t *out = dst;
    int rc = 0;
    while (len) {
        uint32_t off = va & W7_PAGE_MASK;
        uint32_t n = W7_PAGE_SIZE - off;
        if (n > len) n = len;
        const uint8_t *page = page_for(c, va);
        if (page) {
            if (out) memcpy(out, page + off, n);
        } else {
            if (out) memset(out, 0, n);
            rc = -1;
            if (c->n_pages >= c->budget) { /* budget spent: no later page can be captured either */
                if (out && len > n) memset(out + n, 0, len - n);
                return -1;
            }
        }
        if (out) out += n;
        len -= n;
        if ((uint64_t)va + n > 0xffffffffu) { /* wrapped the 4 GiB space: the rest does not exist */
            if (len && out) memset(out, 0, len);
            return len ? -1 : rc;
        }
        va += n;
    }
    return rc;
}

int w7_read_u32(w7_capture *c, uint32_t va, uint32_t *out) {
    uint8_t b[4];
    int rc = w7_read(c, va, b, 4);
    *out = rc ? 0 : (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return rc;
}

int w7_read_u16(w7_capture *c, uint32_t va, uint16_t *out) {
    uint8_t b[2];
    int rc = w7_read(c, va, b, 2);
    *out = rc ? 0 : (uint16_t)(b[0] | b[1] << 8);
    return rc;
}

int w7_read_u8(w7_capture *c, uint32_t va, uint8_t *out) {
    int rc = w7_read(c, va, out, 1);
    if (rc) *out = 0;
    return rc;
}

int w7_touch(w7_capture *c, uint32_t va, uint32_t len, uint32_t max_len) {
    if (len > max_len) len = max_len;
    if (len == 0) return 0;
    return w7_read(c, va, NULL, len);
}

int w7_capture_unicode_string(w7_capture *c, uint32_t va) {
    uint16_t length;
    uint32_t buffer;
    if (va == 0) return -1;
    if (w7_read_u16(c, va, &length) || w7_read_u32(c, va + 4, &buffer)) return -1;
    if (buffer == 0 || length == 0) return 0;
    return w7_touch(c, buffer, length, W7_MAX_STRING_BYTES);
}

int w7_first_visit(w7_capture *c, uint32_t tag, uint32_t addr) {
    uint64_t key = ((uint64_t)(tag + 1) << 32) | addr; /* never 0 */
    if (c->n_visited * 2 >= c->visited_mask) return 0; /* full: refuse, which ends the walk */
    uint32_t h = (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & c->visited_mask;
    while (c->visited[h]) {
        if (c->visited[h] == key) return 0;
        h = (h + 1) & c->visited_mask;
    }
    c->visited[h] = key;
    c->n_visited++;
    return 1;
}
