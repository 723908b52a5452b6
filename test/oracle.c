/* The zlib differential oracle for compressed messages; see oracle.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ws/ws.h"
#include "contract.h"
#include "oracle.h"

#if WS_DEFLATE
#include <zlib.h>

enum { MAX_MSGS = 6 };
enum { ERR_INFLATE = 1, ERR_BIG = 2, ERR_UTF8 = 4 };

typedef struct buf {
	uint8_t *p;
	size_t len, cap;
} buf;

static void put(buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void put1(buf *b, unsigned v)
{
	uint8_t c = (uint8_t)v;
	put(b, &c, 1);
}

typedef struct or_msg {
	int type;        /* WS_EV_TEXT or WS_EV_BINARY */
	int compressed;
	size_t end;      /* offset in the wire just past its last frame */
	const char *how; /* what was done to it, for messages */
	/* Expectation. */
	int ok;          /* complete; out is its content */
	buf out;         /* zlib's output (up to the damage when not ok) */
	unsigned errs;   /* ERR_* allowed when not ok */
	size_t utf8_at;  /* errs == ERR_UTF8: exactly this much is delivered */
	const char *why; /* why it fails */
} or_msg;

struct or_case {
	int role;            /* the receiver's */
	unsigned wb, mem, level, strategy, reset;
	size_t inflate_cap;
	uint64_t max_message;
	buf wire;
	size_t nmsgs;
	or_msg m[MAX_MSGS];
	char desc[512];
};

static uint32_t rnd(or_rand_fn r, void *ctx, uint32_t n)
{
	return n ? r(ctx) % n : 0;
}

/* Text-ish, compressible content (valid UTF-8), random bytes, or text with
 * one byte that breaks UTF-8. */
static void gen_plain(buf *b, or_rand_fn r, void *ctx, int text)
{
	static const char *const words[] = {"hello ", "world ", "\xc3\xa9t\xc3\xa9 ", "\xe2\x82\xac",
	                                    "\xf0\x9f\x98\x80", "ab", "\n", "zzzzzzzz"};
	uint32_t sz = rnd(r, ctx, 8), len;
	unsigned kind = rnd(r, ctx, 8);

	len = sz < 4 ? rnd(r, ctx, 65) : sz < 7 ? rnd(r, ctx, 700) : rnd(r, ctx, 6000);
	if (kind < 5 || (text && kind < 7)) {
		while (b->len < len) {
			const char *w = words[rnd(r, ctx, 8)];
			put(b, w, strlen(w));
		}
		if (kind == 6 && text && b->len) /* one bad byte in text */
			b->p[rnd(r, ctx, (uint32_t)b->len)] = (uint8_t)(0x80 | rnd(r, ctx, 0x80));
	} else {
		for (uint32_t i = 0; i < len; i++)
			put1(b, rnd(r, ctx, kind == 7 ? 256 : 4) + (kind == 7 ? 0 : 'a'));
	}
}

/* zlib on the message's compressed bytes, then 00 00 ff ff (RFC 7692 §7.2.2),
 * continuing the oracle's stream like the receiver does: a stream that ends
 * (BFINAL) is followed by a new one keeping the window (§7.2.3.4). The two
 * are fed apart: a sender's message ends on an empty stored block whose last
 * 4 bytes it removed, so the trailer decodes to nothing (and ends the stream
 * only if that block was final, at the trailer's last byte). If it decodes
 * to data, or ends a final block before its end, the message was cut short
 * and that data is the trailer's, not the peer's. */
