// test_syscall_table.cpp — the table generated at build time from tracefmt/windows-7-x86-syscalls.tsv.
#include <gtest/gtest.h>

#include <cstring>

extern "C" {
#include "syscalls.h"
}

TEST(SyscallTable, HoldsAllWindows7Calls) {
    ASSERT_EQ(w7_syscall_count, 401u); // 0..400 (PANDA windows_7_x86_prototypes.txt, j00ru "Windows 7 SP1")
    for (unsigned i = 0; i < w7_syscall_count; i++) EXPECT_EQ(w7_syscalls[i].number, i);
    EXPECT_EQ(w7_syscall_lookup(401), nullptr);
    EXPECT_EQ(w7_syscall_lookup(0x1000), nullptr);
}

TEST(SyscallTable, NamesCountsAndKindsFollowTheDeclaredTypes) {
    const w7_syscall_info *p = w7_syscall_lookup(93);
    ASSERT_NE(p, nullptr);
    EXPECT_STREQ(p->name, "NtCreateUserProcess");
    EXPECT_EQ(p->nargs, 11);
    EXPECT_EQ(p->kinds[0], W7_ARG_PHANDLE);
    EXPECT_EQ(p->kinds[4], W7_ARG_OBJECT_ATTRIBUTES);
    EXPECT_EQ(p->kinds[6], W7_ARG_VALUE);
    EXPECT_EQ(p->kinds[8], W7_ARG_PROCESS_PARAMETERS);
    EXPECT_EQ(p->kinds[10], W7_ARG_ATTRIBUTE_LIST);
    const w7_syscall_info *w = w7_syscall_lookup(396);
    EXPECT_STREQ(w->name, "NtWriteFile");
    EXPECT_EQ(w->nargs, 9);
    EXPECT_EQ(w->kinds[0], W7_ARG_HANDLE);
    EXPECT_EQ(w->kinds[4], W7_ARG_IO_STATUS_BLOCK);
    EXPECT_EQ(w->kinds[5], W7_ARG_POINTER);
    EXPECT_EQ(w->kinds[7], W7_ARG_LARGE_INTEGER);
    EXPECT_EQ(w7_syscall_lookup(190)->kinds[3], W7_ARG_CLIENT_ID); // NtOpenProcess
    EXPECT_EQ(w7_syscall_lookup(266)->kinds[1], W7_ARG_UNICODE_STRING); // NtQueryValueKey ValueName
    EXPECT_EQ(w7_syscall_lookup(277)->kinds[4], W7_ARG_PSIZE); // NtReadVirtualMemory NumberOfBytesRead
    EXPECT_EQ(w7_syscall_lookup(400)->nargs, 0); // NtYieldExecution
    // Declarators (PANDA's prototypes): `T x[]` is a pointer to an array, `T *x` a pointer to T.
    EXPECT_STREQ(w7_syscall_lookup(389)->name, "NtWaitForMultipleObjects");
    EXPECT_EQ(w7_syscall_lookup(389)->kinds[1], W7_ARG_POINTER);   // HANDLE Handles[]
    EXPECT_EQ(w7_syscall_lookup(390)->kinds[1], W7_ARG_POINTER);   // LONG Handles[] (NtWaitForMultipleObjects32)
    EXPECT_EQ(w7_syscall_lookup(55)->kinds[1], W7_ARG_POINTER);    // NtCompactKeys HANDLE KeyArray[]
    EXPECT_EQ(w7_syscall_lookup(173)->kinds[2], W7_ARG_POINTER);   // NtNotifyChangeMultipleKeys OBJECT_ATTRIBUTES SlaveObjects[]
    EXPECT_EQ(w7_syscall_lookup(160)->kinds[0], W7_ARG_PULONG);    // NtLockProductActivationKeys ULONG *pPrivateVer
    EXPECT_EQ(w7_syscall_lookup(160)->kinds[1], W7_ARG_PULONG);    // ULONG *pSafeMode
    EXPECT_EQ(w7_syscall_lookup(137)->kinds[1], W7_ARG_POINTER);   // NtGetDevicePowerState DEVICE_POWER_STATE *State
    EXPECT_EQ(w7_syscall_lookup(361)->kinds[1], W7_ARG_POINTER);   // NtShutdownWorkerFactory LONG *PendingWorkerCount
    EXPECT_EQ(w7_syscall_lookup(19)->kinds[1], W7_ARG_POINTER);    // NtAllocateVirtualMemory PVOID *BaseAddress
    EXPECT_EQ(w7_syscall_lookup(389)->kinds[0], W7_ARG_VALUE);     // ULONG Count
    unsigned max = 0;
    for (unsigned i = 0; i < w7_syscall_count; i++) max = w7_syscalls[i].nargs > max ? w7_syscalls[i].nargs : max;
    EXPECT_EQ(max, 17u);
}
