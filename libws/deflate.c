/* permessage-deflate streams (RFC 7692 §6, §7.2): zlib, memory from the
 * caller's allocator, inflation bounded by the message limit. */
#include "ws_internal.h"

#if WS_DEFLATE
#include <zlib.h>

int ws_deflate_available(void)
{
	return 1;
}

struct ws_deflate_shared {
	z_stream z;
	int bits;
};

/* A connection's extension state (c->ext_). */
typedef struct ws__deflate {
	const ws_deflate_config *cfg;
	z_stream inf, def;
	uint64_t inflated;  /* bytes of the current message inflated so far */
	uint8_t inf_on;     /* inf is initialised */
	uint8_t def_on;     /* def is initialised */
	uint8_t peer_bits;  /* window to inflate with (>= 9: zlib's "8" is 9) */
	uint8_t own_bits;   /* window to compress with; 0: never compress */
	uint8_t peer_reset; /* the peer sends without context takeover */
	uint8_t own_reset;  /* we send without context takeover */
	uint8_t tail;       /* bytes of the 00 00 ff ff trailer fed to inflate */
	uint8_t ended;      /* the message's deflate stream had a final block */
	uint8_t shared;     /* the message being sent uses cfg->shared */
} ws__deflate;

static void *z_alloc(void *opaque, unsigned items, unsigned size)
{
	const ws_deflate_config *cfg = opaque;

	if (size && items > (size_t)-1 / size)
		return NULL;
	return cfg->alloc.alloc(cfg->alloc.ctx, (size_t)items * size);
}

static void z_free(void *opaque, void *p)
{
	const ws_deflate_config *cfg = opaque;

	cfg->alloc.free(cfg->alloc.ctx, p);
}

static void z_setup(z_stream *z, const ws_deflate_config *cfg)
{
	memset(z, 0, sizeof *z);
	z->zalloc = z_alloc;
	z->zfree = z_free;
	z->opaque = (void *)(uintptr_t)cfg;
}

static int deflate_init(z_stream *z, const ws_deflate_config *cfg, int bits)
{
	int level = cfg->level < 0 || cfg->level > 9 ? 6 : cfg->level;
	int mem = cfg->mem_level < 1 || cfg->mem_level > 9 ? 8 : cfg->mem_level;

	z_setup(z, cfg);
	/* Negative window bits: raw deflate, no zlib header (RFC 7692 §7.2.1). */
	return deflateInit2(z, level, Z_DEFLATED, -bits, mem, Z_DEFAULT_STRATEGY) == Z_OK;
}

int ws_deflate_shared_new(const ws_deflate_config *cfg, ws_deflate_shared **out)
{
	int s = cfg->server_max_window_bits, c = cfg->client_max_window_bits;
	ws_deflate_shared *sh;

	*out = NULL;
	if (!cfg->alloc.alloc || !cfg->alloc.free)
		return WS_E_ARG;
	sh = cfg->alloc.alloc(cfg->alloc.ctx, sizeof *sh);
	if (!sh)
		return WS_E_ALLOC;
	sh->bits = s < c ? s : c;
	sh->bits = sh->bits < 9 ? 9 : sh->bits > 15 ? 15 : sh->bits;
	if (!deflate_init(&sh->z, cfg, sh->bits)) {
		cfg->alloc.free(cfg->alloc.ctx, sh);
		return WS_E_ALLOC;
	}
	*out = sh;
	return WS_OK;
}

void ws_deflate_shared_free(ws_deflate_shared *s)
{
	if (s) {
		const ws_deflate_config *cfg = (const ws_deflate_config *)s->z.opaque;
		deflateEnd(&s->z);
		cfg->alloc.free(cfg->alloc.ctx, s);
	}
}

int ws_conn_enable_deflate(ws_conn *c, const ws_deflate_params *p)
{
	const ws_deflate_config *cfg = c->cfg_->deflate;
	int server = c->cfg_->role == WS_ROLE_SERVER;
	ws__deflate *d;
	int own, peer;

	if (!cfg || c->ext_)
		return WS_E_STATE;
	d = cfg->alloc.alloc(cfg->alloc.ctx, sizeof *d);
	if (!d)
		return WS_E_ALLOC;
	memset(d, 0, sizeof *d);
	d->cfg = cfg;
	own = server ? p->server_max_window_bits : p->client_max_window_bits;
	peer = server ? p->client_max_window_bits : p->server_max_window_bits;
	/* zlib cannot compress with a 256-byte window (it uses 512): a peer that
	 * limits us to 8 bits gets uncompressed messages, which is always allowed. */
	d->own_bits = (uint8_t)(own >= 9 && own <= 15 ? own : 0);
	d->peer_bits = (uint8_t)(peer < 9 ? 9 : peer > 15 ? 15 : peer);
	d->own_reset = server ? p->server_no_context_takeover : p->client_no_context_takeover;
	d->peer_reset = server ? p->client_no_context_takeover : p->server_no_context_takeover;
	c->ext_ = d;
	c->rsv_ = WS_RSV1;
	return WS_OK;
}

