/* Compile stub of the apigen-generated panda/plugins/syscalls2/syscalls2_ext.h (init_syscalls2_api). */
#pragma once
#include <stdbool.h>
#ifdef __cplusplus
extern "C" {
#endif
bool init_syscalls2_api(void);
#ifdef __cplusplus
}
#endif
