/* The ws_conn_recv() contract, checked once for test/ and fuzz/; see contract.h. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "contract.h"

/* Page placement and fault catching need POSIX memory protection. Without
 * it (the Cortex-M target build), inputs go in a heap block with guard bytes
 * after them, and the byte comparisons still catch writes past consumed. */
#if defined(__unix__) || defined(__APPLE__)
#define CT_HOSTED 1
#include <setjmp.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#else
#define CT_HOSTED 0
#endif

int ct_utf8_step(ct_utf8 *u, uint8_t b)
{
	if (u->need) {
		if (b < u->lo || b > u->hi)
			return 0;
		u->need--;
		u->lo = 0x80;
		u->hi = 0xbf;
		return 1;
	}
	u->lo = 0x80;
	u->hi = 0xbf;
	if (b < 0x80)
		return 1;
	if (b >= 0xc2 && b <= 0xdf)
		u->need = 1;
	else if (b == 0xe0)
		u->need = 2, u->lo = 0xa0;
	else if (b == 0xed)
		u->need = 2, u->hi = 0x9f; /* no surrogates */
	else if (b >= 0xe1 && b <= 0xef)
		u->need = 2;
	else if (b == 0xf0)
		u->need = 3, u->lo = 0x90; /* no overlongs */
	else if (b >= 0xf1 && b <= 0xf3)
		u->need = 3;
	else if (b == 0xf4)
		u->need = 3, u->hi = 0x8f; /* nothing above U+10FFFF */
	else
		return 0;
	return 1;
}

size_t ct_utf8_ref(ct_utf8 *u, const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!ct_utf8_step(u, s[i]))
			return i;
	return n;
}

void ct_model_init(ct_model *m, const ws_config *cfg)
{
	memset(m, 0, sizeof *m);
	m->cfg_flags = cfg->flags;
	if (cfg->deflate) {
		m->deflate = 1;
		m->inflate_buf = cfg->deflate->inflate_buf;
		m->inflate_cap = cfg->deflate->inflate_cap;
	}
}

static char msgbuf[160];

static const char *say(const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 1, 2)))
#endif
	;
static const char *say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msgbuf, sizeof msgbuf, fmt, ap);
	va_end(ap);
	return msgbuf;
}

/* p[0..n) lies within [lo, hi). */
static int within(const void *p, size_t n, const uint8_t *lo, const uint8_t *hi)
{
	const uint8_t *q = p;
	return n == 0 || (q >= lo && q <= hi && n <= (size_t)(hi - q));
}

