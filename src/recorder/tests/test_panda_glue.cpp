// test_panda_glue.cpp — the PANDA glue (src/recorder/panda/win7rec.cpp, compiled for i386-softmmu against the
// stubs in panda_stub/) driven by a fake PANDA whose syscalls2 and hooks behave like the real ones at
// panda-re/panda c3634879:
// - syscalls2 keeps one pending call per (return address, CR3) (`running_syscalls[make_pair(retaddr, asid)]`:
//   a second enter in the same stub and address space overwrites the first), runs on_all_sys_enter2 and then
//   adds a BEFORE_TCG_CODEGEN hook at the return address; its hook_syscall_return looks up (tb->pc, asid), runs
//   on_all_sys_return2, erases the entry and always disables its hook after the first hit (syscalls2.cpp ~1015).
// - hooks keeps a set per ASID ordered by (addr, asid, type, cb): identical hooks collapse; at an address it runs
//   every enabled hook of the current ASID, then of ASID 0, and erases the ones a callback disabled
//   (hooks.cpp ~54, LOOP_ASID_CHECK). Which of two callbacks at one address runs first depends on their function
//   addresses, so the tests run both orders.
// - asid_changed runs before CR3 is written (target/i386/helper.c ~643); replay_get_total_num_instructions() is
//   0 once the replay log is freed, which happens before plugins are unloaded (rr_log.c ~1363, ~1864).
#include <gtest/gtest.h>

#include <dlfcn.h>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "panda/plugin.h"
#include "syscalls2/syscalls_ext_typedefs.h"
#include "hooks/hooks_int_fns.h"

#include "fake_guest.hpp"
#include "test_support.hpp"

extern "C" {
bool init_plugin(void *self);
void uninit_plugin(void *self);
}

namespace {

constexpr uint32_t kNtDelayExecution = 98, kNtWaitForSingleObject = 387, kNtClose = 50;
constexpr uint32_t kSysenter = 0x77a770b0u, kStubReturn = 0x77a764f4u;

struct FakePanda {
    fake::World *world = nullptr;
    CPUX86State env{};
    CPUState cpu{};
    uint64_t instr = 1000;
    bool in_replay = true;
    bool log_alive = true;
    uint64_t total_in_log = 0;
    std::map<std::string, std::string> args;
    std::vector<on_all_sys_enter2_t> enter_cbs;
    std::vector<on_all_sys_return2_t> return_cbs;
    panda_cb asid_cb{}, block_cb{};
    bool asid_registered = false, block_enabled = false;
    std::vector<hook> hooks;          // the hooks plugin's set (identical hooks collapse)
    bool syscalls2_hook_first = true; // order of the two callbacks at one address
    std::map<std::pair<uint32_t, uint32_t>, syscall_ctx_t> running; // syscalls2's running_syscalls
};
FakePanda *P;

void s2_hook_syscall_return(CPUState *cpu, TranslationBlock *tb, struct hook *h);

} // namespace

