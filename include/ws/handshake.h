/* The opening handshake (RFC 6455 §4) for both roles, through the same
 * ws_conn_recv() loop as frames.
 *
 * Server: ws_conn_recv() returns WS_EV_REQUEST once a complete, valid upgrade
 * request has arrived (ev.http describes it); answer with ws_conn_accept() or
 * ws_conn_reject(). Until then, further bytes are left unconsumed. An invalid
 * request makes ws_conn_recv() return a WS_E_HTTP_* error; ws_conn_fail() then
 * writes the matching HTTP response (400, 426 with Sec-WebSocket-Version: 13,
 * 431). Besides RFC 6455 §4.2.1, a request is refused with 400 for a Host that
 * is not uri-host [":" port] (WS_E_HTTP_HOST, RFC 9112 §3.2), and for a
 * Transfer-Encoding or a Content-Length other than 0 (WS_E_HTTP_BODY): the
 * body they announce would be read as frames after the 101, and a GET that
 * asks to switch protocols has no use for one; most servers refuse them too.
 * Up to 10 empty lines (CRLF) before the request line are ignored (RFC 9112
 * §2.2); they count toward max_head and are consumed with the head, and
 * ev.http.head starts after them. With more, or a bare LF, the request is
 * malformed (400).
 *
 * Client: ws_conn_connect() writes the request; ws_conn_recv() returns
 * WS_EV_OPEN for a valid 101 response, WS_EV_REJECTED (ev.http.status, and the
 * headers through ev.http.head) for any other final response, or a
 * WS_E_HTTP_* error for an invalid one. Interim responses (1xx other than 101,
 * such as 100 Continue or 103 Early Hints; RFC 9110 §15.2) are consumed
 * without an event, and the final response is awaited. A response must begin
 * with its status line: RFC 9112 §2.2 lets servers skip empty lines before a
 * request, and a client here takes no such liberty (WS_E_HTTP_STATUS).
 *
 * In both roles the bytes after the head are frames, returned by the next
 * ws_conn_recv() calls: nothing is lost.
 *
 * ws_conn_accept(), ws_conn_reject() and ws_conn_connect() follow the rule of
 * every writer: WS_E_BUFFER sets *out_len to the size needed and changes
 * nothing else (not a byte of out is written, the connection is as it was,
 * and the call may be repeated with a larger buffer); any other error sets it
 * to 0.
 *
 * The head is not consumed until it is complete; the connection remembers how
 * far it has searched, so presenting it one byte at a time costs linear time
 * (the caller must present it from the same start each time, as the read loop
 * in conn.h does). */
#ifndef WS_HANDSHAKE_H
#define WS_HANDSHAKE_H

#include "conn.h"

/* Length of a Sec-WebSocket-Accept value (base64 of a SHA-1 digest). */
#define WS_ACCEPT_KEY_LEN 28

typedef struct ws_accept_opts {
	const char *protocol;   /* the chosen subprotocol (one the client offered), or NULL */
	const char *headers;    /* extra header lines, each ending in CRLF ("Set-Cookie: a=b\r\n"), or NULL */
	/* permessage-deflate, if the request offered it: deflate agrees with this
	 * configuration instead of the ws_config's (which may have none), and
	 * like that one must outlive the connection; NULL means the ws_config's.
	 * no_deflate nonzero declines it. */
	const struct ws_deflate_config *deflate;
	int no_deflate;
} ws_accept_opts;

typedef struct ws_connect_opts {
	const char *host;              /* Host value: a host name, IPv4 address or [IPv6 address], with
	                                * ":port" unless the default port (RFC 3986 §3.2.2); required */
	const char *target;            /* path and query ("/chat?room=1"); NULL means "/" */
	const char *const *protocols;  /* NULL-terminated subprotocols to offer, or NULL */
	const char *origin;            /* Origin value, or NULL */
	const char *headers;           /* extra header lines, each ending in CRLF
	                                * ("Authorization: Bearer x\r\n"), or NULL */
} ws_connect_opts;

