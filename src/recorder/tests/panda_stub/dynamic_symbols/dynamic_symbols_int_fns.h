/* Compile stub of panda/plugins/dynamic_symbols/dynamic_symbols_int_fns.h: struct symbol (part of struct hook). */
#pragma once
#include "panda/types.h"
#define MAX_PATH_LEN 256
struct symbol {
    target_ulong address;
    target_ulong value;
    int symtab_idx;
    int reloc_type;
    char name[MAX_PATH_LEN];
    char section[MAX_PATH_LEN];
};
