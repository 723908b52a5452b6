#include "ws_internal.h"

/* The callback shim: ws_conn_recv() in a loop. */
int ws_conn_dispatch(ws_conn *c, void *buf, size_t len, size_t *consumed,
                     int (*on_event)(void *ud, ws_conn *c, ws_event *ev), void *ud)
{
	uint8_t *p = buf;
	size_t used;
	ws_event ev;
	int rc;

	*consumed = 0;
	for (;;) {
		rc = ws_conn_recv(c, p + *consumed, len - *consumed, &used, &ev);
		*consumed += used;
		if (rc != WS_OK || ev.type == WS_EV_NONE)
			return rc;
		rc = on_event(ud, c, &ev);
		if (rc)
			return rc;
	}
}
