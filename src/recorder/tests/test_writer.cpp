// test_writer.cpp — the trace container and records: header, END counters, frames, determinism, dedup, the lz4
// CLI, error paths.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "test_support.hpp"

extern "C" {
#include "writer.h" // w7_siphash24
}

using namespace support;

TEST(Writer, HeaderCarriesOptionsAndSettings) {
    Session s("header");
    s.opts.data_cap = 77;
    w7rec_close(s.rec, "x");
    s.opts.replay_name = "my-replay";
    s.opts.recorder_name = "win7proc-offline-simulate";
    s.open();
    ASSERT_NE(s.rec, nullptr);
    auto t = s.finish(42, "replay-end");
    ASSERT_GE(t.records.size(), 2u);
    const auto &h = t.records.front();
    EXPECT_EQ(h.type, 1);
    EXPECT_EQ(h.magic, 0x52543757u);
    EXPECT_EQ(h.major, 2);
    EXPECT_EQ(h.minor, 0);
    EXPECT_EQ(h.page_size, 4096u);
    EXPECT_EQ(h.kernel_base, 0x80000000u);
    EXPECT_EQ(h.guest_profile, "windows_7_x86");
    EXPECT_EQ(h.recorder_name, "win7proc-offline-simulate");
    EXPECT_EQ(h.replay_name, "my-replay");
    std::map<std::string, std::string> settings(h.settings.begin(), h.settings.end());
    EXPECT_EQ(settings["data_cap"], "77");
    EXPECT_EQ(settings["page_budget"], "512");
    EXPECT_EQ(settings["watch"], "default");
    EXPECT_EQ(settings["dedup_entries"], "1048576");
    EXPECT_EQ(settings["frame_size"], "1048576");
    EXPECT_EQ(settings["dedup_window"], "16384");
    EXPECT_EQ(settings["returns"], "syscalls2");
    const auto &e = t.records.back();
    EXPECT_EQ(e.type, 5);
    EXPECT_EQ(e.end_fields[0], 42u);
    EXPECT_EQ(e.total_known, 1);
    EXPECT_EQ(e.reason, "replay-end");
    EXPECT_FALSE(t.truncated);
}

TEST(Writer, EndCountersMatchTheRecords) {
    Session s("counters");
    s.boot();
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(s.enter(kNtDelayExecution, {0, 0x0012f100}), 0);
        ASSERT_EQ(s.ret(0), 0);
    }
    ASSERT_EQ(s.ret(0, kNtQuerySystemTime), 0); // unmatched
    w7rec_cpu c = s.w.cpu(s.instr++, 0, 0);
    ASSERT_EQ(w7rec_asid_changed(s.rec, &c, s.w.mem.cr3, 0x00abc000u, fake::Memory::read, &s.w.mem), 0);
    w7rec_stats st;
    w7rec_get_stats(s.rec, &st);
    auto t = s.finish();
    uint64_t syscalls = 0, switches = 0, pages = 0, refs = 0, unreadable = 0, unmatched = 0;
    for (const auto &r : t.records) {
        if (r.type == 2) pages++;
        if (r.type == 3) syscalls++, unmatched += (r.capture & 2) ? 1 : 0;
        if (r.type == 3 || r.type == 4) {
            refs += r.pages.size();
            for (const auto &p : r.pages) unreadable += p.content_id == 0;
        }
        if (r.type == 4) switches++;
    }
    const auto &e = t.records.back();
    ASSERT_EQ(e.type, 5);
    EXPECT_EQ(e.end_fields[1], syscalls);
    EXPECT_EQ(e.end_fields[2], switches);
    EXPECT_EQ(e.end_fields[3], pages);
    EXPECT_EQ(e.end_fields[4], refs);
    EXPECT_EQ(e.end_fields[5], unreadable);
    EXPECT_EQ(e.end_fields[6], unmatched);
    EXPECT_EQ(syscalls, 11u);
    EXPECT_EQ(switches, 1u);
    EXPECT_EQ(unmatched, 1u);
    EXPECT_EQ(st.syscall_records, syscalls);
    EXPECT_EQ(st.page_records, pages);
}

