/* Temporary: replaced by the handshake implementation. */
#include "ws_internal.h"

int ws__handshake_recv(ws_conn *c, uint8_t *buf, size_t len, size_t *consumed, ws_event *ev);
int ws__handshake_fail(ws_conn *c, void *out, size_t cap, size_t *out_len);

int ws__handshake_recv(ws_conn *c, uint8_t *buf, size_t len, size_t *consumed, ws_event *ev)
{
	(void)c, (void)buf, (void)len, (void)consumed, (void)ev;
	return WS_E_STATE;
}

int ws__handshake_fail(ws_conn *c, void *out, size_t cap, size_t *out_len)
{
	(void)c, (void)out, (void)cap;
	*out_len = 0;
	return WS_OK;
}

int ws_conn_connect(ws_conn *c, const ws_connect_opts *opts, void *out, size_t cap, size_t *out_len)
{
	(void)c, (void)opts, (void)out, (void)cap;
	*out_len = 0;
	return WS_E_STATE;
}

int ws_conn_accept(ws_conn *c, const ws_accept_opts *opts, void *out, size_t cap, size_t *out_len)
{
	(void)c, (void)opts, (void)out, (void)cap;
	*out_len = 0;
	return WS_E_STATE;
}
