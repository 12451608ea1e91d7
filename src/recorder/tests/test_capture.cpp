// test_capture.cpp — what the recorder captures: identity pages, argument words, pairing, and the capture
// closure of each watched family, over the fake guest; unreadable pages and hostile values.
#include <gtest/gtest.h>

#include "test_support.hpp"

using namespace support;

namespace {

// The pages identity capture must hold: GDT entry, KPCR+0x124, KTHREAD (+0x150, Cid), EPROCESS fields,
// the image-path UNICODE_STRING and its buffer.
PageSet identity_pages(Session &s) {
    uint32_t audit = *(uint32_t *)s.w.mem.at(s.eprocess + 0x1ec, 0);
    uint32_t buffer = *(uint32_t *)s.w.mem.at(audit + 4, 0);
    return s.kpages({s.w.gdt + 0x30, s.w.kpcr + 0x124, s.kthread + 0x150, s.kthread + 0x22c, s.eprocess,
                     s.eprocess + 0xb4, s.eprocess + 0x16c, s.eprocess + 0x1ec, s.eprocess + 0x270, audit, buffer});
}

std::string missing_of(const PageSet &have, const PageSet &want) {
    std::string m;
    contains_all(have, want, &m);
    return m;
}

} // namespace

TEST(Capture, UnwatchedCallRecordsIdentityAndArgumentWordsOnly) {
    Session s("unwatched");
    s.boot();
    uint32_t edx;
    ASSERT_EQ(s.enter(kNtDelayExecution, {1, 0x0012f100}, &edx), 0);
    auto t = s.finish();
    auto calls = Session::syscalls(t);
    ASSERT_EQ(calls.size(), 1u);
    const auto &r = *calls[0];
    EXPECT_EQ(r.callno, kNtDelayExecution);
    EXPECT_EQ(r.capture, 0);
    EXPECT_EQ(r.phase, 0);
    EXPECT_EQ(r.thread, s.kthread);
    EXPECT_EQ(r.edx, edx);
    EXPECT_EQ(r.args, (std::vector<uint32_t>{1, 0x0012f100}));
    PageSet want = identity_pages(s);
    want.insert({s.w.mem.cr3, edx >> 12});
    EXPECT_EQ(pages_of(r), want) << "exactly the identity pages and the stack page";
}

TEST(Capture, KpcrComesFromTheGdtDescriptorNotAFixedAddress) {
    Session s("kpcr");
    s.w.kpcr = 0x8a123400u; // move the KPCR; rewrite the descriptor
    s.w = fake::World();
    s.boot();
    auto t = (s.enter(kNtDelayExecution, {0, 0}), s.finish());
    EXPECT_EQ(Session::syscalls(t)[0]->thread, s.kthread);
}

TEST(Capture, ArgumentCountComesFromTheSyscallTable) {
    Session s("nargs");
    s.boot();
    std::vector<uint32_t> args(11);
    for (uint32_t i = 0; i < 11; i++) args[i] = 0x1000 + i;
    args[4] = args[5] = args[8] = args[10] = 0; // no pointers to follow
    ASSERT_EQ(s.enter(kNtCreateUserProcess, args), 0);
    ASSERT_EQ(s.enter(0x1001, {}), 0); // win32k call: not in the table, no argument words
    auto tr = s.finish();
    auto calls = Session::syscalls(tr);
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_EQ(calls[0]->args, args);
    EXPECT_EQ(calls[0]->capture, 1);
    EXPECT_TRUE(calls[1]->args.empty());
    EXPECT_EQ(calls[1]->callno, 0x1001u);
}

