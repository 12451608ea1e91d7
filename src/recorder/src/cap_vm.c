/* cap_vm.c — cross-process virtual memory. Generic rules capture the process handle (→ EPROCESS) and, at return,
 * the NumberOfBytesRead/Written output (PSIZE_T); the transferred bytes themselves are not captured. */
#include "rules.h"

const w7_rule w7_vm_rules[] = {
    {"NtReadVirtualMemory", NULL, NULL},
    {"NtWriteVirtualMemory", NULL, NULL},
    {NULL, NULL, NULL},
};
