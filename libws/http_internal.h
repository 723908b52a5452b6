/* The opening handshake (RFC 6455 §4) and the HTTP/1.1 syntax it reads and
 * writes; included by ws_internal.h. Calls run one way, top to bottom:
 *
 *   handshake.c         the driver: ws_conn_recv() and ws_conn_fail() during
 *                       the handshake, finding each head in the input
 *   handshake_server.c  judging a request, writing the answers
 *   handshake_client.c  writing the request, judging the response
 *   deflate_params.c    permessage-deflate offers and answers (RFC 7692 §7)
 *   sha1_mbedtls.c      Sec-WebSocket-Key and -Accept
 *   http.c              the lexer (RFC 9110 tokens, lists, parameters; RFC
 *                       9112 lines; RFC 3986 hosts) and the output writer;
 *                       it calls nothing of ours
 */
#ifndef WS_HTTP_INTERNAL_H
#define WS_HTTP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "ws/ws.h"

/* ---- handshake.c: called by conn.c and conn_send.c ---- */

/* Called by ws_conn_recv() while the handshake is not done; ev is cleared. */
int ws__handshake_recv(ws_conn *c, uint8_t *buf, size_t len, size_t *consumed, ws_event *ev);
/* Called by ws_conn_fail() for a connection that failed during the handshake. */
int ws__handshake_fail(ws_conn *c, void *out, size_t cap, size_t *out_len);

/* ---- handshake_server.c, handshake_client.c: called by the driver ---- */

/* Judge a complete head (through its CRLFCRLF) and fill in ev. Return WS_OK,
 * an error, or (client) WS__INTERIM for a 1xx response to skip. */
enum { WS__INTERIM = 1 };
int ws__server_head(ws_conn *c, ws_str head, ws_event *ev);
int ws__client_head(ws_conn *c, ws_str head, ws_event *ev);
/* Writes the HTTP error response for the server's sticky handshake error. */
int ws__server_fail(const ws_conn *c, void *out, size_t cap, size_t *out_len);

/* ---- sha1_mbedtls.c ---- */

/* Sec-WebSocket-Key <-> its 16 bytes. Decoding accepts only the canonical
 * 24-character form; returns 0 on success. */
int ws__key_decode(const char *s, size_t n, uint8_t key[16]);
void ws__key_encode(const uint8_t key[16], char out[25]);

/* ---- http.c: the lexer ---- */

/* RFC 9110 §5.6.2: tchar; a token is one or more. */
int ws__is_tchar(unsigned ch);
int ws__is_token(const char *s, size_t n);
/* The end of the token (possibly empty) starting at s.ptr[i]. */
size_t ws__token_end(ws_str s, size_t i);
/* RFC 9110 §5.6.3: the first byte at or after i that is not OWS. */
size_t ws__skip_ows(ws_str s, size_t i);
/* Non-empty and only visible ASCII (no SP, CTL or obs-text). */
int ws__is_vchars(const char *s);
/* a equals b exactly / ASCII case-insensitively. */
int ws__eq(ws_str a, const char *b);
int ws__ieq(ws_str a, const char *b);

/* One ";" parameter of a list element, RFC 6455 §9.1 (extension-param) in
 * RFC 9110 §5.6.6 spelling: OWS ";" OWS token [OWS "=" OWS (token /
 * quoted-string)]. value is the token, or the quoted-string's content with
 * its escapes still in. */
typedef struct ws__param {
	ws_str name, value;
	uint8_t has_value, quoted;
} ws__param;
/* Reads the parameter at s.ptr[*pos] and advances *pos: 1, 0 if only OWS is
 * left, -1 if the bytes are no parameter. */
int ws__param_next(ws_str s, size_t *pos, ws__param *p);
/* The value as a token (RFC 6455 §9.1: a quoted-string must hold one once
 * unescaped), copied to buf[0..cap): its length, or 0 if it is no token, is
 * longer than cap, or absent. */
size_t ws__param_token(const ws__param *p, char *buf, size_t cap);

/* RFC 9112 §3.2, RFC 3986 §3.2.2: uri-host [":" port], the host non-empty. */
int ws__is_host(ws_str s);
/* The start line of head (without its CRLF); 0 if it has no CRLF. */
int ws__start_line(ws_str head, ws_str *line);
/* RFC 9112 §2.3: HTTP-version "HTTP/" DIGIT "." DIGIT, exactly n = 8 bytes;
 * returns 10 * major + minor, or -1. */
int ws__http_version(const char *p, size_t n);
/* Checks every field line after the start line (RFC 9112 §5) and their count. */
int ws__fields_check(ws_str head, size_t pos, uint32_t max_headers);
/* 1 if s is NULL or well-formed "Name: value\r\n" lines (caller's extra headers). */
int ws__lines_ok(const char *s);

/* ---- http.c: the writer ---- */

/* Output written by the same code in two passes: the first only measures,
 * the second writes, and only if it all fits. So a writer that returns
 * WS_E_BUFFER (ws__out_end(): the size needed) has not written a byte of
 * the caller's buffer (handshake.h). A writer reads:
 *
 *     ws__out o;
 *     ws__out_init(&o, out, cap);
 *     do {
 *         ws__puts(&o, ...);    the same bytes in both passes
 *     } while (ws__out_again(&o));
 *     return ws__out_end(&o, out_len);
 */
typedef struct ws__out {
	char *p;   /* where bytes go: NULL while measuring */
	char *dst; /* the caller's buffer */
	size_t len, cap;
} ws__out;
void ws__out_init(ws__out *o, void *out, size_t cap);
/* 1 to run the writer again, now writing: the first pass fit. */
int ws__out_again(ws__out *o);
void ws__put(ws__out *o, const void *s, size_t n);
void ws__puts(ws__out *o, const char *s);
void ws__put_uint(ws__out *o, size_t v);
int ws__out_end(const ws__out *o, size_t *out_len);

#endif
