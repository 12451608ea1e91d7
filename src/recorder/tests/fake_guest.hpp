// fake_guest.hpp — a fake Windows 7 x86 guest memory for the tests and the benchmark: sparse 4 KiB pages per
// address space (kernel pages shared), plus a builder that lays out the structures of win7_layout.h.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

extern "C" {
#include "w7rec.h"
}

namespace fake {

constexpr uint32_t kPage = 4096;

struct Memory {
    uint32_t kernel_base = 0x80000000u;
    uint32_t cr3 = 0x00185000u; // current address space
    std::map<uint64_t, std::unique_ptr<std::array<uint8_t, kPage>>> pages;
    std::set<uint64_t> unreadable; // pages that exist but refuse reads
    uint64_t reads = 0;

    uint64_t key(uint32_t space, uint32_t va) const { return (uint64_t)space << 32 | (va >> 12); }
    uint32_t space_of(uint32_t va, uint32_t space) const { return va >= kernel_base ? 0 : space; }

    uint8_t *at(uint32_t va, uint32_t space) {
        auto &p = pages[key(space_of(va, space), va)];
        if (!p) p = std::make_unique<std::array<uint8_t, kPage>>(), p->fill(0);
        return p->data() + (va & 0xfff);
    }
    void bytes(uint32_t va, const void *src, uint32_t n, uint32_t space = 0) {
        const uint8_t *s = static_cast<const uint8_t *>(src);
        for (uint32_t i = 0; i < n; i++) *at(va + i, space ? space : cr3) = s[i];
    }
    void u8(uint32_t va, uint8_t v, uint32_t space = 0) { bytes(va, &v, 1, space); }
    void u16(uint32_t va, uint16_t v, uint32_t space = 0) {
        uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
        bytes(va, b, 2, space);
    }
    void u32(uint32_t va, uint32_t v, uint32_t space = 0) {
        uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
        bytes(va, b, 4, space);
    }
    void make_unreadable(uint32_t va, uint32_t space = 0) { unreadable.insert(key(space_of(va, space ? space : cr3), va)); }

    static int read(void *opaque, uint32_t va, uint8_t *buf, uint32_t len) {
        auto *m = static_cast<Memory *>(opaque);
        m->reads++;
        if ((va & 0xfff) + len > kPage) return -2; // the core promised never to do this
        uint64_t k = m->key(m->space_of(va, m->cr3), va);
        if (m->unreadable.count(k)) return -1;
        auto it = m->pages.find(k);
        if (it == m->pages.end()) return -1;
        std::memcpy(buf, it->second->data() + (va & 0xfff), len);
        return 0;
    }
};

// Object type indices and offsets restated for the builder (from win7-x86-layouts.md).
enum : uint8_t { kProcess = 7, kThread = 8, kDevice = 25, kFile = 28, kSection = 33, kKey = 35, kAlpcPort = 36, kDirectory = 3 };

// Lays out Windows 7 structures in a Memory. Every allocation can be forced onto its own page (`own_page`), so
// tests can tell which structures were captured from the page map alone.
struct World {
    Memory mem;
    uint32_t gdt = 0x80b95000u;
    uint32_t kpcr = 0x82f3ec00u;
    uint32_t pool = 0x84000000u;       // kernel pool bump allocator
    uint32_t user = 0x00400000u;       // user bump allocator (current cr3)
    bool own_page = true;

    World() {
        // GDT descriptor 0x30 → base = KPCR: e1[31:16] = base[15:0]; e2[7:0] = base[23:16]; e2[31:24] = base[31:24]
        uint32_t e1 = (kpcr & 0xffffu) << 16 | 0x3748u;
        uint32_t e2 = (kpcr & 0xff000000u) | ((kpcr >> 16) & 0xffu) | 0x00409300u;
        mem.u32(gdt + 0x30, e1);
        mem.u32(gdt + 0x34, e2);
        mem.u32(kpcr + 0x1c, kpcr);
        mem.u32(kpcr + 0x20, kpcr + 0x120);
        // KUSER_SHARED_DATA.SystemTime (KSYSTEM_TIME at +0x14: LowPart, High1Time, High2Time) = 2016-01-01 00:00 UTC
        // as a FILETIME: 130960800000000000 = 0x01d144275b804000.
        mem.u32(0xffdf0000u + 0x14, 0x5b804000u);
        mem.u32(0xffdf0000u + 0x18, 0x01d14427u);
        mem.u32(0xffdf0000u + 0x1c, 0x01d14427u);
    }