TEST(Writer, PageRecordsComeBeforeTheirFirstUseAndHoldTheGuestBytes) {
    Session s("pages-before");
    s.boot();
    ASSERT_EQ(s.enter(kNtDelayExecution, {0, 0x0012f100}), 0);
    auto t = s.finish();
    std::set<uint32_t> seen;
    for (const auto &r : t.records) {
        if (r.type == 2) {
            EXPECT_EQ(r.content_id, seen.size() + 1) << "ids are 1, 2, 3… in order";
            seen.insert(r.content_id);
            const auto &data = t.page_data.at(r.content_id);
            EXPECT_EQ(r.hash, w7_hash_for_test(data));
        }
        for (const auto &p : r.pages) {
            if (p.content_id == 0) continue;
            ASSERT_TRUE(seen.count(p.content_id)) << "page " << p.content_id << " used before its PAGE record";
            // The page's bytes are the guest's bytes.
            uint64_t key = s.w.mem.key(p.space, p.vpn << 12);
            ASSERT_TRUE(s.w.mem.pages.count(key));
            EXPECT_EQ(0, memcmp(s.w.mem.pages.at(key)->data(), t.page_data.at(p.content_id).data(), 4096));
        }
    }
    EXPECT_FALSE(seen.empty());
}

TEST(Writer, IdenticalPagesAreStoredOnce) {
    Session s("dedup");
    s.boot();
    ASSERT_EQ(s.enter(kNtDelayExecution, {0, 0}), 0);
    w7rec_stats a;
    w7rec_get_stats(s.rec, &a);
    // A second call on a fresh stack page with the same bytes: nothing new to store.
    ASSERT_EQ(s.enter(kNtDelayExecution, {0, 0}), 0);
    w7rec_stats b;
    w7rec_get_stats(s.rec, &b);
    EXPECT_EQ(b.page_records, a.page_records);
    // Different argument words: only the stack page is new.
    ASSERT_EQ(s.enter(kNtDelayExecution, {0, 1}), 0);
    w7rec_stats c;
    w7rec_get_stats(s.rec, &c);
    EXPECT_EQ(c.page_records - b.page_records, 1u);
    // Change one byte of the EPROCESS page (same stack bytes as before): exactly one new content.
    s.w.mem.u8(s.eprocess + 0x16c, 'X');
    ASSERT_EQ(s.enter(kNtDelayExecution, {0, 1}), 0);
    w7rec_stats d;
    w7rec_get_stats(s.rec, &d);
    EXPECT_EQ(d.page_records - c.page_records, 1u);
    auto tr = s.finish();
    auto calls = Session::syscalls(tr);
    ASSERT_EQ(calls.size(), 4u);
    EXPECT_EQ(calls[0]->pages.size(), calls[1]->pages.size());
    // Same content → same id, at a different stack address.
    EXPECT_NE(calls[0]->edx, calls[1]->edx);
    EXPECT_EQ(calls[0]->pages.back().content_id, calls[1]->pages.back().content_id);
}

TEST(Writer, DedupTableIsBoundedAndForgetsGracefully) {
    Session s("dedup-bound", false);
    s.opts.dedup_entries = 16; // 16 slots × 16 bytes
    s.open();
    s.boot();
    // Many distinct stack pages: the table must keep working (ids keep increasing, no failure).
    for (int i = 0; i < 200; i++) ASSERT_EQ(s.enter(kNtDelayExecution, {(uint32_t)i, 0}), 0);
    auto t = s.finish();
    uint32_t last = 0;
    for (const auto &r : t.records)
        if (r.type == 2) { EXPECT_EQ(r.content_id, last + 1); last = r.content_id; }
    EXPECT_GE(last, 200u);
}

