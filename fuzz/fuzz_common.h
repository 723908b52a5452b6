/* Shared by the libFuzzer targets in fuzz/: taking configuration from the first
 * input bytes, a read loop that feeds a ws_conn in fuzzed pieces (each ending
 * at a PROT_NONE page) while checking the library's contract with the checker
 * the unit tests use (test/contract.h).
 *
 * Every check that fails calls FZ_ASSERT, which prints the condition and traps,
 * so libFuzzer (or fuzz/replay.c under gcc) reports it as a crash. */
#ifndef WS_FUZZ_COMMON_H
#define WS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include "ws/ws.h"

#include "contract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

void fz_fail(const char *file, int line, const char *what);
#define FZ_ASSERT(c) do { if (!(c)) fz_fail(__FILE__, __LINE__, #c); } while (0)

/* A cursor over the fuzz input. */
typedef struct fz_in {
	const uint8_t *p;
	size_t n;
} fz_in;
/* The next byte (0 once the input is exhausted). */
unsigned fz_byte(fz_in *in);
/* The next 16-bit value, little-endian. */
unsigned fz_u16(fz_in *in);

/* xorshift32: deterministic "random" numbers from a fuzzed seed. */
uint32_t fz_rand32(uint32_t *s);

/* The rand callback used everywhere: a counter, so keys and masks (and thus
 * the Sec-WebSocket-Key of ws_conn_connect) are reproducible; *ctx is reset
 * to 0 per input. Also used by fuzz/gen_seeds.c. */
int fz_rand(void *ctx, void *buf, size_t len);

/* Chunk sizes for a read loop: a mode (0-7) and a seed select whole input,
 * one byte at a time, fixed-size, random-size or two-piece splits. */
typedef struct fz_split {
	unsigned mode;
	uint32_t seed;
	size_t total;
} fz_split;
/* Size of the next piece; pos bytes were already given. Never 0 when pos < total. */
size_t fz_split_next(fz_split *s, size_t pos);

/* Reference UTF-8 validation (RFC 3629), for differential checks: the one
 * of test/contract.h. */
typedef ct_utf8 fz_utf8;
#define fz_utf8_step ct_utf8_step
#define fz_utf8_ref ct_utf8_ref

/* Configuration byte 0 of the connection targets (server, client, http). */
enum {
	FZ_START_OPEN = 0x01, /* WS_CFG_START_OPEN */
	FZ_LENIENT = 0x02,    /* WS_CFG_LENIENT_LENGTH */
	FZ_NO_UTF8 = 0x04,    /* WS_CFG_NO_UTF8_CHECK */
	FZ_SMALL = 0x08,      /* small limits from byte 2 */
	FZ_ACT = 0x10,        /* app activity: echo data, send pings, close after some events */
	FZ_REJECT = 0x20,     /* server: reject the request instead of accepting it */
	FZ_DEFLATE = 0x40,    /* permessage-deflate configured (parameters from byte 2) */
	FZ_ALLOC_FAIL = 0x80  /* the deflate allocator fails at an allocation chosen by byte 3 */
};

/* Options of one connection run. */
typedef struct fz_conn_opts {
	int role;          /* WS_ROLE_* */
	int heads_only;    /* fuzz_http: stop at the first event after the handshake */
	int deflate;       /* 0: per FZ_DEFLATE; 1: always, and the connection starts OPEN
	                    * with permessage-deflate on (fuzz_inflate) */
} fz_conn_opts;

/* Takes 4 configuration bytes from in (flags, split, limits or deflate
 * parameters, app), then feeds
 * the rest of the input to a connection of the given role through the read
 * loop of include/ws/conn.h, asserting the contract on every call. */
void fz_conn_run(const fz_conn_opts *o, const uint8_t *data, size_t size);

/* The fixed options fuzz_client connects with (and gen_seeds answers). */
extern const ws_connect_opts fz_connect_opts;
/* Subprotocols a server prefers (for ws_select_protocol). */
extern const char *const fz_server_protocols[];

#endif
