/* win7_layout.h — every Windows 7 SP1 x86 structure offset and constant the recorder uses, in one place.
 * Source: /work/shared/reference/win7-x86-layouts.md, which restates Volatility's win7_sp1_x86 vtypes (V2),
 * libosi's win7_sp1_x86 profile (OSI), PANDA wintrospection (PW/PWold) and phnt (PH). Identical for PAE and
 * non-PAE kernels for every field below (the reference compared both V2 profiles). */
#ifndef W7_LAYOUT_H
#define W7_LAYOUT_H

#include <stdint.h>

#define W7_PAGE_SIZE 4096u
#define W7_PAGE_MASK 0xfffu

/* GDT: kernel FS selector 0x30's descriptor base is the KPCR (PW get_kpcr_i386, PWold get_win7_kpcr). */
#define W7_GDT_KPCR_SELECTOR 0x30u

/* _KPCR / _KPRCB [V2, OSI, PWold] */
#define W7_KPCR_SELF 0x1cu
#define W7_KPCR_CURRENT_THREAD 0x124u /* KPCR.PrcbData (0x120) + KPRCB.CurrentThread (0x4) */
#define W7_KPCR_CAPTURE_SIZE 0x128u  /* SelfPcr, Prcb, … CurrentThread: what readers validate and use */

/* _KTHREAD / _ETHREAD [V2, OSI, PWold] */
#define W7_KTHREAD_PROCESS 0x150u     /* owning process (PWold, OSI) */
#define W7_ETHREAD_CID 0x22cu         /* UniqueProcess, then UniqueThread at +4 */
#define W7_ETHREAD_CID_SIZE 8u
#define W7_ETHREAD_SIZE 0x2b8u

/* _EPROCESS [V2, ND, OSI, PWold] */
#define W7_EPROCESS_DIRECTORY_TABLE_BASE 0x018u
#define W7_EPROCESS_CREATE_TIME 0x0a0u     /* 8 bytes */
#define W7_EPROCESS_UNIQUE_PROCESS_ID 0x0b4u
#define W7_EPROCESS_OBJECT_TABLE 0x0f4u
#define W7_EPROCESS_PARENT_PID 0x140u     /* InheritedFromUniqueProcessId */
#define W7_EPROCESS_IMAGE_FILE_NAME 0x16cu /* 15 bytes ASCII */
#define W7_EPROCESS_IMAGE_FILE_NAME_SIZE 15u
#define W7_EPROCESS_PEB 0x1a8u
#define W7_EPROCESS_AUDIT_IMAGE_NAME 0x1ecu /* SeAuditProcessCreationInfo.ImageFileName → OBJECT_NAME_INFORMATION */
#define W7_EPROCESS_FLAGS 0x270u
#define W7_EPROCESS_EXIT_STATUS 0x274u
#define W7_EPROCESS_SIZE 0x2c0u /* SP1 RTM; later updates only grow it at the end */

/* _HANDLE_TABLE / _HANDLE_TABLE_ENTRY [V2, OSI, PWold, WRK] */
#define W7_HANDLE_TABLE_TABLE_CODE 0x0u
#define W7_HANDLE_TABLE_SIZE 0x3cu
#define W7_HANDLE_TABLE_LEVEL_MASK 3u
#define W7_HANDLE_TABLE_BASE_MASK (~7u)
#define W7_HANDLE_ENTRY_SIZE 8u
#define W7_HANDLE_ENTRIES_PER_PAGE 512u
#define W7_HANDLE_POINTERS_PER_PAGE 1024u
#define W7_HANDLE_ENTRY_OBJECT_MASK (~7u) /* entry +0: OBJECT_HEADER address with flag bits 0–2 */
#define W7_HANDLE_CURRENT_PROCESS 0xffffffffu /* -1 [PH ntpsapi.h] */
#define W7_HANDLE_CURRENT_THREAD 0xfffffffeu  /* -2 */
#define W7_HANDLE_KERNEL_BIT 0x80000000u      /* kernel handle: System process's table */

