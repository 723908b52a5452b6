/* proxy: an HTTP CONNECT tunnel (RFC 9110 §9.3.6) as one step of a client's
 * connect: TCP to the proxy (the caller's), then proxy_connect(), then the
 * WebSocket handshake, or TLS to the origin and then the handshake, over the
 * same socket as if it were connected to the origin itself.
 *
 * Standalone (POSIX sockets and poll, no libws): copy proxy.c and proxy.h.
 * The parsing functions do no I/O and can be tested alone. */
#ifndef PROXY_H
#define PROXY_H

#include <stddef.h>

#define PROXY_HEAD_MAX 8192 /* the longest response head accepted from a proxy */

typedef struct {
	char host[256]; /* a name or an address (IPv6 without its brackets) */
	char port[6];
	char auth[700]; /* base64("user:pass"), percent-decoded first; "" without credentials */
} proxy_url;

/* Parses [http://][user[:pass]@]host[:port][/] (the port defaults to 80; a
 * scheme-less "host:port" as often found in http_proxy is taken as http://).
 * 0, or -1 with *why set to a static message. https:// (TLS to the proxy
 * itself) and SOCKS are not supported. */
int proxy_parse_url(const char *url, proxy_url *p, const char **why);

/* 1 when no_proxy (the value of no_proxy/NO_PROXY, or NULL) says that host
 * and port go direct. A comma- (or space-) separated list of:
 *   *               every host
 *   name            that name and every name under it (example.com matches
 *                   example.com and ws.example.com, not badexample.com); a
 *                   leading "." or "*." is allowed and means the same
 *   address         an IPv4 or IPv6 address (with or without brackets),
 *                   matched as an address (::1 equals 0:0::1); no ranges
 *   entry:port      the same, for that port only ([::1]:8080 for IPv6)
 * Names compare case-insensitively; a trailing "." is ignored. */
int proxy_bypass(const char *no_proxy, const char *host, const char *port);

/* Writes the request that opens a tunnel to host:port (host as in
 * proxy_url.host, IPv6 without brackets) into buf: CONNECT, Host and, when
 * the URL had credentials, Proxy-Authorization: Basic. Its length, or 0 if it
 * does not fit in cap. */
size_t proxy_request(char *buf, size_t cap, const proxy_url *p, const char *host, const char *port);

/* Looks at the start of a proxy's response, len bytes of it:
 *   > 0   the length of the whole head (status line, fields, empty line);
 *         *status is its code and *line_len the status line's length
 *   0     not complete yet (and nothing wrong so far)
 *   -1    not an HTTP/1.x response head
 * A head longer than PROXY_HEAD_MAX is the caller's to refuse. */
long proxy_response(const char *buf, size_t len, int *status, size_t *line_len);

/* Opens the tunnel on fd, a non-blocking socket connected to the proxy:
 * sends the request, reads the response head within timeout_ms, and returns
 * 0 on any 2xx. The head is read with MSG_PEEK, and only its own bytes are
 * taken off the socket, so whatever the proxy sent after it (the origin's
 * first bytes, even in the same segment) stays there for the TLS or
 * WebSocket layer to read. Otherwise -1, with *status set to the proxy's
 * status code (0 when there was none: timeout, closed connection, malformed
 * or oversized head) and why (why_cap bytes) to a one-line explanation that
 * quotes the proxy's status line. */
int proxy_connect(int fd, const proxy_url *p, const char *host, const char *port, int timeout_ms, int *status,
                  char *why, size_t why_cap);

#endif
