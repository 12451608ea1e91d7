// test_fuzz.cpp — a hostile guest: pages full of random words, most of them pointers into other mapped pages,
// random object type indices and InfoMasks, cycles everywhere. Every call of the table (and some outside it) is
// recorded with watch_all, so every rule walks garbage. The recorder must not crash or loop, must respect the
// page budget, and every page it stores must hold the guest's bytes.
#include <gtest/gtest.h>

#include <random>

#include "test_support.hpp"

using namespace support;

namespace {

struct HostileGuest {
    fake::World w;
    std::vector<uint32_t> kernel_pages, user_pages;
    std::mt19937 rng{12345};

    uint32_t any_pointer() {
        std::uniform_int_distribution<uint32_t> pick(0, 99);
        uint32_t p = pick(rng);
        const auto &pool = p < 70 ? kernel_pages : user_pages;
        uint32_t base = pool[rng() % pool.size()];
        if (p >= 95) return rng();                      // anywhere, mostly unmapped
        return base + ((rng() % 0x1000) & ~3u);
    }

    HostileGuest() {
        for (uint32_t i = 0; i < 160; i++) kernel_pages.push_back(0x85000000u + i * 0x3000u);
        for (uint32_t i = 0; i < 40; i++) user_pages.push_back(0x00500000u + i * 0x2000u);
        for (uint32_t pg : kernel_pages) w.mem.at(pg, 0);
        for (uint32_t pg : user_pages) w.mem.at(pg, w.mem.cr3);
        auto fill = [&](uint32_t pg) {
            for (uint32_t off = 0; off < 0x1000; off += 4) {
                uint32_t r = rng() % 8;
                uint32_t v = r < 5 ? any_pointer() : r == 5 ? (rng() % 44) | (rng() % 32) << 16 : r == 6 ? 0xffffffffu : rng();
                w.mem.u32(pg + off, v);
            }
        };
        for (uint32_t pg : kernel_pages) fill(pg);
        for (uint32_t pg : user_pages) fill(pg);
        // Identity stays sane so that handle tables are reached: GDT → KPCR → thread → a garbage "process".
        uint32_t thread = kernel_pages[1] + 0x100, process = kernel_pages[2] + 0x200;
        w.mem.u32(w.kpcr + 0x124, thread);
        w.mem.u32(thread + 0x150, process);
        w.mem.u32(process + 0xf4, kernel_pages[3] + 0x40); // ObjectTable: random TableCode levels follow
        for (int i = 0; i < 12; i++) w.mem.make_unreadable(kernel_pages[(size_t)(rng() % kernel_pages.size())]);
    }
};

} // namespace

TEST(Fuzz, RandomGuestMemoryNeverCrashesLoopsOrExceedsTheBudget) {
    for (int watch_all = 0; watch_all <= 1; watch_all++) {
        Session s(watch_all ? "fuzz-all" : "fuzz-default", false);
        s.opts.watch_all = watch_all;
        s.opts.page_budget = 96;
        s.opts.dedup_window = watch_all ? 96 : 16384; // 96: as tight as the page budget allows
        s.opts.data_cap = 1u << 20;
        s.open();
        HostileGuest g;
        std::swap(s.w, g.w);
        std::mt19937 rng(777 + watch_all);
        for (int i = 0; i < 1500; i++) {
            uint32_t callno = rng() % 20 == 0 ? 0x1000 + rng() % 0x300 : rng() % 401;
            std::vector<uint32_t> args(17);
            for (auto &a : args) {
                uint32_t r = rng() % 4;
                a = r == 0 ? (rng() % 64) * 4 : r == 1 ? g.any_pointer() : r == 2 ? 0xfffffffeu + (rng() & 1) : rng();
            }
            uint32_t edx = 0x00100000u + (rng() % 4) * 0x1000u + 0x800; // stack pages: the only pages that change
            for (uint32_t k = 0; k < 17; k++) s.w.mem.u32(edx + 8 + 4 * k, args[k]);
            w7rec_cpu c = s.w.cpu(s.instr++, callno, edx);
            ASSERT_EQ(w7rec_sys_enter(s.rec, &c, fake::Memory::read, &s.w.mem, nullptr), 0);
            if (rng() % 3) {
                c = s.w.cpu(s.instr++, rng() % 2 ? 0 : 0xc0000022u, edx);
                c.esp = edx + 4;
                ASSERT_EQ(w7rec_sys_return(s.rec, &c, callno, fake::Memory::read, &s.w.mem), 0);
            }
        }
        auto t = s.finish();
        size_t records = 0, max_pages = 0, unreadable = 0;
        for (const auto &r : t.records) {
            if (r.type != 3) continue;
            records++;
            ASSERT_LE(r.pages.size(), 96u);
            max_pages = std::max(max_pages, r.pages.size());
            for (const auto &p : r.pages) unreadable += p.content_id == 0;
            for (const auto &p : r.pages) {
                if (!p.content_id || (p.space && (p.vpn >> 8) == 0x1)) continue; // stack pages change over time
                auto it = s.w.mem.pages.find(s.w.mem.key(p.space, p.vpn << 12));
                ASSERT_NE(it, s.w.mem.pages.end()) << "a page the guest does not have";
                ASSERT_EQ(0, memcmp(it->second->data(), t.page_data.at(p.content_id).data(), 4096));
            }
        }
        EXPECT_GT(records, 1500u);
        // FORMAT.md §4: ids go up by one, and every page map names only contents inside the window.
        uint32_t newest = 0, window = watch_all ? 96u : 16384u;
        for (const auto &r : t.records) {
            if (r.type == 2) {
                ASSERT_EQ(r.content_id, newest + 1);
                newest = r.content_id;
            }
            for (const auto &p : r.pages) {
                if (!p.content_id) continue;
                ASSERT_LE(p.content_id, newest);
                ASSERT_LT(newest - p.content_id, window) << "record names a content outside the window";
            }
        }
        if (watch_all) {
            EXPECT_GT(newest, 10 * window) << "the run must cycle the window many times";
        }
        // The garbage was really walked: some events reach the budget, many reads fail.
        EXPECT_EQ(max_pages, 96u);
        EXPECT_GT(unreadable, 100u);
        std::printf("watch_all=%d: %zu records, max %zu pages/event, %zu unreadable refs\n", watch_all, records, max_pages, unreadable);
    }
}