    uint32_t kalloc(uint32_t size) {
        if (own_page) pool = (pool + 0xfff) & ~0xfffu;
        uint32_t a = (pool + 7) & ~7u;
        pool = a + size;
        mem.at(a, 0);
        return a;
    }
    uint32_t ualloc(uint32_t size) {
        if (own_page) user = (user + 0xfff) & ~0xfffu;
        uint32_t a = (user + 7) & ~7u;
        user = a + size;
        mem.at(a, mem.cr3);
        return a;
    }

    // UTF-16LE string bytes at va
    void wstr(uint32_t va, const std::string &s) {
        for (size_t i = 0; i < s.size(); i++) mem.u16(va + 2 * (uint32_t)i, (uint8_t)s[i]);
    }
    // UNICODE_STRING at `at` pointing to a new buffer (kernel or user); returns the buffer address
    uint32_t unicode_string(uint32_t at, const std::string &s, bool kernel) {
        uint32_t buf = kernel ? kalloc((uint32_t)s.size() * 2 + 2) : ualloc((uint32_t)s.size() * 2 + 2);
        wstr(buf, s);
        mem.u16(at, (uint16_t)(s.size() * 2));
        mem.u16(at + 2, (uint16_t)(s.size() * 2 + 2));
        mem.u32(at + 4, buf);
        return buf;
    }

    // An object: optional name info (+ creator info), header, body. Returns the header address.
    uint32_t object(uint8_t type, uint32_t body_size, const std::string &name = "", uint32_t directory = 0) {
        bool named = !name.empty();
        uint32_t below = named ? 0x20 : 0; // creator info 0x10 + name info 0x10
        uint32_t base = kalloc(below + 0x18 + body_size);
        uint32_t header = base + below;
        mem.u32(header + 0x0, 1);
        mem.u8(header + 0xc, type);
        mem.u8(header + 0xe, named ? 0x03 : 0x00);
        if (named) {
            uint32_t name_info = header - 0x10 - 0x10;
            mem.u32(name_info + 0x0, directory);
            unicode_string(name_info + 0x4, name, true);
        }
        return header;
    }
    static uint32_t body(uint32_t header) { return header + 0x18; }

    struct Process { uint32_t header, eprocess, table, table_page; uint32_t next_handle = 4; };
    std::map<uint32_t, Process> processes; // by eprocess

    uint32_t process(uint32_t pid, uint32_t ppid, const std::string &name, const std::string &image_path, uint32_t cr3) {
        uint32_t header = object(kProcess, 0x2c0);
        uint32_t ep = body(header);
        mem.u8(ep + 0, 3);
        mem.u8(ep + 2, 0x26);
        mem.u32(ep + 0x18, cr3);
        mem.u32(ep + 0xb4, pid);
        mem.u32(ep + 0x140, ppid);
        for (size_t i = 0; i < name.size() && i < 14; i++) mem.u8(ep + 0x16c + (uint32_t)i, (uint8_t)name[i]);
        mem.u32(ep + 0x1a8, 0x7ffdf000u);
        uint32_t audit = kalloc(8);
        unicode_string(audit, image_path, true);
        mem.u32(ep + 0x1ec, audit);
        uint32_t table = kalloc(0x3c);
        uint32_t entries = kalloc(kPage);
        mem.u32(table + 0x0, entries); // level 0
        mem.u32(table + 0x8, pid);
        mem.u32(ep + 0xf4, table);
        processes[ep] = Process{header, ep, table, entries};
        return ep;
    }

    uint32_t thread(uint32_t eprocess, uint32_t tid) {
        uint32_t header = object(kThread, 0x2b8);
        uint32_t t = body(header);
        mem.u32(t + 0x150, eprocess);
        mem.u32(t + 0x22c, mem.at(eprocess + 0xb4, 0)[0] | mem.at(eprocess + 0xb5, 0)[0] << 8);
        mem.u32(t + 0x230, tid);
        return t;
    }
    void set_current_thread(uint32_t kthread) { mem.u32(kpcr + 0x124, kthread); }

    // Adds a handle to a level-0 table (up to 511 handles); returns the handle value.
    uint32_t add_handle(uint32_t eprocess, uint32_t header) {
        Process &p = processes.at(eprocess);
        uint32_t h = p.next_handle;
        p.next_handle += 4;
        uint32_t idx = h >> 2;
        mem.u32(p.table_page + 8 * idx, header | 1); // low bits are flags
        mem.u32(p.table_page + 8 * idx + 4, 0x1f01ff);
        return h;
    }

