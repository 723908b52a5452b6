/* Encode -> decode: a sender ws_conn writes a fuzzed sequence of messages
 * (whole, fragmented with WS_SEND_MORE, through ws_conn_send() or the
 * header-only ws_conn_send_header()), pings and pongs between fragments, and
 * optionally a close; a receiver ws_conn of the other role decodes the bytes,
 * fed in fuzzed pieces through the read loop. Its events must reproduce every
 * payload exactly, in order, with MSG_BEGIN/MSG_END where the messages begin
 * and end; its replies (pongs, the close echo) are fed back to the sender,
 * which must see them as such.
 *
 * With permessage-deflate on both sides (byte 2), messages are compressed
 * (RSV1 on their first frame, context takeover or not, window bits 9-15) and
 * each message must come out exactly as it went in, with WS_EVF_COMPRESSED
 * where it was compressed; control frames must still arrive in order.
 *
 * Input: byte 0: bit 0 the sender is the server, bit 1 the receiver does not
 * check UTF-8 (text may then be any bytes), bit 2 the receiver accepts
 * non-minimal lengths, bits 3-5 split mode, bit 6 the receiver's limits are
 * exactly what the stream needs, bit 7 end with a close; byte 1: split seed;
 * byte 2: bit 0 permessage-deflate, bits 1-3 / 4-6 the server's / client's
 * window bits - 8, bit 7 no context takeover either way; then operations: a
 * byte (bits 0-2 the kind, bit 3 binary, bit 4 header-only sending, bit 5 try
 * a too small buffer first, bit 7 WS_SEND_NO_COMPRESS) and a length byte,
 * then that many payload bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz_common.h"

enum { MAX_WIRE = 200000, MAX_ITEMS = 4096 };

typedef struct item {
	int kind;       /* WS_EV_TEXT/BINARY (a data frame), WS_EV_PING, WS_EV_PONG, WS_EV_CLOSE */
	int first, fin; /* data: first / last frame of its message */
	size_t off, len; /* payload in the store */
	unsigned code;  /* close */
	size_t got;     /* receiver: bytes delivered so far */
} item;

/* A message as a whole, for deflate runs: its bytes are msgs[m].start.. in
 * the concatenation of its frames' payloads. */
typedef struct msg {
	int type, compressed, fin, begun;
	size_t start, len, got;
} msg;

typedef struct rt {
	ws_config scfg, rcfg;
	ws_conn snd, rcv;
	uint32_t srng, rrng;
	uint8_t *wire, *store, *back;
	size_t wire_len, wire_cap, store_len, store_cap, back_len;
	item items[MAX_ITEMS];
	size_t nitems, qi;
	int open_type;     /* the fragmented message in progress, 0 if none */
	fz_utf8 utf8;      /* its UTF-8 state, to keep text valid across fragments */
	uint32_t frags;    /* frames of the longest message */
	uint64_t max_msg, max_frame, cur_msg, cur_frags;
	uint64_t max_wire_msg, max_wire_frame, cur_wire; /* the same on the wire (compressed) */
	int check_utf8;
	/* permessage-deflate */
	int deflate;
	ws_deflate_config sd, rd;
	uint8_t *inflate_buf;
	long live;
	msg msgs[MAX_ITEMS];
	size_t nmsgs, dm, cq;
	uint8_t *joined;
} rt;

static void *rt_alloc(void *ctx, size_t size)
{
	void *p = malloc(size);
	if (p)
		++*(long *)ctx;
	return p;
}

static void rt_free(void *ctx, void *ptr)
{
	if (ptr)
		--*(long *)ctx;
	free(ptr);
}

/* FZ_TRACE=1 in the environment prints the wire and every receiver event. */
static int trace(void)
{
	static int on = -1;
	if (on < 0)
		on = getenv("FZ_TRACE") != NULL;
	return on;
}

static void *grow(uint8_t **p, size_t *cap, size_t need)
{
	if (need > *cap) {
		*cap = need * 2 + 64;
		*p = realloc(*p, *cap);
		FZ_ASSERT(*p != NULL);
	}
	return *p;
}

/* Makes p[0..n) acceptable text: cut at the first invalid byte; at the end
 * of a message complete a sequence left open. Returns the new length (the
 * buffer has 3 spare bytes). */