TEST(Capture, ReturnsPairWithTheirEnterPerThreadNotPerStub) {
    Session s("pairing");
    s.boot();
    uint32_t t2 = s.w.thread(s.eprocess, 2000);
    uint32_t t1 = s.kthread;
    // Two threads of one process in the same stub (same return address): syscalls2's (retaddr, cr3) key mixes
    // them up; (cr3, KTHREAD) does not.
    uint32_t edx1, edx2;
    ASSERT_EQ(s.enter(kNtDelayExecution, {1, 0}, &edx1), 0); // t1 enters at 1000
    s.w.set_current_thread(t2);
    ASSERT_EQ(s.enter(kNtDelayExecution, {2, 0}, &edx2), 0); // t2 enters at 1001
    s.w.set_current_thread(t1);
    ASSERT_EQ(s.ret(0x101, UINT32_MAX, edx1), 0);            // t1 returns
    s.w.set_current_thread(t2);
    ASSERT_EQ(s.ret(0x102, UINT32_MAX, edx2), 0);            // t2 returns
    ASSERT_EQ(s.ret(0x103, kNtQuerySystemTime, edx2), 0);    // t2 again: no enter
    auto tr = s.finish();
    auto calls = Session::syscalls(tr);
    ASSERT_EQ(calls.size(), 5u);
    EXPECT_EQ(calls[2]->thread, t1);
    EXPECT_EQ(calls[2]->enter_instr, 1000u);
    EXPECT_EQ(calls[2]->args, (std::vector<uint32_t>{1, 0}));
    EXPECT_EQ(calls[2]->eax, 0x101u);
    EXPECT_EQ(calls[2]->phase, 1);
    EXPECT_EQ(calls[3]->thread, t2);
    EXPECT_EQ(calls[3]->enter_instr, 1001u);
    EXPECT_EQ(calls[3]->args, (std::vector<uint32_t>{2, 0}));
    EXPECT_EQ(calls[3]->capture & 2, 0);
    EXPECT_EQ(calls[4]->capture, 2) << "return without a recorded enter";
    EXPECT_EQ(calls[4]->callno, kNtQuerySystemTime);
    EXPECT_EQ(calls[4]->enter_instr, 0u);
    EXPECT_TRUE(calls[4]->args.empty());
}

TEST(Capture, UnreadablePagesAreContentZeroAndNeverFatal) {
    Session s("unreadable");
    s.boot();
    uint32_t audit = *(uint32_t *)s.w.mem.at(s.eprocess + 0x1ec, 0);
    uint32_t buffer = *(uint32_t *)s.w.mem.at(audit + 4, 0);
    s.w.mem.make_unreadable(buffer);
    ASSERT_EQ(s.enter(kNtDelayExecution, {0, 0}), 0);
    // GDT unreadable: no thread, still a record.
    s.w.mem.make_unreadable(s.w.gdt);
    ASSERT_EQ(s.enter(kNtDelayExecution, {0, 0}), 0);
    auto t = s.finish();
    auto calls = Session::syscalls(t);
    ASSERT_EQ(calls.size(), 2u);
    bool found = false;
    for (const auto &p : calls[0]->pages)
        if (p.vpn == buffer >> 12) { EXPECT_EQ(p.content_id, 0u); found = true; }
    EXPECT_TRUE(found);
    EXPECT_EQ(calls[1]->thread, 0u);
    EXPECT_EQ(calls[1]->pages.front().content_id, 0u);
    EXPECT_EQ(t.records.back().end_fields[5], 2u) << "the buffer in the first call, the GDT in the second (which stops the walk)";
}