static void oracle(or_case *k, z_stream *oz, or_msg *m, const uint8_t *c, size_t n)
{
	static const uint8_t trailer[4] = {0, 0, 0xff, 0xff};
	int zr = Z_OK, ended = 0, dt = 0, cut = 0;
	ct_utf8 u = {0, 0, 0};
	size_t bad, data_len = 0;

	for (int phase = 0; phase < 2 && !cut; phase++) {
		if (phase == 1 && (ended || (zr != Z_OK && zr != Z_BUF_ERROR)))
			break; /* a final block ended the message, or zlib failed */
		data_len = m->out.len; /* what the peer's own bytes decode to */
		oz->next_in = (uint8_t *)(uintptr_t)(phase ? trailer : c);
		oz->avail_in = (uInt)(phase ? 4 : n);
		zr = Z_OK;
		for (;;) {
			uint8_t chunk[4096];
			size_t got;
			oz->next_out = chunk;
			oz->avail_out = sizeof chunk;
			if (ended && oz->avail_in) {
				inflateResetKeep(oz); /* more bytes after a final block */
				ended = 0;
			}
			/* Z_BLOCK: inflate stops at each block boundary, where
			 * data_type has 128 set (after Z_SYNC_FLUSH it would not). */
			zr = inflate(oz, Z_BLOCK);
			got = sizeof chunk - oz->avail_out;
			put(&m->out, chunk, got);
			/* The trailer may complete an empty stored block, final or
			 * not (a sender that closes each message's stream with an
			 * empty final stored block sends ... 01), but decode to
			 * nothing, and end a final block only at its own end. */
			if (phase == 1 && (got || (zr == Z_STREAM_END && oz->avail_in))) {
				cut = 1;
				break;
			}
			if (zr == Z_STREAM_END) {
				ended = 1;
				if (!oz->avail_in)
					break;
				continue;
			}
			/* Until no progress (Z_BUF_ERROR): bits left over in inflate's
			 * accumulator (a next block's header) are decoded too. */
			if (zr != Z_OK)
				break;
			dt = oz->data_type; /* of the last call that made progress */
			if (m->out.len > k->max_message + 70000)
				break; /* enough to know it is too big */
		}
	}
	if (cut) {
		zr = Z_OK;
		m->out.len = data_len; /* the rest came from the trailer */
	}
	/* The next message starts a stream of its own on the same history: a
	 * final block here must not make an empty next payload look whole. */
	if (ended)
		inflateResetKeep(oz);
	bad = ct_utf8_ref(&u, m->out.p, m->out.len);
	if (zr != Z_OK && zr != Z_BUF_ERROR && zr != Z_STREAM_END) {
		m->why = "zlib: data error";
		m->errs = ERR_INFLATE;
	} else if (m->out.len > k->max_message) {
		m->why = "inflates beyond max_message";
		m->errs = ERR_BIG;
	} else if (cut || (!ended && (oz->avail_in || !(dt & 128) || (dt & 63)))) {
		/* The trailer decoded to data, or did not bring inflate to a block
		 * boundary with nothing left over (it is then an empty stored
		 * block, §7.2.2): the message was cut inside a block. */
		m->why = "zlib: not on a block boundary";
		m->errs = ERR_INFLATE;
	} else {
		m->ok = 1;
	}
	if (m->out.len > k->max_message)
		m->errs |= ERR_BIG;
	if (m->type == WS_EV_TEXT && (bad < m->out.len || u.need)) {
		if (m->ok) {
			m->ok = 0;
			m->why = "not UTF-8";
			m->utf8_at = bad;
			m->errs = ERR_UTF8;
			if (bad > k->max_message)
				m->errs = ERR_BIG;
			else if (m->out.len > k->max_message)
				m->errs |= ERR_BIG;
		} else {
			m->errs |= ERR_UTF8; /* whichever the receiver notices first */
		}
	}
}