static size_t make_text(rt *t, uint8_t *p, size_t n, int final)
{
	size_t ok;

	if (!t->check_utf8)
		return n;
	ok = fz_utf8_ref(&t->utf8, p, n);
	if (final) {
		while (t->utf8.need) {
			p[ok++] = t->utf8.lo;
			fz_utf8_step(&t->utf8, t->utf8.lo);
		}
	}
	return ok;
}

static void add_item(rt *t, int kind, int first, int fin, size_t off, size_t len)
{
	item *it;

	FZ_ASSERT(t->nitems < MAX_ITEMS);
	it = &t->items[t->nitems++];
	memset(it, 0, sizeof *it);
	it->kind = kind;
	it->first = first;
	it->fin = fin;
	it->off = off;
	it->len = len;
}

/* Sends one frame through the API chosen by opbits; checks the output. */
static int send_frame(rt *t, unsigned op, unsigned flags, const uint8_t *pay, size_t len,
                      unsigned opbits)
{
	size_t need = t->deflate ? WS_SEND_SIZE_COMPRESSED(len) : WS_SEND_SIZE(len), n = 0, hl;
	uint8_t *copy = malloc(len + 1), *out;
	ws_frame_header h;
	int rc;

	FZ_ASSERT(copy != NULL);
	if (len)
		memcpy(copy, pay, len);
	out = (uint8_t *)grow(&t->wire, &t->wire_cap, t->wire_len + need) + t->wire_len;
	if (opbits & 0x20) {
		/* Too small: nothing changes, and the size needed is told. */
		rc = opbits & 0x10 ? ws_conn_send_header(&t->snd, op, flags, len, out, 1, &n)
		                   : ws_conn_send(&t->snd, op, flags, pay, len, out, len, &n);
		if (rc != WS_E_STATE || !(opbits & 0x10)) {
			FZ_ASSERT(rc == WS_E_BUFFER);
			FZ_ASSERT(n > (opbits & 0x10 ? 1 : len) && n <= need);
		}
	}
	if (opbits & 0x10) {
		rc = ws_conn_send_header(&t->snd, op, flags, len, out, WS_FRAME_HEADER_MAX, &hl);
		if (rc == WS_E_STATE) {
			/* Inside a compressed message: the caller's bytes cannot join it.
			 * (The library also refuses a header-only ping or pong there,
			 * though control frames are never compressed: reported, tolerated.) */
			FZ_ASSERT(t->deflate && (op == WS_OP_CONTINUATION || (op & 8)) && t->open_type &&
			          t->nmsgs && t->msgs[t->nmsgs - 1].compressed);
			free(copy);
			return send_frame(t, op, flags, pay, len, opbits & ~0x30u);
		}
		FZ_ASSERT(rc == WS_OK && hl <= WS_FRAME_HEADER_MAX);
		if (t->scfg.role == WS_ROLE_CLIENT)
			ws_mask_copy(out + hl, pay, len, out + hl - 4, 0);
		else if (len)
			memcpy(out + hl, pay, len);
		n = hl + len;
	} else {
		rc = ws_conn_send(&t->snd, op, flags | (opbits & 0x80 ? WS_SEND_NO_COMPRESS : 0), pay, len,
		                  out, need, &n);
		FZ_ASSERT(rc == WS_OK && n <= need);
	}
	FZ_ASSERT(len == 0 || memcmp(copy, pay, len) == 0); /* the payload is never modified */
	{
		int hl2 = ws_frame_header_decode(&h, out, n, 0);
		FZ_ASSERT(hl2 > 0 && h.len == n - (size_t)hl2);
		FZ_ASSERT(h.opcode == op && h.fin == !(flags & WS_SEND_MORE));
		FZ_ASSERT(h.masked == (t->scfg.role == WS_ROLE_CLIENT));
		if (h.rsv) {
			/* Compressed: RSV1, first frames only, never when asked not to. */
			FZ_ASSERT(t->deflate && h.rsv == WS_RSV1 && op != WS_OP_CONTINUATION && !(op & 8));
			FZ_ASSERT(!(opbits & 0x90));
		} else if (!(t->deflate && op == WS_OP_CONTINUATION && t->nmsgs &&
		             t->msgs[t->nmsgs - 1].compressed)) {
			FZ_ASSERT(h.len == len);
		}
	}
	t->wire_len += n;
	free(copy);
	if (!(op & 8)) {
		t->cur_wire = op == WS_OP_CONTINUATION ? t->cur_wire + h.len : h.len;
		if (t->cur_wire > t->max_wire_msg)
			t->max_wire_msg = t->cur_wire;
		if (h.len > t->max_wire_frame)
			t->max_wire_frame = h.len;
	}
	return h.rsv != 0;
}