// ---- the PANDA API the glue links against (panda_stub/ declarations) ----
extern "C" {
char *panda_os_name = const_cast<char *>("windows-32-7sp1");
char *panda_os_family = const_cast<char *>("windows");
char *panda_os_variant = const_cast<char *>("7sp1");
uint32_t panda_os_bits = 32;
PandaOsFamily panda_os_familyno = OS_WINDOWS;

struct panda_arg_list { int unused; };
static panda_arg_list g_args;
panda_arg_list *panda_get_args(const char *) { return &g_args; }
void panda_free_args(panda_arg_list *) {}
const char *panda_parse_string_opt(panda_arg_list *, const char *name, const char *defval, const char *) {
    auto it = P->args.find(name);
    return it == P->args.end() ? defval : it->second.c_str();
}
uint32_t panda_parse_uint32_opt(panda_arg_list *, const char *name, uint32_t defval, const char *) {
    auto it = P->args.find(name);
    return it == P->args.end() ? defval : (uint32_t)strtoul(it->second.c_str(), nullptr, 0);
}
bool panda_parse_bool_opt(panda_arg_list *, const char *name, const char *) {
    auto it = P->args.find(name);
    return it != P->args.end() && (it->second == "true" || it->second == "1" || it->second == "y");
}
void panda_require(const char *) {}
void *panda_get_plugin_by_name(const char *) { return dlopen(nullptr, RTLD_NOW); } // our own exports
bool init_syscalls2_api(void) { return true; }
void panda_register_callback(void *, panda_cb_type type, panda_cb cb) {
    if (type == PANDA_CB_ASID_CHANGED) P->asid_cb = cb, P->asid_registered = true;
    if (type == PANDA_CB_BEFORE_BLOCK_EXEC) P->block_cb = cb, P->block_enabled = true;
}
void panda_disable_callback(void *, panda_cb_type type, panda_cb) {
    if (type == PANDA_CB_BEFORE_BLOCK_EXEC) P->block_enabled = false;
}
int panda_virtual_memory_rw(CPUState *env, target_ulong addr, uint8_t *buf, int len, bool is_write) {
    if (is_write || len <= 0) return -1;
    auto *x86 = static_cast<CPUX86State *>(env->env_ptr);
    P->world->mem.cr3 = x86->cr[3]; // reads go through the current CR3, as in PANDA
    return fake::Memory::read(&P->world->mem, addr, buf, (uint32_t)len) == 0 ? 0 : -1;
}
target_ulong panda_current_pc(CPUState *) { return P->env.eip; }
uint64_t rr_get_guest_instr_count(void) { return P->instr; }
uint64_t replay_get_total_num_instructions(void) { return P->log_alive ? P->total_in_log : 0; }
bool rr_in_replay(void) { return P->in_replay; }

__attribute__((visibility("default"))) void ppp_add_cb_on_all_sys_enter2(on_all_sys_enter2_t cb) { P->enter_cbs.push_back(cb); }
__attribute__((visibility("default"))) void ppp_add_cb_on_all_sys_return2(on_all_sys_return2_t cb) { P->return_cbs.push_back(cb); }
__attribute__((visibility("default"))) void add_hook(struct hook *h) {
    for (const auto &e : P->hooks)
        if (e.addr == h->addr && e.asid == h->asid && e.type == h->type &&
            e.cb.before_tcg_codegen == h->cb.before_tcg_codegen)
            return; // std::set<hook> with operator< on (addr, asid, type, cb): a duplicate is not inserted
    P->hooks.push_back(*h);
}
}

namespace {

void s2_hook_syscall_return(CPUState *cpu, TranslationBlock *tb, struct hook *h) {
    auto it = P->running.find({(uint32_t)tb->pc, (uint32_t)P->env.cr[3]});
    if (it == P->running.end()) it = P->running.find({(uint32_t)tb->pc, 0u});
    if (it != P->running.end()) {
        syscall_ctx_t ctx = it->second;
        for (auto cb : P->return_cbs) cb(cpu, tb->pc, nullptr, &ctx);
        P->running.erase(it);
    }
    h->enabled = false; // always, after the first hit
}

// A guest running one process; threads are (KTHREAD, stack) pairs of it.
struct Replay {
    FakePanda panda;
    support::Session s;
    uint32_t t1 = 0, t2 = 0;