static void frame(or_case *k, or_rand_fn r, void *ctx, unsigned b0, const uint8_t *p, size_t n)
{
	uint8_t key[4];
	size_t at;

	put1(&k->wire, b0);
	if (n < 126) {
		put1(&k->wire, (k->role == WS_ROLE_SERVER ? 0x80 : 0) | (unsigned)n);
	} else if (n < 65536) {
		put1(&k->wire, (k->role == WS_ROLE_SERVER ? 0x80 : 0) | 126);
		put1(&k->wire, (unsigned)(n >> 8));
		put1(&k->wire, (unsigned)(n & 0xff));
	} else {
		put1(&k->wire, (k->role == WS_ROLE_SERVER ? 0x80 : 0) | 127);
		for (int i = 7; i >= 0; i--)
			put1(&k->wire, (unsigned)((uint64_t)n >> (8 * i) & 0xff));
	}
	if (k->role == WS_ROLE_SERVER) { /* RFC 6455 §5.3: clients mask */
		for (int i = 0; i < 4; i++)
			key[i] = (uint8_t)rnd(r, ctx, 256);
		put(&k->wire, key, 4);
	}
	at = k->wire.len;
	put(&k->wire, p, n);
	if (k->role == WS_ROLE_SERVER)
		for (size_t i = 0; i < n; i++)
			k->wire.p[at + i] ^= key[i & 3];
}

/* Compresses plain into c with random flush points, as a sender would. */
static void compress_msg(or_case *k, z_stream *dz, or_rand_fn r, void *ctx, const buf *plain, buf *c,
                         int *finished)
{
	static const int flushes[3] = {Z_NO_FLUSH, Z_SYNC_FLUSH, Z_FULL_FLUSH};
	size_t cuts[4], ncut = rnd(r, ctx, 4), pos = 0;
	int finish = rnd(r, ctx, 6) == 0;

	(void)k;
	for (size_t i = 0; i < ncut; i++)
		cuts[i] = rnd(r, ctx, (uint32_t)plain->len + 1);
	for (size_t i = 1; i < ncut; i++) /* sort */
		for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
			size_t t = cuts[j];
			cuts[j] = cuts[j - 1];
			cuts[j - 1] = t;
		}
	for (size_t i = 0; i <= ncut; i++) {
		size_t end = i < ncut ? cuts[i] : plain->len;
		int fl = i < ncut ? flushes[rnd(r, ctx, 3)] : finish ? Z_FINISH : Z_SYNC_FLUSH;
		dz->next_in = plain->p ? plain->p + pos : NULL;
		dz->avail_in = (uInt)(end - pos);
		do {
			uint8_t out[4096];
			int zr;
			dz->next_out = out;
			dz->avail_out = sizeof out;
			zr = deflate(dz, fl);
			if (zr != Z_OK && zr != Z_BUF_ERROR && zr != Z_STREAM_END)
				abort();
			put(c, out, sizeof out - dz->avail_out);
		} while (dz->avail_out == 0 || dz->avail_in);
		pos = end;
	}
	*finished = finish;
	/* RFC 7692 §7.2.1: remove the 00 00 ff ff a sync flush ends with. */
	if (!finish && c->len >= 4 && !memcmp(c->p + c->len - 4, "\x00\x00\xff\xff", 4))
		c->len -= 4;
}

static const char *corrupt(or_case *k, or_rand_fn r, void *ctx, buf *c)
{
	switch (rnd(r, ctx, 4)) {
	case 0: /* cut short */
		c->len = rnd(r, ctx, (uint32_t)c->len + 1);
		return "cut";
	case 1: { /* bits flipped */
		unsigned n = 1 + rnd(r, ctx, 3);
		if (!c->len)
			return "none";
		for (unsigned i = 0; i < n; i++)
			c->p[rnd(r, ctx, (uint32_t)c->len)] ^= (uint8_t)(1u << rnd(r, ctx, 8));
		return "bits flipped";
	}
	case 2: /* the tail dropped */
		c->len -= c->len < 4 ? c->len : 1 + rnd(r, ctx, 4);
		return "tail dropped";
	default: /* a byte replaced */
		if (c->len)
			c->p[rnd(r, ctx, (uint32_t)c->len)] = (uint8_t)rnd(r, ctx, 256);
		(void)k;
		return "byte replaced";
	}
}

