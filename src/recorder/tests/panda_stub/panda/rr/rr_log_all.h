/* Compile stub of panda/include/panda/rr/rr_log_all.h: 0 once the replay log is freed (rr_log.c). */
#pragma once
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
uint64_t replay_get_total_num_instructions(void);
#ifdef __cplusplus
}
#endif