    explicit Replay(const std::string &name, bool hooks = true, uint64_t total = 50000) : s(name, false) {
        P = &panda;
        panda.world = &s.w;
        panda.cpu.env_ptr = &panda.env;
        panda.total_in_log = total;
        panda.args["trace"] = s.path;
        if (!hooks) panda.args["syscalls2_only"] = "true";
        s.boot();
        t1 = s.kthread;
        t2 = s.w.thread(s.eprocess, 2000);
        panda.env.cr[3] = s.w.mem.cr3;
        panda.env.gdt.base = s.w.gdt;
        EXPECT_TRUE(init_plugin(&panda));
        EXPECT_TRUE(panda.asid_registered);
        block();
    }
    ~Replay() {
        if (P == &panda) P = nullptr;
    }
    // PANDA runs a block: the glue's BEFORE_BLOCK_EXEC callback while it is enabled.
    void block() {
        if (panda.block_enabled) {
            TranslationBlock tb{};
            panda.block_cb.before_block_exec(&panda.cpu, &tb);
        }
    }
    // `thread` executes sysenter for call `callno` with a fresh user frame; returns EDX.
    uint32_t enter(uint32_t thread, uint32_t callno, std::vector<uint32_t> args = {0, 0}) {
        return enter_at(thread, callno, s.w.stack(args), args);
    }
    // The same with the frame at `edx` (e.g. below a pending frame of the thread: a nested call).
    uint32_t enter_at(uint32_t thread, uint32_t callno, uint32_t edx, const std::vector<uint32_t> &args) {
        s.w.mem.u32(edx, kStubReturn);
        for (size_t i = 0; i < args.size(); i++) s.w.mem.u32(edx + 8 + 4 * (uint32_t)i, args[i]);
        s.w.set_current_thread(thread);
        panda.instr += 10;
        block();
        panda.env.regs[R_EAX] = callno;
        panda.env.regs[R_EDX] = edx;
        panda.env.regs[R_ESP] = edx;
        panda.env.eip = kSysenter;
        syscall_ctx_t ctx{};
        ctx.no = (int)callno;
        ctx.asid = panda.env.cr[3];
        s.w.mem.cr3 = panda.env.cr[3];
        uint8_t b[4] = {0, 0, 0, 0};
        fake::Memory::read(&s.w.mem, edx, b, 4); // syscalls2: retaddr = [EDX]
        ctx.retaddr = (uint32_t)(b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24);
        for (auto cb : panda.enter_cbs) cb(&panda.cpu, kSysenter, nullptr, &ctx);
        hook h;
        memset(&h, 0, sizeof h);
        h.addr = ctx.retaddr;
        h.asid = ctx.asid;
        h.type = PANDA_CB_BEFORE_TCG_CODEGEN;
        h.cb.before_tcg_codegen = s2_hook_syscall_return;
        h.km = MODE_ANY;
        h.enabled = true;
        add_hook(&h);
        panda.running[{ctx.retaddr, ctx.asid}] = ctx; // one entry per (retaddr, asid): overwrites
        return edx;
    }
    // `thread` arrives back in the stub at the return address of the call entered with `edx`.
    void ret(uint32_t thread, uint32_t edx, uint32_t status) {
        s.w.set_current_thread(thread);
        panda.instr += 10;
        block();
        panda.env.regs[R_EAX] = status;
        panda.env.regs[R_ESP] = edx + 4;
        panda.env.eip = kStubReturn;
        TranslationBlock tb{};
        tb.pc = kStubReturn;
        // hooks: the current ASID's hooks at this address, then ASID 0's; the two plugins' callbacks in either order.
        for (uint32_t asid : {(uint32_t)panda.env.cr[3], 0u}) {
            std::vector<size_t> at;
            for (size_t i = 0; i < panda.hooks.size(); i++)
                if (panda.hooks[i].enabled && panda.hooks[i].addr == kStubReturn && panda.hooks[i].asid == asid) at.push_back(i);
            std::stable_sort(at.begin(), at.end(), [&](size_t a, size_t b) {
                bool as2 = panda.hooks[a].cb.before_tcg_codegen == s2_hook_syscall_return;
                bool bs2 = panda.hooks[b].cb.before_tcg_codegen == s2_hook_syscall_return;
                return panda.syscalls2_hook_first ? (as2 && !bs2) : (!as2 && bs2);
            });
            for (size_t i : at) panda.hooks[i].cb.before_tcg_codegen(&panda.cpu, &tb, &panda.hooks[i]);
            panda.hooks.erase(std::remove_if(panda.hooks.begin(), panda.hooks.end(), [](const hook &h) { return !h.enabled; }),
                              panda.hooks.end());
        }
    }
    // The guest loads CR3: PANDA calls asid_changed with old and new while CR3 still holds the old value.
    void load_cr3(uint32_t value) {
        panda.instr += 3;
        panda.asid_cb.asid_changed(&panda.cpu, panda.env.cr[3], value);
        panda.env.cr[3] = value;
    }
    // Replay end (or stop): PANDA frees the log, then unloads the plugin.
    trace::Trace finish(bool ran_to_end = true) {
        if (ran_to_end) panda.instr = std::max(panda.instr, panda.total_in_log);
        panda.log_alive = false;
        panda.in_replay = false;
        uninit_plugin(&panda);
        s.rec = nullptr; // closed by the glue
        return trace::parse(trace::read_file(s.path));
    }
    size_t glue_hooks() const {
        size_t n = 0;
        for (const auto &h : panda.hooks) n += h.cb.before_tcg_codegen != s2_hook_syscall_return;
        return n;
    }
};

const trace::Record &end_of(const trace::Trace &t) { return t.records.back(); }
enum { kTotal = 0, kSyscalls = 1, kUnmatched = 6, kInferred = 7, kByHook = 8, kPending = 9 };

std::vector<const trace::Record *> returns_of(const trace::Trace &t) {
    std::vector<const trace::Record *> v;
    for (const auto &r : t.records) if (r.type == 3 && r.phase == 1) v.push_back(&r);
    return v;
}

// Every return names its own enter: (cr3, thread, enter_instr) of an enter record with the same arguments.
void expect_paired(const trace::Trace &t, const trace::Record &ret, uint32_t thread, uint32_t first_arg) {
    EXPECT_EQ(ret.capture & 6, 0) << "paired return";
    EXPECT_EQ(ret.thread, thread);
    const trace::Record *enter = nullptr;
    for (const auto &r : t.records)
        if (r.type == 3 && r.phase == 0 && r.instr == ret.enter_instr && r.cr3 == ret.cr3 && r.thread == ret.thread) enter = &r;
    ASSERT_NE(enter, nullptr) << "no enter at " << ret.enter_instr;
    EXPECT_EQ(enter->args, ret.args);
    ASSERT_FALSE(ret.args.empty());
    EXPECT_EQ(ret.args[0], first_arg);
}

} // namespace