TEST(Capture, RegistryOpenCapturesTheKeyPathClosure) {
    Session s("registry");
    s.boot();
    uint32_t root_key = s.w.key({"REGISTRY", "MACHINE", "SOFTWARE", "Microsoft", "Windows", "CurrentVersion"});
    auto kcbs = s.w.last_kcbs;
    auto ncbs = s.w.last_name_blocks;
    uint32_t root_handle = s.w.add_handle(s.eprocess, root_key);
    uint32_t oa = s.w.object_attributes("Run", root_handle);
    uint32_t out = s.w.ualloc(4);
    uint32_t new_key = s.w.key({"REGISTRY", "MACHINE", "SOFTWARE", "Microsoft", "Windows", "CurrentVersion", "Run"});
    uint32_t new_handle = s.w.add_handle(s.eprocess, new_key);
    ASSERT_EQ(s.enter(kNtOpenKey, {out, 0x20019, oa}), 0);
    s.w.mem.u32(out, new_handle);
    ASSERT_EQ(s.ret(0), 0);
    auto tr = s.finish();
    auto calls = Session::syscalls(tr);
    ASSERT_EQ(calls.size(), 2u);
    const auto &table = s.w.processes.at(s.eprocess);
    uint32_t name_buf = *(uint32_t *)s.w.mem.at(oa + 0x18 + 4, s.w.mem.cr3);
    PageSet enter_want = s.kpages({oa, name_buf, table.table, table.table_page, root_key, root_key + 0x18 + 4});
    for (uint32_t k : kcbs) enter_want.insert({0, k >> 12});
    for (uint32_t n : ncbs) enter_want.insert({0, n >> 12});
    PageSet have = pages_of(*calls[0]);
    EXPECT_EQ(missing_of(have, enter_want), "");
    EXPECT_EQ(missing_of(have, identity_pages(s)), "");
    PageSet ret_want = s.kpages({out, new_key, table.table_page});
    for (uint32_t k : s.w.last_kcbs) ret_want.insert({0, k >> 12});
    for (uint32_t n : s.w.last_name_blocks) ret_want.insert({0, n >> 12});
    EXPECT_EQ(missing_of(pages_of(*calls[1]), ret_want), "");
    EXPECT_EQ(calls[1]->capture, 1);
}

TEST(Capture, FileCreateCapturesFileObjectDeviceAndRelatedChain) {
    Session s("files");
    s.boot();
    uint32_t dev = s.w.device("HarddiskVolume2");
    uint32_t dir_file = s.w.file(dev, "\\Users\\me");
    uint32_t file = s.w.file(dev, "notes.txt", fake::World::body(dir_file));
    uint32_t h = s.w.add_handle(s.eprocess, file);
    uint32_t oa = s.w.object_attributes("\\??\\C:\\Users\\me\\notes.txt");
    uint32_t iosb = s.w.ualloc(8), out = s.w.ualloc(4);
    ASSERT_EQ(s.enter(kNtCreateFile, {out, 0x120089, oa, iosb, 0, 0x80, 7, 1, 0x60, 0, 0}), 0);
    s.w.mem.u32(out, h);
    ASSERT_EQ(s.ret(0), 0);
    auto tr = s.finish();
    auto calls = Session::syscalls(tr);
    uint32_t fname = *(uint32_t *)s.w.mem.at(fake::World::body(file) + 0x34, 0);
    uint32_t dname = *(uint32_t *)s.w.mem.at(fake::World::body(dir_file) + 0x34, 0);
    uint32_t dev_name = *(uint32_t *)s.w.mem.at(dev - 0x20 + 0x4 + 4, 0); // NameInfo (below CreatorInfo).Name.Buffer
    uint32_t devdir = *(uint32_t *)s.w.mem.at(dev - 0x20, 0); // NameInfo.Directory of the device
    PageSet want = s.kpages({out, iosb, file, fname, dir_file, dname, dev, dev - 0x20, dev_name, devdir - 0x18});
    EXPECT_EQ(missing_of(pages_of(*calls[1]), want), "");
}

