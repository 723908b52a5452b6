#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "contract.h"

static int t_passed, t_failed, t_cur_failed;
static const char *t_cur;

void t_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (t_cur_failed++ < 8) {
		fprintf(stderr, "  FAIL %s (%s:%d): ", t_cur ? t_cur : "?", file, line);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
}

void t_run(const char *name, void (*fn)(void))
{
	t_cur = name;
	t_cur_failed = 0;
	fn();
	if (t_cur_failed) {
		t_failed++;
		fprintf(stderr, "not ok %s (%d failed checks)\n", name, t_cur_failed);
	} else {
		t_passed++;
	}
	t_cur = NULL;
}

int t_done(const char *prog)
{
	const char *base = strrchr(prog, '/');

	printf("%s: %d passed, %d failed\n", base ? base + 1 : prog, t_passed, t_failed);
	return t_failed ? 1 : 0;
}

void t_log_add(t_log *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = l->cap - l->len;
		va_start(ap, fmt);
		n = vsnprintf(l->s ? l->s + l->len : NULL, l->s ? room : 0, fmt, ap);
		va_end(ap);
		if (l->s && (size_t)n < room) {
			l->len += (size_t)n;
			return;
		}
		l->cap = (l->cap + (size_t)n + 1) * 2;
		l->s = realloc(l->s, l->cap);
		if (!l->s)
			abort();
		if (l->len == 0)
			l->s[0] = 0;
	}
}

void t_log_hex(t_log *l, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		t_log_add(l, "%02x", b[i]);
}

void t_log_free(t_log *l)
{
	free(l->s);
	l->s = NULL;
	l->len = l->cap = 0;
}

int t_rand(void *ctx, void *buf, size_t len)
{
	uint32_t *ctr = ctx;
	uint8_t *b = buf;
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(0x37 * ++*ctr + 0x11);
	return 0;
}

void t_log_payload(t_log *l, const uint8_t *p, size_t n, int text)
{
	if (n > 64) {
		uint32_t h = 2166136261u;
		for (size_t i = 0; i < n; i++)
			h = (h ^ p[i]) * 16777619u;
		t_log_add(l, "len=%zu fnv=%08x", n, (unsigned)h);
	} else if (text) {
		t_log_add(l, "\"");
		for (size_t i = 0; i < n; i++) {
			if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\')
				t_log_add(l, "%c", p[i]);
			else
				t_log_add(l, "\\x%02x", p[i]);
		}
		t_log_add(l, "\"");
	} else {
		t_log_hex(l, p, n);
	}
}

static void log_str(t_log *l, const char *label, ws_str s)
{
	t_log_add(l, " %s=", label);
	t_log_payload(l, (const uint8_t *)s.ptr, s.len, 1);
}

typedef struct msg_acc {
	int type; /* 0: no message open */
	uint8_t *data;
	size_t len, cap;
} msg_acc;

static void acc_add(msg_acc *m, const uint8_t *p, size_t n)
{
	if (m->len + n > m->cap) {
		m->cap = (m->len + n) * 2 + 16;
		m->data = realloc(m->data, m->cap);
		if (!m->data)
			abort();
	}
	if (n)
		memcpy(m->data + m->len, p, n);
	m->len += n;
}

static void default_hook(ws_conn *c, ws_event *ev, t_log *log, void *ud)
{
	uint8_t out[WS_CONTROL_FRAME_MAX];
	size_t n;
	(void)ud;

	if (ev->flags & WS_EVF_REPLY) {
		int rc = ws_conn_reply(c, ev, out, sizeof out, &n);
		if (rc)
			t_log_add(log, "reply-error %s\n", ws_status_name(rc));
		else if (n) {
			t_log_add(log, "-> ");
			t_log_hex(log, out, n);
			t_log_add(log, "\n");
		}
	}
}

static const char *ev_name(int type)
{
	static const char *names[] = {"none", "text", "binary", "ping", "pong", "close",
	                              "request", "open", "rejected"};
	return type >= 0 && type <= WS_EV_REJECTED ? names[type] : "?";
}

