// bench_capture — cost of recording one system call on a realistic simulated guest: a process whose handle table
// holds a few hundred handles (files on a named device, keys with 6-deep KCB chains, sections, processes),
// structures packed in pool pages as Windows does. Reports time per call and, as counters, trace bytes and
// page-map entries per syscall record. Argument scattered=0|1: packed pool pages or one page per structure.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <unistd.h>

#include "fake_guest.hpp"

namespace {

enum : uint32_t { kNtClose = 50, kNtCreateFile = 66, kNtDelayExecution = 98, kNtOpenKey = 182, kNtWriteFile = 396,
                  kNtCreateSection = 84 };

struct Guest {
    fake::World w;
    uint32_t eprocess, kthread;
    std::vector<uint32_t> files, keys, sections;
    uint32_t oa_file, oa_key, iosb, out, data;

    // scattered: every structure on its own page (worst case for page counts); packed: structures share pool
    // pages the way small pool allocations do.
    explicit Guest(bool scattered) {
        w.own_page = scattered;
        eprocess = w.process(1232, 508, "explorer.exe", "\\Device\\HarddiskVolume2\\Windows\\explorer.exe", w.mem.cr3);
        kthread = w.thread(eprocess, 1236);
        w.set_current_thread(kthread);
        uint32_t dev = w.device("HarddiskVolume2");
        const char *hives[] = {"MACHINE", "USER"};
        for (int i = 0; i < 120; i++)
            files.push_back(w.add_handle(eprocess, w.file(dev, "\\Windows\\System32\\file" + std::to_string(i) + ".dll")));
        for (int i = 0; i < 120; i++)
            keys.push_back(w.add_handle(eprocess, w.key({"REGISTRY", hives[i % 2], "SOFTWARE", "Microsoft", "Windows",
                                                         "Key" + std::to_string(i)})));
        for (int i = 0; i < 40; i++) sections.push_back(w.add_handle(eprocess, w.section(w.file(dev, "\\s" + std::to_string(i)))));
        oa_file = w.object_attributes("\\??\\C:\\Users\\me\\Documents\\report.docx");
        oa_key = w.object_attributes("Software\\Microsoft\\Windows\\CurrentVersion\\Explorer", keys[3]);
        iosb = w.ualloc(8);
        out = w.ualloc(4);
        data = w.ualloc(4096);
    }
};

struct Recording {
    std::string path = "/tmp/w7rec-bench-" + std::to_string(getpid()) + ".lz4";
    w7rec *rec;
    Recording() {
        w7rec_options o;
        w7rec_default_options(&o);
        o.replay_name = "bench";
        rec = w7rec_open(path.c_str(), &o);
    }
    ~Recording() {
        w7rec_close(rec, "bench");
        std::remove(path.c_str());
    }
};

void report(benchmark::State &state, w7rec *rec) {
    w7rec_stats st;
    w7rec_get_stats(rec, &st);
    double records = (double)(st.syscall_records ? st.syscall_records : 1);
    state.counters["trace_bytes_per_syscall"] = (double)(st.bytes_written) / records;
    state.counters["raw_bytes_per_syscall"] = (double)(st.bytes_uncompressed) / records;
    state.counters["page_refs_per_syscall"] = (double)st.page_refs / records;
    state.counters["page_reads_per_syscall"] = (double)st.pages_read_calls / records;
}

// One enter + return pair per iteration; `setup` writes the argument words, `on_return` the outputs.
template <typename Args, typename Out>
void run_pair(benchmark::State &state, uint32_t callno, Args args, Out on_return) {
    Guest g(state.range(0) != 0);
    Recording r;
    uint64_t instr = 1;
    uint32_t edx = g.w.stack(args(g));
    for (auto _ : state) {
        w7rec_cpu c = g.w.cpu(instr++, callno, edx);
        w7rec_sys_enter(r.rec, &c, fake::Memory::read, &g.w.mem, nullptr);
        on_return(g);
        c = g.w.cpu(instr++, 0, 0x12f000);
        c.esp = edx + 4;
        w7rec_sys_return(r.rec, &c, UINT32_MAX, fake::Memory::read, &g.w.mem);
    }
    state.SetItemsProcessed(state.iterations() * 2);
    report(state, r.rec);
}

void BM_NtOpenKey(benchmark::State &state) {
    run_pair(state, kNtOpenKey, [](Guest &g) { return std::vector<uint32_t>{g.out, 0x20019, g.oa_key}; },
             [](Guest &g) { g.w.mem.u32(g.out, g.keys[77]); });
}
void BM_NtCreateFile(benchmark::State &state) {
    run_pair(state, kNtCreateFile,
             [](Guest &g) { return std::vector<uint32_t>{g.out, 0x120089, g.oa_file, g.iosb, 0, 0x80, 7, 1, 0x60, 0, 0}; },
             [](Guest &g) { g.w.mem.u32(g.out, g.files[55]); });
}
void BM_NtWriteFile(benchmark::State &state) {
    run_pair(state, kNtWriteFile,
             [](Guest &g) { return std::vector<uint32_t>{g.files[10], 0, 0, 0, g.iosb, g.data, 1000, 0, 0}; },
             [](Guest &) {});
}
void BM_NtCreateSection(benchmark::State &state) {
    run_pair(state, kNtCreateSection,
             [](Guest &g) { return std::vector<uint32_t>{g.out, 0xf001f, 0, 0, 2, 0x1000000, g.files[20]}; },
             [](Guest &g) { g.w.mem.u32(g.out, g.sections[5]); });
}
void BM_NtClose(benchmark::State &state) {
    run_pair(state, kNtClose, [](Guest &g) { return std::vector<uint32_t>{g.keys[100]}; }, [](Guest &) {});
}
void BM_Unwatched(benchmark::State &state) {
    run_pair(state, kNtDelayExecution, [](Guest &) { return std::vector<uint32_t>{0, 0x12f100}; }, [](Guest &) {});
}
// NtWriteFile whose data and stack words change every call: new page contents each time (SipHash dedup, XXH3 PAGE
// records, compression) — the cost when pages do not repeat.
void BM_NtWriteFileFreshPages(benchmark::State &state) {
    Guest g(state.range(0) != 0);
    Recording r;
    uint64_t instr = 1;
    uint32_t edx = g.w.stack({g.files[10], 0, 0, 0, g.iosb, g.data, 256, 0, 0});
    for (auto _ : state) {
        g.w.mem.u32(g.data, (uint32_t)instr);          // new data bytes
        g.w.mem.u32(edx + 4, (uint32_t)instr * 2654435761u); // new stack bytes
        w7rec_cpu c = g.w.cpu(instr++, kNtWriteFile, edx);
        w7rec_sys_enter(r.rec, &c, fake::Memory::read, &g.w.mem, nullptr);
        g.w.mem.u32(g.iosb + 4, (uint32_t)instr);      // new IO_STATUS_BLOCK
        c = g.w.cpu(instr++, 0, 0x12f000);
        c.esp = edx + 4;
        w7rec_sys_return(r.rec, &c, UINT32_MAX, fake::Memory::read, &g.w.mem);
    }
    state.SetItemsProcessed(state.iterations() * 2);
    report(state, r.rec);
}

void BM_ContextSwitch(benchmark::State &state) {
    Guest g(state.range(0) != 0);
    Recording r;
    uint64_t instr = 1;
    for (auto _ : state) {
        w7rec_cpu c = g.w.cpu(instr++, 0, 0);
        w7rec_asid_changed(r.rec, &c, 0x1000, 0x2000, fake::Memory::read, &g.w.mem);
    }
    state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_NtOpenKey)->ArgName("scattered")->Arg(0)->Arg(1);
BENCHMARK(BM_NtCreateFile)->ArgName("scattered")->Arg(0)->Arg(1);
BENCHMARK(BM_NtWriteFile)->ArgName("scattered")->Arg(0)->Arg(1);
BENCHMARK(BM_NtCreateSection)->ArgName("scattered")->Arg(0)->Arg(1);
BENCHMARK(BM_NtClose)->ArgName("scattered")->Arg(0)->Arg(1);
BENCHMARK(BM_Unwatched)->ArgName("scattered")->Arg(0)->Arg(1);
BENCHMARK(BM_NtWriteFileFreshPages)->ArgName("scattered")->Arg(0)->Arg(1);
BENCHMARK(BM_ContextSwitch)->ArgName("scattered")->Arg(0)->Arg(1);

} // namespace

BENCHMARK_MAIN();