static const char *check_event(ct_model *m, const ct_call *k)
{
	const ws_event *ev = k->ev;
	const uint8_t *lo = k->buf, *hi = k->buf + k->consumed;
	unsigned known = WS_EVF_MSG_BEGIN | WS_EVF_MSG_END | WS_EVF_REPLY | WS_EVF_COMPRESSED;
	int utf8 = !(m->cfg_flags & WS_CFG_NO_UTF8_CHECK);

	if (ev->flags & ~known)
		return say("unknown event flags %x", ev->flags);
	if ((ev->flags & WS_EVF_COMPRESSED) && ev->type != WS_EV_TEXT && ev->type != WS_EV_BINARY)
		return say("COMPRESSED on event %d", ev->type);
	switch (ev->type) {
	case WS_EV_TEXT:
	case WS_EV_BINARY:
		if (ev->flags & WS_EVF_COMPRESSED) {
			if (!m->deflate)
				return say("compressed event without deflate");
			if (!within(ev->data, ev->len, m->inflate_buf, m->inflate_buf + m->inflate_cap))
				return say("compressed event data outside the inflate buffer");
		} else if (!within(ev->data, ev->len, lo, hi)) {
			return say("event data outside the consumed bytes");
		}
		if (ev->flags & WS_EVF_REPLY)
			return say("REPLY on a data event");
		if (ev->flags & WS_EVF_MSG_BEGIN) {
			if (m->msg)
				return say("MSG_BEGIN inside a message");
			m->msg = ev->type;
			memset(&m->utf8, 0, sizeof m->utf8);
		} else if (m->msg != ev->type) {
			m->msg = ev->type;
			return say("chunk without MSG_BEGIN");
		}
		if (ev->type == WS_EV_TEXT && utf8) {
			size_t ok = ct_utf8_ref(&m->utf8, ev->data, ev->len);
			if (ok != ev->len)
				return say("text event with invalid UTF-8 at byte %zu of %zu", ok, ev->len);
			if ((ev->flags & WS_EVF_MSG_END) && m->utf8.need)
				return say("text message ends inside a UTF-8 sequence");
		}
		if (ev->flags & WS_EVF_MSG_END)
			m->msg = 0;
		return NULL;
	case WS_EV_PING:
	case WS_EV_PONG:
		if (ev->len > WS_CONTROL_PAYLOAD_MAX || !within(ev->data, ev->len, lo, hi))
			return say("control payload of %zu bytes outside the consumed bytes", ev->len);
		if (ev->flags & ~(unsigned)(ev->type == WS_EV_PING ? WS_EVF_REPLY : 0))
			return say("flags %x on event %d", ev->flags, ev->type);
		return NULL;
	case WS_EV_CLOSE:
		if (ev->len > WS_CONTROL_PAYLOAD_MAX - 2 || !within(ev->data, ev->len, lo, hi))
			return say("close reason of %zu bytes outside the consumed bytes", ev->len);
		if (ev->code == WS_CLOSE_NO_STATUS ? ev->len != 0 : !ws_close_code_valid(ev->code))
			return say("close code %u with %zu bytes of reason", ev->code, ev->len);
		if (utf8) {
			ct_utf8 u = {0, 0, 0};
			if (ct_utf8_ref(&u, ev->data, ev->len) != ev->len || u.need)
				return say("close reason not UTF-8");
		}
		if (ev->flags & ~(unsigned)WS_EVF_REPLY)
			return say("flags %x on a close", ev->flags);
		m->msg = 0;
		return NULL;
	case WS_EV_REQUEST:
	case WS_EV_OPEN:
	case WS_EV_REJECTED: {
		const ws_str *h = &ev->http.head;
		if (!within(h->ptr, h->len, lo, hi))
			return say("handshake head outside the consumed bytes");
		if (h->len < 4 || memcmp(h->ptr + h->len - 4, "\r\n\r\n", 4))
			return say("handshake head does not end with CRLFCRLF");
		return NULL;
	}
	default:
		return say("unknown event %d", ev->type);
	}
}

/* Consumed bytes that no event reports were not written: only payload
 * reported as data (or a close code) is unmasked. */
static const char *check_untouched(const ct_call *k)
{
	const ws_event *ev = k->ev;
	size_t a = 0, b = 0;

	if (ev->len && (ev->type == WS_EV_TEXT || ev->type == WS_EV_BINARY || ev->type == WS_EV_PING ||
	                ev->type == WS_EV_PONG || ev->type == WS_EV_CLOSE)) {
		a = (size_t)(ev->data - k->buf);
		b = a + ev->len;
		if (ev->type == WS_EV_CLOSE)
			a -= 2; /* the close code */
	} else if (ev->type == WS_EV_CLOSE && ev->code != WS_CLOSE_NO_STATUS) {
		/* A close code without a reason: those two bytes end the consumed range. */
		a = k->consumed - 2;
		b = k->consumed;
	}
	if (a > k->consumed || b > k->consumed || a > b)
		return say("event span [%zu, %zu) outside the %zu consumed bytes", a, b, k->consumed);
	if (memcmp(k->buf, k->orig, a) || memcmp(k->buf + b, k->orig + b, k->consumed - b))
		for (size_t i = 0; i < k->consumed; i++)
			if ((i < a || i >= b) && k->buf[i] != k->orig[i])
				return say("consumed byte %zu changed though no event reports it", i);
	return NULL;
}

