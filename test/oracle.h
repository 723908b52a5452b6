/* A differential oracle for permessage-deflate (RFC 7692) on receipt, shared
 * by test/test_inflate_oracle.c and fuzz/fuzz_deflate_oracle.c.
 *
 * A case is a few messages compressed by zlib with random parameters (raw
 * deflate, window bits 9-15, memLevel, level, strategy, context takeover or
 * not), random flush points (Z_NO_FLUSH, Z_SYNC_FLUSH, Z_FULL_FLUSH; Z_FINISH
 * or a sync flush with 00 00 ff ff removed at the end, RFC 7692 §7.2.1), cut
 * into frames at random (pings between them, some messages uncompressed),
 * masked for a server, sometimes corrupted (compressed bytes cut short, bits
 * flipped, bytes replaced, the last frame's tail dropped) or cut off on the
 * wire. The expectation comes from zlib's own inflate over the same bytes plus
 * 00 00 ff ff (RFC 7692 §7.2.2): a message is complete when inflate takes it
 * without error and stops on a block boundary (or a stream end).
 *
 * Running it feeds the wire to a connection started OPEN with the extension
 * enabled (ws_conn_enable_deflate, the same parameters), checking every call
 * with test/contract.h and every event against the oracle:
 *   - a message delivered complete (MSG_END) equals what zlib inflates, and
 *     zlib agrees it is complete;
 *   - data delivered is always a prefix of what zlib inflates;
 *   - a corrupt or truncated message fails with WS_E_INFLATE, or with
 *     WS_E_MESSAGE_TOO_BIG if zlib inflates more than max_message before the
 *     damage, or WS_E_UTF8 for text whose inflated bytes are not UTF-8;
 *   - a text message whose inflated bytes are complete but not UTF-8 fails
 *     with WS_E_UTF8 after exactly the valid prefix (the reference validator),
 *     one over max_message (inflated size) with WS_E_MESSAGE_TOO_BIG;
 *   - max_message limits the inflated size, not the compressed one.
 * Each run also returns a log (per message: bytes delivered, their hash, how
 * it ended) so callers can require the same log however the wire is split.
 * Built with WS_DEFLATE only. */
#ifndef WS_TEST_ORACLE_H
#define WS_TEST_ORACLE_H

#include <stddef.h>
#include <stdint.h>

/* Random numbers for the generator: a PRNG (unit test) or fuzz input bytes. */
typedef uint32_t (*or_rand_fn)(void *ctx);

typedef struct or_case or_case;

/* Builds a case from the random source; never NULL (aborts on no memory). */
or_case *or_case_new(or_rand_fn rnd, void *ctx);
void or_case_free(or_case *k);

/* The wire bytes presented to the connection. */
size_t or_case_wire_len(const or_case *k);
const uint8_t *or_case_wire(const or_case *k);
/* One line describing the case's parameters and messages. */
const char *or_case_describe(const or_case *k);

/* or_case_run() flags. */
enum {
	OR_CATCH_FAULTS = 1, /* report a fault (ct_recv_catch) instead of crashing */
	OR_RO_TAIL = 2       /* put the bytes each call should leave unconsumed on
	                      * read-only pages (ct_place), using the consumed counts of
	                      * the previous run, which must have used the same split */
};

/* Runs the case with the wire cut into pieces ending at split[0..nsplit)
 * (increasing), each piece presented at the end of a page (test/contract.h).
 * Returns NULL if everything agreed, else a description of the first
 * disagreement (static storage). *log (caller frees) gets the run's log. */
const char *or_case_run(const or_case *k, const size_t *split, size_t nsplit, unsigned flags, char **log);

#endif
