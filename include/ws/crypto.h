/* The crypto hook: where the opening handshake gets SHA-1 and base64.
 *
 * By default libws takes both from mbedTLS (libmbedcrypto), and nothing here
 * concerns you. A build for a small target, where a whole mbedTLS would not
 * fit or the board has a hash accelerator, compiles libws with
 * -DWS_CRYPTO_HOOK=1 (as `make mcu` does) and links an object that defines
 * the three functions below: the board's accelerator behind them, or
 * mbedTLS's own sha1.c and base64.c compiled alone behind thin wrappers.
 * libws then needs nothing from mbedTLS.
 *
 * libws calls them from ws_conn_recv() (a server decoding the request's
 * Sec-WebSocket-Key, a client checking Sec-WebSocket-Accept),
 * ws_conn_accept(), ws_conn_connect() and ws_accept_key(), in the caller's
 * thread, for inputs of at most a few hundred bytes; they keep no pointer
 * after returning. Each returns 0 on success and nonzero on failure: a failed
 * hash makes the handshake fail (ws_accept_key() returns WS_E_ARG, a server
 * answers 400). This header is not part of ws.h: include it where you define
 * the functions. */
#ifndef WS_CRYPTO_H
#define WS_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* SHA-1 (FIPS 180-4) of a[0..a_len) followed by b[0..b_len), into digest.
 * Two parts so that Sec-WebSocket-Accept, SHA-1(key + GUID) per RFC 6455
 * §4.2.2, needs no concatenation buffer; a streaming accelerator feeds them
 * one after the other. a_len or b_len may be 0.
 * Returns:
 *   0 on success;
 *   nonzero on failure. */
int ws_crypto_sha1(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                   uint8_t digest[20]);

/* Base64 (RFC 4648 §4, with '=' padding, no line breaks) of src[0..n) into
 * dst[0..cap), followed by a NUL; *olen gets the characters written, without
 * the NUL. The same contract as mbedtls_base64_encode().
 * Returns:
 *   0 on success;
 *   nonzero if cap is too small. */
int ws_crypto_base64_encode(char *dst, size_t cap, size_t *olen, const uint8_t *src, size_t n);

/* Decodes base64 src[0..n) into dst[0..cap); *olen gets the bytes written.
 * libws passes only the 24 characters of a Sec-WebSocket-Key it has already
 * checked to be the canonical encoding of 16 bytes, with cap 16.
 * Returns:
 *   0 on success;
 *   nonzero if src is not base64 or the bytes do not fit. */
int ws_crypto_base64_decode(uint8_t *dst, size_t cap, size_t *olen, const char *src, size_t n);

#ifdef __cplusplus
}
#endif
#endif