const char *ct_check_recv(ct_model *m, const ct_call *k)
{
	const char *why;
	int err;

	if (k->consumed > k->len)
		return say("consumed %zu of %zu", k->consumed, k->len);
	for (size_t i = 0; i < k->nafter; i++)
		if (k->after[i] != CT_GUARD_BYTE)
			return say("guard byte %zu past the end written", i);
	if (memcmp(k->buf + k->consumed, k->orig + k->consumed, k->len - k->consumed))
		for (size_t i = k->consumed; i < k->len; i++)
			if (k->buf[i] != k->orig[i])
				return say("unconsumed byte %zu of %zu modified (consumed %zu)", i, k->len, k->consumed);
	err = ws_conn_error(k->c);
	if (k->rc < 0) {
		if (k->ev->type != WS_EV_NONE)
			return say("event %d with error %s", k->ev->type, ws_status_name(k->rc));
		/* The same empty event whichever path found the error, so that
		 * events do not depend on how the input was split. */
		if (k->ev->flags || k->ev->data || k->ev->len || k->ev->code)
			return say("error %s with event flags %x, data %s, len %zu, code %u",
			           ws_status_name(k->rc), k->ev->flags, k->ev->data ? "set" : "NULL",
			           k->ev->len, k->ev->code);
		if (m->pending && k->rc != m->pending)
			return say("error %s noticed, then %s returned", ws_status_name(m->pending),
			           ws_status_name(k->rc));
		if (m->error && k->rc != m->error)
			return say("error %s, then %s", ws_status_name(m->error), ws_status_name(k->rc));
		if (err != k->rc)
			return say("recv returned %s, ws_conn_error says %s", ws_status_name(k->rc),
			           ws_status_name(err));
		m->error = k->rc;
		return NULL;
	}
	if (k->rc != WS_OK)
		return say("recv returned %d", k->rc);
	if (m->error)
		return say("recv succeeded after error %s", ws_status_name(m->error));
	if (m->pending)
		return say("error %s noticed but the next call returned WS_OK", ws_status_name(m->pending));
	if (err != WS_OK)
		m->pending = err; /* the valid prefix of a text chunk; the error comes next */
	if (k->ev->type == WS_EV_NONE) {
		if (k->ev->len)
			return say("no event, but len %zu", k->ev->len);
	} else if ((why = check_event(m, k)) != NULL) {
		return why;
	}
	/* (A compressed payload is unmasked without an event; after a text
	 * prefix, the byte that failed was unmasked too.) */
	if (!m->deflate && err == WS_OK)
		return check_untouched(k);
	return NULL;
}

const char *ct_check_sticky(ws_conn *c, uint8_t *buf, size_t len, int rc)
{
	uint8_t out[64];
	size_t used = 1, n;
	ws_event ev;
	int r;

	if ((r = ws_conn_recv(c, buf, len, &used, &ev)) != rc || used || ev.type != WS_EV_NONE)
		return say("not sticky: %s again gave %s, consumed %zu, event %d", ws_status_name(rc),
		           ws_status_name(r), used, ev.type);
	used = 1;
	if ((r = ws_conn_recv(c, buf, 0, &used, &ev)) != rc || used || ev.type != WS_EV_NONE)
		return say("not sticky with no bytes: %s gave %s", ws_status_name(rc), ws_status_name(r));
	if ((r = ws_conn_send(c, WS_OP_BINARY, 0, "x", 1, out, sizeof out, &n)) != rc)
		return say("send after %s gave %s", ws_status_name(rc), ws_status_name(r));
	if (ws_conn_error(c) != rc)
		return say("ws_conn_error changed after %s", ws_status_name(rc));
	return NULL;
}

/* ---- placement ---- */

#if CT_HOSTED

static size_t page_size(void)
{
	static size_t p;
	if (!p) {
		long v = sysconf(_SC_PAGESIZE);
		p = v > 0 ? (size_t)v : 4096;
	}
	return p;
}

static size_t pages(size_t n, size_t page)
{
	return (n + page - 1) / page;
}

/* One view of the arena's bytes (the shared memory object a->fd): its first
 * size - page bytes, the last tp of those pages read-only, then a PROT_NONE
 * page. NULL if the system says no. */
static uint8_t *map_view(const ct_arena *a, size_t tp)
{
	uint8_t *v = mmap(NULL, a->size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (v == MAP_FAILED)
		return NULL;
	if (mmap(v, a->size - a->page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, a->fd, 0) == MAP_FAILED ||
	    (tp && mprotect(v + a->size - a->page - tp * a->page, tp * a->page, PROT_READ))) {
		munmap(v, a->size);
		return NULL;
	}
	return v;
}

static void grow(ct_arena *a, size_t need, size_t page)
{
	char name[64];
	size_t size = need > 2 * a->size ? need : 2 * a->size;

	if (size < 16 * page)
		size = 16 * page; /* room for small inputs from the start */
	ct_arena_free(a);
	a->size = size;
	a->page = page;
	/* A shared memory object, unlinked at once: only its mappings hold it. */
	snprintf(name, sizeof name, "/libws-ct-%ld-%p", (long)getpid(), (void *)a);
	if ((a->fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600)) < 0 || shm_unlink(name) ||
	    ftruncate(a->fd, (off_t)(size - page)) || !(a->view[0] = map_view(a, 0))) {
		perror("ct_place: shared memory");
		abort();
	}
	a->map = a->view[0];
}

