/* permessage-deflate (RFC 7692), built with zlib unless `make WS_DEFLATE=0`
 * (then ws_deflate_available() is 0, the extension is never offered or
 * accepted, and ws_conn_enable_deflate() returns WS_E_STATE).
 *
 * Turn it on by pointing ws_config.deflate at a ws_deflate_config. The
 * handshake then offers it (client) or accepts the first acceptable offer
 * (server); compressed messages arrive as ordinary TEXT/BINARY events with
 * WS_EVF_COMPRESSED, their data inflated into the config's inflate buffer.
 *
 * Memory. The library allocates nothing itself: zlib's state comes from the
 * allocator in the config, lazily, on first use. Bytes per connection on
 * x86-64, by what each direction agreed (make test: test_deflate prints the
 * totals it measures; figures in docs/performance.md):
 *
 *   what                                  idle connection   during a message
 *   ws_conn (48 on 32-bit targets)        56                56
 *   extension state, once agreed          248               248
 *   receiving, peer keeps its context     I once used       I
 *   receiving, peer resets (its           0                 I, freed at the
 *     no_context_takeover)                                    message's end
 *   sending, we keep our context          D + 104 once used D + 104
 *   sending, we reset, shared compressor  0                 whole: 0 (the
 *                                                             thread's D);
 *                                                           fragmented: D + 104,
 *                                                             freed at the end
 *   sending, we reset, no shared one      D + 104 once used D + 104
 *   per thread: ws_deflate_shared         D
 *
 *   I, zlib's inflater: about 39 KiB (7 KiB + a 32 KiB window whatever window
 *     the peer agreed to: zlib takes a distance beyond a smaller window when
 *     the bytes happen to be at hand, so a peer that broke its promise would
 *     pass or fail depending on how its bytes were split).
 *   D, zlib's deflater: about 6 KiB + 2^(window_bits+2) + 2^(mem_level+9);
 *     262 KiB at 15 bits and memLevel 8, 9 KiB at 9 bits and memLevel 1.
 *   104: where a connection's own compressor is, so that it is prefetched
 *     before each message (cold with many connections taking turns, zlib's
 *     match search would wait on memory at every step; a lower memLevel does
 *     not help, the window and its chains are what is missed).
 *
 * A server for 100k mostly idle connections therefore sets
 * server_no_context_takeover and client_no_context_takeover, a shared
 * compressor, and small window bits: the idle cost is 56 + 248 bytes each. */
#ifndef WS_DEFLATE_H
#define WS_DEFLATE_H

#include "conn.h"

/* Memory for zlib. alloc returns NULL on failure: receiving then fails the
 * connection with WS_E_ALLOC (sticky, close code 1011), sending goes
 * uncompressed, and a server's handshake declines the extension. */
typedef struct ws_allocator {
	void *(*alloc)(void *ctx, size_t size);
	void (*free)(void *ctx, void *ptr);
	void *ctx;
} ws_allocator;

typedef struct ws_deflate_shared ws_deflate_shared;
typedef struct ws_deflate_config ws_deflate_config;

/* Agreed parameters (RFC 7692 §7.1). Window bits are 8-15; 15 when absent. */
typedef struct ws_deflate_params {
	uint8_t server_no_context_takeover;
	uint8_t client_no_context_takeover;
	uint8_t server_max_window_bits;
	uint8_t client_max_window_bits;
} ws_deflate_params;

/* Shared by the connections of one thread (the inflate buffer and the shared
 * compressor are used by one connection at a time); must outlive them. */
struct ws_deflate_config {
	ws_allocator alloc;        /* required */
	/* What a client asks for and what a server insists on or accepts: */
	uint8_t server_no_context_takeover; /* the server resets its compressor per message */
	uint8_t client_no_context_takeover; /* the client resets its compressor per message */
	uint8_t server_max_window_bits;     /* 9-15 (8 is treated as 9: zlib cannot compress with 8) */
	uint8_t client_max_window_bits;     /* 9-15 */
	uint8_t mem_level;          /* our compressor's zlib memLevel, 1-9 */
	int8_t level;               /* zlib compression level, 0-9 */
	uint32_t threshold;         /* whole messages shorter than this are sent uncompressed */
	uint8_t *inflate_buf;       /* where inflated data lands; events point here until the next recv */
	size_t inflate_cap;         /* at least 1024 bytes */
	ws_deflate_shared *shared;  /* optional: this thread's compressor for no-context-takeover sending */
};

