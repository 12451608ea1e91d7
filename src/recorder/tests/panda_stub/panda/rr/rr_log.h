#pragma once
#include <stdint.h>
uint64_t rr_get_guest_instr_count(void);