TEST(Capture, WriteDataIsCappedAndRenameInfoIsCaptured) {
    Session s("write", false);
    s.opts.data_cap = 6000; // two pages of data at most
    s.open();
    s.boot();
    uint32_t dev = s.w.device("HarddiskVolume2");
    uint32_t file = s.w.file(dev, "\\a.txt");
    uint32_t h = s.w.add_handle(s.eprocess, file);
    s.w.own_page = false;
    uint32_t data = (s.w.ualloc(0x5000) + 0xfff) & ~0xfffu; // 4 pages available
    s.w.ualloc(0x2000);
    s.w.own_page = true;
    uint32_t offset = s.w.ualloc(8), iosb = s.w.ualloc(8);
    ASSERT_EQ(s.enter(kNtWriteFile, {h, 0, 0, 0, iosb, data, 0xffffffffu, offset, 0}), 0);
    // rename: FILE_RENAME_INFORMATION with a root directory handle
    uint32_t root = s.w.add_handle(s.eprocess, s.w.file(dev, "\\dir"));
    uint32_t info = s.w.ualloc(0x100);
    s.w.mem.u32(info + 4, root);
    s.w.mem.u32(info + 8, 10);
    s.w.wstr(info + 0xc, "b.txt");
    ASSERT_EQ(s.enter(kNtSetInformationFile, {h, iosb, info, 0x20, 10}), 0);
    auto tr = s.finish();
    auto calls = Session::syscalls(tr);
    PageSet w = pages_of(*calls[0]);
    EXPECT_TRUE(w.count({s.w.mem.cr3, data >> 12}));
    EXPECT_TRUE(w.count({s.w.mem.cr3, (data >> 12) + 1}));
    EXPECT_FALSE(w.count({s.w.mem.cr3, (data >> 12) + 2})) << "data_cap bounds the buffer";
    EXPECT_TRUE(w.count({s.w.mem.cr3, offset >> 12})) << "ByteOffset";
    PageSet r = pages_of(*calls[1]);
    EXPECT_TRUE(r.count({s.w.mem.cr3, info >> 12}));
    uint32_t root_header = *(uint32_t *)s.w.mem.at(s.w.processes.at(s.eprocess).table_page + 8 * (root >> 2), 0) & ~7u;
    EXPECT_TRUE(r.count({0, root_header >> 12})) << "rename RootDirectory handle";
}

TEST(Capture, SectionCapturesSegmentControlAreaAndBackingFile) {
    Session s("sections");
    s.boot();
    uint32_t dev = s.w.device("HarddiskVolume2");
    uint32_t file = s.w.file(dev, "\\Windows\\System32\\kernel32.dll");
    uint32_t sec = s.w.section(file);
    uint32_t fh = s.w.add_handle(s.eprocess, file);
    uint32_t sh = s.w.add_handle(s.eprocess, sec);
    uint32_t out = s.w.ualloc(4);
    ASSERT_EQ(s.enter(kNtCreateSection, {out, 0xf001f, 0, 0, 2, 0x1000000, fh}), 0);
    s.w.mem.u32(out, sh);
    ASSERT_EQ(s.ret(0), 0);
    auto tr = s.finish();
    auto calls = Session::syscalls(tr);
    uint32_t segment = *(uint32_t *)s.w.mem.at(fake::World::body(sec) + 0x14, 0);
    uint32_t ca = *(uint32_t *)s.w.mem.at(segment, 0);
    EXPECT_EQ(missing_of(pages_of(*calls[1]), s.kpages({sec, segment, ca, file})), "");
    EXPECT_EQ(missing_of(pages_of(*calls[0]), s.kpages({file})), "");
}

