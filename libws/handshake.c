/* The opening handshake's driver (RFC 6455 §4): finds each HTTP head in what
 * ws_conn_recv() is given and hands it to the server or client side; answers
 * ws_conn_fail() while the handshake is not done. */
#include "ws_internal.h"

/* A program that only serves need not carry the client's response parser
 * (make mcu shows the size): only ws_conn_connect() enters the state that
 * calls it, and the two are defined in one file, handshake_client.c. So the
 * reference from here is weak where the toolchain has weak symbols (ELF): a
 * static link takes handshake_client.o only for a program that calls
 * ws_conn_connect(), and then the reference is the function itself. */
#if (defined(__GNUC__) || defined(__clang__)) && defined(__ELF__)
int ws__client_head(ws_conn *c, ws_str head, ws_event *ev) __attribute__((weak));
#endif

/* Empty lines a server ignores before the request line, as Apache does. */
#define LEADING_EMPTY_MAX 10

/* RFC 9112 §2.2: "a server that is expecting to receive and parse a
 * request-line SHOULD ignore at least one empty line (CRLF) received prior
 * to the request-line" (a client may end a POST body with one). Returns the
 * bytes of those at the start of buf[0..len): CRLFs only, since a bare LF is
 * malformed wherever it is. Bounded, so that looking for them again at each
 * call costs a constant; one more starts the head, which is then malformed.
 * A client takes no such liberty: the section speaks of servers, and before
 * a response there is no earlier message for a CRLF to trail. */
static size_t leading_empty_lines(const ws_conn *c, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	if (c->state_ != WS__SERVER_WAIT)
		return 0;
	while (n < 2 * LEADING_EMPTY_MAX && len - n >= 2 && buf[n] == '\r' && buf[n + 1] == '\n')
		n += 2;
	return n;
}

/* Finds the head in buf[0..len): past leading empty lines, through the
 * CRLFCRLF that ends it, resuming where the last call stopped: the caller
 * presents the same head again with more appended, so a sender dribbling
 * bytes costs linear time in total. Each LF is judged by looking back at
 * the three bytes before it, so resuming exactly at `scanned` misses no
 * terminator split across calls. The empty lines count toward max_head.
 * Returns 1 with the head at buf[*start..*end), 0 if more bytes are needed,
 * or an error. */
static int head_scan(ws_conn *c, const uint8_t *buf, size_t len, size_t *start, size_t *head_end)
{
	size_t max = c->cfg_->max_head;
	size_t end = len < max ? len : max;
	size_t skip = leading_empty_lines(c, buf, end);
	size_t i = c->u_.h.scanned <= end ? c->u_.h.scanned : 0;

	while (i < end) {
		const uint8_t *lf = ws__memchr(buf + i, '\n', end - i);
		if (!lf)
			break;
		i = (size_t)(lf - buf);
		if (i == 0 || buf[i - 1] != '\r')
			return WS_E_HTTP_MALFORMED; /* RFC 9112 §2.2: bare LF */
		/* A CRLFCRLF among the empty lines ends nothing. */
		if (i >= skip + 3 && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
			*start = skip;
			*head_end = i + 1;
			return 1;
		}
		i++;
	}
	c->u_.h.scanned = (uint32_t)end;
	return len && len >= max ? WS_E_HTTP_HEAD_TOO_BIG : 0;
}

int ws__handshake_recv(ws_conn *c, uint8_t *buf, size_t len, size_t *consumed, ws_event *ev)
{
	size_t off = 0, skip, n;
	int rc;

	if (c->state_ == WS__CLIENT_IDLE)
		return WS_E_STATE; /* a call out of order, not the peer's fault */
	/* Awaiting accept/reject, or rejected: the bytes after the head wait for
	 * the answer (or belong to no one), so leave them unconsumed. */
	if (c->state_ == WS__SERVER_ANSWER || (c->bits_ & WS__DONE))
		return WS_OK;
	for (;;) {
		ws_str head;
		rc = head_scan(c, buf + off, len - off, &skip, &n);
		if (rc < 0)
			return ws__fail(c, rc);
		if (rc == 0)
			break;
		head.ptr = (const char *)buf + off + skip;
		head.len = n - skip;
		rc = c->state_ == WS__CLIENT_WAIT ? ws__client_head(c, head, ev)
		                                  : ws__server_head(c, head, ev);
		if (rc < 0)
			return ws__fail(c, rc);
		off += n;
		if (rc != WS__INTERIM)
			break;
		/* An interim response is consumed with no event; the next head is
		 * searched from its own start, each byte once. */
		memset(&ev->http, 0, sizeof ev->http);
		c->u_.h.scanned = 0;
	}
	*consumed = off;
	return WS_OK;
}

int ws__handshake_fail(ws_conn *c, void *out, size_t cap, size_t *out_len)
{
	*out_len = 0;
	/* RFC 6455 §4.1: a client that fails the handshake just closes. A server
	 * writes its HTTP error once: ws_conn_fail() sets WS__DONE when it did
	 * (or the transport ended), and the response is not to be sent twice. */
	if (c->cfg_->role == WS_ROLE_CLIENT || (c->bits_ & WS__DONE))
		return WS_OK;
	return ws__server_fail(c, out, cap, out_len);
}