or_case *or_case_new(or_rand_fn r, void *ctx)
{
	static const int strategies[5] = {Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE, Z_FIXED};
	static const uint64_t limits[4] = {WS_DEFAULT_MAX_MESSAGE, 1000, 3000, 0};
	or_case *k = calloc(1, sizeof *k);
	z_stream dz, oz;
	size_t nm, dlen;
	int finished = 0;

	if (!k)
		abort();
	k->role = rnd(r, ctx, 2) ? WS_ROLE_CLIENT : WS_ROLE_SERVER;
	k->wb = 9 + rnd(r, ctx, 7);
	k->mem = 1 + rnd(r, ctx, 9);
	k->level = rnd(r, ctx, 10);
	k->strategy = rnd(r, ctx, 5);
	k->reset = rnd(r, ctx, 2);
	k->inflate_cap = (size_t)1024 << rnd(r, ctx, 4);
	k->max_message = limits[rnd(r, ctx, 4)];
	if (!k->max_message)
		k->max_message = rnd(r, ctx, 2000);
	nm = 1 + rnd(r, ctx, 4);
	memset(&dz, 0, sizeof dz);
	memset(&oz, 0, sizeof oz);
	if (deflateInit2(&dz, (int)k->level, Z_DEFLATED, -(int)k->wb, (int)k->mem,
	                 strategies[k->strategy]) != Z_OK ||
	    inflateInit2(&oz, -15) != Z_OK) /* as the library: the largest window */
		abort();
	dlen = (size_t)snprintf(k->desc, sizeof k->desc, "%s wb %u mem %u level %u strategy %u %s cap %zu max %llu:",
	                        k->role == WS_ROLE_SERVER ? "server" : "client", k->wb, k->mem, k->level,
	                        k->strategy, k->reset ? "no-takeover" : "takeover", k->inflate_cap,
	                        (unsigned long long)k->max_message);
	for (size_t i = 0; i < nm; i++) {
		or_msg *m = &k->m[k->nmsgs++];
		buf plain = {0}, c = {0};
		size_t cuts[3], ncut, pos = 0;
		unsigned op;

		m->type = rnd(r, ctx, 3) ? WS_EV_TEXT : WS_EV_BINARY;
		m->compressed = rnd(r, ctx, 8) != 0;
		m->how = "intact";
		gen_plain(&plain, r, ctx, m->type == WS_EV_TEXT);
		if (m->compressed) {
			/* Without context takeover the sender starts afresh (§7.1.1);
			 * after Z_FINISH it must. */
			if (k->reset || finished)
				deflateReset(&dz);
			if (k->reset)
				inflateReset(&oz);
			compress_msg(k, &dz, r, ctx, &plain, &c, &finished);
			if (rnd(r, ctx, 4) == 0)
				m->how = corrupt(k, r, ctx, &c);
			oracle(k, &oz, m, c.p, c.len);
		} else {
			ct_utf8 u = {0, 0, 0};
			size_t bad = ct_utf8_ref(&u, plain.p, plain.len);
			put(&m->out, plain.p, plain.len);
			c = plain;
			plain.p = NULL;
			m->ok = 1;
			if (c.len > k->max_message) {
				m->ok = 0;
				m->why = "beyond max_message";
				m->errs = ERR_BIG | (m->type == WS_EV_TEXT && bad < c.len ? ERR_UTF8 : 0);
			} else if (m->type == WS_EV_TEXT && (bad < c.len || u.need)) {
				m->ok = 0;
				m->why = "not UTF-8";
				m->errs = ERR_UTF8;
				m->utf8_at = bad;
			}
		}
		/* Frames: the bytes cut anywhere, a ping now and then between them. */
		ncut = rnd(r, ctx, 3);
		for (size_t j = 0; j < ncut; j++)
			cuts[j] = rnd(r, ctx, (uint32_t)c.len + 1);
		for (size_t j = 1; j < ncut; j++)
			for (size_t q = j; q > 0 && cuts[q - 1] > cuts[q]; q--) {
				size_t t = cuts[q];
				cuts[q] = cuts[q - 1];
				cuts[q - 1] = t;
			}
		op = m->type == WS_EV_TEXT ? WS_OP_TEXT : WS_OP_BINARY;
		for (size_t j = 0; j <= ncut; j++) {
			size_t end = j < ncut ? cuts[j] : c.len;
			unsigned b0 = (j == ncut ? WS_FIN : 0) | (j == 0 ? op : WS_OP_CONTINUATION);
			if (j == 0 && m->compressed)
				b0 |= WS_RSV1; /* RFC 7692 §6: RSV1 on the first frame only */
			frame(k, r, ctx, b0, c.p ? c.p + pos : NULL, end - pos);
			pos = end;
			if (j < ncut && rnd(r, ctx, 6) == 0)
				frame(k, r, ctx, WS_FIN | WS_OP_PING, (const uint8_t *)"p", 1);
		}
		m->end = k->wire.len;
		if (dlen < sizeof k->desc)
			dlen += (size_t)snprintf(k->desc + dlen, sizeof k->desc - dlen, " [%s %s%s %zu->%zu %s%s%s]",
			                         m->type == WS_EV_TEXT ? "text" : "binary",
			                         m->compressed ? "deflate " : "", m->how, plain.len ? plain.len : c.len,
			                         m->out.len, m->ok ? "ok" : "fails: ", m->ok ? "" : m->why, "");
		free(plain.p);
		free(c.p);
		if (!m->ok)
			break; /* the connection fails here: nothing after it is read */
	}
	/* The wire cut off now and then: what is cut must not complete. */
	if (rnd(r, ctx, 8) == 0 && k->wire.len) {
		k->wire.len = rnd(r, ctx, (uint32_t)k->wire.len);
		if (dlen < sizeof k->desc)
			snprintf(k->desc + dlen, sizeof k->desc - dlen, " wire cut at %zu", k->wire.len);
	}
	deflateEnd(&dz);
	inflateEnd(&oz);
	return k;
}

