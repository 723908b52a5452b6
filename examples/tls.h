/* tls: a TLS transport for the adapter core, on mbedTLS (2.28; 3.x compiles
 * too) over a non-blocking socket. The handshake is driven by the loop like
 * any other I/O: reads and writes return AD_AGAIN until it is done, and
 * ad_wants() reports what mbedTLS waits for (WANT_READ / WANT_WRITE).
 *
 * Link with -lmbedtls -lmbedx509 -lmbedcrypto.
 *
 * Memory: mbedTLS allocates its record buffers per connection, about 2 x
 * 16.5 KiB, for as long as the session lives; a server session is set up
 * only once the first byte arrived, so a silent connection holds none
 * (docs/adapters.md has the figures). Reads take whatever the socket holds, up to 17 KiB, so that a
 * small message costs one recv(); that buffer is freed as soon as mbedTLS has
 * taken its bytes, so an idle session holds none. */
#ifndef TLS_H
#define TLS_H

#include "ad_transport.h" /* tls.c also needs ad_socket.c (ad_unsent) */

typedef struct tls_server tls_server;

/* Loads a PEM certificate chain and its key. NULL on failure (the reason is
 * printed on stderr, prefixed with name). */
tls_server *tls_server_new(const char *cert_file, const char *key_file, const char *name);

/* Offers ALPN (RFC 7301) with protos, a NULL-terminated list in the server's
 * order of preference ("h2", "http/1.1"), which must outlive s. A client that
 * offers none of them fails the handshake (no_application_protocol); one that
 * offers no ALPN at all is served as before. Call before tls_accept(). 0, or
 * -1 (the reason printed on stderr). */
int tls_server_alpn(tls_server *s, const char *const *protos);

/* Turns *t (ad_socket(fd)) into a server-side TLS session over fd. 0, or -1
 * when out of memory. */
int tls_accept(tls_server *s, int fd, ad_transport *t);

/* Turns *t into a client-side TLS session over fd for host: SNI, and the
 * certificate verified against ca_file (PEM), or the system store when NULL,
 * with the host name checked (an IPv4 or IPv6 address must be an iPAddress
 * entry of its subjectAltName, and goes without SNI). insecure skips
 * verification: for tests only.
 * 0, or -1 with the reason printed on stderr. */
int tls_connect(int fd, const char *host, const char *ca_file, int insecure, ad_transport *t);

/* Why the handshake failed ("certificate not trusted", "host name mismatch",
 * "certificate expired", or mbedTLS's description), or NULL. */
const char *tls_failure(const ad_transport *t);

/* Drives the handshake on its own, for a server that must know the ALPN
 * protocol before it reads (tls_read() and tls_write() still do it
 * implicitly). 1 once done, AD_AGAIN (ad_wants-style: see t->wants) or
 * AD_ERROR (see tls_failure()). */
int tls_handshake(ad_transport *t);

/* The protocol ALPN agreed ("h2"), or NULL when none was (or before the
 * handshake is done, or for a transport that is not TLS). */
const char *tls_alpn(const ad_transport *t);

/* Frees the session (not the socket). */
void tls_free(ad_transport *t);

#endif