void ws_conn_release(ws_conn *c)
{
	ws__deflate *d = c->ext_;

	if (!d)
		return;
	if (d->inf_on)
		inflateEnd(&d->inf);
	if (d->def_on)
		deflateEnd(&d->def);
	c->ext_ = NULL;
	d->cfg->alloc.free(d->cfg->alloc.ctx, d);
}

/* Ends a received message; without context takeover the inflater is freed,
 * so idle connections hold no inflate state. */
static void inflate_done(ws__deflate *d)
{
	if (d->peer_reset && d->inf_on) {
		inflateEnd(&d->inf);
		d->inf_on = 0;
		d->ended = 0;
	}
	d->inflated = 0;
	d->tail = 0;
}

/* inflate() over what z holds. A deflate stream may end (a block with BFINAL)
 * and a new one follow in the same message, using the same history (RFC 7692
 * §7.2.3.4): restart keeping the window. */
static int inflate_run(ws__deflate *d, z_stream *z)
{
	for (;;) {
		int zr;

		if (d->ended) {
			if (!z->avail_in)
				return Z_OK;
			inflateResetKeep(z);
			d->ended = 0;
		}
		zr = inflate(z, Z_SYNC_FLUSH);
		if (zr != Z_STREAM_END)
			return zr;
		d->ended = 1;
		if (!z->avail_out)
			return Z_OK;
	}
}

int ws__inflate_recv(ws_conn *c, uint8_t *buf, size_t len, size_t *pos, ws_event *ev)
{
	static const uint8_t trailer[4] = {0x00, 0x00, 0xff, 0xff}; /* RFC 7692 §7.2.2 */
	ws__deflate *d = c->ext_;
	const ws_config *cfg = c->cfg_;
	uint8_t *in = buf + *pos;
	size_t n = len - *pos, k, room, made;
	uint64_t allowance = cfg->max_message - d->inflated;
	int fin = c->frame_ & WS_FIN, zr, done;
	z_stream *z = &d->inf;

	if (n > c->u_.f.frame_left)
		n = (size_t)c->u_.f.frame_left;
	if (!d->inf_on) {
		z_setup(z, d->cfg);
		if (inflateInit2(z, -(int)d->peer_bits) != Z_OK)
			return ws__fail(c, WS_E_ALLOC);
		d->inf_on = 1;
	}
	/* Inflate no further than one byte past the message limit: a bomb is
	 * caught after at most max_message bytes of work. */
	room = d->cfg->inflate_cap < (1u << 30) ? d->cfg->inflate_cap : (1u << 30);
	if (allowance < room)
		room = (size_t)allowance + 1;
	if (c->cfg_->role == WS_ROLE_SERVER)
		ws_mask(in, n, c->mask_, 0);
	z->next_in = in;
	z->avail_in = (uInt)n;
	z->next_out = d->cfg->inflate_buf;
	z->avail_out = (uInt)room;
	zr = inflate_run(d, z);
	k = n - z->avail_in;
	if (c->cfg_->role == WS_ROLE_SERVER) {
		uint8_t key[4];
		/* Re-mask what inflate did not take: it is presented again later. */
		ws_mask(in + k, n - k, c->mask_, k);
		for (int i = 0; i < 4; i++)
			key[i] = c->mask_[(i + k) & 3];
		memcpy(c->mask_, key, 4);
	}
	*pos += k;
	c->u_.f.frame_left -= k;
	if (zr != Z_OK && zr != Z_BUF_ERROR)
		return ws__fail(c, zr == Z_MEM_ERROR ? WS_E_ALLOC : WS_E_INFLATE);
	/* A message that ends on a final block needs no trailer. */
	if (fin && c->u_.f.frame_left == 0 && !d->ended && z->avail_out && d->tail < 4) {
		z->next_in = (uint8_t *)(uintptr_t)(trailer + d->tail);
		z->avail_in = 4u - d->tail;
		zr = inflate_run(d, z);
		d->tail = (uint8_t)(4 - z->avail_in);
		if (zr != Z_OK && zr != Z_BUF_ERROR)
			return ws__fail(c, zr == Z_MEM_ERROR ? WS_E_ALLOC : WS_E_INFLATE);
	}
	made = room - z->avail_out;
	if (made > allowance)
		return ws__fail(c, WS_E_MESSAGE_TOO_BIG);
	d->inflated += made;
	/* The message is over once its last byte and the trailer went in and
	 * inflate stopped for want of input rather than room. */
	done = fin && c->u_.f.frame_left == 0 && (d->ended || (d->tail == 4 && z->avail_out));
	if (!made && !done)
		return 0;
	ev->data = d->cfg->inflate_buf;
	ev->len = made;
	ev->flags = WS_EVF_COMPRESSED;
	if (c->msg_ == WS_OP_TEXT && !(cfg->flags & WS_CFG_NO_UTF8_CHECK)) {
		size_t ok = ws_utf8_validate(&c->u_.f.utf8, ev->data, made);
		if (ok < made || (done && c->u_.f.utf8)) {
			/* As for plain text: the valid prefix now, the error next call. */
			ev->len = ok;
			ws__fail(c, WS_E_UTF8);
			if (!ok)
				return WS_E_UTF8;
			done = 0;
		}
	}
	if (done)
		inflate_done(d);
	return done ? 2 : 1;
}