/* Appends n payload bytes (from the input, or a pattern) to the store. */
static size_t store_add(rt *t, fz_in *in, size_t n, int pattern)
{
	size_t off = t->store_len;
	uint8_t *p = (uint8_t *)grow(&t->store, &t->store_cap, off + n + 4) + off;

	if (pattern) {
		for (size_t i = 0; i < n; i++)
			p[i] = (uint8_t)('a' + i % 23);
	} else {
		if (n > in->n)
			n = in->n;
		memcpy(p, in->p, n);
		in->p += n;
		in->n -= n;
	}
	return n;
}

static void data_frame(rt *t, fz_in *in, unsigned opbits, int begin, int fin, size_t len, int pattern)
{
	int type = begin ? (opbits & 8 ? WS_EV_BINARY : WS_EV_TEXT) : t->open_type;
	unsigned op = begin ? (type == WS_EV_TEXT ? WS_OP_TEXT : WS_OP_BINARY) : WS_OP_CONTINUATION;
	size_t off = t->store_len;

	if (begin)
		memset(&t->utf8, 0, sizeof t->utf8);
	len = store_add(t, in, len, pattern);
	if (type == WS_EV_TEXT)
		len = make_text(t, t->store + off, len, fin);
	t->store_len = off + len;
	{
		int compressed = send_frame(t, op, fin ? 0 : WS_SEND_MORE, t->store + off, len, opbits);
		msg *m;
		if (begin) {
			m = &t->msgs[t->nmsgs++];
			memset(m, 0, sizeof *m);
			m->type = type;
			m->compressed = compressed;
		}
		m = &t->msgs[t->nmsgs - 1];
		m->len += len;
		m->fin = fin;
	}
	add_item(t, type, begin, fin, off, len);
	t->open_type = fin ? 0 : type;
	t->cur_msg = begin ? len : t->cur_msg + len;
	t->cur_frags = begin ? 1 : t->cur_frags + 1;
	if (t->cur_msg > t->max_msg)
		t->max_msg = t->cur_msg;
	if (t->cur_frags > t->frags)
		t->frags = (uint32_t)t->cur_frags;
	if (len > t->max_frame)
		t->max_frame = len;
}

static void control_frame(rt *t, fz_in *in, unsigned opbits, int kind, size_t len)
{
	size_t off = t->store_len;

	len = store_add(t, in, len % (WS_CONTROL_PAYLOAD_MAX + 1), 0);
	t->store_len = off + len;
	send_frame(t, kind == WS_EV_PING ? WS_OP_PING : WS_OP_PONG, 0, t->store + off, len, opbits & ~8u);
	add_item(t, kind, 0, 0, off, len);
}

static void close_frame(rt *t, fz_in *in)
{
	static const unsigned codes[8] = {0, 1000, 1001, 1003, 1007, 1011, 1014, 4999};
	unsigned code = codes[fz_byte(in) & 7];
	size_t off = t->store_len, len = 0, n;
	fz_utf8 u = {0, 0, 0};
	uint8_t *out;
	int rc;

	if (code) {
		len = store_add(t, in, fz_byte(in) % 124, 0);
		/* Close reasons are always UTF-8: keep the valid complete prefix. */
		len = fz_utf8_ref(&u, t->store + off, len);
		while (len && u.need) {
			/* Drop the incomplete tail. */
			fz_utf8 v = {0, 0, 0};
			len--;
			fz_utf8_ref(&v, t->store + off, len);
			u = v;
		}
	}
	t->store_len = off + len;
	out = (uint8_t *)grow(&t->wire, &t->wire_cap, t->wire_len + WS_CONTROL_FRAME_MAX) + t->wire_len;
	rc = ws_conn_close(&t->snd, code, t->store + off, len, out, WS_CONTROL_FRAME_MAX, &n);
	FZ_ASSERT(rc == WS_OK);
	FZ_ASSERT(ws_conn_state(&t->snd) == WS_STATE_CLOSE_SENT);
	t->wire_len += n;
	add_item(t, WS_EV_CLOSE, 0, 0, off, len);
	t->items[t->nitems - 1].code = code ? code : WS_CLOSE_NO_STATUS;
	/* Nothing may follow our close. */
	FZ_ASSERT(ws_conn_send(&t->snd, WS_OP_PING, 0, "", 0, out, WS_CONTROL_FRAME_MAX, &n) == WS_E_STATE);
}