TEST(Writer, SmallFramesHoldWholeRecordsAndAreFlushed) {
    Session s("frames", false);
    s.opts.frame_size = 5000; // about one page per frame
    s.open();
    s.boot();
    for (int i = 0; i < 20; i++) {
        ASSERT_EQ(s.enter(kNtDelayExecution, {(uint32_t)i, 0}), 0);
        // fflush per frame: the file already holds every finished frame.
        auto partial = trace::parse(trace::read_file(s.path));
        EXPECT_FALSE(partial.truncated);
        EXPECT_GE(partial.records.size(), 1u);
    }
    auto t = s.finish();
    EXPECT_GT(t.frames, 10u);
    EXPECT_EQ(t.records.back().type, 5);
}

TEST(Writer, SameCallsGiveTheSameBytes) {
    auto run = [](const std::string &name) {
        Session s(name);
        s.boot();
        s.enter(kNtDelayExecution, {0, 0});
        s.ret(0);
        s.finish();
        auto bytes = trace::read_file(s.path.c_str()); // finish() leaves the file
        return bytes;
    };
    auto a = run("det-a"), b = run("det-b");
    EXPECT_FALSE(a.empty());
    EXPECT_EQ(a, b);
}

TEST(Writer, LZ4CommandLineDecodesTheTrace) {
    if (std::system("command -v lz4 >/dev/null 2>&1") != 0) GTEST_SKIP() << "lz4 CLI not installed";
    Session s("cli", false);
    s.opts.frame_size = 6000; // several frames: the CLI must accept concatenated frames
    s.open();
    s.boot();
    for (int i = 0; i < 5; i++) { s.enter(kNtDelayExecution, {(uint32_t)i, 0}); s.ret(0); }
    auto t = s.finish();
    ASSERT_GT(t.frames, 2u);
    std::string raw = s.path + ".raw";
    ASSERT_EQ(std::system(("lz4 -dcq '" + s.path + "' > '" + raw + "'").c_str()), 0);
    auto cli = trace::read_file(raw);
    bool truncated;
    size_t frames;
    auto mine = trace::decompress(trace::read_file(s.path), truncated, frames);
    EXPECT_EQ(cli, mine);
    std::remove(raw.c_str());
}

TEST(Writer, UnwritablePathFailsWithAMessage) {
    w7rec_options o;
    w7rec_default_options(&o);
    w7rec *r = w7rec_open("/nonexistent-dir/x/trace.lz4", &o);
    EXPECT_EQ(r, nullptr);
    std::string msg = w7rec_last_error(nullptr);
    EXPECT_NE(msg.find("/nonexistent-dir/x/trace.lz4"), std::string::npos) << msg;
    EXPECT_EQ(w7rec_open(nullptr, &o), nullptr);
    EXPECT_EQ(w7rec_sys_enter(nullptr, nullptr, nullptr, nullptr, nullptr), W7REC_E_ARG);
    EXPECT_EQ(w7rec_return_hook(nullptr, nullptr, nullptr, nullptr), W7REC_E_ARG);
    EXPECT_EQ(w7rec_hook_wanted(nullptr, 0, 0), 0);
    EXPECT_EQ(w7rec_close(nullptr, nullptr), W7REC_E_ARG);
}

