/* Compile stub of panda/include/panda/common.h (the real panda_virtual_memory_rw is static inline with this
 * signature: 0 on success, -1 or a MemTxResult > 0 on failure). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "panda/plugin.h"
#ifdef __cplusplus
extern "C" {
#endif
int panda_virtual_memory_rw(CPUState *env, target_ulong addr, uint8_t *buf, int len, bool is_write);
target_ulong panda_current_pc(CPUState *cpu);
#ifdef __cplusplus
}
#endif
