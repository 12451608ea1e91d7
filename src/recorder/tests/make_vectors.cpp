// make_vectors — writes the trace format's test vectors (tracefmt/vectors/): basic, truncated, unknown-record, returns,
// each NAME.lz4 with NAME.expected.jsonl (one JSON object per record, decoded by the independent reader in
// trace_reader.hpp). With W7REC_WRITE_VECTORS=1 it writes them into DIR; otherwise it regenerates them in a temp
// dir and fails unless the committed files in DIR are byte-identical (the recorder is deterministic).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include <lz4.h>

#include "fake_guest.hpp"
#include "recorder_internal.h"
#include "trace_reader.hpp"

namespace {

enum : uint32_t { kNtClose = 50, kNtDelayExecution = 98, kNtOpenKey = 182, kNtWaitForSingleObject = 387 };

struct Scenario {
    fake::World w;
    w7rec *rec = nullptr;
    uint64_t instr = 5000;
    uint32_t eprocess = 0, kthread = 0;

    Scenario(const std::string &path, const std::string &name, uint32_t frame_size, uint32_t dedup_window = 0,
             const char *returns = nullptr) {
        w.own_page = false; // pack the structures: small vectors
        w7rec_options o;
        w7rec_default_options(&o);
        o.replay_name = name.c_str();
        o.recorder_name = "w7rec-vectors";
        o.recorder_version = "1.0";
        o.frame_size = frame_size;
        o.data_cap = 64;
        o.page_budget = 64;
        o.dedup_entries = 4096;
        if (dedup_window) o.dedup_window = dedup_window;
        if (returns) o.returns = returns;
        rec = w7rec_open(path.c_str(), &o);
        if (!rec) throw std::runtime_error(std::string("open: ") + w7rec_last_error(nullptr));
        eprocess = w.process(1232, 508, "explorer.exe", "\\Device\\HarddiskVolume2\\Windows\\explorer.exe", w.mem.cr3);
        kthread = w.thread(eprocess, 1236);
        w.set_current_thread(kthread);
    }
    void check(int rc) { if (rc) throw std::runtime_error(std::string("recorder: ") + w7rec_last_error(rec)); }
    uint32_t last_edx = 0;
    void enter(uint32_t callno, const std::vector<uint32_t> &args) {
        last_edx = w.stack(args);
        w7rec_cpu c = w.cpu(instr, callno, last_edx);
        instr += 17;
        check(w7rec_sys_enter(rec, &c, fake::Memory::read, &w.mem, nullptr));
    }
    // An enter with its frame at `edx` (below a pending frame: nested; at or above it: the pending call ended).
    void enter_at(uint32_t callno, uint32_t edx, const std::vector<uint32_t> &args) {
        w.mem.u32(edx, 0x77a764f4u);
        for (size_t i = 0; i < args.size(); i++) w.mem.u32(edx + 8 + 4 * (uint32_t)i, args[i]);
        last_edx = edx;
        w7rec_cpu c = w.cpu(instr, callno, edx);
        instr += 17;
        check(w7rec_sys_enter(rec, &c, fake::Memory::read, &w.mem, nullptr));
    }
    // The return of the call entered at `edx`, seen by syscalls2 or by the recorder's own hook.
    void ret_of(uint32_t edx, uint32_t status, bool by_hook) {
        w7rec_cpu c = w.cpu(instr, status, 0x0012f000u);
        c.pc = 0x77a764f4u;
        c.esp = edx + 4;
        instr += 23;
        check(by_hook ? w7rec_return_hook(rec, &c, fake::Memory::read, &w.mem)
                      : w7rec_sys_return(rec, &c, UINT32_MAX, fake::Memory::read, &w.mem));
    }
    void ret(uint32_t status) {
        w7rec_cpu c = w.cpu(instr, status, 0x0012f000u);
        c.pc = 0x77a764f4u;
        c.esp = last_edx + 4; // back in the stub: ESP = EDX at enter + 4
        instr += 23;
        check(w7rec_sys_return(rec, &c, UINT32_MAX, fake::Memory::read, &w.mem));
    }
    void switch_to(uint32_t new_cr3) {
        w7rec_cpu c = w.cpu(instr, 0, 0);
        instr += 5;
        check(w7rec_asid_changed(rec, &c, w.mem.cr3, new_cr3, fake::Memory::read, &w.mem));
    }
    // A registry open (watched), an unwatched call, and a close.
    void calls() {
        uint32_t root = w.key({"REGISTRY", "MACHINE", "SOFTWARE"});
        uint32_t root_handle = w.add_handle(eprocess, root);
        uint32_t oa = w.object_attributes("Microsoft", root_handle);
        uint32_t out = w.ualloc(4);
        enter(kNtOpenKey, {out, 0x20019, oa});
        uint32_t key = w.key({"REGISTRY", "MACHINE", "SOFTWARE", "MICROSOFT"});
        uint32_t h = w.add_handle(eprocess, key);
        w.mem.u32(out, h);
        ret(0);
        enter(kNtDelayExecution, {0, 0x0012f100});
        ret(0);
        switch_to(0x3f000000u);
        enter(kNtClose, {h});
        ret(0);
    }
    void close(uint64_t total, const char *reason = "simulated") {
        if (total) w7rec_set_total_instr(rec, total);
        check(w7rec_close(rec, reason));
        rec = nullptr;
    }
};

void check_end_frame(Scenario &s);

long file_size(const std::string &p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0 ? (long)st.st_size : -1;
}

void write_text(const std::string &path, const std::string &text) {
    std::ofstream f(path, std::ios::binary);
    f << text;
    if (!f) throw std::runtime_error("cannot write " + path);
}

void generate(const std::string &dir) {
    {
        Scenario s(dir + "/basic.lz4", "basic", 1u << 20);
        s.calls();
        s.close(s.instr + 1000);
    }
    {
        // The calls, a frame boundary, then a last frame with two calls and END; cut the file in the middle of
        // that last frame: a reader recovers everything up to the boundary.
        std::string path = dir + "/truncated.lz4";
        Scenario s(path, "truncated", 1u << 20);
        s.calls();
        check_end_frame(s);
        long before = file_size(path);
        s.enter(kNtDelayExecution, {1, 0});
        s.enter(kNtDelayExecution, {2, 0});
        s.close(s.instr + 1000);
        long after = file_size(path);
        if (before <= 0 || after <= before + 16) throw std::runtime_error("truncated: last frame too small");
        if (truncate(path.c_str(), before + (after - before) / 2) != 0) throw std::runtime_error("truncate failed");
    }
    {
        Scenario s(dir + "/unknown-record.lz4", "unknown-record", 1u << 20);
        s.enter(kNtDelayExecution, {0, 0});
        const uint8_t body[12] = {'f', 'u', 't', 'u', 'r', 'e', 0, 1, 2, 3, 4, 5};
        s.check(w7rec_internal_inject_record(s.rec, 99, body, sizeof body));
        s.ret(0);
        s.close(s.instr + 1000);
    }
    {
        // Return detection and the content-id window (FORMAT.md §4, §5): window 24 (page_budget follows it down).
        Scenario s(dir + "/returns.lz4", "returns", 1u << 20, 24, "hooks+syscalls2");
        uint32_t t1 = s.kthread, t2 = s.w.thread(s.eprocess, 2000);
        // Two threads in one stub: syscalls2 reports t2's return, the recorder's hook t1's (capture bit 3).
        uint32_t e1 = s.w.stack({0x11, 0, 0}), e2 = s.w.stack({0x22, 0, 0});
        s.enter_at(kNtWaitForSingleObject, e1, {0x11, 0, 0});
        s.w.set_current_thread(t2);
        s.enter_at(kNtWaitForSingleObject, e2, {0x22, 0, 0});
        s.ret_of(e2, 0, false);
        s.w.set_current_thread(t1);
        s.ret_of(e1, 0x102, true);
        // A nested call whose return nobody saw, ended by its outer call's return (capture bit 2).
        uint32_t outer = s.w.stack({0x33, 1, 0});
        s.enter_at(kNtWaitForSingleObject, outer, {0x33, 1, 0});
        s.enter_at(kNtDelayExecution, outer - 0x100, {0x44, 0});
        s.ret_of(outer, 0, false);
        // Enough new stack pages to push the first contents out of the window: the identity pages are written
        // again under new ids.
        for (uint32_t i = 0; i < 30; i++) {
            uint32_t edx = s.w.ualloc(4096) + 0x800;
            s.enter_at(kNtDelayExecution, edx, {i, 0x1000 + i});
            s.ret_of(edx, 0, false);
        }
        // A call still pending at the end; total unknown (never set), stopped before the end.
        s.enter(kNtClose, {8});
        s.close(0, "replay-stopped");
    }
    for (const char *name : {"basic", "truncated", "unknown-record", "returns"}) {
        std::string base = dir + "/" + name;
        trace::Trace t = trace::parse(trace::read_file(base + ".lz4"));
        write_text(base + ".expected.jsonl", trace::to_jsonl(t));
    }
}

// Ends the current frame so the next records land in a frame of their own.
void check_end_frame(Scenario &s) { s.check(w7rec_internal_end_frame(s.rec)); }

} // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::cerr << "usage: w7rec_vectors VECTOR_DIR\n";
        return 2;
    }
    std::string committed = argv[1];
    const char *write = std::getenv("W7REC_WRITE_VECTORS");
    try {
        if (write && std::string(write) == "1") {
            generate(committed);
            std::cout << "wrote vectors to " << committed << "\n";
            return 0;
        }
        char tmpl[] = "/tmp/w7rec-vectors-XXXXXX";
        if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
        std::string tmp = tmpl;
        generate(tmp);
        int failures = 0;
        for (const char *name : {"basic.lz4", "basic.expected.jsonl", "truncated.lz4", "truncated.expected.jsonl",
                                 "unknown-record.lz4", "unknown-record.expected.jsonl", "returns.lz4",
                                 "returns.expected.jsonl"}) {
            std::vector<uint8_t> fresh = trace::read_file(tmp + "/" + name), old;
            try {
                old = trace::read_file(committed + "/" + name);
            } catch (const std::exception &) {
                std::cerr << "missing committed vector " << committed << "/" << name
                          << " (run with W7REC_WRITE_VECTORS=1)\n";
                failures++;
                continue;
            }
            if (fresh != old) {
                // Another liblz4 may compress the same records differently: then the records must still match.
                std::string n = name;
                bool same_records = false;
                if (n.size() > 4 && n.compare(n.size() - 4, 4, ".lz4") == 0) {
                    try {
                        same_records = trace::to_jsonl(trace::parse(fresh)) == trace::to_jsonl(trace::parse(old));
                    } catch (const std::exception &) {
                    }
                }
                if (same_records) {
                    std::cerr << "note: " << name << " compresses differently with this liblz4 (" << LZ4_versionString()
                              << ") but holds the same records\n";
                } else {
                    std::cerr << "vector " << name << " differs from the regenerated one in " << tmp
                              << " (recorder output changed? review, then run with W7REC_WRITE_VECTORS=1)\n";
                    failures++;
                }
            }
            std::remove((tmp + "/" + name).c_str());
        }
        if (failures == 0) rmdir(tmp.c_str());
        std::cout << (failures ? "vectors differ\n" : "vectors identical\n");
        return failures ? 1 : 0;
    } catch (const std::exception &e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}
