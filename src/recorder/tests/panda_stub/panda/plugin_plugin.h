/* Compile-check stub of PPP_REG_CB (panda/include/panda/plugin_plugin.h): type-checks the callback. */
#pragma once
#define PPP_REG_CB(other_plugin, cb_name, cb_func) \
    do { cb_name##_t ppp_check_ = (cb_func); (void)ppp_check_; (void)(other_plugin); } while (0)
