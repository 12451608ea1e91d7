/* cap_ports.c — LPC and ALPC ports. Generic rules capture port handles (→ ALPC port, communication info,
 * connection/server/client ports, owners, connection port name), PortName strings, OBJECT_ATTRIBUTES and output
 * handles; this adds the PORT_MESSAGE headers (DataLength, ClientId, MessageId). */
#include "rules.h"
#include "win7_layout.h"

static void touch_message(w7_capture *c, const w7_call *call, unsigned arg) {
    if (arg < call->nargs && call->args[arg])
        w7_touch(c, call->args[arg], W7_PORT_MESSAGE_HEADER_SIZE, W7_PORT_MESSAGE_HEADER_SIZE);
}

/* Which argument is a PORT_MESSAGE, per call (windows-7-x86-syscalls.tsv). */
static void request_port(w7_capture *c, const w7_call *call) { touch_message(c, call, 1); }
static void request_wait_reply_port(w7_capture *c, const w7_call *call) {
    touch_message(c, call, 1);
    touch_message(c, call, 2);
}
static void reply_wait_receive_port(w7_capture *c, const w7_call *call) {
    touch_message(c, call, 2);
    touch_message(c, call, 3);
}
static void accept_connect_port(w7_capture *c, const w7_call *call) { touch_message(c, call, 2); }
static void alpc_accept_connect_port(w7_capture *c, const w7_call *call) { touch_message(c, call, 6); }
static void alpc_connect_port(w7_capture *c, const w7_call *call) { touch_message(c, call, 6); }
static void alpc_send_wait_receive_port(w7_capture *c, const w7_call *call) {
    touch_message(c, call, 2);
    touch_message(c, call, 4);
}

const w7_rule w7_port_rules[] = {
    {"NtCreatePort", NULL, NULL},
    {"NtConnectPort", NULL, NULL},
    {"NtListenPort", request_port, request_port},
    {"NtAcceptConnectPort", accept_connect_port, accept_connect_port},
    {"NtCompleteConnectPort", NULL, NULL},
    {"NtRequestPort", request_port, NULL},
    {"NtRequestWaitReplyPort", request_wait_reply_port, request_wait_reply_port},
    {"NtReplyPort", request_port, NULL},
    {"NtReplyWaitReplyPort", request_port, request_port},
    {"NtReplyWaitReceivePort", reply_wait_receive_port, reply_wait_receive_port},
    {"NtImpersonateClientOfPort", request_port, NULL},
    {"NtAlpcAcceptConnectPort", alpc_accept_connect_port, NULL},
    {"NtAlpcCancelMessage", NULL, NULL},
    {"NtAlpcConnectPort", alpc_connect_port, alpc_connect_port},
    {"NtAlpcCreatePort", NULL, NULL},
    {"NtAlpcCreatePortSection", NULL, NULL},
    {"NtAlpcCreateResourceReserve", NULL, NULL},
    {"NtAlpcCreateSectionView", NULL, NULL},
    {"NtAlpcCreateSecurityContext", NULL, NULL},
    {"NtAlpcDeletePortSection", NULL, NULL},
    {"NtAlpcDeleteResourceReserve", NULL, NULL},
    {"NtAlpcDeleteSectionView", NULL, NULL},
    {"NtAlpcDeleteSecurityContext", NULL, NULL},
    {"NtAlpcDisconnectPort", NULL, NULL},
    {"NtAlpcImpersonateClientOfPort", NULL, NULL},
    {"NtAlpcOpenSenderProcess", NULL, NULL},
    {"NtAlpcOpenSenderThread", NULL, NULL},
    {"NtAlpcQueryInformation", NULL, NULL},
    {"NtAlpcQueryInformationMessage", NULL, NULL},
    {"NtAlpcRevokeSecurityContext", NULL, NULL},
    {"NtAlpcSendWaitReceivePort", alpc_send_wait_receive_port, alpc_send_wait_receive_port},
    {"NtAlpcSetInformation", NULL, NULL},
    {NULL, NULL, NULL},
};