/* The consumed counts of the last run's calls, so that a run in
 * T_PLACE_RO_TAIL can put exactly the bytes each call should leave on
 * read-only pages. */
static size_t *trace, ntrace, trace_cap;

static void trace_add(size_t used)
{
	if (ntrace == trace_cap) {
		trace_cap = trace_cap ? trace_cap * 2 : 256;
		trace = realloc(trace, trace_cap * sizeof *trace);
		if (!trace)
			abort();
	}
	trace[ntrace++] = used;
}

static const char *const place_names[] = {"guard bytes", "page end", "read-only tail"};

char *t_feed_placed(const ws_config *cfg, const t_feed_opts *o, const void *in, size_t len,
                    const size_t *split, size_t nsplit, int place)
{
	enum { GUARD = 16 };
	static const t_feed_opts none;
	static ct_arena arena;
	const uint8_t *src = in;
	uint8_t *buf = malloc(len + GUARD + 1);
	size_t have = 0, base = 0, start = 0, ncall = 0, nprev = 0, *prev = NULL;
	t_log log = {0};
	msg_acc m = {0};
	ct_model model;
	ws_conn c;
	int rc, stop = 0;

	if (!buf)
		abort();
	if (!o)
		o = &none;
	if (place == T_PLACE_RO_TAIL && ntrace) {
		prev = malloc(ntrace * sizeof *prev);
		if (!prev)
			abort();
		memcpy(prev, trace, ntrace * sizeof *prev);
		nprev = ntrace;
	}
	ntrace = 0;
	if (cfg->rand == t_rand && cfg->rand_ctx)
		*(uint32_t *)cfg->rand_ctx = 0;
	t_log_add(&log, "%s", "");
	ct_model_init(&model, cfg);
	rc = ws_conn_init(&c, sizeof c, cfg);
	if (rc) {
		t_log_add(&log, "init-error %s\n", ws_status_name(rc));
		goto out;
	}
	if (o->setup)
		o->setup(&c);
	if (o->connect) {
		uint8_t req[4096];
		size_t n;
		rc = ws_conn_connect(&c, o->connect, req, sizeof req, &n);
		if (rc)
			t_log_add(&log, "connect-error %s\n", ws_status_name(rc));
	}
	for (size_t piece = 0; piece <= nsplit && !stop; piece++) {
		size_t end = piece < nsplit ? split[piece] : len;
		size_t off = 0;

		if (end < start || end > len)
			abort();
		if (end > start)
			memcpy(buf + have, src + start, end - start);
		have += end - start;
		start = end;
		memset(buf + have, CT_GUARD_BYTE, GUARD);
		for (;;) {
			ws_event ev;
			size_t used = (size_t)-1, avail = have - off;
			uint8_t *p = buf + off;
			const uint8_t *after = buf + have;
			size_t nafter = GUARD;
			const void *fault;
			const char *why;
			ct_call k;

			memset(&ev, 0, sizeof ev);
			if (place != T_PLACE_GUARD) {
				size_t tail = CT_END;
				if (place == T_PLACE_RO_TAIL && ncall < nprev && prev[ncall] <= avail)
					tail = avail - prev[ncall];
				p = ct_place(&arena, buf + off, avail, tail, &after, &nafter);
			}
			ncall++;
			if (ct_recv_catch(&c, p, avail, &used, &ev, &rc, &fault)) {
				ct_unplace(&arena);
				t_log_add(&log, "VIOLATION fault (%s) at byte %td of %zu presented\n",
				          place_names[place], (const uint8_t *)fault - p, avail);
				stop = 1;
				break;
			}
			ct_unplace(&arena);
			trace_add(used);
			k.c = &c;
			k.buf = p;
			k.len = avail;
			k.orig = src + base + off;
			k.consumed = used;
			k.rc = rc;
			k.ev = &ev;
			k.after = after;
			k.nafter = nafter;
			if ((why = ct_check_recv(&model, &k)) != NULL) {
				t_log_add(&log, "VIOLATION %s\n", why);
				stop = 1;
				break;
			}
			off += used;
			if (rc < 0) {
				uint8_t out[512];
				size_t n = 0;
				int frc;
				if ((why = ct_check_sticky(&c, p + used, avail - used, rc)) != NULL)
					t_log_add(&log, "VIOLATION %s\n", why);
				if (m.type) {
					t_log_add(&log, "partial %s ", ev_name(m.type));
					t_log_payload(&log, m.data, m.len, m.type == WS_EV_TEXT);
					t_log_add(&log, "\n");
				}
				t_log_add(&log, "error %s\n", ws_status_name(rc));
				frc = ws_conn_fail(&c, out, sizeof out, &n);
				if (frc)
					t_log_add(&log, "fail-error %s\n", ws_status_name(frc));
				else if (n) {
					t_log_add(&log, "fail-> ");
					t_log_hex(&log, out, n);
					t_log_add(&log, "\n");
				}
				stop = 1;
				break;
			}
			if (ev.type == WS_EV_NONE)
				break;
			switch (ev.type) {
			case WS_EV_TEXT:
			case WS_EV_BINARY:
				if (ev.flags & WS_EVF_MSG_BEGIN) {
					m.type = ev.type;
					m.len = 0;
				}
				acc_add(&m, ev.data, ev.len);
				if (ev.flags & WS_EVF_MSG_END) {
					t_log_add(&log, "%s ", ev_name(ev.type));
					t_log_payload(&log, m.data, m.len, ev.type == WS_EV_TEXT);
					t_log_add(&log, "%s\n", ev.flags & WS_EVF_COMPRESSED ? " compressed" : "");
					m.type = 0;
				}
				break;
			case WS_EV_PING:
			case WS_EV_PONG:
				t_log_add(&log, "%s ", ev_name(ev.type));
				t_log_payload(&log, ev.data, ev.len, 0);
				t_log_add(&log, "%s\n", ev.flags & WS_EVF_REPLY ? " reply" : "");
				break;
			case WS_EV_CLOSE:
				t_log_add(&log, "close %u ", ev.code);
				t_log_payload(&log, ev.data, ev.len, 1);
				t_log_add(&log, "%s\n", ev.flags & WS_EVF_REPLY ? " reply" : "");
				break;
			case WS_EV_REQUEST:
				t_log_add(&log, "request");
				log_str(&log, "target", ev.http.target);
				log_str(&log, "host", ev.http.host);
				log_str(&log, "origin", ev.http.origin);
				log_str(&log, "key", ev.http.key);
				t_log_add(&log, "\n");
				if (o->accept) {
					uint8_t out[1024];
					size_t n;
					int arc = ws_conn_accept(&c, NULL, out, sizeof out, &n);
					if (arc)
						t_log_add(&log, "accept-error %s\n", ws_status_name(arc));
					else {
						t_log_add(&log, "accept-> ");
						t_log_payload(&log, out, n, 1);
						t_log_add(&log, "\n");
					}
				}
				break;
			case WS_EV_OPEN:
				t_log_add(&log, "open %u", ev.http.status);
				log_str(&log, "protocol", ev.http.protocol);
				t_log_add(&log, "\n");
				break;
			case WS_EV_REJECTED:
				t_log_add(&log, "rejected %u\n", ev.http.status);
				break;
			}
			(o->hook ? o->hook : default_hook)(&c, &ev, &log, o->ud);
		}
		memmove(buf, buf + off, have - off);
		base += off;
		have -= off;
	}
	if (!stop && o->eof) {
		ws_event ev;
		ws_conn_recv_eof(&c, &ev);
		if (ev.type == WS_EV_CLOSE)
			t_log_add(&log, "eof-close %u\n", ev.code);
	}
	if (!stop && m.type) {
		t_log_add(&log, "partial %s ", ev_name(m.type));
		t_log_payload(&log, m.data, m.len, m.type == WS_EV_TEXT);
		t_log_add(&log, "\n");
	}
	if (!stop && have)
		t_log_add(&log, "rest %zu\n", have);
out:
	ws_conn_release(&c);
	free(buf);
	free(prev);
	free(m.data);
	return log.s;
}