// Two threads of one process wait in the same stub (same return address, same CR3). syscalls2 keeps one of the two
// pending calls and delivers one return; our hook sees the other. Every order of enters and returns, each order of
// the two hook callbacks.
TEST(PandaGlue, TwoThreadsInOneStubAreBothPairedInEveryOrder) {
    for (int order = 0; order < 2; order++)
        for (int s2_first = 0; s2_first < 2; s2_first++) {
            SCOPED_TRACE("returns " + std::string(order ? "t2 first" : "t1 first") + ", syscalls2's hook " +
                         (s2_first ? "first" : "second"));
            Replay r("glue-two-threads");
            r.panda.syscalls2_hook_first = s2_first;
            uint32_t e1 = r.enter(r.t1, kNtWaitForSingleObject, {0x11, 0, 0});
            uint32_t e2 = r.enter(r.t2, kNtWaitForSingleObject, {0x22, 0, 0});
            EXPECT_EQ(r.panda.running.size(), 1u) << "syscalls2 keeps one call per (retaddr, asid)";
            EXPECT_EQ(r.glue_hooks(), 1u) << "one glue hook for both: identical hooks collapse";
            if (order == 0) {
                r.ret(r.t1, e1, 0x101);
                r.ret(r.t2, e2, 0x102);
            } else {
                r.ret(r.t2, e2, 0x102);
                r.ret(r.t1, e1, 0x101);
            }
            EXPECT_EQ(r.glue_hooks(), 0u) << "the glue drops its hook once no call waits there";
            auto t = r.finish();
            auto rets = returns_of(t);
            ASSERT_EQ(rets.size(), 2u);
            const trace::Record *r1 = rets[0]->thread == r.t1 ? rets[0] : rets[1];
            const trace::Record *r2 = rets[0]->thread == r.t1 ? rets[1] : rets[0];
            expect_paired(t, *r1, r.t1, 0x11);
            expect_paired(t, *r2, r.t2, 0x22);
            EXPECT_EQ(r1->eax, 0x101u);
            EXPECT_EQ(r2->eax, 0x102u);
            const auto &end = end_of(t);
            EXPECT_EQ(end.end_fields[kUnmatched], 0u);
            EXPECT_EQ(end.end_fields[kInferred], 0u);
            EXPECT_EQ(end.end_fields[kPending], 0u);
            // syscalls2 delivered exactly one of the two returns (the first one to arrive, with t2's ctx); the
            // other was seen by our hook only.
            EXPECT_EQ(end.end_fields[kByHook], 1u);
            EXPECT_EQ((rets[0]->capture & 8) + (rets[1]->capture & 8), 8);
            // Only the return syscalls2 never reported carries bit 3: the second to arrive.
            EXPECT_EQ(rets[1]->capture & 8, 8);
        }
}

