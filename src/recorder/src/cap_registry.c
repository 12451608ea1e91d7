/* cap_registry.c — registry calls. Generic rules capture the key handles (→ CM_KEY_BODY → KCB chain with name
 * blocks), OBJECT_ATTRIBUTES (relative opens via RootDirectory), ValueName strings and output handles at return;
 * this adds NtSetValueKey's data (up to data_cap) and NtCreateKey's Disposition. */
#include "rules.h"
#include "win7_layout.h"

/* NtSetValueKey(KeyHandle, ValueName*, TitleIndex, Type, Data* 4, DataSize 5) */
static void set_value_key_enter(w7_capture *c, const w7_call *call) {
    if (call->nargs >= 6 && call->args[4] && c->data_cap) w7_touch(c, call->args[4], call->args[5], c->data_cap);
}

/* NtCreateKey(KeyHandle*, DesiredAccess, ObjectAttributes*, TitleIndex, Class*, CreateOptions, Disposition* 6) */
static void create_key_return(w7_capture *c, const w7_call *call) {
    if (call->nargs >= 7 && call->args[6]) w7_touch(c, call->args[6], 4, 4);
}

/* NtCreateKeyTransacted(…, TransactionHandle 6, Disposition* 7) */
static void create_key_transacted_return(w7_capture *c, const w7_call *call) {
    if (call->nargs >= 8 && call->args[7]) w7_touch(c, call->args[7], 4, 4);
}

const w7_rule w7_registry_rules[] = {
    {"NtCreateKey", NULL, create_key_return},
    {"NtCreateKeyTransacted", NULL, create_key_transacted_return},
    {"NtOpenKey", NULL, NULL},
    {"NtOpenKeyEx", NULL, NULL},
    {"NtOpenKeyTransacted", NULL, NULL},
    {"NtOpenKeyTransactedEx", NULL, NULL},
    {"NtDeleteKey", NULL, NULL},
    {"NtQueryKey", NULL, NULL},
    {"NtQueryValueKey", NULL, NULL},
    {"NtDeleteValueKey", NULL, NULL},
    {"NtEnumerateKey", NULL, NULL},
    {"NtEnumerateValueKey", NULL, NULL},
    {"NtSetValueKey", set_value_key_enter, NULL},
    {NULL, NULL, NULL},
};
