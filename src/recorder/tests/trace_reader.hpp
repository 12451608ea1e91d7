// trace_reader.hpp — an independent reader of trace.lz4 (tracefmt/FORMAT.md) for the tests: decodes the LZ4
// frames, splits the record stream, and prints one JSON object per record in the vectors' shapes.
#pragma once

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <lz4frame.h>

namespace trace {

struct PageRef { uint32_t space, vpn, content_id; };

struct Record {
    uint16_t type = 0;
    uint32_t length = 0;
    std::vector<uint8_t> body;
    // decoded fields (by type)
    uint32_t magic = 0, page_size = 0, kernel_base = 0;
    uint16_t major = 0, minor = 0;
    std::string guest_profile, recorder_name, recorder_version, replay_name, reason;
    std::vector<std::pair<std::string, std::string>> settings;
    uint32_t content_id = 0;
    uint64_t hash = 0;
    uint64_t instr = 0, enter_instr = 0;
    uint32_t pc = 0, cr3 = 0, thread = 0, callno = 0, eax = 0, edx = 0, esp = 0, fs_base = 0, gdt_base = 0;
    uint8_t phase = 0, capture = 0;
    std::vector<uint32_t> args;
    std::vector<PageRef> pages;
    uint32_t old_cr3 = 0, new_cr3 = 0;
    // END: total_instr, syscall_records, switch_records, page_records, page_refs, unreadable_refs,
    // unmatched_returns, returns_inferred, returns_by_hook, enters_pending
    uint64_t end_fields[10] = {};
    uint8_t total_known = 0;
};

struct Trace {
    std::vector<Record> records;
    bool truncated = false;
    size_t frames = 0;
    std::map<uint32_t, std::vector<uint8_t>> page_data; // content id → bytes
};

class Cursor {
  public:
    Cursor(const std::vector<uint8_t> &b, size_t pos, size_t end) : b_(b), pos_(pos), end_(end) {}
    uint8_t u8() { need(1); return b_[pos_++]; }
    uint16_t u16() { need(2); uint16_t v = (uint16_t)(b_[pos_] | b_[pos_ + 1] << 8); pos_ += 2; return v; }
    uint32_t u32() { uint32_t lo = u16(); return lo | (uint32_t)u16() << 16; }
    uint64_t u64() { uint64_t lo = u32(); return lo | (uint64_t)u32() << 32; }
    std::string str() { uint16_t n = u16(); need(n); std::string s(b_.begin() + (long)pos_, b_.begin() + (long)(pos_ + n)); pos_ += n; return s; }
    std::vector<uint8_t> bytes(size_t n) { need(n); std::vector<uint8_t> v(b_.begin() + (long)pos_, b_.begin() + (long)(pos_ + n)); pos_ += n; return v; }
  private:
    void need(size_t n) { if (pos_ + n > end_) throw std::runtime_error("record body too short"); }
    const std::vector<uint8_t> &b_;
    size_t pos_, end_;
};

inline std::vector<uint8_t> read_file(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot open " + path);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

// Decompresses whole frames; returns the record stream of the complete frames and sets `truncated` when the
// file ends inside a frame.
inline std::vector<uint8_t> decompress(const std::vector<uint8_t> &file, bool &truncated, size_t &frames) {
    LZ4F_dctx *dctx;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION))) throw std::runtime_error("lz4 ctx");
    std::vector<uint8_t> out, frame;
    std::vector<uint8_t> chunk(1 << 16);
    size_t pos = 0;
    bool in_frame = false;
    truncated = false;
    frames = 0;
    while (pos < file.size()) {
        size_t in = file.size() - pos, produced = chunk.size();
        size_t hint = LZ4F_decompress(dctx, chunk.data(), &produced, file.data() + pos, &in, nullptr);
        if (LZ4F_isError(hint)) { LZ4F_freeDecompressionContext(dctx); throw std::runtime_error(LZ4F_getErrorName(hint)); }
        frame.insert(frame.end(), chunk.begin(), chunk.begin() + (long)produced);
        pos += in;
        in_frame = true;
        if (hint == 0) { // frame complete
            in_frame = false;
            out.insert(out.end(), frame.begin(), frame.end());
            frame.clear();
            frames++;
        } else if (in == 0 && produced == 0) {
            break;
        }
    }
    if (in_frame) truncated = true; // the file ends inside a frame
    LZ4F_freeDecompressionContext(dctx);
    return out;
}