#ifdef __cplusplus
extern "C" {
#endif

/* Returns:
 *   1 if this build of the library has permessage-deflate;
 *   0 if not. */
WS_API int ws_deflate_available(void);

/* Defaults: no parameters requested, 15 window bits both ways, memLevel 8,
 * level 6, threshold 64 bytes; alloc, inflate_buf and shared unset. */
WS_API void ws_deflate_config_init(ws_deflate_config *d);

/* Creates the compressor that connections of one thread share for whole
 * messages they send without context takeover, with memory from cfg->alloc,
 * cfg's memLevel and level, and the smaller of cfg's two window bits (it serves
 * only connections allowed at least that window). *out is set to it, or to
 * NULL on error. Free it with ws_deflate_shared_free() after the connections
 * that use it.
 * Returns:
 *   WS_OK;
 *   WS_E_ARG if cfg->alloc has no alloc or free function;
 *   WS_E_ALLOC if zlib's memory cannot be had (nothing is left allocated);
 *   WS_E_STATE if the library was built without deflate.
 * Sticky: no; there is no state. */
WS_API int ws_deflate_shared_new(const ws_deflate_config *cfg, ws_deflate_shared **out);

/* Frees what ws_deflate_shared_new() made; s may be NULL. */
WS_API void ws_deflate_shared_free(ws_deflate_shared *s);

/* Server: looks through one Sec-WebSocket-Extensions value for permessage-deflate
 * offers (RFC 7692 §5, §7.1) and agrees to the first acceptable one: offers with
 * unknown, duplicate or invalid parameters are declined. What is agreed (RFC
 * 7692 §7.1):
 *   - no context takeover for a side when the offer asks for it or cfg does;
 *   - our window: cfg's, lowered to the offer's server_max_window_bits. An
 *     offer naming that parameter is accepted only by an answer naming it
 *     (§7.1.2.1), and an answer names windows below 15 (absent means 15), so
 *     such an offer gets at most 14 bits, even when it names 15;
 *   - the client's window: 15 unless the offer has client_max_window_bits
 *     (§7.1.2.2: otherwise the answer must not limit it); then cfg's, lowered
 *     to the offer's value if it has one.
 * Returns:
 *   1 with *out set;
 *   0 if no offer is acceptable. */
WS_API int ws_deflate_negotiate(const ws_deflate_config *cfg, ws_str offers, ws_deflate_params *out);

/* The longest value ws_deflate_format() writes, with its NUL. */
#define WS_DEFLATE_FORMAT_MAX 132

/* Writes the Sec-WebSocket-Extensions value for agreed parameters (server) or
 * the offer for cfg (client, params NULL) into out, NUL-terminated. An answer
 * names each no-context-takeover agreed and each window below 15 bits; an
 * offer names what cfg asks for, and always client_max_window_bits (the client
 * accepts a limit, RFC 7692 §7.1.2.2).
 * Returns:
 *   the length written, without the NUL;
 *   0 if cap is too small (out is then not written; WS_DEFLATE_FORMAT_MAX
 *     always suffices). */
WS_API size_t ws_deflate_format(const ws_deflate_config *cfg, const ws_deflate_params *params,
                                char *out, size_t cap);

/* Client: checks the server's Sec-WebSocket-Extensions value against the offer
 * made from cfg: exactly one permessage-deflate with valid parameters (RFC 7692
 * §7.1), window bits no larger than asked for and named when asked for
 * (§7.1.2), the server_no_context_takeover we asked for granted (§7.1.1.1).
 * Returns:
 *   1 with *out set (client_no_context_takeover also when only we asked for
 *     it);
 *   0 if the response is invalid. */
WS_API int ws_deflate_check_response(const ws_deflate_config *cfg, ws_str response,
                                     ws_deflate_params *out);

/* Turns permessage-deflate on, with the agreed parameters p, for a
 * connection whose handshake was done elsewhere (WS_CFG_START_OPEN, e.g. over
 * HTTP/2); the handshake of this library turns it on itself when both sides
 * agree. ws_conn_release() (conn.h) frees what it takes.
 * Returns:
 *   WS_OK;
 *   WS_E_STATE if c is not OPEN (a server before its accept, a client before
 *     the 101), has no deflate config, has the extension on already, or the
 *     library was built without deflate;
 *   WS_E_ALLOC if zlib's memory cannot be had: the extension stays off, and
 *     RSV1 frames stay a protocol error.
 * Sticky: no; an error changes nothing. */
WS_API int ws_conn_enable_deflate(ws_conn *c, const ws_deflate_params *p);

#ifdef __cplusplus
}
#endif
#endif