void or_case_free(or_case *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->nmsgs; i++)
		free(k->m[i].out.p);
	free(k->wire.p);
	free(k);
}

size_t or_case_wire_len(const or_case *k)
{
	return k->wire.len;
}

const uint8_t *or_case_wire(const or_case *k)
{
	return k->wire.p;
}

const char *or_case_describe(const or_case *k)
{
	return k->desc;
}

/* ---- running ---- */

static char why[512];

static const char *say(const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 1, 2)))
#endif
	;
static const char *say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	return why;
}

static void *or_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return malloc(n);
}

static void or_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static int or_rand_bytes(void *ctx, void *b, size_t n)
{
	(void)ctx;
	memset(b, 0x5a, n);
	return 0;
}

static uint32_t fnv(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static unsigned err_bit(int rc)
{
	return rc == WS_E_INFLATE ? ERR_INFLATE : rc == WS_E_MESSAGE_TOO_BIG ? ERR_BIG : rc == WS_E_UTF8 ? ERR_UTF8 : 0;
}

typedef struct run {
	const or_case *k;
	size_t idx;  /* the message being received: messages completed so far */
	int open;    /* a data event of it was seen (MSG_BEGIN) */
	buf got;     /* its data so far */
	buf log;
} run;

static void logf_(run *u, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
static void logf_(run *u, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	put(&u->log, line, n < 0 ? 0 : (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static const char *on_data(run *u, const ws_event *ev)
{
	const or_msg *m;

	if (u->idx >= u->k->nmsgs)
		return say("a data event after the last message");
	m = &u->k->m[u->idx];
	if (ev->type != m->type)
		return say("message %zu: event type %d, sent %d", u->idx, ev->type, m->type);
	if (!(ev->flags & WS_EVF_COMPRESSED) != !m->compressed)
		return say("message %zu: COMPRESSED flag %s", u->idx, m->compressed ? "missing" : "on a plain message");
	if (ev->flags & WS_EVF_MSG_BEGIN)
		u->got.len = 0;
	put(&u->got, ev->data, ev->len);
	/* Whatever comes out is what zlib makes of the same bytes. */
	if (u->got.len > m->out.len || (u->got.len && memcmp(u->got.p, m->out.p, u->got.len))) {
		size_t i = 0;
		while (i < u->got.len && i < m->out.len && u->got.p[i] == m->out.p[i])
			i++;
		return say("message %zu: delivered bytes differ from zlib's at offset %zu (%zu delivered, zlib %zu)",
		           u->idx, i, u->got.len, m->out.len);
	}
	if (ev->flags & WS_EVF_MSG_END) {
		logf_(u, "msg %zu %s %zu fnv %08x end\n", u->idx, ev->type == WS_EV_TEXT ? "text" : "binary",
		      u->got.len, fnv(u->got.p, u->got.len));
		if (!m->ok)
			return say("message %zu delivered complete (%zu bytes), but %s", u->idx, u->got.len, m->why);
		if (u->got.len != m->out.len)
			return say("message %zu complete with %zu bytes, zlib inflates %zu", u->idx, u->got.len,
			           m->out.len);
		u->idx++;
		u->got.len = 0;
	}
	return NULL;
}

static const char *on_error(run *u, int rc)
{
	const or_msg *m;

	logf_(u, "msg %zu %zu fnv %08x error %s\n", u->idx, u->got.len, fnv(u->got.p, u->got.len),
	      ws_status_name(rc));
	if (u->idx >= u->k->nmsgs)
		return say("error %s after the last message", ws_status_name(rc));
	m = &u->k->m[u->idx];
	if (m->ok)
		return say("message %zu: error %s, but zlib inflates it whole (%zu bytes)", u->idx,
		           ws_status_name(rc), m->out.len);
	if (!(err_bit(rc) & m->errs))
		return say("message %zu: error %s, expected %s%s%s (%s)", u->idx, ws_status_name(rc),
		           m->errs & ERR_INFLATE ? "E_INFLATE " : "", m->errs & ERR_BIG ? "E_MESSAGE_TOO_BIG " : "",
		           m->errs & ERR_UTF8 ? "E_UTF8" : "", m->why);
	if (m->errs == ERR_UTF8 && u->got.len != m->utf8_at)
		return say("message %zu: E_UTF8 after %zu bytes, the valid prefix is %zu", u->idx, u->got.len,
		           m->utf8_at);
	return NULL;
}

/* The consumed counts of the last run's calls, for OR_RO_TAIL. */
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

const char *or_case_run(const or_case *k, const size_t *split, size_t nsplit, unsigned flags, char **log)
{
	static ct_arena arena;
	size_t *prev = NULL, nprev = 0, ncall = 0;
	ws_config cfg;
	ws_deflate_config d;
	ws_deflate_params p;
	ct_model model;
	ws_conn c;
	run u;
	uint8_t *rbuf = malloc(k->wire.len + 1);
	size_t have = 0, base = 0, start = 0;
	const char *bad = NULL;
	int failed = 0;

	memset(&u, 0, sizeof u);
	u.k = k;
	if (!rbuf)
		abort();
	if ((flags & OR_RO_TAIL) && ntrace) {
		prev = malloc(ntrace * sizeof *prev);
		if (!prev)
			abort();
		memcpy(prev, trace, ntrace * sizeof *prev);
		nprev = ntrace;
	}
	ntrace = 0;
	ws_config_init(&cfg, k->role);
	cfg.flags = WS_CFG_START_OPEN;
	cfg.max_message = k->max_message;
	ws_deflate_config_init(&d);
	d.alloc.alloc = or_alloc;
	d.alloc.free = or_free;
	d.inflate_cap = k->inflate_cap;
	d.inflate_buf = malloc(k->inflate_cap);
	if (!d.inflate_buf)
		abort();
	cfg.deflate = &d;
	/* The peer's parameters as the receiver sees them (RFC 7692 §7.1). */
	memset(&p, 0, sizeof p);
	p.server_max_window_bits = p.client_max_window_bits = (uint8_t)k->wb;
	p.server_no_context_takeover = p.client_no_context_takeover = (uint8_t)k->reset;
	cfg.rand = or_rand_bytes; /* a client needs one, though receiving never calls it */
	ct_model_init(&model, &cfg);
	if (ws_conn_init(&c, sizeof c, &cfg) != WS_OK) {
		bad = say("ws_conn_init failed");
		goto out;
	}
	if (ws_conn_enable_deflate(&c, &p) != WS_OK) {
		bad = say("ws_conn_enable_deflate failed");
		goto out;
	}
	for (size_t piece = 0; piece <= nsplit && !bad && !failed; piece++) {
		size_t end = piece < nsplit ? split[piece] : k->wire.len, off = 0;
		if (end < start || end > k->wire.len)
			abort();
		memcpy(rbuf + have, k->wire.p + start, end - start);
		have += end - start;
		start = end;
		while (!bad) {
			ws_event ev;
			size_t used = (size_t)-1, avail = have - off;
			const uint8_t *after;
			size_t nafter;
			size_t tail = CT_END;
			uint8_t *at;
			const void *fault;
			ct_call call;
			int rc;

			if (ncall < nprev && prev[ncall] <= avail)
				tail = avail - prev[ncall];
			ncall++;
			at = ct_place(&arena, rbuf + off, avail, tail, &after, &nafter);
			memset(&ev, 0, sizeof ev);
			if (flags & OR_CATCH_FAULTS) {
				if (ct_recv_catch(&c, at, avail, &used, &ev, &rc, &fault)) {
					ct_unplace(&arena);
					bad = say("fault at byte %td of %zu presented%s", (const uint8_t *)fault - at, avail,
					          tail != CT_END ? ", the last ones read-only as they should stay unconsumed"
					                         : "");
					logf_(&u, "fault\n");
					break;
				}
			} else {
				rc = ws_conn_recv(&c, at, avail, &used, &ev);
			}
			ct_unplace(&arena);
			trace_add(used);
			call.c = &c;
			call.buf = at;
			call.len = avail;
			call.orig = k->wire.p + base + off;
			call.consumed = used;
			call.rc = rc;
			call.ev = &ev;
			call.after = after;
			call.nafter = nafter;
			if ((bad = ct_check_recv(&model, &call)) != NULL) {
				bad = say("contract: %s", bad);
				break;
			}
			off += used;
			if (rc < 0) {
				bad = on_error(&u, rc);
				failed = 1;
				break;
			}
			if (ev.type == WS_EV_NONE)
				break;
			if (ev.type == WS_EV_TEXT || ev.type == WS_EV_BINARY)
				bad = on_data(&u, &ev);
			else if (ev.type != WS_EV_PING)
				bad = say("unexpected event %d", ev.type);
		}
		memmove(rbuf, rbuf + off, have - off);
		base += off;
		have -= off;
	}
	/* Every message the wire holds whole was judged: complete or failed. */
	if (!bad && !failed && u.idx < k->nmsgs && k->m[u.idx].end <= k->wire.len) {
		const or_msg *m = &k->m[u.idx];
		bad = m->ok ? say("message %zu: all its bytes were given, but it did not end (%zu of %zu delivered)",
		                  u.idx, u.got.len, m->out.len)
		            : say("message %zu: no error, but %s (%zu bytes delivered)", u.idx, m->why, u.got.len);
	}
	if (!failed)
		logf_(&u, "msg %zu %zu fnv %08x pending\n", u.idx, u.got.len, fnv(u.got.p, u.got.len));
out:
	ws_conn_release(&c);
	free(d.inflate_buf);
	free(rbuf);
	free(prev);
	free(u.got.p);
	put1(&u.log, 0);
	if (log)
		*log = (char *)u.log.p;
	else
		free(u.log.p);
	return bad;
}

#else /* !WS_DEFLATE */

typedef int or_empty; /* ISO C wants something here */

#endif
