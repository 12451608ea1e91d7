/* fuzz_capture.c — libFuzzer target for the recorder core's capture code against fuzzer-controlled guest pages.
 *
 * The input is a script followed by a pool of page contents:
 *   byte 0        options: bit 0 watch_all, bits 1-3 how much of the address space is unreadable
 *   bytes 1..256  32 events of 8 bytes: u16 call number, u8 kind (enter / return / context switch), u8 cr3 pick,
 *                 u32 stack pointer (EDX at enter)
 *   the rest      page contents: every guest page the core reads (kernel or user, any address space) is a 4 KiB
 *                 window of this pool (wrapping around a short pool), picked by a hash of (address space, page
 *                 number), so every pointer the core follows lands in fuzzer-controlled bytes — the GDT, KPCR,
 *                 threads, handle tables, objects, strings.
 * The core must never crash, read across a page (its promise to the read callback), or trip ASan/UBSan.
 * Build and run: fuzz/recorder-fuzz.sh (clang -fsanitize=fuzzer,address,undefined).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "w7rec.h"

enum { kScript = 1 + 32 * 8, kPage = 4096 };

typedef struct guest {
    const uint8_t *pool;
    size_t pool_len;
    uint32_t cr3;
    uint32_t unreadable_mask; /* hash bits that make a page unreadable */
} guest;

static uint32_t mix(uint32_t space, uint32_t vpn) {
    uint64_t h = ((uint64_t)space << 32 | vpn) * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 29);
}

static int read_guest(void *opaque, uint32_t va, uint8_t *buf, uint32_t len) {
    const guest *g = opaque;
    if ((va & 0xfffu) + len > kPage) abort(); /* the core promised never to cross a page */
    uint32_t space = va >= 0x80000000u ? 0 : g->cr3;
    uint32_t h = mix(space, va >> 12);
    if ((h & g->unreadable_mask) == g->unreadable_mask) return -1;
    size_t start = ((size_t)(h >> 3) * kPage + (va & 0xfffu)) % g->pool_len;
    for (uint32_t done = 0; done < len;) {
        size_t n = g->pool_len - start < len - done ? g->pool_len - start : len - done;
        memcpy(buf + done, g->pool + start, n);
        done += (uint32_t)n;
        start = 0;
    }
    return 0;
}

static uint32_t u32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < kScript + 16) return 0;
    static const uint32_t cr3s[4] = {0x00185000u, 0x3e000000u, 0x3e020000u, 0x7ffff000u};
    guest g = {data + kScript, size - kScript, cr3s[0], 0};
    uint8_t options = data[0];
    static const uint32_t masks[8] = {0xffffffffu, 0x7u, 0x3u, 0x1u, 0xfu, 0x1fu, 0xffu, 0xffffu};
    g.unreadable_mask = masks[(options >> 1) & 7];

    w7rec_options o;
    w7rec_default_options(&o);
    o.watch_all = options & 1;
    o.page_budget = 16;
    o.data_cap = 4096;
    o.dedup_entries = 256;
    o.frame_size = 64 * 1024;
    o.replay_name = "fuzz";
    w7rec *r = w7rec_open("/dev/null", &o);
    if (!r) return 0;

    uint64_t instr = 10;
    for (int i = 0; i < 32; i++) {
        const uint8_t *e = data + 1 + 8 * i;
        uint32_t callno = ((uint32_t)e[0] | (uint32_t)e[1] << 8) % 0x1400u;
        w7rec_cpu c;
        memset(&c, 0, sizeof c);
        c.instr = instr++;
        c.pc = 0x77a55b3cu;
        c.cr3 = g.cr3;
        c.edx = u32(e + 4);
        c.esp = c.edx;
        c.fs_base = 0x7ffdf000u;
        c.gdt_base = 0x80b95000u;
        switch (e[2] % 4) {
        case 0: {
            c.eax = callno;
            uint32_t return_pc = 0;
            w7rec_sys_enter(r, &c, read_guest, &g, &return_pc);
            (void)w7rec_hook_wanted(r, c.cr3, return_pc);
            break;
        }
        case 1:
            /* A return as syscalls2 delivers it: at the return address ESP is EDX at enter + 4 (pairs when the
             * fuzzer repeats an enter's EDX; otherwise it is a return without an enter). */
            c.eax = u32(e + 4) & 0xc000ffffu; /* a status: success or an error */
            c.esp = c.edx + 4;
            w7rec_sys_return(r, &c, e[3] & 1 ? callno : UINT32_MAX, read_guest, &g);
            break;
        case 2:
            /* The same return seen by the glue's own return-address hook (duplicates and either order allowed). */
            c.eax = u32(e + 4) & 0xc000ffffu;
            c.esp = c.edx + 4;
            w7rec_return_hook(r, &c, read_guest, &g);
            if (e[3] & 2) w7rec_set_total_instr(r, instr + e[3]);
            break;
        default: {
            uint32_t old = g.cr3;
            g.cr3 = cr3s[e[3] % 4];
            c.cr3 = g.cr3;
            w7rec_asid_changed(r, &c, old, g.cr3, read_guest, &g);
            break;
        }
        }
    }
    w7rec_close(r, "fuzz");
    return 0;
}
