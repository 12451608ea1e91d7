/* Compile stub of panda/include/panda/rr/rr_api.h (real: static inline, rr_control.mode == RR_REPLAY). */
#pragma once
#include <stdbool.h>
#ifdef __cplusplus
extern "C" {
#endif
bool rr_in_replay(void);
#ifdef __cplusplus
}
#endif