// A nested call on one thread (a user APC or win32k callback making a system call while the outer call waits in
// the kernel): a deeper frame, both pending at once, each return paired with its own enter. syscalls2 keeps only
// the inner call (same stub, same CR3): the outer return is seen by our hook.
TEST(PandaGlue, NestedCallOnOneThreadIsPaired) {
    for (int s2_first = 0; s2_first < 2; s2_first++) {
        SCOPED_TRACE(s2_first ? "syscalls2's hook first" : "glue's hook first");
        Replay r("glue-nested");
        r.panda.syscalls2_hook_first = s2_first;
        uint32_t outer = r.enter(r.t1, kNtWaitForSingleObject, {0x11, 1, 0});
        uint32_t inner = r.enter_at(r.t1, kNtDelayExecution, outer - 0x200, {0x22, 0});
        r.ret(r.t1, inner, 0);
        r.ret(r.t1, outer, 0x102);
        auto t = r.finish();
        auto rets = returns_of(t);
        ASSERT_EQ(rets.size(), 2u);
        expect_paired(t, *rets[0], r.t1, 0x22);
        expect_paired(t, *rets[1], r.t1, 0x11);
        EXPECT_EQ(rets[1]->eax, 0x102u);
        EXPECT_EQ(rets[1]->callno, kNtWaitForSingleObject);
        const auto &end = end_of(t);
        EXPECT_EQ(end.end_fields[kInferred] + end.end_fields[kUnmatched] + end.end_fields[kPending], 0u);
        EXPECT_EQ(end.end_fields[kByHook], 1u);
    }
}

// The outer call returns while the nested one was never seen returning (e.g. its return ran in a way syscalls2
// and our hook missed): the nested call is written as a return not seen, before the outer return.
TEST(PandaGlue, AnOuterReturnEndsTheNestedCallsUnseen) {
    Replay r("glue-outer-first");
    uint32_t outer = r.enter(r.t1, kNtWaitForSingleObject, {0x11, 1, 0});
    r.enter_at(r.t1, kNtDelayExecution, outer - 0x200, {0x22, 0});
    r.ret(r.t1, outer, 0);
    auto t = r.finish();
    auto rets = returns_of(t);
    ASSERT_EQ(rets.size(), 2u);
    EXPECT_EQ(rets[0]->capture, 4) << "the nested call: return not seen";
    EXPECT_EQ(rets[0]->args, (std::vector<uint32_t>{0x22, 0}));
    EXPECT_EQ(rets[0]->eax, 0u);
    EXPECT_TRUE(rets[0]->pages.empty());
    EXPECT_EQ(rets[0]->instr, rets[1]->instr) << "inferred at the outer return";
    expect_paired(t, *rets[1], r.t1, 0x11);
    EXPECT_EQ(end_of(t).end_fields[kInferred], 1u);
}