/* The bytes are written through view[0], where every page but the last is
 * writable, and presented through the view whose last tp pages are
 * read-only: the same memory, so a placement costs no mprotect() (two per
 * call made the unit tests spend a fifth of their time, and more with every
 * core busy, in the kernel flushing TLBs). Views are kept for small tails;
 * a longer one gets a view of its own until ct_unplace(). */
uint8_t *ct_place(ct_arena *a, const uint8_t *src, size_t len, size_t ro_tail, const uint8_t **after,
                  size_t *nafter)
{
	size_t page = page_size(), tail = ro_tail == CT_END || ro_tail > len ? 0 : ro_tail;
	size_t tp = pages(tail, page), need = (pages(len - tail, page) + tp + 1) * page, off;
	uint8_t *view;

	ct_unplace(a);
	if (a->size < need)
		grow(a, need, page);
	if (tp < CT_VIEWS && !a->view[tp] && !(a->view[tp] = map_view(a, tp)))
		perror("ct_place: mmap"), abort();
	if (tp >= CT_VIEWS && !(a->ro = map_view(a, tp)))
		perror("ct_place: mmap"), abort();
	view = tp < CT_VIEWS ? a->view[tp] : a->ro;
	off = a->size - page - tp * page - (len - tail); /* the copy's offset in every view */
	if (len)
		memcpy(a->map + off, src, len);
	if (after) {
		/* Up to the PROT_NONE page the rest is read-only: writes there fault
		 * anyway, so a few guard bytes suffice. */
		*after = view + off + len;
		*nafter = a->size - page - (off + len);
		if (*nafter > 16)
			*nafter = 16;
		memset(a->map + off + len, CT_GUARD_BYTE, *nafter);
	}
	return view + off;
}

void ct_unplace(ct_arena *a)
{
	if (a->ro) {
		munmap(a->ro, a->size);
		a->ro = NULL;
	}
}

void ct_arena_free(ct_arena *a)
{
	ct_unplace(a);
	for (size_t i = 0; i < CT_VIEWS; i++)
		if (a->view[i])
			munmap(a->view[i], a->size);
	if (a->map)
		close(a->fd);
	memset(a, 0, sizeof *a);
}

static sigjmp_buf fault_env;
static volatile sig_atomic_t fault_armed;
static const void *volatile fault_at;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!fault_armed) {
		signal(sig, SIG_DFL); /* not ours: fault again, for real */
		return;
	}
	fault_armed = 0;
	fault_at = si->si_addr;
	siglongjmp(fault_env, 1);
}

int ct_recv_catch(ws_conn *c, void *buf, size_t len, size_t *consumed, ws_event *ev, int *rc,
                  const void **fault)
{
	static int installed;

	if (!installed) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = on_fault;
		/* SA_NODEFER: the handler leaves by siglongjmp without restoring
		 * the signal mask (a syscall per call saved), so the signal must
		 * not stay blocked. */
		sa.sa_flags = SA_SIGINFO | SA_NODEFER;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGSEGV, &sa, NULL);
		sigaction(SIGBUS, &sa, NULL);
		installed = 1;
	}
	if (sigsetjmp(fault_env, 0)) {
		*fault = (const void *)fault_at;
		return 1;
	}
	fault_armed = 1;
	*rc = ws_conn_recv(c, buf, len, consumed, ev);
	fault_armed = 0;
	return 0;
}

#else /* !CT_HOSTED */

uint8_t *ct_place(ct_arena *a, const uint8_t *src, size_t len, size_t ro_tail, const uint8_t **after,
                  size_t *nafter)
{
	(void)ro_tail;
	if (a->size < len + 16) {
		free(a->map);
		a->size = (len + 16) * 2;
		a->map = malloc(a->size);
		if (!a->map)
			abort();
	}
	if (len)
		memcpy(a->map, src, len);
	memset(a->map + len, CT_GUARD_BYTE, 16);
	if (after) {
		*after = a->map + len;
		*nafter = 16;
	}
	return a->map;
}

void ct_unplace(ct_arena *a)
{
	(void)a;
}

void ct_arena_free(ct_arena *a)
{
	free(a->map);
	memset(a, 0, sizeof *a);
}

int ct_recv_catch(ws_conn *c, void *buf, size_t len, size_t *consumed, ws_event *ev, int *rc,
                  const void **fault)
{
	(void)fault;
	*rc = ws_conn_recv(c, buf, len, consumed, ev);
	return 0;
}

#endif