TEST(Capture, ProcessCreationCapturesParametersAttributesAndTheNewProcess) {
    for (bool normalized : {true, false}) {
        Session s(normalized ? "proc-norm" : "proc-offsets");
        s.boot();
        uint32_t params = s.w.ualloc(0x298 + 0x200);
        s.w.mem.u32(params + 8, normalized ? 1 : 0);
        uint32_t img = params + 0x298, cmd = params + 0x298 + 0x100;
        s.w.mem.u16(params + 0x38, 20);
        s.w.mem.u32(params + 0x3c, normalized ? img : img - params);
        s.w.mem.u16(params + 0x40, 20);
        s.w.mem.u32(params + 0x44, normalized ? cmd : cmd - params);
        // image/command buffers on their own pages to see them captured
        s.w.own_page = true;
        uint32_t far_img = s.w.ualloc(64);
        if (normalized) s.w.mem.u32(params + 0x3c, far_img);
        uint32_t attrs = s.w.ualloc(4 + 32);
        uint32_t image_name = s.w.ualloc(64), cid = s.w.ualloc(8);
        s.w.mem.u32(attrs, 4 + 32);
        s.w.mem.u32(attrs + 4, 0x20005);
        s.w.mem.u32(attrs + 8, 40);
        s.w.mem.u32(attrs + 12, image_name);
        s.w.mem.u32(attrs + 20, 0x10003);
        s.w.mem.u32(attrs + 24, 8);
        s.w.mem.u32(attrs + 28, cid);
        uint32_t ph = s.w.ualloc(4), th = s.w.ualloc(4);
        ASSERT_EQ(s.enter(kNtCreateUserProcess, {ph, th, 0x2000000, 0x2000000, 0, 0, 0x200, 1, params, 0, attrs}), 0);
        uint32_t child = s.w.process(1316, 1232, "cmd.exe", "\\Device\\HarddiskVolume2\\Windows\\System32\\cmd.exe", 0x3f000000);
        uint32_t child_thread = s.w.thread(child, 1320);
        s.w.mem.u32(ph, s.w.add_handle(s.eprocess, s.w.processes.at(child).header));
        s.w.mem.u32(th, s.w.add_handle(s.eprocess, child_thread - 0x18));
        ASSERT_EQ(s.ret(0), 0);
        auto tr = s.finish();
    auto calls = Session::syscalls(tr);
        PageSet e = pages_of(*calls[0]);
        uint32_t img_page = normalized ? far_img : img;
        EXPECT_EQ(missing_of(e, s.kpages({params, img_page, cmd, attrs, image_name})), "") << normalized;
        uint32_t audit = *(uint32_t *)s.w.mem.at(child + 0x1ec, 0);
        uint32_t audit_buf = *(uint32_t *)s.w.mem.at(audit + 4, 0);
        PageSet r = pages_of(*calls[1]);
        EXPECT_EQ(missing_of(r, s.kpages({ph, th, cid, child, child + 0xb4, audit, audit_buf, child_thread + 0x22c})), "");
    }
}

TEST(Capture, PseudoHandlesResolveToTheCurrentProcessAndThread) {
    Session s("pseudo");
    s.boot();
    ASSERT_EQ(s.enter(kNtTerminateProcess, {0xffffffffu, 0}), 0);
    auto tr = s.finish();
    auto calls = Session::syscalls(tr);
    // The EPROCESS object header (type byte) must be captured.
    EXPECT_TRUE(pages_of(*calls[0]).count({0, (s.eprocess - 0x18) >> 12}));
    EXPECT_EQ(calls[0]->capture, 1);
}

TEST(Capture, AlpcConnectCapturesAllThreePortsOwnersAndName) {
    Session s("alpc");
    s.boot();
    uint32_t server = s.w.process(600, 500, "svchost.exe", "\\Device\\HarddiskVolume2\\Windows\\System32\\svchost.exe", 0x2f000000);
    auto p = s.w.alpc("lsasspirpc", server, s.eprocess);
    uint32_t h = s.w.add_handle(s.eprocess, p.client);
    uint32_t out = s.w.ualloc(4);
    uint32_t port_name = s.w.ualloc(8);
    s.w.unicode_string(port_name, "\\RPC Control\\lsasspirpc", false);
    ASSERT_EQ(s.enter(kNtAlpcConnectPort, {out, port_name, 0, 0, 0, 0, 0, 0, 0, 0, 0}), 0);
    s.w.mem.u32(out, h);
    ASSERT_EQ(s.ret(0), 0);
    auto tr = s.finish();
    auto calls = Session::syscalls(tr);
    uint32_t name_buf = *(uint32_t *)s.w.mem.at(p.connection - 0x20 + 0x8, 0);
    PageSet want = s.kpages({p.client, p.comm, p.server, p.connection, p.connection - 0x20, name_buf, server, server + 0x16c});
    EXPECT_EQ(missing_of(pages_of(*calls[1]), want), "");
    uint32_t port_name_buf = *(uint32_t *)s.w.mem.at(port_name + 4, s.w.mem.cr3);
    EXPECT_TRUE(pages_of(*calls[0]).count({s.w.mem.cr3, port_name_buf >> 12}));
}