// A return syscalls2 never delivers (two threads in one stub): with our hooks it is seen; with syscalls2 only, the
// lost call is inferred to have ended at its thread's next enter (a frame at or above its own), and counted.
TEST(PandaGlue, AReturnSyscalls2DropsIsSeenByTheHookOrInferredAndCounted) {
    {
        Replay r("glue-dropped-hooks");
        uint32_t e1 = r.enter(r.t1, kNtWaitForSingleObject, {0x11, 0, 0});
        uint32_t e2 = r.enter(r.t2, kNtWaitForSingleObject, {0x22, 0, 0});
        r.ret(r.t2, e2, 0);  // syscalls2 delivers this one (its entry is t2's) and drops its hook
        r.ret(r.t1, e1, 0);  // only our hook is left
        auto t = r.finish();
        auto rets = returns_of(t);
        ASSERT_EQ(rets.size(), 2u);
        EXPECT_EQ(rets[1]->capture & 8, 8);
        expect_paired(t, *rets[1], r.t1, 0x11);
        EXPECT_EQ(end_of(t).end_fields[kByHook], 1u);
    }
    {
        Replay r("glue-dropped-no-hooks", /*hooks=*/false);
        uint32_t e1 = r.enter(r.t1, kNtWaitForSingleObject, {0x11, 0, 0});
        uint32_t e2 = r.enter(r.t2, kNtWaitForSingleObject, {0x22, 0, 0});
        EXPECT_EQ(r.glue_hooks(), 0u);
        r.ret(r.t2, e2, 0);
        r.ret(r.t1, e1, 0);                                    // nobody sees it
        r.enter_at(r.t1, kNtClose, e1, {0x33});                // t1's next call, at the same stack
        auto t = r.finish();
        const auto &h = t.records.front();
        std::map<std::string, std::string> settings(h.settings.begin(), h.settings.end());
        EXPECT_EQ(settings["returns"], "syscalls2");
        auto rets = returns_of(t);
        ASSERT_EQ(rets.size(), 2u);
        expect_paired(t, *rets[0], r.t2, 0x22);
        EXPECT_EQ(rets[1]->capture, 4);
        EXPECT_EQ(rets[1]->thread, r.t1);
        EXPECT_EQ(rets[1]->callno, kNtWaitForSingleObject);
        const auto &end = end_of(t);
        EXPECT_EQ(end.end_fields[kInferred], 1u);
        EXPECT_EQ(end.end_fields[kByHook], 0u);
        EXPECT_EQ(end.end_fields[kPending], 1u) << "NtClose never returned";
    }
}

// The total comes from the replay log while the replay runs; at uninit the log is gone (0).
TEST(PandaGlue, EndTotalIsTakenDuringTheReplay) {
    {
        Replay r("glue-total", true, 77777);
        r.enter(r.t1, kNtClose, {4});
        auto t = r.finish(/*ran_to_end=*/true);
        const auto &end = end_of(t);
        EXPECT_EQ(end.end_fields[kTotal], 77777u);
        EXPECT_EQ(end.total_known, 1);
        EXPECT_EQ(end.reason, "replay-end");
        EXPECT_FALSE(r.panda.block_enabled) << "the block callback is dropped once the total is known";
    }
    {
        Replay r("glue-stopped", true, 77777);
        r.enter(r.t1, kNtClose, {4});
        auto t = r.finish(/*ran_to_end=*/false);
        EXPECT_EQ(end_of(t).end_fields[kTotal], 77777u);
        EXPECT_EQ(end_of(t).reason, "replay-stopped");
    }
}

