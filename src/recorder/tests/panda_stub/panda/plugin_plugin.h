/* Compile stub of panda/include/panda/plugin_plugin.h: PPP_REG_CB as the real macro (find the plugin, dlsym
 * "ppp_add_cb_<name>", call it with the callback). */
#pragma once
#include <assert.h>
#include <dlfcn.h>
#include <stdio.h>
#define PPP_REG_CB(other_plugin, cb_name, cb_func)                                                               \
    {                                                                                                            \
        dlerror();                                                                                               \
        void *op = panda_get_plugin_by_name(other_plugin);                                                       \
        if (!op) {                                                                                               \
            printf("In trying to add plugin callback, couldn't load %s plugin\n", other_plugin);                 \
            assert(op);                                                                                          \
        }                                                                                                        \
        void (*add_cb)(cb_name##_t fptr) = (void (*)(cb_name##_t))dlsym(op, "ppp_add_cb_" #cb_name);             \
        assert(add_cb != 0);                                                                                     \
        add_cb(cb_func);                                                                                         \
    }
