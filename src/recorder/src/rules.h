/* rules.h — what to capture for a watched system call. The generic rules (rules_generic.c) follow the declared
 * argument kinds; each family file adds its call-specific rules:
 *   cap_process.c  (processes, threads, identity)   cap_files.c     (files)
 *   cap_registry.c (keys and values)                cap_sections.c  (sections)
 *   cap_ports.c    (LPC / ALPC ports)               cap_vm.c        (cross-process virtual memory)
 *   cap_objects.c  (handles, object headers, names; the per-type object walks)
 */
#ifndef W7_RULES_H
#define W7_RULES_H

#include <stdint.h>

#include "capture.h"
#include "syscalls.h"

typedef struct w7_call {
    const w7_syscall_info *info; /* NULL for calls outside the table */
    uint32_t callno;
    uint32_t nargs;
    uint32_t args[W7_MAX_ARGS];
    int phase;                   /* 0 enter, 1 return */
    uint32_t status;             /* return: NTSTATUS (EAX) */
    uint32_t kthread;            /* current KTHREAD, 0 if unknown */
    uint32_t eprocess;           /* current EPROCESS, 0 if unknown */
} w7_call;

typedef void (*w7_rule_fn)(w7_capture *c, const w7_call *call);

/* A family's rule for one call; `enter`/`ret` may be NULL (generic rules only). Tables end with name NULL. */
typedef struct w7_rule {
    const char *name;
    w7_rule_fn enter;
    w7_rule_fn ret;
} w7_rule;

extern const w7_rule w7_process_rules[];
extern const w7_rule w7_file_rules[];
extern const w7_rule w7_registry_rules[];
extern const w7_rule w7_section_rules[];
extern const w7_rule w7_port_rules[];
extern const w7_rule w7_vm_rules[];
extern const w7_rule w7_object_rules[];

/* Generic, kind-driven capture of a call's arguments (rules_generic.c). */
void w7_capture_generic(w7_capture *c, const w7_call *call);

/* Identity of the current thread/process: GDT entry 0x30 → KPCR → KTHREAD → EPROCESS and its identifying
 * fields (cap_process.c). Returns the KTHREAD (0 if unreadable) and sets *eprocess. */
uint32_t w7_capture_identity(w7_capture *c, uint32_t gdt_base, uint32_t *eprocess);
/* EPROCESS identifying fields: pid, parent pid, name, ObjectTable, Peb, image path (cap_process.c). */
void w7_capture_eprocess(w7_capture *c, uint32_t eprocess);
/* ETHREAD Cid and its owning process (cap_process.c). */
void w7_capture_ethread(w7_capture *c, uint32_t ethread);

/* Handles and objects (cap_objects.c). `eprocess` owns the handle table; pseudo handles resolve to the current
 * process/thread of `call`. Returns the OBJECT_HEADER address, or 0. */
uint32_t w7_capture_handle(w7_capture *c, const w7_call *call, uint32_t handle);
/* Same, in the handle table of `eprocess` (NtDuplicateObject's source/target processes). */
uint32_t w7_capture_handle_in(w7_capture *c, const w7_call *call, uint32_t eprocess, uint32_t handle);
void w7_capture_object_header(w7_capture *c, uint32_t header, unsigned depth);
void w7_capture_object_name(w7_capture *c, uint32_t header);
void w7_capture_object_body(w7_capture *c, uint32_t body, unsigned depth); /* body = header + 0x18 */
void w7_capture_file_object(w7_capture *c, uint32_t file_object, unsigned depth);
void w7_capture_key_body(w7_capture *c, uint32_t key_body);
void w7_capture_section(w7_capture *c, uint32_t section, unsigned depth);
void w7_capture_alpc_port(w7_capture *c, uint32_t port, unsigned depth);
/* OBJECT_ATTRIBUTES: the structure, ObjectName and buffer, RootDirectory handle. */
void w7_capture_object_attributes(w7_capture *c, const w7_call *call, uint32_t va);

#endif
