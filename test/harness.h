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

/* Feeds in[0..len) in pieces whose ends are split[0..nsplit) (increasing
 * offsets), through a read loop with guard bytes, and returns the event log.
 * Also checks the library's buffer contract on every call (bytes beyond what
 * was consumed untouched, guard bytes untouched, consumed <= len, MSG_BEGIN /
 * MSG_END well-ordered) and logs violations as "VIOLATION ...". Data chunks of
 * one message are joined into one log line. */
char *t_feed(const ws_config *cfg, const t_feed_opts *o, const void *in, size_t len,
             const size_t *split, size_t nsplit);

/* Feeds in whole, one byte at a time, split at every offset, and (for inputs of
 * up to max3 bytes) split at every pair of offsets; checks every log equals
 * want (or, when want is NULL, the whole-input log). Returns the whole-input log
 * (caller frees). */
char *t_feed_all(const ws_config *cfg, const t_feed_opts *o, const void *in, size_t len,
                 const char *want, size_t max3);

/* Parses "81 05 48 65" style hex (spaces ignored) into out; returns the length. */
size_t t_unhex(const char *hex, uint8_t *out, size_t cap);

#endif