/* With deflate, message by message: data may be inflated in other pieces
 * than it was sent, and a fragment's tail may come out after a control frame
 * that followed it; control frames keep their order among themselves. */
static void expect_msg(rt *t, const ws_event *ev, const uint8_t *lo, const uint8_t *hi)
{
	if (ev->type == WS_EV_TEXT || ev->type == WS_EV_BINARY) {
		msg *m;
		unsigned want = 0;
		FZ_ASSERT(t->dm < t->nmsgs);
		m = &t->msgs[t->dm];
		FZ_ASSERT(ev->type == m->type);
		FZ_ASSERT(!(ev->flags & WS_EVF_COMPRESSED) == !m->compressed);
		if (m->compressed)
			FZ_ASSERT(ev->len == 0 || (ev->data >= t->inflate_buf &&
			                           ev->data + ev->len <= t->inflate_buf + t->rd.inflate_cap));
		else
			FZ_ASSERT(ev->len == 0 || (ev->data >= lo && ev->data + ev->len <= hi));
		FZ_ASSERT(ev->len <= m->len - m->got);
		FZ_ASSERT(ev->len == 0 || memcmp(ev->data, t->joined + m->start + m->got, ev->len) == 0);
		if (!m->begun)
			want |= WS_EVF_MSG_BEGIN;
		m->begun = 1;
		m->got += ev->len;
		FZ_ASSERT((ev->flags & WS_EVF_MSG_BEGIN) == (want & WS_EVF_MSG_BEGIN));
		if (ev->flags & WS_EVF_MSG_END) {
			FZ_ASSERT(m->fin && m->got == m->len);
			t->dm++;
		}
		FZ_ASSERT(ev->len || (ev->flags & (WS_EVF_MSG_BEGIN | WS_EVF_MSG_END)));
		return;
	}
	while (t->cq < t->nitems && (t->items[t->cq].kind == WS_EV_TEXT || t->items[t->cq].kind == WS_EV_BINARY))
		t->cq++;
	FZ_ASSERT(t->cq < t->nitems);
	{
		item *it = &t->items[t->cq++];
		FZ_ASSERT(ev->type == it->kind);
		FZ_ASSERT(ev->len == it->len && (ev->len == 0 || memcmp(ev->data, t->store + it->off, ev->len) == 0));
		if (ev->type == WS_EV_CLOSE)
			FZ_ASSERT(ev->code == it->code && ev->flags == WS_EVF_REPLY);
		else
			FZ_ASSERT(ev->flags == (ev->type == WS_EV_PING ? (unsigned)WS_EVF_REPLY : 0u));
	}
}

/* The receiver's event ev must be the next thing the sender sent. */
static void expect(rt *t, const ws_event *ev)
{
	item *it;

	/* Empty middle fragments make no event. */
	while (t->qi < t->nitems && (t->items[t->qi].kind == WS_EV_TEXT ||
	                              t->items[t->qi].kind == WS_EV_BINARY) &&
	       t->items[t->qi].len == 0 && !t->items[t->qi].first && !t->items[t->qi].fin)
		t->qi++;
	FZ_ASSERT(t->qi < t->nitems);
	it = &t->items[t->qi];
	FZ_ASSERT(ev->type == it->kind);
	switch (ev->type) {
	case WS_EV_TEXT:
	case WS_EV_BINARY: {
		unsigned want = 0;
		FZ_ASSERT(ev->len <= it->len - it->got);
		FZ_ASSERT(ev->len || it->len == 0);
		FZ_ASSERT(ev->len == 0 || memcmp(ev->data, t->store + it->off + it->got, ev->len) == 0);
		if (it->first && it->got == 0)
			want |= WS_EVF_MSG_BEGIN;
		if (it->fin && it->got + ev->len == it->len)
			want |= WS_EVF_MSG_END;
		FZ_ASSERT(ev->flags == want);
		it->got += ev->len;
		if (it->got == it->len)
			t->qi++;
		break;
	}
	case WS_EV_PING:
	case WS_EV_PONG:
		FZ_ASSERT(ev->len == it->len && (ev->len == 0 || memcmp(ev->data, t->store + it->off, ev->len) == 0));
		FZ_ASSERT(ev->flags == (ev->type == WS_EV_PING ? (unsigned)WS_EVF_REPLY : 0u));
		t->qi++;
		break;
	case WS_EV_CLOSE:
		FZ_ASSERT(ev->code == it->code);
		FZ_ASSERT(ev->len == it->len && (ev->len == 0 || memcmp(ev->data, t->store + it->off, ev->len) == 0));
		FZ_ASSERT(ev->flags == WS_EVF_REPLY);
		t->qi++;
		break;
	default:
		FZ_ASSERT(!"unexpected event");
	}
}