#ifdef __cplusplus
extern "C" {
#endif

/* Server: accepts the request of the last WS_EV_REQUEST and writes the 101
 * response into out. The connection is then OPEN. opts may be NULL. The
 * first acceptable permessage-deflate offer of the request is agreed to with
 * opts->deflate, else the ws_config's deflate config, unless opts->no_deflate
 * or neither exists; so a server can choose per request (by User-Agent,
 * path, a header) with one ws_config. If zlib's memory cannot be had, the
 * answer declines the extension.
 * Returns:
 *   WS_OK;
 *   WS_E_BUFFER if cap is too small (*out_len = the size needed);
 *   WS_E_STATE if no request awaits an answer;
 *   WS_E_ARG if opts->protocol is not a token, opts->headers are not
 *     well-formed header lines (no header injection through CR/LF/NUL),
 *     opts->deflate lacks what ws_conn_init() requires of a deflate config
 *     (alloc, free, inflate_buf of at least 1024 bytes), or the SHA-1 of the
 *     crypto hook failed.
 * Sticky: no; an error changes nothing. */
WS_API int ws_conn_accept(ws_conn *c, const ws_accept_opts *opts, void *out, size_t cap,
                          size_t *out_len);

/* Server: refuses the request with an HTTP status (400-599), extra header lines
 * (each ending in CRLF, or NULL) and a body of body_len bytes (Content-Length is
 * added). Afterwards ws_conn_should_close_transport() is true.
 * Returns:
 *   WS_OK;
 *   WS_E_BUFFER if cap is too small (*out_len = the size needed);
 *   WS_E_STATE if no request awaits an answer;
 *   WS_E_ARG for a status outside 400-599, malformed headers, or a NULL body
 *     with body_len > 0.
 * Sticky: no; an error changes nothing. */
WS_API int ws_conn_reject(ws_conn *c, unsigned status, const char *headers, const void *body,
                          size_t body_len, void *out, size_t cap, size_t *out_len);

/* Client: writes the upgrade request with a fresh Sec-WebSocket-Key from the
 * rand callback. opts (and the strings it points to) must stay valid until
 * WS_EV_OPEN or WS_EV_REJECTED: the response is checked against it.
 * Returns:
 *   WS_OK;
 *   WS_E_BUFFER if cap is too small (*out_len = the size needed; no random
 *     bytes are drawn);
 *   WS_E_STATE unless this is a client that has not connected yet;
 *   WS_E_ARG for a host that is missing or not uri-host [":" port] (RFC 3986
 *     §3.2.2), a target or origin that is empty or not visible ASCII (no
 *     spaces, CR/LF/NUL), a subprotocol that is not a token, or malformed
 *     headers;
 *   WS_E_RAND if the rand callback failed.
 * Sticky: no; an error changes nothing. */
WS_API int ws_conn_connect(ws_conn *c, const ws_connect_opts *opts, void *out, size_t cap,
                           size_t *out_len);

/* Iterates over the header fields of a head: start with *pos = 0.
 * Returns:
 *   1 with *name and *value set (value without surrounding whitespace);
 *   0 after the last field. */
WS_API int ws_header_next(ws_str head, size_t *pos, ws_str *name, ws_str *value);

/* Iterates over the elements of a comma-separated list (RFC 9110 §5.6.1),
 * skipping empty elements and whitespace: start with *pos = 0.
 * Returns:
 *   1 with *item set;
 *   0 at the end. */
WS_API int ws_list_next(ws_str list, size_t *pos, ws_str *item);

/* Looks for token (any case) in the lists of every header field of the head
 * named name (any case).
 * Returns:
 *   1 if one of them contains it;
 *   0 otherwise. */
WS_API int ws_header_has_token(ws_str head, const char *name, const char *token);

/* Server: chooses a subprotocol from prefs, a NULL-terminated list in the
 * server's order of preference.
 * Returns:
 *   the first of prefs that the request offered in Sec-WebSocket-Protocol;
 *   NULL if none. */
WS_API const char *ws_select_protocol(const ws_http *req, const char *const *prefs);

/* Server: checks the request's Origin against allowed, a NULL-terminated
 * list such as "https://example.com", ASCII case-insensitively. Browsers
 * always send Origin; other clients may not.
 * Returns:
 *   1 if the Origin equals one of allowed;
 *   0 if not, or if there is no Origin. */
WS_API int ws_origin_allowed(const ws_http *req, const char *const *allowed);

/* Computes Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 §4.2.2):
 * base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")). Writes
 * WS_ACCEPT_KEY_LEN characters and a NUL to out. Public for handshakes done by
 * other stacks (RFC 8441/9220). SHA-1 and base64 come from mbedTLS, or from
 * functions the build supplies (the crypto hook, ws/crypto.h).
 * Returns:
 *   WS_OK;
 *   WS_E_ARG if the hash or the encoding fails.
 * Sticky: no; there is no state. */
WS_API int ws_accept_key(const char *key, size_t key_len, char out[WS_ACCEPT_KEY_LEN + 1]);

#ifdef __cplusplus
}
#endif
#endif
