/* cap_files.c — file calls. Generic rules already capture OBJECT_ATTRIBUTES, handles, IO_STATUS_BLOCK at return
 * and PLARGE_INTEGER ByteOffset; this adds NtWriteFile's data and NtSetInformationFile's rename information. */
#include "rules.h"
#include "win7_layout.h"

/* NtWriteFile(FileHandle, Event, ApcRoutine, ApcContext, IoStatusBlock*, Buffer* 5, Length 6, ByteOffset*, Key*) */
static void write_file_enter(w7_capture *c, const w7_call *call) {
    if (call->nargs >= 7 && call->args[5] && c->data_cap) w7_touch(c, call->args[5], call->args[6], c->data_cap);
}

/* NtSetInformationFile(FileHandle, IoStatusBlock*, FileInformation* 2, Length 3, FileInformationClass 4):
 * FILE_RENAME_INFORMATION / FILE_LINK_INFORMATION (same x86 layout): header, FileName, RootDirectory handle. */
static void set_information_file(w7_capture *c, const w7_call *call) {
    if (call->nargs < 5) return;
    uint32_t info = call->args[2], klass = call->args[4];
    if (!info) return;
    if (klass == W7_FILE_RENAME_INFORMATION_CLASS || klass == W7_FILE_LINK_INFORMATION_CLASS) {
        uint32_t root, length;
        if (w7_read_u32(c, info + W7_FILE_RENAME_INFO_ROOT_DIRECTORY, &root) ||
            w7_read_u32(c, info + W7_FILE_RENAME_INFO_NAME_LENGTH, &length))
            return;
        w7_touch(c, info, W7_FILE_RENAME_INFO_NAME, W7_FILE_RENAME_INFO_NAME);
        w7_touch(c, info + W7_FILE_RENAME_INFO_NAME, length, W7_MAX_STRING_BYTES);
        if (root) w7_capture_handle(c, call, root);
    } else {
        /* Disposition, position, basic info…: small fixed structures; keep the first bytes. */
        w7_touch(c, info, call->args[3], 64);
    }
}

const w7_rule w7_file_rules[] = {
    {"NtCreateFile", NULL, NULL},
    {"NtOpenFile", NULL, NULL},
    {"NtReadFile", NULL, NULL},
    {"NtWriteFile", write_file_enter, NULL},
    {"NtDeleteFile", NULL, NULL},
    {"NtSetInformationFile", set_information_file, NULL},
    {NULL, NULL, NULL},
};
