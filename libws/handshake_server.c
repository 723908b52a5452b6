/* The server side of the opening handshake, RFC 6455 §4.2: judging the
 * client's request, and the 101, the refusal, or the HTTP error answering it. */
#include "ws_internal.h"

/* RFC 9112 §3: method SP request-target SP HTTP-version, single spaces. The
 * target must be visible ASCII: whitespace or controls inside it are how
 * request smuggling starts. Returns 0 if malformed. */
static int request_line(ws_str l, ws_str *method, ws_str *target, int *version)
{
	const char *p = l.ptr, *e = l.ptr + l.len, *sp = ws__memchr(p, ' ', l.len);

	if (!sp || !ws__is_token(p, (size_t)(sp - p)))
		return 0;
	method->ptr = p;
	method->len = (size_t)(sp - p);
	p = sp + 1;
	sp = ws__memchr(p, ' ', (size_t)(e - p));
	if (!sp || sp == p)
		return 0;
	for (const char *q = p; q < sp; q++)
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
			return 0;
	target->ptr = p;
	target->len = (size_t)(sp - p);
	*version = ws__http_version(sp + 1, (size_t)(e - sp - 1));
	return *version >= 0;
}

/* A Content-Length of zero (RFC 9110 §8.6: 1*DIGIT) announces no body. */
static int zero(ws_str v)
{
	size_t i = 0;

	while (i < v.len && v.ptr[i] == '0')
		i++;
	return v.len && i == v.len;
}

int ws__server_head(ws_conn *c, ws_str head, ws_event *ev)
{
	ws_http *h = &ev->http;
	ws_str line, method, name, value, version = {NULL, 0};
	unsigned hosts = 0, origins = 0, keys = 0, versions = 0, body = 0;
	size_t pos = 0;
	int http_version, rc;

	memset(h, 0, sizeof *h);
	h->head = head;
	/* Syntax first, so that a malformed head is always reported as such. */
	if (!ws__start_line(head, &line) || !request_line(line, &method, &h->target, &http_version))
		return WS_E_HTTP_MALFORMED;
	rc = ws__fields_check(head, line.len + 2, c->cfg_->max_headers);
	if (rc)
		return rc;

	/* RFC 6455 §4.2.1 item 1; methods are case-sensitive (RFC 9110 §9.1). */
	if (!ws__eq(method, "GET"))
		return WS_E_HTTP_METHOD;
	if (http_version < 11 || http_version > 19)
		return WS_E_HTTP_VERSION;
	while (ws_header_next(head, &pos, &name, &value)) {
		if (ws__ieq(name, "Host")) {
			hosts++;
			h->host = value;
		} else if (ws__ieq(name, "Origin")) {
			origins++;
			h->origin = value;
		} else if (ws__ieq(name, "Sec-WebSocket-Key")) {
			keys++;
			h->key = value;
		} else if (ws__ieq(name, "Sec-WebSocket-Version")) {
			versions++;
			version = value;
		} else if (ws__ieq(name, "Content-Length")) {
			body |= !zero(value);
		} else if (ws__ieq(name, "Transfer-Encoding")) {
			body = 1;
		}
	}
	/* RFC 6455 §4.2.1 item 2; RFC 9112 §3.2: exactly one Host, and a server
	 * "MUST respond with a 400 (Bad Request) status code to any HTTP/1.1
	 * request message that lacks a Host header field and to any request
	 * message that contains more than one Host header field line or a Host
	 * header field with an invalid field value". */
	if (hosts != 1 || !ws__is_host(h->host))
		return WS_E_HTTP_HOST;
	/* RFC 9112 §6.3: these fields announce a body, whose bytes would be taken
	 * for frames once we switch protocols; refused, as most servers do. */
	if (body)
		return WS_E_HTTP_BODY;
	/* Two Origins would let the application check one while another layer
	 * trusts the other (RFC 6454 §7.3: a user agent sends at most one). */
	if (origins > 1)
		return WS_E_HTTP_MALFORMED;
	/* RFC 6455 §4.2.1 items 3 and 4: tokens in lists, any case, any field. */
	if (!ws_header_has_token(head, "Upgrade", "websocket"))
		return WS_E_HTTP_UPGRADE;
	if (!ws_header_has_token(head, "Connection", "upgrade"))
		return WS_E_HTTP_CONNECTION;
	/* RFC 6455 §4.2.1 item 6, §4.4: anything but one "13" gets a 426. */
	if (versions != 1 || !ws__eq(version, "13"))
		return WS_E_HTTP_WS_VERSION;
	/* RFC 6455 §4.2.1 item 5. The decoded key is kept so that the answer can
	 * come after the caller has reused the buffer holding the head. */
	if (keys != 1 || ws__key_decode(h->key.ptr, h->key.len, c->u_.h.key))
		return WS_E_HTTP_KEY;

	/* RFC 7692 §5: the first acceptable permessage-deflate offer, kept for
	 * the answer (the head may be gone by then), which agrees to it with the
	 * configuration it chooses (ws_accept_opts). */
	memset(c->u_.h.deflate, 0, sizeof c->u_.h.deflate);
	if (ws_deflate_available())
		for (pos = 0; ws_header_next(head, &pos, &name, &value);)
			if (ws__ieq(name, "Sec-WebSocket-Extensions") &&
			    ws__deflate_offer_keep(value, c->u_.h.deflate))
				break;

	ev->type = WS_EV_REQUEST;
	c->state_ = WS__SERVER_ANSWER;
	return WS_OK;
}

