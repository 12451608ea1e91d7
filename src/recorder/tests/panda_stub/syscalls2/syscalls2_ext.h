#pragma once
#include <stdbool.h>
bool init_syscalls2_api(void);