TEST(Capture, VirtualMemoryCapturesTargetProcessAndByteCount) {
    Session s("vm");
    s.boot();
    uint32_t target = s.w.process(700, 1232, "notepad.exe", "\\Device\\HarddiskVolume2\\Windows\\notepad.exe", 0x2e000000);
    uint32_t h = s.w.add_handle(s.eprocess, s.w.processes.at(target).header);
    uint32_t nbytes = s.w.ualloc(4);
    ASSERT_EQ(s.enter(kNtReadVirtualMemory, {h, 0x400000, 0x10000, 0x100, nbytes}), 0);
    ASSERT_EQ(s.ret(0), 0);
    auto tr = s.finish();
    auto calls = Session::syscalls(tr);
    EXPECT_EQ(missing_of(pages_of(*calls[0]), s.kpages({target, target + 0x16c})), "");
    EXPECT_TRUE(pages_of(*calls[1]).count({s.w.mem.cr3, nbytes >> 12}));
}

TEST(Capture, HandleTablesOfLevelOneAndTwoAreWalked) {
    for (uint32_t level : {1u, 2u}) {
        Session s(level == 1 ? "level1" : "level2");
        s.boot();
        uint32_t key = s.w.key({"REGISTRY", "USER"});
        uint32_t handle = level == 1 ? 0x1234u * 4 : (0x81234u * 4);
        uint32_t idx = handle >> 2;
        uint32_t table = s.w.processes.at(s.eprocess).table;
        uint32_t top = s.w.kalloc(4096), mid = s.w.kalloc(4096), low = s.w.kalloc(4096);
        if (level == 1) {
            s.w.mem.u32(table, top | 1);
            s.w.mem.u32(top + 4 * (idx >> 9), low);
        } else {
            s.w.mem.u32(table, top | 2);
            s.w.mem.u32(top + 4 * (idx >> 19), mid);
            s.w.mem.u32(mid + 4 * ((idx >> 9) & 0x3ff), low);
        }
        s.w.mem.u32(low + 8 * (idx & 0x1ff), key | 3);
        ASSERT_EQ(s.enter(kNtClose, {handle}), 0);
        auto tr = s.finish();
    auto calls = Session::syscalls(tr);
        PageSet want = s.kpages({top, low, key});
        if (level == 2) want.insert({0, mid >> 12});
        EXPECT_EQ(missing_of(pages_of(*calls[0]), want), "") << "level " << level;
    }
}

TEST(Capture, HostileValuesAreBounded) {
    Session s("hostile", false);
    s.opts.page_budget = 64;
    s.opts.data_cap = 0x7fffffff;
    s.open();
    s.boot();
    // cyclic KCB chain
    uint32_t key = s.w.key({"A", "B", "C"});
    s.w.mem.u32(s.w.last_kcbs[0] + 0x28, s.w.last_kcbs[2]);
    // cyclic RelatedFileObject chain
    uint32_t f1 = s.w.file(0, "x"), f2 = s.w.file(0, "y", fake::World::body(f1));
    s.w.mem.u32(fake::World::body(f1) + 0x20, fake::World::body(f2));
    // self-referencing object directory
    uint32_t named = s.w.object(12, 0x10, "Evt");
    s.w.mem.u32(named - 0x20, fake::World::body(named));
    // ALPC ports that all point at each other
    auto ports = s.w.alpc("loop", s.eprocess, s.eprocess);
    // handle to garbage header; huge string lengths; pointers to unmapped memory
    uint32_t oa = s.w.object_attributes("x");
    s.w.mem.u16(oa + 0x18, 0xffff);
    s.w.mem.u32(oa + 0x1c, 0x7fff0000u); // buffer near the top of user space, mostly unmapped
    std::vector<uint32_t> handles;
    for (uint32_t hdr : {key, f2, named, ports.client}) handles.push_back(s.w.add_handle(s.eprocess, hdr));
    for (uint32_t h : handles) ASSERT_EQ(s.enter(kNtClose, {h}), 0);
    ASSERT_EQ(s.enter(kNtOpenKey, {0, 0, oa}), 0);
    ASSERT_EQ(s.enter(kNtWriteFile, {handles[1], 0, 0, 0, 0, 0x10000000u, 0xffffffffu, 0, 0}), 0);
    ASSERT_EQ(s.enter(kNtClose, {0x7ffffffcu}), 0); // handle index beyond any table
    s.w.mem.u32(s.w.processes.at(s.eprocess).table, 0xfffff003u); // level 3 garbage
    ASSERT_EQ(s.enter(kNtClose, {8}), 0);
    ASSERT_EQ(s.enter(kNtWriteFile, {0, 0, 0, 0, 0, 0xfffff000u, 0xffffffffu, 0, 0}), 0); // wraps 4 GiB
    auto tr = s.finish();
    auto calls = Session::syscalls(tr);
    ASSERT_EQ(calls.size(), 9u);
    for (const auto *c : calls) EXPECT_LE(c->pages.size(), 64u);
}