/* RFC 6455 §4.2.2 item 5; RFC 7692 §5 for the extension. */
static int write_101(const ws_accept_opts *opts, const char *accept, const char *ext, void *out,
                     size_t cap, size_t *out_len)
{
	ws__out o;

	ws__out_init(&o, out, cap);
	do {
		ws__puts(&o, "HTTP/1.1 101 Switching Protocols\r\n"
		             "Upgrade: websocket\r\n"
		             "Connection: Upgrade\r\n"
		             "Sec-WebSocket-Accept: ");
		ws__puts(&o, accept);
		ws__puts(&o, "\r\n");
		if (opts->protocol) {
			ws__puts(&o, "Sec-WebSocket-Protocol: ");
			ws__puts(&o, opts->protocol);
			ws__puts(&o, "\r\n");
		}
		if (ext) {
			ws__puts(&o, "Sec-WebSocket-Extensions: ");
			ws__puts(&o, ext);
			ws__puts(&o, "\r\n");
		}
		if (opts->headers)
			ws__puts(&o, opts->headers);
		ws__puts(&o, "\r\n");
	} while (ws__out_again(&o));
	return ws__out_end(&o, out_len);
}

static int awaiting_answer(const ws_conn *c)
{
	return c->state_ == WS__SERVER_ANSWER && !(c->bits_ & WS__DONE) && !c->error_;
}

int ws_conn_accept(ws_conn *c, const ws_accept_opts *opts, void *out, size_t cap, size_t *out_len)
{
	static const ws_accept_opts none;
	char key[25], accept[WS_ACCEPT_KEY_LEN + 1], ext[WS_DEFLATE_FORMAT_MAX];
	const ws_deflate_config *d;
	ws_deflate_params p;
	int agreed, rc;

	*out_len = 0;
	if (!awaiting_answer(c))
		return WS_E_STATE;
	if (!opts)
		opts = &none;
	d = opts->no_deflate ? NULL : opts->deflate ? opts->deflate : c->cfg_->deflate;
	/* RFC 6455 §4.1: a subprotocol is a token, which also keeps CR/LF out. */
	if ((opts->protocol && !ws__is_token(opts->protocol, ws__strlen(opts->protocol))) ||
	    !ws__lines_ok(opts->headers) || (opts->deflate && !ws__deflate_config_ok(opts->deflate)))
		return WS_E_ARG;
	ws__key_encode(c->u_.h.key, key);
	rc = ws_accept_key(key, 24, accept);
	if (rc)
		return rc;
	/* No offer was kept in a build without zlib, where ws_deflate_available()
	 * is a constant 0: such a build then carries no writer for the
	 * extension's answer. */
	agreed = ws_deflate_available() && d && ws__deflate_offer_agree(d, c->u_.h.deflate, &p);
	if (agreed && !ws_deflate_format(d, &p, ext, sizeof ext))
		agreed = 0; /* cannot happen: ext is large enough */
	rc = write_101(opts, accept, agreed ? ext : NULL, out, cap, out_len);
	if (rc)
		return rc; /* WS_E_BUFFER: nothing written or changed, *out_len is the size needed */
	/* Without memory for it, decline the extension rather than fail: the
	 * answer without it is shorter, so it fits. */
	if (agreed && ws__deflate_enable(c, d, &p) != WS_OK)
		write_101(opts, accept, NULL, out, cap, out_len);

	c->state_ = WS__OPEN;
	memset(&c->u_, 0, sizeof c->u_); /* the frame state shares this memory */
	return WS_OK;
}