/* _OBJECT_HEADER and its optional headers [V2 win7.py, V3 pool.py, ND] */
#define W7_OBJECT_HEADER_TYPE_INDEX 0x0cu
#define W7_OBJECT_HEADER_INFO_MASK 0x0eu
#define W7_OBJECT_HEADER_BODY 0x18u
#define W7_OBJECT_INFO_CREATOR 0x01u
#define W7_OBJECT_INFO_NAME 0x02u
#define W7_OBJECT_INFO_HANDLE 0x04u
#define W7_OBJECT_INFO_QUOTA 0x08u
#define W7_OBJECT_INFO_PROCESS 0x10u
#define W7_OBJECT_CREATOR_INFO_SIZE 0x10u
#define W7_OBJECT_NAME_INFO_SIZE 0x10u
#define W7_OBJECT_HANDLE_INFO_SIZE 0x08u
#define W7_OBJECT_QUOTA_INFO_SIZE 0x10u
#define W7_OBJECT_PROCESS_INFO_SIZE 0x08u
#define W7_OBJECT_NAME_INFO_DIRECTORY 0x0u
#define W7_OBJECT_NAME_INFO_NAME 0x4u /* UNICODE_STRING */
/* All optional headers below the header: creator 0x10 + name 0x10 + handle 0x8 + quota 0x10 + process 0x8 = 0x40 */
#define W7_OBJECT_OPTIONAL_HEADERS_MAX 0x40u

/* Object type indices [V2 win7.py type_map, OSI, PWold] */
#define W7_TYPE_DIRECTORY 3u
#define W7_TYPE_PROCESS 7u
#define W7_TYPE_THREAD 8u
#define W7_TYPE_DEVICE 25u
#define W7_TYPE_FILE 28u
#define W7_TYPE_SECTION 33u
#define W7_TYPE_KEY 35u
#define W7_TYPE_ALPC_PORT 36u

/* _FILE_OBJECT [V2, OSI, PWold, MS] */
#define W7_FILE_OBJECT_DEVICE_OBJECT 0x04u
#define W7_FILE_OBJECT_RELATED 0x20u
#define W7_FILE_OBJECT_FILE_NAME 0x30u /* UNICODE_STRING */
#define W7_FILE_OBJECT_SIZE 0x80u

/* Registry [V2, OSI] */
#define W7_CM_KEY_BODY_KCB 0x04u
#define W7_CM_KEY_BODY_SIZE 0x2cu
#define W7_KCB_FLAGS 0x04u /* ExtFlags bits 0–15, Delete bit 17 */
#define W7_KCB_PARENT 0x28u
#define W7_KCB_NAME_BLOCK 0x2cu
#define W7_KCB_SIZE 0xa0u
#define W7_NCB_NAME_LENGTH 0x0cu /* USHORT */
#define W7_NCB_NAME 0x0eu
#define W7_DEVICE_OBJECT_SIZE 0xb8u

/* Sections [V2, OSI, PYR] */
#define W7_SECTION_SEGMENT 0x14u
#define W7_SECTION_SIZE 0x18u
#define W7_SEGMENT_CONTROL_AREA 0x0u
#define W7_SEGMENT_HEADER_SIZE 0x28u /* up to and including u.Flags at 0x20 */
#define W7_CONTROL_AREA_FILE_POINTER 0x24u /* _EX_FAST_REF: mask ~7 */
#define W7_CONTROL_AREA_SIZE 0x50u
#define W7_FAST_REF_MASK (~7u)

