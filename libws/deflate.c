/* permessage-deflate streams (RFC 7692 §6, §7.2): zlib, memory from the
 * caller's allocator, inflation bounded by the message limit. */
#include "ws_internal.h"

#if WS_DEFLATE
#include <limits.h>
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
	uint8_t inf_on;     /* inf is initialised */
	uint8_t def_on;     /* def is initialised */
	uint8_t own_bits;   /* window to compress with; 0: never compress */
	uint8_t peer_reset; /* the peer sends without context takeover */
	uint8_t own_reset;  /* we send without context takeover */
	uint8_t tail;       /* bytes of the 00 00 ff ff trailer fed to inflate */
	uint8_t ended;      /* the deflate stream ended with a final block */
	uint8_t owed;       /* the last call filled the output: zlib may owe more */
	uint8_t shared;     /* the message being sent uses cfg->shared */
	uint8_t midmsg;     /* a message is being sent in fragments */
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

/* A connection's own compressor keeps a note of the memory zlib asked for
 * (its opaque pointer, allocated beside it). With context takeover that is
 * hundreds of KiB per connection (deflate.h), and a server sending
 * round-robin over many connections finds it cold at every message: zlib's
 * match search then walks hash chains through the window with a cache miss
 * per step, and waiting takes most of the time. Asking for all of it at once
 * first (prefetch()) streams it in at memory bandwidth instead; the output is
 * the same. The inflater, much smaller, gains nothing from the same. (make
 * bench-deflate; figures in docs/performance.md.) */
#define ZREGIONS 6 /* zlib 1.2 and 1.3 make five allocations for a compressor */

typedef struct zrec {
	const ws_deflate_config *cfg;
	void *at[ZREGIONS];
	size_t len[ZREGIONS];
} zrec;

static void *zrec_alloc(void *opaque, unsigned items, unsigned size)
{
	zrec *r = opaque;
	void *p = z_alloc((void *)(uintptr_t)r->cfg, items, size);
	size_t i;

	for (i = 0; p && i < ZREGIONS; i++)
		if (!r->at[i]) {
			r->at[i] = p;
			r->len[i] = (size_t)items * size;
			break;
		}
	return p;
}

static void zrec_free(void *opaque, void *p)
{
	zrec *r = opaque;
	size_t i;

	for (i = 0; i < ZREGIONS; i++)
		if (r->at[i] == p)
			r->at[i] = NULL;
	z_free((void *)(uintptr_t)r->cfg, p);
}

/* A hint only: nothing is read or written. */
static void prefetch(const z_stream *z)
{
#if defined(__GNUC__) || defined(__clang__)
	const zrec *r = z->zalloc == zrec_alloc ? z->opaque : NULL;
	size_t i, o;

	for (i = 0; r && i < ZREGIONS; i++)
		for (o = 0; r->at[i] && o < r->len[i]; o += 64)
			__builtin_prefetch((const char *)r->at[i] + o);
	/* Else gcc takes a function of prefetches alone for one without
	 * effects, and drops its calls wherever it does not inline it. */
	__asm__ __volatile__("");
#else
	(void)z;
#endif
}

/* own: a connection's own compressor, whose memory is noted (zrec). */
static int deflate_init(z_stream *z, const ws_deflate_config *cfg, int bits, int own)
{
	int level = cfg->level < 0 || cfg->level > 9 ? 6 : cfg->level;
	int mem = cfg->mem_level < 1 || cfg->mem_level > 9 ? 8 : cfg->mem_level;
	zrec *r = NULL;

	z_setup(z, cfg);
	if (own) {
		if (!(r = cfg->alloc.alloc(cfg->alloc.ctx, sizeof *r)))
			return 0;
		memset(r, 0, sizeof *r);
		r->cfg = cfg;
		z->zalloc = zrec_alloc;
		z->zfree = zrec_free;
		z->opaque = r;
	}
	/* Negative window bits: raw deflate, no zlib header (RFC 7692 §7.2.1). */
	if (deflateInit2(z, level, Z_DEFLATED, -bits, mem, Z_DEFAULT_STRATEGY) == Z_OK)
		return 1;
	if (r)
		cfg->alloc.free(cfg->alloc.ctx, r);
	return 0;
}

