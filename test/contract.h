/* The library's per-call contract for ws_conn_recv() (include/ws/conn.h),
 * checked in one place for the unit-test harness (test/harness.c) and the
 * fuzz targets (fuzz/fuzz_common.c), plus the two tools both use to catch
 * what a contract check cannot see: a placement of the presented bytes next
 * to inaccessible pages, and a reference UTF-8 validator.
 *
 * Checks report the first violation as a short message ("consumed 5 of 4")
 * rather than aborting, so the harness can log it and the fuzzers trap. */
#ifndef WS_TEST_CONTRACT_H
#define WS_TEST_CONTRACT_H

#include <stddef.h>
#include <stdint.h>
#include "ws/ws.h"

/* ---- reference UTF-8 (RFC 3629), byte by byte with no tables ---- */

/* Bytes still needed and the range allowed for the next one. */
typedef struct ct_utf8 {
	unsigned need;
	uint8_t lo, hi;
} ct_utf8;
/* Returns 1 if byte b may follow, advancing the state; 0 if b cannot start or
 * continue a sequence here (the state is then unchanged). */
int ct_utf8_step(ct_utf8 *u, uint8_t b);
/* Offset of the first byte of s[0..n) that fails, or n. */
size_t ct_utf8_ref(ct_utf8 *u, const uint8_t *s, size_t n);

/* ---- the per-call contract ---- */

/* What the checker knows about one connection across calls. Zero it (or
 * ct_model_init) before the first call. */
typedef struct ct_model {
	unsigned cfg_flags;          /* the connection's ws_config.flags */
	const uint8_t *inflate_buf;  /* the deflate config's inflate buffer, or NULL */
	size_t inflate_cap;
	int deflate;                 /* permessage-deflate may be on (payload unmasked without events) */
	int msg;                     /* WS_EV_TEXT/BINARY of the message in progress, 0 if none */
	ct_utf8 utf8;                /* reference state of the text message in progress */
	int pending;                 /* the error ws_conn_error() showed before recv returned it */
	int error;                   /* the error recv returned; no call may succeed after it */
} ct_model;

void ct_model_init(ct_model *m, const ws_config *cfg);

/* One ws_conn_recv(c, buf, len, &consumed, &ev) that returned rc. orig holds
 * the len bytes as they were presented. after[0..nafter), if any, are guard
 * bytes just past buf[len] that must still be 0xA5. */
typedef struct ct_call {
	const ws_conn *c;
	const uint8_t *buf;
	size_t len;
	const uint8_t *orig;
	size_t consumed;
	int rc;
	const ws_event *ev;
	const uint8_t *after;
	size_t nafter;
} ct_call;

/* Guard bytes' value. */
#define CT_GUARD_BYTE 0xA5

/* Checks one call against conn.h and the model, and advances the model:
 * consumed <= len; the bytes past buf[len] and the unconsumed ones unchanged;
 * no event with an error (WS_EV_NONE, no flags, data, len or code); an error
 * noticed earlier is the one returned; an
 * error is sticky (ws_conn_error); event types and flags known; data spans
 * inside the consumed bytes or (compressed) the inflate buffer; MSG_BEGIN /
 * MSG_END in order; text valid UTF-8 so far and complete at MSG_END; control
 * payloads within their limits, close codes valid and reasons UTF-8;
 * consumed payload bytes that no event reports unchanged (without deflate).
 * Returns NULL, or a description of the first violation (static storage). */
const char *ct_check_recv(ct_model *m, const ct_call *k);

/* After recv returned the error rc: the same bytes again, no bytes, and a
 * send all give rc back, consume nothing and give no event. buf[0..len) are
 * the unconsumed bytes. Returns NULL or a description. */
const char *ct_check_sticky(ws_conn *c, uint8_t *buf, size_t len, int rc);

/* ---- placement: presented bytes next to inaccessible pages ---- */

/* Memory reused across calls: views of the same bytes, each ending in a
 * PROT_NONE page (hosted builds; a heap block with guard bytes otherwise). */
#define CT_VIEWS 32
typedef struct ct_arena {
	uint8_t *map;   /* where the bytes are written: view[0] */
	size_t size;    /* bytes of each view, the PROT_NONE page included */
	size_t page;
	int fd;         /* the bytes' shared memory object */
	uint8_t *view[CT_VIEWS]; /* view[k]: the last k pages before PROT_NONE read-only */
	uint8_t *ro;    /* a view of its own for a tail of CT_VIEWS pages or more, or NULL */
} ct_arena;

/* Copies src[0..len) into the arena and returns the copy.
 * ro_tail == CT_END: the copy ends exactly at the PROT_NONE page, so a read or
 *   write past buf[len] faults.
 * ro_tail <= len: the last ro_tail bytes (those the call is expected not to
 *   consume) start at a page boundary on read-only pages followed by the
 *   PROT_NONE page, so any write to them faults, even one that puts back the
 *   byte it found; *after and *nafter get the guard bytes (CT_GUARD_BYTE) between
 *   buf[len] and that page.
 * Undo with ct_unplace() before touching the copy. */
#define CT_END ((size_t)-1)
uint8_t *ct_place(ct_arena *a, const uint8_t *src, size_t len, size_t ro_tail, const uint8_t **after,
                  size_t *nafter);
void ct_unplace(ct_arena *a);
void ct_arena_free(ct_arena *a);

/* ws_conn_recv() with SIGSEGV/SIGBUS caught: returns 1 and sets *fault to
 * the faulting address if the call touched an inaccessible page (the
 * connection is then unusable, except for ws_conn_release()), else 0 with
 * *rc set. For test binaries, which go on with their other tests; the fuzz
 * targets let the fault crash. */
int ct_recv_catch(ws_conn *c, void *buf, size_t len, size_t *consumed, ws_event *ev, int *rc,
                  const void **fault);

#endif