/* ALPC [V2, OSI] */
#define W7_ALPC_PORT_COMMUNICATION_INFO 0x08u
#define W7_ALPC_PORT_OWNER_PROCESS 0x0cu
#define W7_ALPC_PORT_STATE 0xd8u
#define W7_ALPC_PORT_SIZE 0xfcu
#define W7_ALPC_COMM_CONNECTION_PORT 0x0u
#define W7_ALPC_COMM_SERVER_PORT 0x4u
#define W7_ALPC_COMM_CLIENT_PORT 0x8u
#define W7_ALPC_COMM_INFO_SIZE 0x24u
#define W7_PORT_MESSAGE_HEADER_SIZE 0x18u /* DataLength, TotalLength, Type, DataInfoOffset, ClientId, MessageId… */

/* User-mode structures and argument blocks [V2, PH, MS] */
#define W7_UNICODE_STRING_SIZE 8u /* Length u16 @0, MaximumLength u16 @2, Buffer @4 */
#define W7_OBJECT_ATTRIBUTES_SIZE 0x18u
#define W7_OBJECT_ATTRIBUTES_ROOT_DIRECTORY 0x4u
#define W7_OBJECT_ATTRIBUTES_OBJECT_NAME 0x8u
#define W7_IO_STATUS_BLOCK_SIZE 8u
#define W7_CLIENT_ID_SIZE 8u
#define W7_PROCESS_PARAMETERS_FLAGS 0x08u
#define W7_PROCESS_PARAMETERS_NORMALIZED 1u /* RTL_USER_PROC_PARAMS_NORMALIZED [PH ntrtl.h] */
#define W7_PROCESS_PARAMETERS_CURRENT_DIRECTORY 0x24u
#define W7_PROCESS_PARAMETERS_IMAGE_PATH_NAME 0x38u
#define W7_PROCESS_PARAMETERS_COMMAND_LINE 0x40u
#define W7_PROCESS_PARAMETERS_HEADER_SIZE 0x48u
#define W7_ATTRIBUTE_LIST_HEADER 4u /* TotalLength, then 16-byte entries [PH ntpsapi.h] */
#define W7_ATTRIBUTE_ENTRY_SIZE 16u
#define W7_ATTRIBUTE_ENTRY_ATTRIBUTE 0x0u
#define W7_ATTRIBUTE_ENTRY_SIZE_FIELD 0x4u
#define W7_ATTRIBUTE_ENTRY_VALUE 0x8u
#define W7_ATTRIBUTE_IMAGE_NAME 0x20005u
#define W7_ATTRIBUTE_CLIENT_ID 0x10003u
#define W7_ATTRIBUTE_MAX_ENTRIES 32u
#define W7_FILE_RENAME_INFO_ROOT_DIRECTORY 0x4u /* pre-RS1 x86 form [MS ntifs, PH ntioapi.h] */
#define W7_FILE_RENAME_INFO_NAME_LENGTH 0x8u
#define W7_FILE_RENAME_INFO_NAME 0xcu
#define W7_FILE_RENAME_INFORMATION_CLASS 10u
#define W7_FILE_LINK_INFORMATION_CLASS 11u

/* System calls [PW syscalls2 Win7 x86 profile: windows_arg_offset = 8]. KiFastSystemCall does `mov edx, esp;
 * sysenter` right after the stub's `call`, so [EDX] is the return address into the stub, and after
 * KiFastSystemCallRet's `ret` the stub resumes there with ESP = EDX at enter + 4. */
#define W7_SYSCALL_ARG_OFFSET 8u
#define W7_RETURN_ESP_DELTA 4u
/* KUSER_SHARED_DATA: fixed kernel VA on x86; SystemTime (KSYSTEM_TIME, 100 ns since 1601) at +0x14
 * [MS ntddk.h KI_USER_SHARED_DATA 0xffdf0000; V2 _KUSER_SHARED_DATA] */
#define W7_KUSER_SHARED_DATA 0xffdf0000u
#define W7_KUSER_SYSTEM_TIME 0x14u
/* NTSTATUS: severity bits 30–31; NT_SUCCESS = success or informational (< 0x80000000) [WINE ntstatus.h] */
#define W7_NT_SUCCESS(status) ((uint32_t)(status) < 0x80000000u)

#endif
