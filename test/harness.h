/* Test harness: checks, a runner that prints one "name: N passed, M failed"
 * line, and a feeder that drives a ws_conn through a simulated read loop and
 * turns its events into a normalized text log, so that feeding the same bytes
 * whole, byte by byte, or split anywhere must give the same log. */
#ifndef WS_TEST_HARNESS_H
#define WS_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "ws/ws.h"

void t_fail(const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;
#define CHECK(c) do { if (!(c)) t_fail(__FILE__, __LINE__, "%s", #c); } while (0)
#define CHECK_INT(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ != b_) t_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_); } while (0)
#define CHECK_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
	if (strcmp(a_, b_)) t_fail(__FILE__, __LINE__, "%s == %s:\n    got:  %s\n    want: %s", #a, #b, a_, b_); } while (0)
#define CHECK_MEM(a, b, n) do { if (memcmp((a), (b), (n))) t_fail(__FILE__, __LINE__, "%s == %s (%zu bytes)", #a, #b, (size_t)(n)); } while (0)

void t_run(const char *name, void (*fn)(void));
#define RUN(fn) t_run(#fn, fn)
/* Prints "<prog>: N passed, M failed"; returns the exit status. */
int t_done(const char *prog);
/* 1 when T_SPARSE is set (make memcheck, the emulated cross runs): loops that
 * enumerate a whole space, and the feeding at every split point, take a
 * sample instead, so that a run 20 to 50 times slower still ends in minutes.
 * What they check is the same; only how many inputs. */
int t_sparse(void);

/* A growable text log. */
typedef struct t_log {
	char *s;
	size_t len, cap;
} t_log;
void t_log_add(t_log *l, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
void t_log_hex(t_log *l, const void *p, size_t n);
/* A payload as the feeder logs it: up to 64 bytes readable (quoted text or
 * hex), longer ones by length and FNV-1a hash. */
void t_log_payload(t_log *l, const uint8_t *p, size_t n, int text);
void t_log_free(t_log *l);

/* Deterministic "random" bytes (a counter), for client masks and keys. */
int t_rand(void *ctx, void *buf, size_t len);

/* Called by the feeder for every event; the default (NULL) replies to events
 * with WS_EVF_REPLY and logs the reply bytes as "-> hex". */
typedef void (*t_hook)(ws_conn *c, ws_event *ev, t_log *log, void *ud);

typedef struct t_feed_opts {
	t_hook hook;
	void *ud;
	const ws_connect_opts *connect; /* client: ws_conn_connect() before feeding */
	int accept;                     /* server: accept every REQUEST (log the response) */
	int eof;                        /* call ws_conn_recv_eof() at the end */
	void (*setup)(ws_conn *c);      /* called right after ws_conn_init() */
} t_feed_opts;

/* Where t_feed_placed() puts the bytes it presents to ws_conn_recv():
 * T_PLACE_GUARD      in a heap buffer, followed by 16 guard bytes (0xA5) that
 *                    must stay untouched (and ASan's redzone in sanitizer builds);
 * T_PLACE_PAGE_END   ending exactly at a PROT_NONE page, so that reading or
 *                    writing one byte past the presented length faults;
 * T_PLACE_RO_TAIL    with the bytes each call should leave unconsumed (the
 *                    consumed counts of the previous run, which must have fed
 *                    the same pieces) on read-only pages followed by a
 *                    PROT_NONE page, so that any write to them faults, even one
 *                    that puts back the byte it found.
 * A fault is caught and logged as "VIOLATION fault (...) at byte N of M
 * presented"; the run stops there and the test binary goes on. */
enum { T_PLACE_GUARD, T_PLACE_PAGE_END, T_PLACE_RO_TAIL };

/* Feeds in[0..len) in pieces whose ends are split[0..nsplit) (increasing
 * offsets), through the read loop of conn.h, and returns the event log.
 * Every call is checked against the library's contract (test/contract.h:
 * consumed <= len, bytes beyond what was consumed untouched, event spans,
 * MSG_BEGIN / MSG_END order, UTF-8 of text chunks, sticky errors, ...);
 * violations are logged as "VIOLATION ..." and stop the run. Data chunks of
 * one message are joined into one log line. Hooks may be called once per run
 * and must not depend on earlier runs. */
char *t_feed_placed(const ws_config *cfg, const t_feed_opts *o, const void *in, size_t len,
                    const size_t *split, size_t nsplit, int place);
/* t_feed_placed() with T_PLACE_PAGE_END. */
char *t_feed(const ws_config *cfg, const t_feed_opts *o, const void *in, size_t len,
             const size_t *split, size_t nsplit);

/* Feeds in whole, one byte at a time, split at every offset, and (for inputs of
 * up to max3 bytes) split at every pair of offsets; checks every log equals
 * want (or, when want is NULL, the whole-input log). Whole in all three
 * placements; one byte at a time and every single split at the page end and
 * with a read-only tail; pairs of splits at the page end. Returns the whole-input log
 * (caller frees). */
char *t_feed_all(const ws_config *cfg, const t_feed_opts *o, const void *in, size_t len,
                 const char *want, size_t max3);

/* Parses "81 05 48 65" style hex (spaces ignored) into out; returns the length. */
size_t t_unhex(const char *hex, uint8_t *out, size_t cap);

#endif