static void reply(rt *t, const ws_event *ev)
{
	size_t n;

	if (!(ev->flags & WS_EVF_REPLY))
		return;
	t->back = realloc(t->back, t->back_len + WS_CONTROL_FRAME_MAX);
	FZ_ASSERT(t->back != NULL);
	FZ_ASSERT(ws_conn_reply(&t->rcv, ev, t->back + t->back_len, WS_CONTROL_FRAME_MAX, &n) == WS_OK);
	FZ_ASSERT(n > 0);
	t->back_len += n;
}

/* Feeds the wire to the receiver in pieces. */
static void receive(rt *t, unsigned mode, uint32_t seed)
{
	enum { GUARD = 8 };
	uint8_t *buf = malloc(t->wire_len + GUARD);
	size_t have = 0, base = 0, given = 0;
	fz_split sp = {mode, seed, t->wire_len};

	FZ_ASSERT(buf != NULL);
	while (given < t->wire_len) {
		size_t k, off = 0;
		/* Tiny pieces for the first 8 KiB; then larger ones, to stay fast. */
		if (given > 8192 && (sp.mode == 1 || sp.mode == 3 || sp.mode == 6))
			sp.mode = 4;
		k = fz_split_next(&sp, given);
		memcpy(buf + have, t->wire + given, k);
		have += k;
		given += k;
		memset(buf + have, 0xa5, GUARD);
		for (;;) {
			ws_event ev;
			size_t used = (size_t)-1, len = have - off, cmp;
			int rc = ws_conn_recv(&t->rcv, buf + off, len, &used, &ev);
			if (trace())
				fprintf(stderr, "recv %zu of %zu: %s ev %d flags %x len %zu\n", used, len, ws_status_name(rc), ev.type, ev.flags, ev.len);
			FZ_ASSERT(rc == WS_OK);
			FZ_ASSERT(used <= len);
			for (int i = 0; i < GUARD; i++)
				FZ_ASSERT(buf[have + i] == 0xa5);
			cmp = len - used < 4096 ? len - used : 4096;
			FZ_ASSERT(memcmp(buf + off + used, t->wire + base + off + used, cmp) == 0);
			if (!t->deflate)
				FZ_ASSERT(ev.len == 0 || ((uint8_t *)ev.data >= buf + off &&
				                          (uint8_t *)ev.data + ev.len <= buf + off + used));
			off += used;
			if (ev.type == WS_EV_NONE)
				break;
			if (t->deflate)
				expect_msg(t, &ev, buf + off - used, buf + off);
			else
				expect(t, &ev);
			reply(t, &ev);
		}
		memmove(buf, buf + off, have - off);
		have -= off;
		base += off;
	}
	FZ_ASSERT(have == 0); /* complete frames are consumed completely */
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_in in = {data, size};
	unsigned b0 = fz_byte(&in), b1 = fz_byte(&in), b2 = fz_byte(&in);
	rt *t = calloc(1, sizeof *t);
	int sender = b0 & 1 ? WS_ROLE_SERVER : WS_ROLE_CLIENT;

	FZ_ASSERT(t != NULL);
	ws_config_init(&t->scfg, sender);
	ws_config_init(&t->rcfg, !sender);
	t->scfg.flags = t->rcfg.flags = WS_CFG_START_OPEN;
	t->scfg.rand = t->rcfg.rand = fz_rand;
	t->scfg.rand_ctx = &t->srng;
	t->rcfg.rand_ctx = &t->rrng;
	if (b0 & 2)
		t->rcfg.flags |= WS_CFG_NO_UTF8_CHECK;
	if (b0 & 4)
		t->rcfg.flags |= WS_CFG_LENIENT_LENGTH;
	t->check_utf8 = !(b0 & 2);
	if (b2 & 1) {
		ws_deflate_params dp;
		t->deflate = 1;
		ws_deflate_config_init(&t->sd);
		t->sd.alloc.alloc = rt_alloc;
		t->sd.alloc.free = rt_free;
		t->sd.alloc.ctx = &t->live;
		t->sd.server_max_window_bits = (uint8_t)(8 + (b2 >> 1 & 7));
		t->sd.client_max_window_bits = (uint8_t)(8 + (b2 >> 4 & 7));
		t->sd.server_no_context_takeover = t->sd.client_no_context_takeover = b2 >> 7;
		t->sd.mem_level = 1 + (b1 & 7);
		t->sd.threshold = b1 & 8 ? 0 : 64;
		t->rd = t->sd;
		t->rd.inflate_cap = (size_t)1024 << (b1 >> 4 & 3);
		t->inflate_buf = malloc(t->rd.inflate_cap);
		t->sd.inflate_buf = t->rd.inflate_buf = t->inflate_buf;
		t->sd.inflate_cap = t->rd.inflate_cap;
		t->scfg.deflate = &t->sd;
		t->rcfg.deflate = &t->rd;
		FZ_ASSERT(ws_conn_init(&t->snd, sizeof t->snd, &t->scfg) == WS_OK);
		dp.server_no_context_takeover = t->sd.server_no_context_takeover;
		dp.client_no_context_takeover = t->sd.client_no_context_takeover;
		dp.server_max_window_bits = t->sd.server_max_window_bits;
		dp.client_max_window_bits = t->sd.client_max_window_bits;
		FZ_ASSERT(ws_conn_enable_deflate(&t->snd, &dp) == WS_OK);
		FZ_ASSERT(ws_conn_init(&t->rcv, sizeof t->rcv, &t->rcfg) == WS_OK);
		FZ_ASSERT(ws_conn_enable_deflate(&t->rcv, &dp) == WS_OK);
	}
	FZ_ASSERT(t->deflate || ws_conn_init(&t->snd, sizeof t->snd, &t->scfg) == WS_OK);
	grow(&t->store, &t->store_cap, 64); /* never NULL, even with nothing in them */
	grow(&t->wire, &t->wire_cap, 64);
	t->back = malloc(1);
	FZ_ASSERT(t->back != NULL);

	/* The sender writes. */
	while (in.n && t->wire_len < MAX_WIRE && t->nitems < MAX_ITEMS - 2) {
		unsigned opb = fz_byte(&in), kind = opb & 7;
		size_t len = fz_byte(&in);
		switch (kind) {
		case 0: /* a whole message, or the end of the one in progress */
			data_frame(t, &in, opb, !t->open_type, 1, len, 0);
			break;
		case 1: /* begin a fragmented message, or continue it */
		case 2:
			data_frame(t, &in, opb, !t->open_type, 0, len, 0);
			break;
		case 3: /* an empty fragment */
			data_frame(t, &in, opb, !t->open_type, opb & 0x40 ? 1 : 0, 0, 0);
			break;
		case 4:
			control_frame(t, &in, opb, WS_EV_PING, len);
			break;
		case 5:
			control_frame(t, &in, opb, WS_EV_PONG, len);
			break;
		case 6: /* a large frame: 16- and 64-bit lengths, near their edges */
			switch (opb >> 6) {
			case 0: len += 126; break;
			case 1: len = 65535 - len; break;
			case 2: len += 65536; break;
			default: len = (len << 8 | fz_byte(&in)) % 8192; break;
			}
			data_frame(t, &in, opb, !t->open_type, fz_byte(&in) & 1, len, 1);
			break;
		default: /* a message of many tiny fragments */
			for (size_t i = 0; i < len % 64 && t->nitems < MAX_ITEMS - 2; i++)
				data_frame(t, &in, opb, !t->open_type, 0, i & 1, 0);
			break;
		}
	}
	if (b0 & 0x80)
		close_frame(t, &in);

	/* With bit 6 the receiver's limits are exactly what this stream needs.
	 * With deflate they bound both the inflated and the wire sizes, and a
	 * small message may grow when compressed. */
	if (b0 & 0x40) {
		t->rcfg.max_message = t->max_msg;
		t->rcfg.max_frame = t->max_frame;
		if (t->deflate) {
			if (t->max_wire_msg > t->max_msg)
				t->rcfg.max_message = t->max_wire_msg;
			if (t->max_wire_frame > t->max_frame)
				t->rcfg.max_frame = t->max_wire_frame;
		}
		t->rcfg.max_fragments = t->frags ? t->frags : 1;
	}
	if (!t->deflate)
		FZ_ASSERT(ws_conn_init(&t->rcv, sizeof t->rcv, &t->rcfg) == WS_OK);
	/* Each message's bytes, joined, for message-by-message matching. */
	t->joined = malloc(t->store_len + 1);
	FZ_ASSERT(t->joined != NULL);
	{
		size_t at = 0, m = 0;
		for (size_t i = 0; i < t->nitems; i++) {
			item *it = &t->items[i];
			if (it->kind != WS_EV_TEXT && it->kind != WS_EV_BINARY)
				continue;
			if (it->first)
				t->msgs[m++].start = at;
			memcpy(t->joined + at, t->store + it->off, it->len);
			at += it->len;
		}
	}
	if (trace()) {
		for (size_t i = 0; i < t->wire_len; i++)
			fprintf(stderr, "%02x ", t->wire[i]);
		fprintf(stderr, "\n");
	}
	receive(t, b0 >> 3 & 7, b1 | 0x300u);
	/* Everything sent was received (trailing empty middle fragments say nothing). */
	if (t->deflate) {
		while (t->cq < t->nitems && (t->items[t->cq].kind == WS_EV_TEXT || t->items[t->cq].kind == WS_EV_BINARY))
			t->cq++;
		FZ_ASSERT(t->cq == t->nitems);
		/* Finished messages ended; of one left open, every byte sent so far
		 * came out (a fragment's data is not held back for the next one). */
		FZ_ASSERT(t->dm == t->nmsgs || (t->dm == t->nmsgs - 1 && !t->msgs[t->dm].fin));
		FZ_ASSERT(t->dm == t->nmsgs || t->msgs[t->dm].got == t->msgs[t->dm].len ||
		          (b0 & 0x80)); /* (a close may cut a message short) */
	} else {
		while (t->qi < t->nitems && t->items[t->qi].len == 0 && !t->items[t->qi].first &&
		       !t->items[t->qi].fin && t->items[t->qi].kind != WS_EV_CLOSE)
			t->qi++;
		FZ_ASSERT(t->qi == t->nitems);
	}

	/* The replies go back: pongs for the pings, the echo of the close. */
	{
		size_t off = 0, np = 0, pi = 0;
		int closed = 0;
		for (size_t i = 0; i < t->nitems; i++)
			np += t->items[i].kind == WS_EV_PING;
		while (off < t->back_len) {
			ws_event ev;
			size_t used;
			FZ_ASSERT(ws_conn_recv(&t->snd, t->back + off, t->back_len - off, &used, &ev) == WS_OK);
			off += used;
			if (ev.type == WS_EV_NONE)
				break;
			if (ev.type == WS_EV_PONG) {
				while (pi < t->nitems && t->items[pi].kind != WS_EV_PING)
					pi++;
				FZ_ASSERT(pi < t->nitems);
				FZ_ASSERT(ev.len == t->items[pi].len);
				FZ_ASSERT(ev.len == 0 || memcmp(ev.data, t->store + t->items[pi].off, ev.len) == 0);
				pi++;
				np--;
			} else {
				FZ_ASSERT(ev.type == WS_EV_CLOSE && !closed);
				FZ_ASSERT(ev.code == t->items[t->nitems - 1].code && ev.flags == 0);
				closed = 1;
			}
		}
		FZ_ASSERT(off == t->back_len && np == 0);
		FZ_ASSERT(closed == !!(b0 & 0x80));
		if (closed) {
			FZ_ASSERT(ws_conn_state(&t->snd) == WS_STATE_CLOSED);
			FZ_ASSERT(ws_conn_state(&t->rcv) == WS_STATE_CLOSED);
			FZ_ASSERT(ws_conn_should_close_transport(&t->snd));
			FZ_ASSERT(ws_conn_should_close_transport(&t->rcv));
		} else {
			FZ_ASSERT(ws_conn_state(&t->rcv) == WS_STATE_OPEN);
		}
	}
	ws_conn_release(&t->snd);
	ws_conn_release(&t->rcv);
	FZ_ASSERT(t->live == 0);
	free(t->inflate_buf);
	free(t->joined);
	free(t->wire);
	free(t->store);
	free(t->back);
	free(t);
	return 0;
}