TEST(Capture, WatchAllCapturesTheClosureOfEveryCall) {
    Session s("watch-all", false);
    s.opts.watch_all = 1;
    s.open();
    s.boot();
    uint32_t key = s.w.key({"REGISTRY", "MACHINE"});
    uint32_t h = s.w.add_handle(s.eprocess, key);
    ASSERT_EQ(s.enter(126 /* NtFlushKey(HANDLE) */, {h}), 0);
    auto t = s.finish();
    auto calls = Session::syscalls(t);
    EXPECT_EQ(calls[0]->capture, 1);
    EXPECT_TRUE(pages_of(*calls[0]).count({0, key >> 12}));
    std::map<std::string, std::string> settings(t.records[0].settings.begin(), t.records[0].settings.end());
    EXPECT_EQ(settings["watch"], "all");
}

TEST(Capture, ContextSwitchRecordsTheNewThreadIdentity) {
    Session s("switch");
    s.boot();
    uint32_t other = s.w.process(4, 0, "System", "", 0x00185000);
    uint32_t ot = s.w.thread(other, 8);
    s.w.set_current_thread(ot);
    w7rec_cpu c = s.w.cpu(77, 0, 0);
    ASSERT_EQ(w7rec_asid_changed(s.rec, &c, 0x1000, 0x2000, fake::Memory::read, &s.w.mem), 0);
    auto t = s.finish();
    const trace::Record *sw = nullptr;
    for (const auto &r : t.records) if (r.type == 4) sw = &r;
    ASSERT_NE(sw, nullptr);
    EXPECT_EQ(sw->instr, 77u);
    EXPECT_EQ(sw->old_cr3, 0x1000u);
    EXPECT_EQ(sw->new_cr3, 0x2000u);
    EXPECT_EQ(sw->thread, ot);
    EXPECT_TRUE(pages_of(*sw).count({0, (other + 0xb4) >> 12}));
}

TEST(Capture, DuplicateObjectResolvesHandlesInTheSourceAndTargetTables) {
    Session s("duplicate");
    s.boot();
    uint32_t other = s.w.process(900, 1232, "child.exe", "\\Device\\HarddiskVolume2\\child.exe", 0x2d000000);
    uint32_t other_ph = s.w.add_handle(s.eprocess, s.w.processes.at(other).header);
    uint32_t key = s.w.key({"REGISTRY", "MACHINE", "SYSTEM"});
    uint32_t src = s.w.add_handle(s.eprocess, key);
    uint32_t dup_in_other = s.w.add_handle(other, key);
    uint32_t out = s.w.ualloc(4);
    ASSERT_EQ(s.enter(kNtDuplicateObject, {0xffffffffu, src, other_ph, out, 0, 0, 2}), 0);
    s.w.mem.u32(out, dup_in_other);
    ASSERT_EQ(s.ret(0), 0);
    auto tr = s.finish();
    auto calls = Session::syscalls(tr);
    const auto &other_table = s.w.processes.at(other);
    PageSet r = pages_of(*calls[1]);
    EXPECT_TRUE(r.count({0, other_table.table >> 12})) << "target process's HANDLE_TABLE";
    EXPECT_TRUE(r.count({0, other_table.table_page >> 12})) << "target process's entries";
    EXPECT_TRUE(r.count({0, key >> 12}));
}

