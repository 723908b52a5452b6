#include "ws_internal.h"

/* Joins streamed chunks (WS_EVF_MSG_BEGIN ... WS_EVF_MSG_END) into one buffer. */
void ws_assembler_init(ws_assembler *a, void *buf, size_t cap)
{
	a->buf = buf;
	a->cap = cap;
	a->len = 0;
	a->type = 0;
	a->refused = 0;
}

int ws_assembler_add(ws_assembler *a, const ws_event *ev)
{
	if (ev->type != WS_EV_TEXT && ev->type != WS_EV_BINARY)
		return 0;
	if (ev->flags & WS_EVF_MSG_BEGIN) {
		a->len = 0;
		a->type = ev->type;
		a->refused = 0;
	}
	/* A message that did not fit is refused to its end: appending its later
	 * chunks would hand out a message with a hole in it as complete. */
	if (!a->refused && ev->len > a->cap - a->len) {
		a->refused = 1;
		a->len = 0;
	}
	if (a->refused) {
		if (ev->flags & WS_EVF_MSG_END)
			a->refused = 0; /* the next message starts afresh */
		return WS_E_MESSAGE_TOO_BIG;
	}
	if (ev->len)
		memcpy(a->buf + a->len, ev->data, ev->len);
	a->len += ev->len;
	return (ev->flags & WS_EVF_MSG_END) != 0;
}
