/* Compile stub of panda/include/panda/rr/rr_log.h (real: static inline, first_cpu->rr_guest_instr_count). */
#pragma once
#include <stdint.h>
#include "panda/rr/rr_log_all.h"
#include "panda/rr/rr_api.h"
#ifdef __cplusplus
extern "C" {
#endif
uint64_t rr_get_guest_instr_count(void);
#ifdef __cplusplus
}
#endif