int ws__deflate_wanted(const ws_conn *c, size_t len, unsigned flags)
{
	const ws__deflate *d = c->ext_;

	return d && d->own_bits && !(flags & WS_SEND_NO_COMPRESS) && len <= (1u << 30) &&
	       ((flags & WS_SEND_MORE) || len >= d->cfg->threshold);
}

/* The stream for this message: the thread's shared compressor when we reset
 * per message anyway and the message is whole, else our own. NULL if zlib
 * state cannot be had: the message then goes uncompressed. */
static z_stream *stream_for(ws_conn *c, int whole)
{
	ws__deflate *d = c->ext_;
	ws_deflate_shared *sh = d->cfg->shared;

	if (whole && d->own_reset && sh && sh->bits <= d->own_bits) {
		d->shared = 1;
		return &sh->z;
	}
	d->shared = 0;
	if (!d->def_on) {
		if (!deflate_init(&d->def, d->cfg, d->own_bits))
			return NULL;
		d->def_on = 1;
	}
	return &d->def;
}

size_t ws__deflate_bound(ws_conn *c, size_t len, int whole)
{
	z_stream *z = stream_for(c, whole);

	/* deflateBound() covers the data; a sync flush adds at most 6 more bytes
	 * (an empty stored block, plus bits pending from earlier input). */
	return z ? (size_t)deflateBound(z, (uLong)len) + 12 : 0;
}

int ws__deflate_frame(ws_conn *c, const void *data, size_t len, int final, uint8_t *out, size_t cap,
                      size_t *out_len)
{
	ws__deflate *d = c->ext_;
	z_stream *z = d->shared ? &d->cfg->shared->z : &d->def;
	size_t m;
	int zr;

	z->next_in = (uint8_t *)(uintptr_t)data;
	z->avail_in = (uInt)len;
	z->next_out = out;
	z->avail_out = (uInt)cap;
	/* Every frame ends on a sync flush, so each frame's bytes stand alone
	 * and nothing is left inside zlib between calls. */
	zr = deflate(z, Z_SYNC_FLUSH);
	if ((zr != Z_OK && zr != Z_BUF_ERROR) || z->avail_in)
		return WS_E_BUFFER; /* cannot happen within deflateBound() */
	m = cap - z->avail_out;
	if (final) {
		/* RFC 7692 §7.2.1: drop the trailing 00 00 ff ff. A flush with no new
		 * input writes nothing; then the lone 0x00 (an empty stored block's
		 * header) is the whole payload, as in §7.2.3.6. */
		if (m >= 4 && !memcmp(out + m - 4, "\x00\x00\xff\xff", 4))
			m -= 4;
		else if (m == 0)
			out[m++] = 0x00;
		if (d->own_reset && !d->shared && d->cfg->shared) {
			deflateEnd(z); /* low-memory mode: idle connections hold no compressor */
			d->def_on = 0;
		} else if (d->own_reset || d->shared) {
			deflateReset(z);
		}
	}
	*out_len = m;
	return WS_OK;
}

#else /* !WS_DEFLATE */

int ws_deflate_available(void)
{
	return 0;
}

int ws_deflate_shared_new(const ws_deflate_config *cfg, ws_deflate_shared **out)
{
	(void)cfg;
	*out = NULL;
	return WS_E_STATE;
}

void ws_deflate_shared_free(ws_deflate_shared *s)
{
	(void)s;
}

int ws_conn_enable_deflate(ws_conn *c, const ws_deflate_params *p)
{
	(void)c, (void)p;
	return WS_E_STATE;
}

void ws_conn_release(ws_conn *c)
{
	(void)c;
}

#endif
