/* Compile stub of panda/include/panda/types.h and the target word types of QEMU (target_ulong is 64-bit on
 * 64-bit targets). PPP_CB_TYPEDEF as in the real file. */
#pragma once
#include <stdint.h>
#if defined(TARGET_X86_64) || defined(TARGET_AARCH64) || defined(TARGET_MIPS64) || defined(TARGET_PPC64)
typedef uint64_t target_ulong;
typedef int64_t target_long;
#else
typedef uint32_t target_ulong;
typedef int32_t target_long;
#endif
typedef target_ulong target_ptr_t;
#define PPP_CB_TYPEDEF(ret_type, cb_name, ...)                                                                   \
    typedef ret_type (*cb_name##_t)(__VA_ARGS__);                                                                \
    typedef ret_type (*cb_name##_with_context_t)(void *context, __VA_ARGS__);
