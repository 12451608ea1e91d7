#pragma once
#include <stdint.h>
uint64_t replay_get_total_num_instructions(void);