char *t_feed(const ws_config *cfg, const t_feed_opts *o, const void *in, size_t len,
             const size_t *split, size_t nsplit)
{
	return t_feed_placed(cfg, o, in, len, split, nsplit, T_PLACE_PAGE_END);
}

/* One feed in one placement, compared with ref; 0 if it differs. */
static int feed_cmp(const ws_config *cfg, const t_feed_opts *o, const void *in, size_t len,
                    const size_t *split, size_t nsplit, int place, const char *ref, const char *how)
{
	char *got = t_feed_placed(cfg, o, in, len, split, nsplit, place);
	int same = !strcmp(got, ref);

	if (!same)
		t_fail(__FILE__, __LINE__, "%s (%s):\n    got:  %s\n    want: %s", how, place_names[place],
		       got, ref);
	free(got);
	return same;
}

int t_sparse(void)
{
	static int v = -1;
	if (v < 0) {
		const char *e = getenv("T_SPARSE");
		v = e && *e && strcmp(e, "0");
	}
	return v;
}

/* Under t_sparse(): the first and last 16 offsets and every 17th. */
static int split_sampled(size_t i, size_t len)
{
	return !t_sparse() || i < 16 || i + 16 > len || i % 17 == 0;
}

char *t_feed_all(const ws_config *cfg, const t_feed_opts *o, const void *in, size_t len,
                 const char *want, size_t max3)
{
	char *whole = t_feed_placed(cfg, o, in, len, NULL, 0, T_PLACE_GUARD);
	const char *ref = want ? want : whole;
	size_t *split = malloc((len + 1) * sizeof *split);
	char how[64];

	if (!split)
		abort();
	if (want && strcmp(whole, want))
		t_fail(__FILE__, __LINE__, "whole input:\n    got:  %s\n    want: %s", whole, want);
	/* Each shape of input is fed with the pieces at the end of a page, then
	 * again with what each call should leave unconsumed on read-only pages
	 * (the consumed counts come from the run before). */
	feed_cmp(cfg, o, in, len, NULL, 0, T_PLACE_RO_TAIL, ref, "whole input");
	feed_cmp(cfg, o, in, len, NULL, 0, T_PLACE_PAGE_END, ref, "whole input");
	/* One byte at a time. */
	for (size_t i = 0; i < len; i++)
		split[i] = i + 1;
	if (feed_cmp(cfg, o, in, len, split, len ? len - 1 : 0, T_PLACE_PAGE_END, ref, "byte at a time"))
		feed_cmp(cfg, o, in, len, split, len ? len - 1 : 0, T_PLACE_RO_TAIL, ref, "byte at a time");
	/* Two pieces, split at every offset. */
	for (size_t i = 1; i < len; i++) {
		if (!split_sampled(i, len))
			continue;
		split[0] = i;
		snprintf(how, sizeof how, "split at %zu", i);
		if (!feed_cmp(cfg, o, in, len, split, 1, T_PLACE_PAGE_END, ref, how) ||
		    !feed_cmp(cfg, o, in, len, split, 1, T_PLACE_RO_TAIL, ref, how))
			break;
	}
	/* Three pieces, split at every pair of offsets. */
	if (len <= (t_sparse() && max3 > 16 ? 16 : max3)) {
		int bad = 0;
		for (size_t i = 1; i < len && !bad; i++)
			for (size_t j = i + 1; j < len && !bad; j++) {
				split[0] = i;
				split[1] = j;
				snprintf(how, sizeof how, "split at %zu,%zu", i, j);
				bad = !feed_cmp(cfg, o, in, len, split, 2, T_PLACE_PAGE_END, ref, how);
			}
	}
	free(split);
	return whole;
}

size_t t_unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *hex; hex++) {
		int v;
		if (*hex >= '0' && *hex <= '9')
			v = *hex - '0';
		else if (*hex >= 'a' && *hex <= 'f')
			v = *hex - 'a' + 10;
		else if (*hex >= 'A' && *hex <= 'F')
			v = *hex - 'A' + 10;
		else
			continue;
		if (hi < 0)
			hi = v;
		else {
			if (n >= cap)
				abort();
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return n;
}