TEST(PandaGlue, EndSaysWhenTheTotalIsUnknown) {
    FakePanda panda;
    support::Session s("glue-unknown-total", false);
    P = &panda;
    panda.world = &s.w;
    panda.cpu.env_ptr = &panda.env;
    panda.in_replay = false; // not a replay (or the log never existed): no total to take
    panda.args["trace"] = s.path;
    ASSERT_TRUE(init_plugin(&panda));
    TranslationBlock tb{};
    panda.block_cb.before_block_exec(&panda.cpu, &tb);
    EXPECT_FALSE(panda.block_enabled);
    uninit_plugin(&panda);
    s.rec = nullptr;
    auto t = trace::parse(trace::read_file(s.path));
    const auto &end = t.records.back();
    ASSERT_EQ(end.type, 5);
    EXPECT_EQ(end.end_fields[kTotal], 0u);
    EXPECT_EQ(end.total_known, 0);
    EXPECT_EQ(end.reason, "replay-stopped");
    P = nullptr;
}

// asid_changed: old and new from the arguments (CR3 still holds the old value), same-value reloads skipped,
// the identity and KUSER_SHARED_DATA pages (kernel, space 0) in the map.
TEST(PandaGlue, AsidChangedTakesOldAndNewFromItsArgumentsAndSkipsReloads) {
    Replay r("glue-asid");
    uint32_t a = (uint32_t)r.panda.env.cr[3], b = 0x3f0b2000u;
    r.load_cr3(b);
    r.load_cr3(b); // same value: a TLB flush, not a switch
    r.load_cr3(a);
    auto t = r.finish();
    std::vector<const trace::Record *> sw;
    for (const auto &x : t.records) if (x.type == 4) sw.push_back(&x);
    ASSERT_EQ(sw.size(), 2u);
    EXPECT_EQ(sw[0]->old_cr3, a);
    EXPECT_EQ(sw[0]->new_cr3, b);
    EXPECT_EQ(sw[1]->old_cr3, b);
    EXPECT_EQ(sw[1]->new_cr3, a);
    EXPECT_EQ(sw[0]->thread, r.t1);
    bool kuser = false;
    for (const auto &p : sw[0]->pages) {
        EXPECT_EQ(p.space, 0u) << "only kernel pages are read at a switch";
        if (p.vpn == 0xffdf0u) {
            kuser = p.content_id != 0;
            ASSERT_TRUE(t.page_data.count(p.content_id));
            const auto &bytes = t.page_data.at(p.content_id);
            uint64_t low = bytes[0x14] | bytes[0x15] << 8 | bytes[0x16] << 16 | (uint64_t)bytes[0x17] << 24;
            uint64_t high = bytes[0x18] | bytes[0x19] << 8 | bytes[0x1a] << 16 | (uint64_t)bytes[0x1b] << 24;
            EXPECT_EQ(high << 32 | low, 130960800000000000ull) << "SystemTime 2016-01-01 as a FILETIME";
        }
    }
    EXPECT_TRUE(kuser) << "KUSER_SHARED_DATA captured at the switch";
    EXPECT_EQ(end_of(t).end_fields[2], 2u) << "switch_records";
}

// The glue refuses a guest profile it cannot record (one line, load fails).
TEST(PandaGlue, AnotherOsProfileIsRefused) {
    FakePanda panda;
    P = &panda;
    char *saved = panda_os_variant;
    panda_os_variant = const_cast<char *>("xpsp3");
    testing::internal::CaptureStderr();
    EXPECT_FALSE(init_plugin(&panda));
    std::string err = testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("needs -os windows-32-7sp1"), std::string::npos) << err;
    panda_os_variant = saved;
    P = nullptr;
}