inline Trace parse(const std::vector<uint8_t> &file) {
    Trace t;
    std::vector<uint8_t> s = decompress(file, t.truncated, t.frames);
    size_t pos = 0;
    while (pos < s.size()) {
        if (s.size() - pos < 8) throw std::runtime_error("partial record header");
        Record r;
        r.type = (uint16_t)(s[pos] | s[pos + 1] << 8);
        r.length = (uint32_t)s[pos + 4] | (uint32_t)s[pos + 5] << 8 | (uint32_t)s[pos + 6] << 16 | (uint32_t)s[pos + 7] << 24;
        size_t body = pos + 8;
        if (s.size() - body < r.length) throw std::runtime_error("record past the end of its frame");
        Cursor c(s, body, body + r.length);
        switch (r.type) {
        case 1:
            r.magic = c.u32(); r.major = c.u16(); r.minor = c.u16(); r.page_size = c.u32(); r.kernel_base = c.u32();
            r.guest_profile = c.str(); r.recorder_name = c.str(); r.recorder_version = c.str(); r.replay_name = c.str();
            for (uint16_t n = c.u16(), i = 0; i < n; i++) { std::string k = c.str(); r.settings.emplace_back(k, c.str()); }
            break;
        case 2:
            r.content_id = c.u32(); r.hash = c.u64(); t.page_data[r.content_id] = c.bytes(4096);
            break;
        case 3: {
            r.instr = c.u64(); r.pc = c.u32(); r.cr3 = c.u32(); r.thread = c.u32(); r.phase = c.u8(); r.capture = c.u8();
            uint16_t nargs = c.u16();
            r.callno = c.u32(); r.eax = c.u32(); r.edx = c.u32(); r.esp = c.u32(); r.fs_base = c.u32(); r.gdt_base = c.u32();
            r.enter_instr = c.u64();
            for (uint16_t i = 0; i < nargs; i++) r.args.push_back(c.u32());
            for (uint32_t n = c.u32(), i = 0; i < n; i++) { PageRef p; p.space = c.u32(); p.vpn = c.u32(); p.content_id = c.u32(); r.pages.push_back(p); }
            break;
        }
        case 4:
            r.instr = c.u64(); r.old_cr3 = c.u32(); r.new_cr3 = c.u32(); r.thread = c.u32();
            for (uint32_t n = c.u32(), i = 0; i < n; i++) { PageRef p; p.space = c.u32(); p.vpn = c.u32(); p.content_id = c.u32(); r.pages.push_back(p); }
            break;
        case 5:
            r.end_fields[0] = c.u64();
            r.total_known = c.u8();
            for (int i = 1; i < 10; i++) r.end_fields[i] = c.u64();
            r.reason = c.str();
            break;
        default:
            break;
        }
        t.records.push_back(std::move(r));
        pos = body + t.records.back().length;
    }
    return t;
}

inline std::string json_str(const std::string &s) {
    std::string o = "\"";
    for (unsigned char ch : s) {
        if (ch == '"' || ch == '\\') { o += '\\'; o += (char)ch; }
        else if (ch < 0x20) { char b[8]; snprintf(b, sizeof b, "\\u%04x", ch); o += b; }
        else o += (char)ch;
    }
    return o + "\"";
}

inline std::string pages_json(const std::vector<PageRef> &pages) {
    std::ostringstream o;
    o << "[";
    for (size_t i = 0; i < pages.size(); i++)
        o << (i ? "," : "") << "[" << pages[i].space << "," << pages[i].vpn << "," << pages[i].content_id << "]";
    o << "]";
    return o.str();
}

inline std::string to_jsonl(const Trace &t) {
    std::ostringstream o;
    for (const Record &r : t.records) {
        switch (r.type) {
        case 1:
            o << "{\"type\":\"header\",\"major\":" << r.major << ",\"minor\":" << r.minor << ",\"page_size\":" << r.page_size
              << ",\"kernel_base\":" << r.kernel_base << ",\"guest_profile\":" << json_str(r.guest_profile)
              << ",\"recorder_name\":" << json_str(r.recorder_name) << ",\"recorder_version\":" << json_str(r.recorder_version)
              << ",\"replay_name\":" << json_str(r.replay_name) << ",\"settings\":{";
            for (size_t i = 0; i < r.settings.size(); i++)
                o << (i ? "," : "") << json_str(r.settings[i].first) << ":" << json_str(r.settings[i].second);
            o << "}}\n";
            break;
        case 2: {
            char h[17];
            snprintf(h, sizeof h, "%016llx", (unsigned long long)r.hash);
            o << "{\"type\":\"page\",\"content_id\":" << r.content_id << ",\"hash\":\"" << h << "\"}\n";
            break;
        }
        case 3:
            o << "{\"type\":\"syscall\",\"instr\":" << r.instr << ",\"pc\":" << r.pc << ",\"cr3\":" << r.cr3 << ",\"thread\":" << r.thread
              << ",\"phase\":" << (int)r.phase << ",\"capture\":" << (int)r.capture << ",\"callno\":" << r.callno << ",\"eax\":" << r.eax
              << ",\"edx\":" << r.edx << ",\"esp\":" << r.esp << ",\"fs_base\":" << r.fs_base << ",\"gdt_base\":" << r.gdt_base
              << ",\"enter_instr\":" << r.enter_instr << ",\"args\":[";
            for (size_t i = 0; i < r.args.size(); i++) o << (i ? "," : "") << r.args[i];
            o << "],\"pages\":" << pages_json(r.pages) << "}\n";
            break;
        case 4:
            o << "{\"type\":\"switch\",\"instr\":" << r.instr << ",\"old_cr3\":" << r.old_cr3 << ",\"new_cr3\":" << r.new_cr3
              << ",\"thread\":" << r.thread << ",\"pages\":" << pages_json(r.pages) << "}\n";
            break;
        case 5:
            o << "{\"type\":\"end\",\"total_instr\":" << r.end_fields[0] << ",\"total_known\":" << (int)r.total_known
              << ",\"syscall_records\":" << r.end_fields[1]
              << ",\"switch_records\":" << r.end_fields[2] << ",\"page_records\":" << r.end_fields[3] << ",\"page_refs\":" << r.end_fields[4]
              << ",\"unreadable_refs\":" << r.end_fields[5] << ",\"unmatched_returns\":" << r.end_fields[6]
              << ",\"returns_inferred\":" << r.end_fields[7] << ",\"returns_by_hook\":" << r.end_fields[8]
              << ",\"enters_pending\":" << r.end_fields[9] << ",\"reason\":" << json_str(r.reason) << "}\n";
            break;
        default:
            o << "{\"type\":\"unknown\",\"record_type\":" << r.type << ",\"length\":" << r.length << "}\n";
            break;
        }
    }
    if (t.truncated) o << "{\"type\":\"truncated\"}\n";
    return o.str();
}

} // namespace trace