    // File object on a named device; returns the header.
    uint32_t device(const std::string &name) {
        uint32_t dir = object(kDirectory, 0x10, "Device");
        return object(kDevice, 0xb8, name, body(dir));
    }
    uint32_t file(uint32_t device_header, const std::string &file_name, uint32_t related_body = 0) {
        uint32_t header = object(kFile, 0x80);
        uint32_t fo = body(header);
        mem.u16(fo + 0, 5);
        mem.u16(fo + 2, 0x80);
        mem.u32(fo + 0x4, device_header ? body(device_header) : 0);
        mem.u32(fo + 0x20, related_body);
        unicode_string(fo + 0x30, file_name, true);
        return header;
    }

    // A key: KCB chain from the root, names given root first (e.g. {"REGISTRY","MACHINE","SOFTWARE"}).
    std::vector<uint32_t> last_kcbs, last_name_blocks;
    uint32_t key(const std::vector<std::string> &names) {
        uint32_t parent = 0;
        last_kcbs.clear();
        last_name_blocks.clear();
        for (const auto &n : names) {
            uint32_t kcb = kalloc(0xa0);
            uint32_t ncb = kalloc(0x10 + (uint32_t)n.size());
            mem.u8(ncb + 0, 1); // compressed: 1 byte per character
            mem.u16(ncb + 0xc, (uint16_t)n.size());
            mem.bytes(ncb + 0xe, n.data(), (uint32_t)n.size(), 0);
            mem.u32(kcb + 0x28, parent);
            mem.u32(kcb + 0x2c, ncb);
            last_kcbs.push_back(kcb);
            last_name_blocks.push_back(ncb);
            parent = kcb;
        }
        uint32_t header = object(kKey, 0x2c);
        mem.u32(body(header) + 0x4, parent);
        return header;
    }

    // Section backed by a file object: returns the header; segment/control area are separate allocations.
    uint32_t section(uint32_t file_header) {
        uint32_t header = object(kSection, 0x18);
        uint32_t segment = kalloc(0x30);
        uint32_t ca = kalloc(0x50);
        mem.u32(body(header) + 0x14, segment);
        mem.u32(segment + 0x0, ca);
        mem.u32(ca + 0x0, segment);
        mem.u32(ca + 0x24, file_header ? body(file_header) | 1 : 0);
        return header;
    }

    // ALPC connection port (named) with a server and client communication port.
    struct Ports { uint32_t connection, server, client, comm; };
    Ports alpc(const std::string &name, uint32_t server_ep, uint32_t client_ep) {
        Ports p{};
        uint32_t dir = object(kDirectory, 0x10, "RPC Control");
        p.connection = object(kAlpcPort, 0xfc, name, body(dir));
        p.server = object(kAlpcPort, 0xfc);
        p.client = object(kAlpcPort, 0xfc);
        p.comm = kalloc(0x24);
        mem.u32(p.comm + 0x0, body(p.connection));
        mem.u32(p.comm + 0x4, body(p.server));
        mem.u32(p.comm + 0x8, body(p.client));
        for (uint32_t h : {p.connection, p.server, p.client}) mem.u32(body(h) + 0x8, p.comm);
        mem.u32(body(p.connection) + 0xc, server_ep);
        mem.u32(body(p.server) + 0xc, server_ep);
        mem.u32(body(p.client) + 0xc, client_ep);
        return p;
    }

    // OBJECT_ATTRIBUTES in user memory with a name (and optional root handle); returns its address.
    uint32_t object_attributes(const std::string &name, uint32_t root = 0) {
        uint32_t oa = ualloc(0x18 + 8);
        mem.u32(oa + 0x0, 0x18);
        mem.u32(oa + 0x4, root);
        mem.u32(oa + 0x8, oa + 0x18);
        mem.u32(oa + 0xc, 0x40);
        unicode_string(oa + 0x18, name, false);
        return oa;
    }

    // A user stack frame for a call: [edx] return address, [edx+4] caller, then the args. Returns edx.
    uint32_t stack(const std::vector<uint32_t> &args) {
        uint32_t edx = ualloc(8 + 4 * (uint32_t)args.size());
        mem.u32(edx, 0x77a764f4u);
        mem.u32(edx + 4, 0x7594c3b1u);
        for (size_t i = 0; i < args.size(); i++) mem.u32(edx + 8 + 4 * (uint32_t)i, args[i]);
        return edx;
    }

    w7rec_cpu cpu(uint64_t instr, uint32_t eax, uint32_t edx) const {
        w7rec_cpu c{};
        c.instr = instr;
        c.pc = 0x77a770b0u;
        c.cr3 = mem.cr3;
        c.eax = eax;
        c.edx = edx;
        c.esp = edx;
        c.fs_base = 0x7ffdf000u;
        c.gdt_base = gdt;
        return c;
    }
};

} // namespace fake
