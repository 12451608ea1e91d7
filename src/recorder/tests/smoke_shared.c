/* smoke_shared.c — drives libw7rec.so through the public header only, from C11 (as the PANDA plugin and the
 * simulator's P/Invoke do): a recording over a guest whose every page is unreadable must still work. */
#include <stdio.h>
#include <string.h>

#include "w7rec.h"

static int unreadable(void *opaque, uint32_t va, uint8_t *buf, uint32_t len) {
    (void)va;
    (void)buf;
    (*(unsigned *)opaque)++;
    return len > 4096 ? -2 : -1;
}

#define CHECK(cond)                                                       \
    do {                                                                  \
        if (!(cond)) {                                                    \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            return 1;                                                     \
        }                                                                 \
    } while (0)

int main(int argc, char **argv) {
    CHECK(argc == 2);
    w7rec_options o;
    w7rec_default_options(&o);
    CHECK(o.kernel_base == 0x80000000u && o.data_cap == 256 && o.page_budget == 512 && o.frame_size == (1u << 20));
    CHECK(o.dedup_entries == (1u << 20) && o.watch_all == 0);
    o.replay_name = "smoke";
    w7rec *r = w7rec_open(argv[1], &o);
    CHECK(r != NULL);
    unsigned reads = 0;
    w7rec_cpu cpu;
    memset(&cpu, 0, sizeof cpu);
    cpu.instr = 10;
    cpu.eax = 182; /* NtOpenKey: watched */
    cpu.edx = 0x0012f000;
    cpu.cr3 = 0x185000;
    cpu.gdt_base = 0x80b95000;
    uint32_t return_pc = 1;
    CHECK(w7rec_sys_enter(r, &cpu, unreadable, &reads, &return_pc) == W7REC_OK);
    CHECK(return_pc == 0); /* [EDX] unreadable */
    CHECK(w7rec_hook_wanted(r, cpu.cr3, 0x77a764f4u) == 0);
    cpu.instr = 20;
    cpu.eax = 0;
    cpu.esp = cpu.edx + 4; /* back in the stub */
    CHECK(w7rec_return_hook(r, &cpu, unreadable, &reads) == W7REC_OK); /* held until the next call ... */
    CHECK(w7rec_sys_return(r, &cpu, 182, unreadable, &reads) == W7REC_OK); /* ... which reports the same return */
    CHECK(w7rec_asid_changed(r, &cpu, 0x185000, 0x200000, unreadable, &reads) == W7REC_OK);
    w7rec_stats st;
    w7rec_get_stats(r, &st);
    CHECK(st.syscall_records == 2 && st.switch_records == 1 && st.unmatched_returns == 0);
    CHECK(st.returns_by_hook == 0 && st.returns_inferred == 0 && st.enters_pending == 0);
    CHECK(st.page_records == 0 && st.unreadable_refs == st.page_refs && st.page_refs > 0);
    CHECK(reads == st.pages_read_calls);
    CHECK(strcmp(w7rec_last_error(r), "") == 0);
    w7rec_set_total_instr(r, 30);
    CHECK(w7rec_close(r, "simulated") == W7REC_OK);
    CHECK(w7rec_open("/nonexistent-dir/t.lz4", &o) == NULL && strlen(w7rec_last_error(NULL)) > 0);
    printf("ok: %llu page refs, all unreadable\n", (unsigned long long)st.page_refs);
    return 0;
}