static const char *reason_phrase(unsigned status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 426: return "Upgrade Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	}
	return status < 500 ? "Client Error" : "Server Error";
}

/* An error response after which the transport closes (RFC 9112 §9.6). */
static int write_error(unsigned status, const char *headers, const void *body, size_t body_len,
                       void *out, size_t cap, size_t *out_len)
{
	ws__out o;

	ws__out_init(&o, out, cap);
	do {
		ws__puts(&o, "HTTP/1.1 ");
		ws__put_uint(&o, status);
		ws__puts(&o, " ");
		ws__puts(&o, reason_phrase(status));
		ws__puts(&o, "\r\nConnection: close\r\nContent-Length: ");
		ws__put_uint(&o, body_len);
		ws__puts(&o, "\r\n");
		if (headers)
			ws__puts(&o, headers);
		ws__puts(&o, "\r\n");
		ws__put(&o, body, body_len);
	} while (ws__out_again(&o));
	return ws__out_end(&o, out_len);
}

int ws_conn_reject(ws_conn *c, unsigned status, const char *headers, const void *body,
                   size_t body_len, void *out, size_t cap, size_t *out_len)
{
	int rc;

	*out_len = 0;
	if (!awaiting_answer(c))
		return WS_E_STATE;
	if (status < 400 || status > 599 || !ws__lines_ok(headers) || (!body && body_len))
		return WS_E_ARG;
	rc = write_error(status, headers, body, body_len, out, cap, out_len);
	if (rc == WS_OK)
		c->bits_ |= WS__DONE;
	return rc;
}

int ws__server_fail(const ws_conn *c, void *out, size_t cap, size_t *out_len)
{
	const char *why = ws_status_str(c->error_);
	unsigned status = ws_status_http(c->error_);

	if (status == 426) /* RFC 6455 §4.4: say which versions we speak */
		return write_error(status, "Content-Type: text/plain\r\nSec-WebSocket-Version: 13\r\n",
		                   why, ws__strlen(why), out, cap, out_len);
	return write_error(status ? status : 400, "Content-Type: text/plain\r\n", why, ws__strlen(why),
	                   out, cap, out_len);
}

/* RFC 6455 §4.2.2 item 4 (/subprotocol/): the server picks from what the
 * client offered. Names compare exactly, and the server's order of preference
 * decides, not the client's. */
const char *ws_select_protocol(const ws_http *req, const char *const *prefs)
{
	for (; prefs && *prefs; prefs++) {
		size_t pos = 0, lpos;
		ws_str name, value, item;

		while (ws_header_next(req->head, &pos, &name, &value)) {
			if (!ws__ieq(name, "Sec-WebSocket-Protocol"))
				continue;
			for (lpos = 0; ws_list_next(value, &lpos, &item);)
				if (ws__eq(item, *prefs))
					return *prefs;
		}
	}
	return NULL;
}

/* RFC 6455 §10.2: the Origin check is how a server refuses pages of other
 * sites. Compared case-insensitively: scheme and host are, and a browser
 * sends them lowercase anyway (RFC 6454 §6.2). */
int ws_origin_allowed(const ws_http *req, const char *const *allowed)
{
	if (req->origin.len == 0)
		return 0;
	for (; allowed && *allowed; allowed++)
		if (ws__ieq(req->origin, *allowed))
			return 1;
	return 0;
}