/* deflateEnd(), and the note of a connection's own compressor. */
static void deflate_end(z_stream *z)
{
	zrec *r = z->zalloc == zrec_alloc ? z->opaque : NULL;

	deflateEnd(z);
	if (r)
		r->cfg->alloc.free(r->cfg->alloc.ctx, r);
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
	if (!deflate_init(&sh->z, cfg, sh->bits, 0)) {
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
	/* Before OPEN the 101 is not written (server) or not judged (client):
	 * RSV1 frames must not be taken for an extension the peer was not
	 * told of. The handshake itself enables it through ws__deflate_enable. */
	if (!ws__handshake_done(c))
		return WS_E_STATE;
	return ws__deflate_enable(c, c->cfg_->deflate, p);
}

int ws__deflate_enable(ws_conn *c, const ws_deflate_config *cfg, const ws_deflate_params *p)
{
	int server = c->cfg_->role == WS_ROLE_SERVER;
	ws__deflate *d;
	int own;

	if (!cfg || c->ext_)
		return WS_E_STATE;
	d = cfg->alloc.alloc(cfg->alloc.ctx, sizeof *d);
	if (!d)
		return WS_E_ALLOC;
	memset(d, 0, sizeof *d);
	d->cfg = cfg;
	own = server ? p->server_max_window_bits : p->client_max_window_bits;
	/* zlib cannot compress with a 256-byte window (it uses 512): a peer that
	 * limits us to 8 bits gets uncompressed messages, which is always allowed. */
	d->own_bits = (uint8_t)(own >= 9 && own <= 15 ? own : 0);
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
		deflate_end(&d->def);
	c->ext_ = NULL;
	c->rsv_ = 0; /* a compressed frame after this fails as RSV1 not agreed */
	d->cfg->alloc.free(d->cfg->alloc.ctx, d);
}

/* inflate() over what z holds, with flush mode f. A deflate stream may end
 * (a block with BFINAL) and a new one follow in the same message, using the
 * same history (RFC 7692 §7.2.3.4): restart keeping the window. */
static int inflate_run(ws__deflate *d, z_stream *z, int f)
{
	for (;;) {
		int zr;

		if (d->ended) {
			if (!z->avail_in)
				return Z_OK;
			inflateResetKeep(z);
			d->ended = 0;
		}
		zr = inflate(z, f);
		if (zr != Z_STREAM_END)
			return zr == Z_BUF_ERROR ? Z_OK : zr; /* no progress possible is not a failure */
		d->ended = 1;
		if (!z->avail_out)
			return Z_OK;
	}
}

static int inflate_error(int zr)
{
	return zr == Z_MEM_ERROR ? WS_E_ALLOC : WS_E_INFLATE;
}

/* Feeds in[0..n) to z, one slice at a time. zlib counts in 32 bits
 * (uInt): a slice of plain input is at most UINT_MAX bytes of the caller's
 * buffer, so a frame of over 4 GiB presented whole is read, not skipped.
 * Masked input is unmasked into a small buffer of our own, so that the
 * caller's bytes are never written: what zlib does not take stays as it
 * was, to be presented again. */
static int inflate_input(ws__deflate *d, z_stream *z, const uint8_t *in, size_t n, const uint8_t *key,
                         size_t *used)
{
	uint8_t slice[512];
	int zr = Z_OK;

	*used = 0;
	/* At least one call, even with no input: output zlib still owes for
	 * input it already took must come out here, not with the trailer. */
	do {
		size_t k = n - *used;
		if (key) {
			k = k < sizeof slice ? k : sizeof slice;
			ws_mask_copy(slice, in + *used, k, key, *used);
			z->next_in = slice;
		} else {
			k = k < UINT_MAX ? k : UINT_MAX;
			z->next_in = (uint8_t *)(uintptr_t)(in + *used);
		}
		z->avail_in = (uInt)k;
		zr = inflate_run(d, z, Z_SYNC_FLUSH);
		*used += k - z->avail_in;
		if (z->avail_in)
			break; /* out of room, or the stream failed */
	} while (*used < n && z->avail_out && zr == Z_OK);
	z->avail_in = 0;
	return zr;
}

int ws__inflate(void *ext, const uint8_t *in, size_t n, const uint8_t *key, int last, size_t room,
                size_t *used, uint8_t **out, size_t *made)
{
	static const uint8_t trailer[4] = {0x00, 0x00, 0xff, 0xff}; /* RFC 7692 §7.2.2 */
	ws__deflate *d = ext;
	z_stream *z = &d->inf;
	int zr, final;

	*used = 0;
	*made = 0;
	*out = d->cfg->inflate_buf;
	if (!d->inf_on) {
		/* Always the largest window, whatever the peer promised: zlib (unless
		 * built with INFLATE_STRICT) takes a distance beyond the window when
		 * the bytes are still at hand, in its window or in what the same
		 * call wrote, so with a smaller one a peer that broke its promise
		 * would be accepted or refused depending on how its bytes were
		 * split. With 32 KiB, the largest distance deflate has, a distance
		 * is good exactly when that much was inflated, however it came. */
		z_setup(z, d->cfg);
		if (inflateInit2(z, -15) != Z_OK)
			return WS_E_ALLOC;
		d->inf_on = 1;
	}
	if (room > d->cfg->inflate_cap)
		room = d->cfg->inflate_cap;
	if (room > (1u << 30))
		room = 1u << 30; /* zlib counts in 32 bits */
	z->next_out = *out;
	z->avail_out = (uInt)room;
	zr = inflate_input(d, z, in, n, key, used);
	*made = room - z->avail_out;
	if (zr == Z_OK && last && *used == n && z->avail_out && !d->ended) {
		/* The message's bytes are all in: append the 00 00 ff ff its sender
		 * removed (RFC 7692 §7.2.2), stopping at each block's end so that
		 * where the message ends can be judged. Those bytes complete an
		 * empty stored block and decode to nothing; if they decode to
		 * anything, the message was cut short and that output is ours, not
		 * the peer's: it is not delivered. */
		do {
			z->next_in = (uint8_t *)(uintptr_t)(trailer + d->tail);
			z->avail_in = 4u - d->tail;
			zr = inflate_run(d, z, Z_BLOCK);
			d->tail = (uint8_t)(4 - z->avail_in);
		} while (zr == Z_OK && d->tail < 4 && z->avail_out && !d->ended);
		z->avail_in = 0;
		if (room - z->avail_out != *made)
			return WS_E_INFLATE;
	}
	*made = room - z->avail_out;
	d->owed = !z->avail_out;
	if (zr != Z_OK)
		return inflate_error(zr);
	if (!last || *used < n || !z->avail_out)
		return 0; /* more input, or more output, to come */
	/* A message ends on a block boundary (the trailer's empty stored block
	 * completed: zlib waits for the next block header with no bits left
	 * over, data_type 128 exactly) or at the end of a final block (the
	 * trailer may complete an empty final stored block, as a sender that
	 * closes its stream per message makes). Anything else is a message cut
	 * short: its sender's flush never came, and what it would have said is
	 * unknown. */
	/* data_type: 128 at a block header, + 64 once the final block is done
	 * (Z_BLOCK stops there before reporting the stream's end), + any bits
	 * left over; a trailer that completes an empty final stored block
	 * leaves exactly 128 + 64. */
	final = d->ended || (d->tail == 4 && z->data_type == 128 + 64);
	if (!final && (d->tail < 4 || z->data_type != 128))
		return WS_E_INFLATE;
	/* Without context takeover the inflater is freed between messages, so
	 * idle connections hold no inflate state. */
	if (d->peer_reset) {
		inflateEnd(z);
		d->inf_on = 0;
	} else if (final) {
		inflateResetKeep(z); /* the next message starts a stream, on the same history */
	}
	d->ended = 0;
	d->tail = 0;
	return 1;
}

int ws__inflate_owed(const void *ext)
{
	return ((const ws__deflate *)ext)->owed;
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
		if (!deflate_init(&d->def, d->cfg, d->own_bits, 1))
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

	if (!d->midmsg)
		prefetch(z); /* a message's first frame: the shared compressor is never noted */
	d->midmsg = !final;
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
			deflate_end(z); /* low-memory mode: idle connections hold no compressor */
			d->def_on = 0;
		} else if (d->own_reset || d->shared) {
			deflateReset(z);
		}
	}
	*out_len = m;
	return WS_OK;
}

#else /* !WS_DEFLATE */

/* Parenthesised: ws_internal.h makes the name a macro in this build. */
int (ws_deflate_available)(void)
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

int ws__deflate_enable(ws_conn *c, const ws_deflate_config *cfg, const ws_deflate_params *p)
{
	(void)c, (void)cfg, (void)p;
	return WS_E_STATE;
}

void ws_conn_release(ws_conn *c)
{
	(void)c;
}

#endif
