/* ad_policy: what a connection says and when, around the adapter's pump
 * (adapter.h): the frames the program queues, the answers the protocol
 * calls for (pongs, the echo of a close, the response to a bad request), and
 * what each deadline does (close 1001 when idle, a ping, giving up). The
 * pump calls the ad_policy_* functions; a program calls the rest. */
#ifndef AD_POLICY_H
#define AD_POLICY_H

#include "adapter.h"

/* ws_conn_send() / ws_conn_close() into the output queue; ws_status. */
int ad_send(ad_conn *c, unsigned opcode, unsigned flags, const void *data, size_t len);
int ad_close(ad_conn *c, unsigned code, const void *reason, size_t reason_len);
/* Sets c->why unless it is set already (the first reason is the one); 1. */
int ad_finish(ad_conn *c, const char *why);

/* An event from ws_conn_recv(): on_event, then the library's answer (a pong,
 * the echo of a close). 0, or -1 to hang up. */
int ad_policy_event(ad_conn *c, ws_event *ev);
/* ws_conn_recv() failed with rc: the answer it calls for, the last bytes we
 * send: a close frame, ws_conn_fail()'s HTTP error response, or the
 * program's own. For a refused head, ad_opts.on_http_error (if set) is
 * called with the WS_E_HTTP_* status and ev as ws_conn_recv() left it (for
 * WS_E_HTTP_UPGRADE, a well-formed GET that asks for no upgrade,
 * ev->http.head and .target are set): it returns 1 after queueing an answer
 * of its own (ad_reserve/ad_commit), such as a web page; 0 to have
 * ws_conn_fail()'s response sent. */
void ad_policy_error(ad_conn *c, int rc, ws_event *ev);
/* The peer ended its stream (c->eof is set): 0, or -1 to hang up. */
int ad_policy_eof(ad_conn *c);
/* Deadline kind (AD_D_*) is due at now: 0 to go on, 1 when the connection
 * is finished (c->why set). */
int ad_policy_due(ad_conn *c, int kind, int64_t now);
/* After ad_io()'s work: 1 when the connection is over (the peer ended, our
 * output is out), else 0. Once the closing handshake is done and our output
 * is out it ends our direction: a lingering close, read until the peer's. */
int ad_policy_end(ad_conn *c, int64_t now);

#endif