TEST(Writer, WriteErrorsAreReportedNotFatal) {
    if (access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no /dev/full";
    w7rec_options o;
    w7rec_default_options(&o);
    // The header frame's fflush fails on /dev/full: open reports it.
    w7rec *r = w7rec_open("/dev/full", &o);
    EXPECT_EQ(r, nullptr);
    EXPECT_NE(std::string(w7rec_last_error(nullptr)), "");
}

TEST(Writer, AContextSwitchEndsAFrameHoldingFlushRecordsRecords) {
    Session s("flush-records", false);
    s.opts.frame_size = 1u << 30; // size never ends a frame here
    s.open();
    s.boot();
    w7rec_cpu c = s.w.cpu(1, 0, 0);
    ASSERT_EQ(w7rec_asid_changed(s.rec, &c, 1, 2, fake::Memory::read, &s.w.mem), 0);
    size_t header_only = trace::parse(trace::read_file(s.path)).frames;
    EXPECT_EQ(header_only, 1u) << "a switch in a short frame does not end it";
    uint32_t edx = s.w.stack({0, 0});
    for (int i = 0; i < 4100; i++) {
        w7rec_cpu e = s.w.cpu(s.instr++, kNtDelayExecution, edx);
        ASSERT_EQ(w7rec_sys_enter(s.rec, &e, fake::Memory::read, &s.w.mem, nullptr), 0);
    }
    EXPECT_EQ(trace::parse(trace::read_file(s.path)).frames, 1u);
    ASSERT_EQ(w7rec_asid_changed(s.rec, &c, 2, 1, fake::Memory::read, &s.w.mem), 0);
    auto flushed = trace::parse(trace::read_file(s.path));
    EXPECT_EQ(flushed.frames, 2u) << "the switch after 4096 records ended the frame";
    EXPECT_EQ(flushed.records.back().type, 4) << "the frame ends with the switch record";
}

// ---- page dedup under a keyed hash ----

// Two 4 KiB pages with one FNV-1a 64 value: these 16-byte prefixes collide from the offset basis (found with a
// lattice: FNV-1a's low byte evolves on its own, so each XOR is an addition the chooser controls, and a short
// vector e with Σ e_i·P^(16−i) ≡ 0 mod 2^64 becomes two byte strings), and equal suffixes keep the collision.
static std::vector<uint8_t> colliding_page(int which) {
    static const uint8_t a[16] = {0x27, 0x02, 0x0b, 0x08, 0x09, 0xfb, 0x03, 0x1a,
                                  0x00, 0x02, 0x77, 0x01, 0x0c, 0x08, 0x00, 0xb0};
    static const uint8_t b[16] = {0x25, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xb3};
    std::vector<uint8_t> page(4096, 0x5a);
    memcpy(page.data(), which ? b : a, 16);
    return page;
}

TEST(Writer, PageHashIsXxh3OfTheBytes) {
    // Expected values from xxhsum 0.8.1 (`xxhsum -H3`), an independent program: the empty input, and the page
    // whose byte i is (7i + 3) mod 256.
    std::vector<uint8_t> page(4096);
    for (size_t i = 0; i < page.size(); i++) page[i] = (uint8_t)(i * 7 + 3);
    EXPECT_EQ(w7_page_hash(nullptr, 0), 0x2d06800538d394c2ull);
    EXPECT_EQ(w7_page_hash(page.data(), page.size()), 0xd7428746842be37eull);
    EXPECT_EQ(w7_hash_for_test(page), 0xd7428746842be37eull);
}

TEST(Dedup, SipHashMatchesThePublishedVectors) {
    // SipHash-2-4 paper, appendix A / reference vectors.h: key 00..0f, message 00..(len-1).
    uint8_t msg[64];
    for (int i = 0; i < 64; i++) msg[i] = (uint8_t)i;
    const uint64_t k0 = 0x0706050403020100ull, k1 = 0x0f0e0d0c0b0a0908ull;
    EXPECT_EQ(w7_siphash24(k0, k1, msg, 0), 0x726fdb47dd0e0e31ull);
    EXPECT_EQ(w7_siphash24(k0, k1, msg, 15), 0xa129ca6149be45e5ull);
    EXPECT_EQ(w7_siphash24(k0, k1, msg, 8), 0x93f5f5799a932462ull);
    EXPECT_EQ(w7_siphash24(k0, k1, msg, 63), 0x958a324ceb064572ull);
}

TEST(Dedup, PagesWithEqualFnvKeepTheirOwnBytes) {
    auto a = colliding_page(0), b = colliding_page(1);
    ASSERT_NE(a, b);
    ASSERT_EQ(fnv1a64_for_test(a), fnv1a64_for_test(b)) << "the pages must collide under FNV-1a 64";
    // A hostile guest: the GDT page holds one page, the user stack the other; every other page is unreadable.
    struct Guest { const std::vector<uint8_t> *a, *b; } g{&a, &b};
    auto read = [](void *opaque, uint32_t va, uint8_t *buf, uint32_t len) -> int {
        auto *guest = static_cast<Guest *>(opaque);
        const std::vector<uint8_t> *page = (va >> 12) == 0x80b95u ? guest->a : (va >> 12) == 0x0012fu ? guest->b : nullptr;
        if (!page) return -1;
        memcpy(buf, page->data() + (va & 0xfff), len);
        return 0;
    };
    Session s("fnv-collision");
    ASSERT_NE(s.rec, nullptr);
    w7rec_cpu c{};
    c.instr = 1;
    c.eax = kNtDelayExecution;
    c.edx = 0x0012f000u;
    c.cr3 = 0x00185000u;
    c.gdt_base = 0x80b95000u;
    ASSERT_EQ(w7rec_sys_enter(s.rec, &c, read, &g, nullptr), 0);
    auto t = s.finish();
    auto calls = Session::syscalls(t);
    ASSERT_EQ(calls.size(), 1u);
    std::map<uint32_t, uint32_t> id_of_vpn;
    for (const auto &p : calls[0]->pages) id_of_vpn[p.vpn] = p.content_id;
    ASSERT_TRUE(id_of_vpn.count(0x80b95u) && id_of_vpn.count(0x0012fu));
    uint32_t ida = id_of_vpn[0x80b95u], idb = id_of_vpn[0x0012fu];
    ASSERT_NE(ida, 0u);
    ASSERT_NE(idb, 0u);
    EXPECT_NE(ida, idb) << "a colliding page was deduplicated onto another page's bytes";
    EXPECT_TRUE(t.page_data.at(ida) == a) << "page a holds other bytes";
    EXPECT_TRUE(t.page_data.at(idb) == b) << "page b holds other bytes";
    for (const auto &r : t.records)
        if (r.type == 2) {
            EXPECT_EQ(r.hash, w7_hash_for_test(t.page_data.at(r.content_id))) << "the PAGE record's hash is XXH3-64";
        }
}

TEST(Dedup, TheKeyChangesNoBytesAndChangingItForgetsContents) {
    auto record = [](const std::string &name, const uint8_t *key, bool rekey_midway) {
        Session s(name);
        if (key) {
            EXPECT_EQ(w7rec_set_dedup_key(s.rec, key), W7REC_OK);
        }
        s.boot();
        s.enter(kNtDelayExecution, {0, 0});
        s.ret(0);
        if (rekey_midway) {
            static const uint8_t other[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
            EXPECT_EQ(w7rec_set_dedup_key(s.rec, other), W7REC_OK);
        }
        // Same stack bytes at another address: recognised only through the dedup table.
        s.enter(kNtDelayExecution, {0, 0});
        s.finish();
        return trace::read_file(s.path.c_str());
    };
    const uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    auto plain = record("key-default", nullptr, false), keyed = record("key-set", key, false);
    EXPECT_EQ(plain, keyed) << "without collisions the key does not change what is written";
    auto rekeyed = trace::parse(record("key-midway", key, true));
    auto before = trace::parse(plain);
    size_t pages_before = 0, pages_rekeyed = 0;
    for (const auto &r : before.records) pages_before += r.type == 2;
    for (const auto &r : rekeyed.records) pages_rekeyed += r.type == 2;
    EXPECT_GT(pages_rekeyed, pages_before) << "a new key forgets the contents hashed under the old one";
    EXPECT_EQ(w7rec_set_dedup_key(nullptr, key), W7REC_E_ARG);
}
