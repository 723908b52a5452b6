/* The client side of the opening handshake, RFC 6455 §4.1: writing the
 * request and judging the server's response. */
#include "ws_internal.h"

static int connect_opts_ok(const ws_connect_opts *o)
{
	if (!o || !o->host)
		return 0;
	{
		/* RFC 9112 §3.2: a server answers an invalid Host with 400. */
		ws_str host = {o->host, ws__strlen(o->host)};
		if (!ws__is_host(host))
			return 0;
	}
	if ((o->target && !ws__is_vchars(o->target)) || (o->origin && !ws__is_vchars(o->origin)))
		return 0;
	/* RFC 6455 §4.1 item 10: each subprotocol is a token. */
	for (const char *const *p = o->protocols; p && *p; p++)
		if (!ws__is_token(*p, ws__strlen(*p)))
			return 0;
	return ws__lines_ok(o->headers);
}

/* RFC 6455 §4.1 items 1-12, in the order of the RFC's §1.3 example. */
static int write_request(const ws_connect_opts *o, const char *key, const char *ext, void *out,
                         size_t cap, size_t *out_len)
{
	ws__out w;

	ws__out_init(&w, out, cap);
	do {
		ws__puts(&w, "GET ");
		ws__puts(&w, o->target ? o->target : "/");
		ws__puts(&w, " HTTP/1.1\r\nHost: ");
		ws__puts(&w, o->host);
		ws__puts(&w, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
		ws__puts(&w, key);
		ws__puts(&w, "\r\nSec-WebSocket-Version: 13\r\n");
		if (o->origin) {
			ws__puts(&w, "Origin: ");
			ws__puts(&w, o->origin);
			ws__puts(&w, "\r\n");
		}
		if (o->protocols && o->protocols[0]) {
			ws__puts(&w, "Sec-WebSocket-Protocol: ");
			for (const char *const *p = o->protocols; *p; p++) {
				if (p != o->protocols)
					ws__puts(&w, ", ");
				ws__puts(&w, *p);
			}
			ws__puts(&w, "\r\n");
		}
		if (ext) { /* RFC 7692 §5 */
			ws__puts(&w, "Sec-WebSocket-Extensions: ");
			ws__puts(&w, ext);
			ws__puts(&w, "\r\n");
		}
		if (o->headers)
			ws__puts(&w, o->headers);
		ws__puts(&w, "\r\n");
	} while (ws__out_again(&w));
	return ws__out_end(&w, out_len);
}

int ws_conn_connect(ws_conn *c, const ws_connect_opts *opts, void *out, size_t cap, size_t *out_len)
{
	static const char placeholder[] = "AAAAAAAAAAAAAAAAAAAAAA==";
	uint8_t nonce[16];
	char key[25], ext[WS_DEFLATE_FORMAT_MAX];
	const char *offer = NULL;
	int rc;

	*out_len = 0;
	if (c->cfg_->role != WS_ROLE_CLIENT || c->state_ != WS__CLIENT_IDLE)
		return WS_E_STATE;
	if (!connect_opts_ok(opts))
		return WS_E_ARG;
	if (c->cfg_->deflate && ws_deflate_available() &&
	    ws_deflate_format(c->cfg_->deflate, NULL, ext, sizeof ext))
		offer = ext;
	/* Measure before drawing the nonce, so WS_E_BUFFER changes nothing. */
	rc = write_request(opts, placeholder, offer, NULL, 0, out_len);
	if (*out_len > cap)
		return rc;
	/* RFC 6455 §4.1 item 7: a fresh random 16-byte nonce per connection. */
	if (ws__random(c, nonce, sizeof nonce)) {
		*out_len = 0; /* it held the size measured */
		return WS_E_RAND;
	}
	ws__key_encode(nonce, key);
	rc = write_request(opts, key, offer, out, cap, out_len);
	if (rc)
		return rc;
	memcpy(c->u_.h.key, nonce, sizeof nonce);
	c->u_.h.opts = opts;
	c->u_.h.scanned = 0;
	c->state_ = WS__CLIENT_WAIT;
	return WS_OK;
}

/* RFC 9112 §4: HTTP-version SP 3DIGIT SP reason-phrase. The SP before an
 * empty reason is tolerated, as most clients do: the reason carries nothing.
 * Returns the status, or 0 if malformed; *version gets 10 * major + minor. */
static unsigned status_line(ws_str l, int *version)
{
	const char *p = l.ptr;
	unsigned status = 0;

	if (l.len < 12 || p[8] != ' ' || (l.len > 12 && p[12] != ' '))
		return 0;
	*version = ws__http_version(p, 8);
	if (*version < 10 || *version > 19)
		return 0;
	for (int i = 9; i < 12; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		status = status * 10 + (unsigned)(p[i] - '0');
	}
	for (size_t i = 13; i < l.len; i++)
		if (((unsigned char)p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
			return 0;
	return status >= 100 && status <= 599 ? status : 0;
}

/* RFC 6455 §4.1, client item 5: every accepted extension must have been
 * offered. We offer only permessage-deflate (RFC 7692 §5), once, so the
 * answer may hold it once, with parameters that fit the offer. */
static int check_extensions(ws_conn *c, ws_str head, ws_deflate_params *p, int *agreed)
{
	size_t pos = 0;
	ws_str name, value;

	while (ws_header_next(head, &pos, &name, &value)) {
		if (!ws__ieq(name, "Sec-WebSocket-Extensions"))
			continue;
		if (*agreed || !c->cfg_->deflate || !ws_deflate_available() ||
		    !ws_deflate_check_response(c->cfg_->deflate, value, p))
			return WS_E_HTTP_EXTENSION;
		*agreed = 1;
	}
	return WS_OK;
}

/* RFC 6455 §4.1, client items 2-6, for a 101. */
static int check_101(ws_conn *c, ws_str head, ws_http *h, ws_deflate_params *dp, int *agreed)
{
	const ws_connect_opts *o = c->u_.h.opts;
	unsigned accepts = 0, protocols = 0;
	char key[25], want[WS_ACCEPT_KEY_LEN + 1];
	ws_str name, value, accept = {NULL, 0};
	size_t pos = 0;
	int rc;

	if (!ws_header_has_token(head, "Upgrade", "websocket"))
		return WS_E_HTTP_UPGRADE;
	if (!ws_header_has_token(head, "Connection", "upgrade"))
		return WS_E_HTTP_CONNECTION;
	while (ws_header_next(head, &pos, &name, &value)) {
		if (ws__ieq(name, "Sec-WebSocket-Accept")) {
			accepts++;
			accept = value;
		} else if (ws__ieq(name, "Sec-WebSocket-Protocol")) {
			protocols++;
			h->protocol = value;
		}
	}
	ws__key_encode(c->u_.h.key, key);
	rc = ws_accept_key(key, 24, want);
	if (rc)
		return rc;
	if (accepts != 1 || !ws__eq(accept, want))
		return WS_E_HTTP_ACCEPT;
	rc = check_extensions(c, head, dp, agreed);
	if (rc)
		return rc;
	/* Item 6: one subprotocol, one we offered (exact match), or none. */
	if (protocols) {
		const char *const *p = o->protocols;
		while (p && *p && !ws__eq(h->protocol, *p))
			p++;
		if (protocols > 1 || !p || !*p)
			return WS_E_HTTP_PROTOCOL;
	}
	return WS_OK;
}

int ws__client_head(ws_conn *c, ws_str head, ws_event *ev)
{
	ws_http *h = &ev->http;
	ws_str line;
	ws_deflate_params p;
	int version = 0, agreed = 0, rc;

	memset(h, 0, sizeof *h);
	h->head = head;
	if (!ws__start_line(head, &line))
		return WS_E_HTTP_STATUS;
	h->status = status_line(line, &version);
	if (!h->status)
		return WS_E_HTTP_STATUS;
	rc = ws__fields_check(head, line.len + 2, c->cfg_->max_headers);
	if (rc)
		return rc;
	/* RFC 9110 §15.2: a 1xx other than 101 is interim (100 Continue, 103
	 * Early Hints...): the final response follows. None is sent to HTTP/1.0. */
	if (h->status < 200 && h->status != 101)
		return version < 11 ? WS_E_HTTP_STATUS : WS__INTERIM;
	/* Item 1: any other status is handled as HTTP; for us, the end. The
	 * bytes after it are the response body, which is not ours to consume. */
	if (h->status != 101) {
		ev->type = WS_EV_REJECTED;
		c->bits_ |= WS__DONE;
		return WS_OK;
	}
	if (version < 11)
		return WS_E_HTTP_STATUS; /* no 1xx to HTTP/1.0 (RFC 9110 §15.2) */
	rc = check_101(c, head, h, &p, &agreed);
	if (rc)
		return rc;
	c->state_ = WS__OPEN;
	memset(&c->u_, 0, sizeof c->u_); /* the frame state shares this memory */
	/* The server compresses from now on: without memory to inflate, fail
	 * (1011 once OPEN). */
	if (agreed && (rc = ws__deflate_enable(c, c->cfg_->deflate, &p)) != WS_OK)
		return rc;
	ev->type = WS_EV_OPEN;
	return WS_OK;
}
