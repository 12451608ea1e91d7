/* recorder_internal.h — hooks for the core's own tests and vector generator; not exported from libw7rec.so. */
#ifndef W7_RECORDER_INTERNAL_H
#define W7_RECORDER_INTERNAL_H

#include <stdint.h>

#include "w7rec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Appends a raw record (any type) to the current frame: lets tests produce record types readers must skip. */
int w7rec_internal_inject_record(w7rec *r, uint16_t type, const uint8_t *body, uint32_t length);
/* Ends the current frame now. */
int w7rec_internal_end_frame(w7rec *r);

#ifdef __cplusplus
}
#endif
#endif
