// test_support.hpp — recording helpers shared by the recorder tests.
#pragma once

#include <cstdlib>
#include <set>
#include <string>
#include <unistd.h>
#include <utility>

#include "fake_guest.hpp"
#include "trace_reader.hpp"

// XXH3-64 seed 0 (FORMAT.md §4), straight from libxxhash rather than through the core's wrapper; the library
// itself is checked against xxhsum's answers (Writer.PageHashIsXxh3OfTheBytes).
#define XXH_INLINE_ALL
#include <xxhash.h>
inline uint64_t w7_hash_for_test(const std::vector<uint8_t> &data) {
    return (uint64_t)XXH3_64bits(data.data(), data.size());
}
// FNV-1a 64 (the 1.0 page hash): only to build pages that collide under it.
inline uint64_t fnv1a64_for_test(const std::vector<uint8_t> &data) {
    uint64_t h = 14695981039346656037ull;
    for (uint8_t b : data) h = (h ^ b) * 1099511628211ull;
    return h;
}

namespace support {

// Syscall numbers (tracefmt/windows-7-x86-syscalls.tsv)
enum : uint32_t {
    kNtAlpcConnectPort = 22, kNtClose = 50, kNtCreateFile = 66, kNtCreateKey = 70, kNtCreateSection = 84,
    kNtCreateUserProcess = 93, kNtDelayExecution = 98, kNtDuplicateObject = 111, kNtOpenKey = 182,
    kNtOpenProcess = 190, kNtQuerySystemTime = 263, kNtReadVirtualMemory = 277, kNtSetInformationFile = 329,
    kNtSetValueKey = 358, kNtTerminateProcess = 370, kNtWriteFile = 396, kNtMapViewOfSection = 168,
};

inline std::string temp_path(const std::string &name) {
    const char *dir = std::getenv("TMPDIR");
    return std::string(dir ? dir : "/tmp") + "/w7rec-test-" + std::to_string(getpid()) + "-" + name;
}

using PageSet = std::set<std::pair<uint32_t, uint32_t>>; // (space, vpn)

inline PageSet pages_of(const trace::Record &r) {
    PageSet s;
    for (const auto &p : r.pages) s.insert({p.space, p.vpn});
    return s;
}

// A recorder over a fake world, writing to a temp file; finish() closes it and parses the trace.
struct Session {
    fake::World w;
    std::string path;
    w7rec_options opts;
    w7rec *rec = nullptr;
    uint64_t instr = 1000;
    uint32_t kthread = 0, eprocess = 0;
    uint32_t last_edx = 0; // EDX of the last enter: ret() returns from it (ESP = EDX + 4)

    explicit Session(const std::string &name, bool open_now = true) : path(temp_path(name)) {
        w7rec_default_options(&opts);
        opts.replay_name = "test";
        if (open_now) open();
    }
    ~Session() {
        if (rec) w7rec_close(rec, "test-abort");
        std::remove(path.c_str());
    }
    void open() { rec = w7rec_open(path.c_str(), &opts); }

    // A current process with one thread (identity in place).
    void boot(uint32_t pid = 1232, const std::string &name = "explorer.exe") {
        eprocess = w.process(pid, 508, name, "\\Device\\HarddiskVolume2\\Windows\\" + name, w.mem.cr3);
        kthread = w.thread(eprocess, pid + 4);
        w.set_current_thread(kthread);
    }

    int enter(uint32_t callno, const std::vector<uint32_t> &args, uint32_t *edx_out = nullptr) {
        uint32_t edx = w.stack(args);
        if (edx_out) *edx_out = edx;
        last_edx = edx;
        w7rec_cpu c = w.cpu(instr++, callno, edx);
        return w7rec_sys_enter(rec, &c, fake::Memory::read, &w.mem, nullptr);
    }
    // The return of the call entered with `edx` (default: the last enter), as syscalls2 reports it.
    int ret(uint32_t status = 0, uint32_t hint = UINT32_MAX, uint32_t edx = 0) {
        w7rec_cpu c = w.cpu(instr++, status, 0x0012f000u);
        c.pc = 0x77a764f4u;
        c.esp = (edx ? edx : last_edx) + 4;
        return w7rec_sys_return(rec, &c, hint, fake::Memory::read, &w.mem);
    }
    trace::Trace finish(uint64_t total = 123456, const char *reason = "simulated") {
        w7rec_set_total_instr(rec, total);
        int rc = w7rec_close(rec, reason);
        rec = nullptr;
        if (rc != 0) throw std::runtime_error("close failed");
        return trace::parse(trace::read_file(path));
    }
    // The SYSCALL records, in order, without returns not seen (capture bit 2): a test that makes several calls
    // on one thread at rising stack addresses without their returns shows the recorder that each call ended.
    static std::vector<const trace::Record *> syscalls(const trace::Trace &t) {
        std::vector<const trace::Record *> v;
        for (const auto &r : t.records) if (r.type == 3 && !(r.capture & 4)) v.push_back(&r);
        return v;
    }
    // Every SYSCALL record, inferred returns included.
    static std::vector<const trace::Record *> all_syscalls(const trace::Trace &t) {
        std::vector<const trace::Record *> v;
        for (const auto &r : t.records) if (r.type == 3) v.push_back(&r);
        return v;
    }
    PageSet kpages(std::initializer_list<uint32_t> vas) const {
        PageSet s;
        for (uint32_t va : vas) s.insert({va >= w.mem.kernel_base ? 0 : w.mem.cr3, va >> 12});
        return s;
    }
};

inline bool contains_all(const PageSet &have, const PageSet &want, std::string *missing) {
    bool ok = true;
    for (const auto &p : want)
        if (!have.count(p)) {
            ok = false;
            char b[64];
            snprintf(b, sizeof b, "(%#x,%#x) ", p.first, p.second << 12);
            *missing += b;
        }
    return ok;
}

} // namespace support