TEST(Capture, SetValueDataIsCappedAndOpenProcessClientIdIsCaptured) {
    Session s("setvalue", false);
    s.opts.data_cap = 100;
    s.open();
    s.boot();
    uint32_t key = s.w.key({"REGISTRY", "MACHINE", "SOFTWARE"});
    uint32_t h = s.w.add_handle(s.eprocess, key);
    uint32_t value_name = s.w.ualloc(8);
    uint32_t value_buf = s.w.unicode_string(value_name, "Run", false);
    s.w.own_page = false;
    uint32_t data = (s.w.ualloc(0x3000) + 0xfff) & ~0xfffu;
    s.w.own_page = true;
    uint32_t data_end_page = (data + 0x1000 - 50) >> 12; // the data starts 50 bytes before a page end
    ASSERT_EQ(s.enter(kNtSetValueKey, {h, value_name, 0, 1, data + 0x1000 - 50, 4000}), 0);
    uint32_t cid = s.w.ualloc(8), out = s.w.ualloc(4);
    ASSERT_EQ(s.enter(kNtOpenProcess, {out, 0x1fffff, 0, cid}), 0);
    auto tr = s.finish();
    auto calls = Session::syscalls(tr);
    PageSet v = pages_of(*calls[0]);
    EXPECT_TRUE(v.count({s.w.mem.cr3, value_buf >> 12})) << "ValueName buffer";
    EXPECT_TRUE(v.count({s.w.mem.cr3, data_end_page}));
    EXPECT_TRUE(v.count({s.w.mem.cr3, data_end_page + 1})) << "100 bytes of data span two pages";
    EXPECT_FALSE(v.count({s.w.mem.cr3, data_end_page + 2})) << "data_cap bounds the 4000 bytes";
    EXPECT_TRUE(pages_of(*calls[1]).count({s.w.mem.cr3, cid >> 12})) << "CLIENT_ID";
}

// Nested calls on one thread pair by stack, innermost first; nesting deeper than the core keeps (8) forgets the
// outermost calls, whose returns then come unmatched, and END keeps counting them as enters never paired.
TEST(Capture, DeepNestingPairsByStackAndCountsWhatItForgets) {
    Session s("deep-nesting");
    s.boot();
    uint32_t top = s.w.ualloc(0x1000) + 0xf00;
    std::vector<uint32_t> frames;
    for (uint32_t depth = 0; depth < 10; depth++) {
        uint32_t edx = top - depth * 0x100; // each nested call runs deeper
        s.w.mem.u32(edx, 0x77a764f4u);
        s.w.mem.u32(edx + 8, depth);
        s.w.mem.u32(edx + 12, 0);
        w7rec_cpu c = s.w.cpu(s.instr++, kNtDelayExecution, edx);
        ASSERT_EQ(w7rec_sys_enter(s.rec, &c, fake::Memory::read, &s.w.mem, nullptr), 0);
        frames.push_back(edx);
    }
    for (size_t i = frames.size(); i-- > 0;) ASSERT_EQ(s.ret(0, kNtDelayExecution, frames[i]), 0);
    auto t = s.finish();
    std::vector<const trace::Record *> rets;
    for (const auto *r : Session::all_syscalls(t)) if (r->phase == 1) rets.push_back(r);
    ASSERT_EQ(rets.size(), 10u);
    for (size_t i = 0; i < 8; i++) {
        SCOPED_TRACE(i);
        EXPECT_EQ(rets[i]->capture & 6, 0);
        ASSERT_EQ(rets[i]->args.size(), 2u);
        EXPECT_EQ(rets[i]->args[0], 9 - i) << "innermost first";
    }
    EXPECT_EQ(rets[8]->capture, 2) << "forgotten: its return has no enter";
    EXPECT_EQ(rets[9]->capture, 2);
    const auto &end = t.records.back();
    EXPECT_EQ(end.end_fields[6], 2u);  // unmatched_returns
    EXPECT_EQ(end.end_fields[7], 0u);  // returns_inferred
    EXPECT_EQ(end.end_fields[9], 2u);  // enters_pending: the two forgotten enters were never paired
}
