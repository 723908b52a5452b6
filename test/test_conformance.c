/* Conformance table: the framing core driven with bytes through the public
 * API, case by case after the Autobahn TestSuite categories 1-7 and 10. Ids
 * that Autobahn has (1.1.3, 6.20.4, 7.9.x ...) mean the same case; letter
 * suffixes and numbers beyond Autobahn's (1.3+, 2.12+, 5.21+, 6.24+, 7.14+,
 * 10.2+) are our additions; masking, length encoding, limits, NO_UTF8_CHECK
 * and the transport's end have ids of their own (mask.N, len.N, lim.N ...).
 *
 * Each row is an input written in a small frame notation (see build()) and the
 * event log it must give (the harness's format, with @-directives for the
 * frames the connection writes back; see expand()). Rows run as a server (the
 * input's frames masked, as a client sends them) and/or as a client (unmasked,
 * as a server sends them; our replies are then masked with the t_rand keys).
 *
 * Every row is fed through t_feed_all: whole, one byte at a time, split at
 * every offset and, for inputs of up to MAX3 bytes (64 for a single frame),
 * at every pair of offsets, so that the events cannot depend on how the bytes
 * arrive. Inputs over ALL_MAX bytes (the 64 KiB messages) are fed whole, in
 * chunks of 1, 7, 997, 1300, 4096 and 65536 bytes, and split near both ends.
 *
 * Errors must come fail-fast: every invalid UTF-8 vector is also sent cut
 * right after its first impossible byte, and the "hdr" limit rows send only
 * the header of the offending frame: the error must be there already. Each
 * error row also checks the close code ws_status_close_code() maps it to, and
 * that ws_conn_fail() writes a close frame with that code. */
#include <stdlib.h>
#include <string.h>
#include "harness.h"

enum { SRV = 1, CLI = 2, BOTH = 3 };
enum { ALL_MAX = 8192, MAX3 = 200 };

/* Configuration beyond WS_CFG_START_OPEN and the defaults (0: default). */
typedef struct lim {
	unsigned flags;
	uint64_t max_message, max_frame;
	uint32_t max_fragments;
	int eof; /* call ws_conn_recv_eof() after the input */
} lim;

typedef struct row {
	const char *id;
	unsigned roles;
	const lim *lim;
	const char *in;   /* frame notation */
	const char *want; /* log template */
	int err;          /* the error the row ends with, or 0 */
	unsigned close;   /* the close code that error maps to */
	t_hook hook;      /* NULL: the harness's (replies to pings and closes) */
} row;

/* ---- Bytes -------------------------------------------------------------- */

typedef struct bytes {
	uint8_t *p;
	size_t len, cap;
} bytes;

static void put(bytes *b, const void *p, size_t n)
{
	if (b->len + n > b->cap || !b->p) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void put1(bytes *b, unsigned c)
{
	uint8_t x = (uint8_t)c;
	put(b, &x, 1);
}

static int hexdig(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void syntax(const char *what, const char *at)
{
	fprintf(stderr, "test_conformance: bad %s at \"%.20s\"\n", what, at);
	abort();
}

/* A decimal number, or hex after 0x. */
static uint64_t number(const char **sp)
{
	const char *s = *sp;
	uint64_t v = 0;

	if (s[0] == '0' && s[1] == 'x') {
		for (s += 2; hexdig(*s) >= 0; s++)
			v = v << 4 | (unsigned)hexdig(*s);
	} else {
		if (*s < '0' || *s > '9')
			syntax("number", s);
		for (; *s >= '0' && *s <= '9'; s++)
			v = v * 10 + (unsigned)(*s - '0');
	}
	*sp = s;
	return v;
}

/* 1, 2, 3 and 4-byte UTF-8 in 10 bytes: a, U+03BA, U+20AC, U+1D11E. */
static const char umix[] = "a\xce\xba\xe2\x82\xac\xf0\x9d\x84\x9e";

/* Payload notation, pieces concatenated:
 *   'text'  these bytes (the C literal may hold any byte but ')
 *   <hex>   hex bytes
 *   *N      N times '*' (Autobahn's text payload)
 *   #N      N bytes of a binary pattern
 *   ~N      N times umix (10 bytes of mixed 1- to 4-byte UTF-8) */
static void payload(const char **sp, bytes *out)
{
	const char *s = *sp;

	for (;;) {
		if (*s == '\'') {
			const char *e = strchr(s + 1, '\'');
			if (!e)
				syntax("string", s);
			put(out, s + 1, (size_t)(e - s - 1));
			s = e + 1;
		} else if (*s == '<') {
			for (s++; *s != '>'; s += 2) {
				if (hexdig(s[0]) < 0 || hexdig(s[1]) < 0)
					syntax("hex", s);
				put1(out, (unsigned)(hexdig(s[0]) << 4 | hexdig(s[1])));
			}
			s++;
		} else if (*s == '*' || *s == '#' || *s == '~') {
			char k = *s++;
			uint64_t n = number(&s);
			for (uint64_t i = 0; i < n; i++) {
				if (k == '*')
					put1(out, '*');
				else if (k == '#')
					put1(out, (unsigned)(i * 7 + i / 251) & 0xff);
				else
					put(out, umix, sizeof umix - 1);
			}
		} else {
			break;
		}
	}
	*sp = s;
}

/* Writes one frame: header with the length in 7, 16 or 64 bits (enc 0 picks
 * the minimal one), length field decl (or n), masked or not, then the
 * payload. The mask key is the RFC 6455 §5.7 one, varied per frame so that a
 * key kept from an earlier frame shows. */
static void frame(bytes *out, int masked, unsigned b0, const uint8_t *p, size_t n, int enc,
                  const uint64_t *decl, unsigned *nframes)
{
	uint64_t len = decl ? *decl : n;
	uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
	unsigned m = masked ? 0x80 : 0;

	key[0] ^= (uint8_t)(*nframes * 0x45);
	key[2] ^= (uint8_t)(*nframes >> 8);
	put1(out, b0);
	if (!enc)
		enc = len < 126 ? 7 : len < 65536 ? 16 : 64;
	if (enc == 7) {
		put1(out, m | (unsigned)len);
	} else if (enc == 16) {
		put1(out, m | 126);
		put1(out, (unsigned)(len >> 8) & 0xff);
		put1(out, (unsigned)len & 0xff);
	} else {
		put1(out, m | 127);
		for (int i = 7; i >= 0; i--)
			put1(out, (unsigned)(len >> (8 * i)) & 0xff);
	}
	if (masked)
		put(out, key, 4);
	for (size_t i = 0; i < n; i++)
		put1(out, p[i] ^ (masked ? key[i & 3] : 0));
	++*nframes;
}

/* Input notation: frames separated by spaces. A frame is its first byte in
 * hex (FIN 80 | RSV 40/20/10 | opcode), then optional {modifiers, ...}, then
 * its payload (see payload()):
 *   {16} {64}  the length in 16 or 64 bits even where it fits in fewer
 *   {L=N}      N in the length field whatever payload follows (header-only frames)
 *   {m} {u}    masked / unmasked whatever the role
 *   {f=N}      the payload as a fragmented message of N-byte frames: the first
 *              with this opcode, then continuations, FIN on the last if given
 * [N] before a frame repeats it N times. !hex appends raw bytes. By default a
 * server's input is masked (clients mask) and a client's is not.
 * Returns the number of frames. */
static unsigned build(bytes *out, const char *s, int role)
{
	unsigned nframes = 0;

	while (*s) {
		uint64_t rep = 1, decl = 0, frag = 0;
		int enc = 0, has_decl = 0, masked = role == WS_ROLE_SERVER;
		unsigned b0;
		bytes pl = {0};

		if (*s == ' ') {
			s++;
			continue;
		}
		if (*s == '!') {
			for (s++; hexdig(s[0]) >= 0 && hexdig(s[1]) >= 0; s += 2)
				put1(out, (unsigned)(hexdig(s[0]) << 4 | hexdig(s[1])));
			continue;
		}
		if (*s == '[') {
			s++;
			rep = number(&s);
			if (*s++ != ']')
				syntax("repeat", s);
		}
		if (hexdig(s[0]) < 0 || hexdig(s[1]) < 0)
			syntax("frame", s);
		b0 = (unsigned)(hexdig(s[0]) << 4 | hexdig(s[1]));
		s += 2;
		if (*s == '{') {
			s++;
			while (*s != '}') {
				if (s[0] == '1' && s[1] == '6') {
					enc = 16;
					s += 2;
				} else if (s[0] == '6' && s[1] == '4') {
					enc = 64;
					s += 2;
				} else if (s[0] == 'L' && s[1] == '=') {
					s += 2;
					decl = number(&s);
					has_decl = 1;
				} else if (s[0] == 'f' && s[1] == '=') {
					s += 2;
					frag = number(&s);
				} else if (*s == 'm' || *s == 'u') {
					masked = *s++ == 'm';
				} else {
					syntax("modifier", s);
				}
				if (*s == ',')
					s++;
			}
			s++;
		}
		payload(&s, &pl);
		if (*s && *s != ' ')
			syntax("payload", s);
		for (uint64_t r = 0; r < rep; r++) {
			if (frag && pl.len > frag) {
				for (size_t off = 0; off < pl.len; off += frag) {
					size_t n = pl.len - off < frag ? pl.len - off : (size_t)frag;
					int last = off + n == pl.len;
					unsigned b = off == 0 ? b0 & 0x7f : 0;
					if (last)
						b |= b0 & 0x80;
					frame(out, masked, b, pl.p + off, n, enc, NULL, &nframes);
				}
			} else {
				frame(out, masked, b0, pl.p, pl.len, enc, has_decl ? &decl : NULL, &nframes);
			}
		}
		free(pl.p);
	}
	return nframes;
}

/* ---- Expected logs ------------------------------------------------------ */

typedef struct expect {
	int role;
	uint32_t ctr; /* t_rand counter: each frame a client writes takes the next key */
	int err;
	unsigned close;
} expect;

/* A control frame as the connection must write it: unmasked from a server,
 * masked with the next t_rand key from a client. */
static void log_frame(t_log *l, expect *x, const char *prefix, unsigned b0, const uint8_t *p,
                      size_t n)
{
	uint8_t f[WS_CONTROL_FRAME_MAX], key[4] = {0, 0, 0, 0};
	int client = x->role == WS_ROLE_CLIENT;
	size_t k = 0;

	if (n > WS_CONTROL_PAYLOAD_MAX)
		abort();
	f[k++] = (uint8_t)b0;
	f[k++] = (uint8_t)((client ? 0x80 : 0) | n);
	if (client) {
		t_rand(&x->ctr, key, 4);
		memcpy(f + k, key, 4);
		k += 4;
	}
	for (size_t i = 0; i < n; i++)
		f[k++] = p[i] ^ key[i & 3];
	t_log_add(l, "%s", prefix);
	t_log_hex(l, f, k);
	t_log_add(l, "\n");
}

/* Expands a log template: text is copied, and
 *   @t PAYLOAD@  @b PAYLOAD@   the payload as logged for text / binary
 *   @ping PAYLOAD@             "ping <hex> reply" and the pong written back
 *   @close CODE [REASON]@      "close CODE "REASON" reply" and the echo (an
 *                              empty close frame for 1005)
 *   @fail@                     "error NAME" for the row's error and the close
 *                              frame ws_conn_fail() writes: the row's close
 *                              code and the error's description
 *   @err@                      "error NAME" alone (a close frame was already sent)
 *   @sent CODE@                "close-> " and the close frame close_first() sends */
static char *expand(const char *s, expect *x)
{
	t_log l = {0};

	t_log_add(&l, "%s", "");
	while (*s) {
		char name[8];
		size_t k = 0;
		bytes pl = {0};

		if (*s != '@') {
			t_log_add(&l, "%c", *s++);
			continue;
		}
		for (s++; *s && *s != ' ' && *s != '@' && k < sizeof name - 1; s++)
			name[k++] = *s;
		name[k] = 0;
		if (*s == ' ')
			s++;
		if (!strcmp(name, "t") || !strcmp(name, "b")) {
			payload(&s, &pl);
			t_log_payload(&l, pl.p, pl.len, name[0] == 't');
		} else if (!strcmp(name, "ping")) {
			payload(&s, &pl);
			t_log_add(&l, "ping ");
			t_log_payload(&l, pl.p, pl.len, 0);
			t_log_add(&l, " reply\n");
			log_frame(&l, x, "-> ", 0x8a, pl.p, pl.len);
		} else if (!strcmp(name, "close")) {
			unsigned code = (unsigned)number(&s);
			uint8_t c[2];
			c[0] = (uint8_t)(code >> 8);
			c[1] = (uint8_t)code;
			if (*s == ' ')
				s++;
			payload(&s, &pl);
			t_log_add(&l, "close %u ", code);
			t_log_payload(&l, pl.p, pl.len, 1);
			t_log_add(&l, " reply\n");
			log_frame(&l, x, "-> ", 0x88, c, code == 1005 ? 0 : 2);
		} else if (!strcmp(name, "sent")) {
			unsigned code = (unsigned)number(&s);
			uint8_t c[2];
			c[0] = (uint8_t)(code >> 8);
			c[1] = (uint8_t)code;
			log_frame(&l, x, "close-> ", 0x88, c, 2);
		} else if (!strcmp(name, "fail") || !strcmp(name, "err")) {
			t_log_add(&l, "error %s\n", ws_status_name(x->err));
			if (name[0] == 'f') {
				const char *why = ws_status_str(x->err);
				uint8_t c[WS_CONTROL_PAYLOAD_MAX];
				size_t n = strlen(why);
				c[0] = (uint8_t)(x->close >> 8);
				c[1] = (uint8_t)x->close;
				if (n > sizeof c - 2)
					abort();
				memcpy(c + 2, why, n);
				log_frame(&l, x, "fail-> ", 0x88, c, n + 2);
			}
		} else {
			syntax("directive", s);
		}
		if (*s++ != '@')
			syntax("directive end", s - 1);
		free(pl.p);
	}
	return l.s;
}

/* ---- Running rows ------------------------------------------------------- */

static const char *const cats[] = {"1", "2", "3", "4", "5", "6", "7", "10", "other"};
static unsigned cat_rows[9];

static void count_row(const char *id)
{
	size_t n = strcspn(id, ".");
	for (size_t i = 0; i < 8; i++)
		if (strlen(cats[i]) == n && !strncmp(id, cats[i], n)) {
			cat_rows[i]++;
			return;
		}
	cat_rows[8]++;
}

static void feed_compare(const ws_config *cfg, const t_feed_opts *o, const bytes *in,
                         const size_t *split, size_t nsplit, const char *want, const char *how)
{
	char *got = t_feed(cfg, o, in->p, in->len, split, nsplit);
	if (strcmp(got, want))
		t_fail(__FILE__, __LINE__, "%s:\n    got:  %s\n    want: %s", how, got, want);
	free(got);
}

/* Large inputs: whole, in chunks, and split near the start and the end. Whole
 * and big chunks only with few frames (the harness compares every unconsumed
 * byte after each event, so many small frames in one piece are quadratic). */
static void feed_big(const ws_config *cfg, const t_feed_opts *o, const bytes *in, unsigned nframes,
                     const char *want)
{
	static const size_t chunks[] = {1, 7, 997, 1300, 4096, 65536, 0};
	size_t *split = malloc(in->len * sizeof *split);
	char how[64];

	if (!split)
		abort();
	for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
		size_t step = chunks[c] ? chunks[c] : in->len, n = 0;
		if (step > 4096 && nframes > 4096)
			continue;
		for (size_t off = step; off < in->len; off += step)
			split[n++] = off;
		snprintf(how, sizeof how, "chunks of %zu", step);
		feed_compare(cfg, o, in, split, n, want, how);
	}
	if (nframes <= 16)
		for (size_t k = 1; k < in->len; k++) {
			if (k == 40)
				k = in->len > 40 ? in->len - 40 : k;
			split[0] = k;
			snprintf(how, sizeof how, "split at %zu", k);
			feed_compare(cfg, o, in, split, 1, want, how);
		}
	free(split);
}

typedef struct job {
	const char *id;
	int role;
	const lim *lim;
	bytes in;
	unsigned nframes;
	const char *tpl;
	int err;
	unsigned close;
	size_t max3;
	t_hook hook;
} job;

static job cur;

static void run_job(void)
{
	ws_config cfg;
	uint32_t ctr = 0;
	t_feed_opts o;
	expect x;
	char *want;

	memset(&o, 0, sizeof o);
	o.hook = cur.hook;
	ws_config_init(&cfg, cur.role);
	cfg.flags = WS_CFG_START_OPEN;
	cfg.rand = t_rand;
	cfg.rand_ctx = &ctr;
	if (cur.lim) {
		cfg.flags |= cur.lim->flags;
		if (cur.lim->max_message)
			cfg.max_message = cur.lim->max_message;
		if (cur.lim->max_frame)
			cfg.max_frame = cur.lim->max_frame;
		if (cur.lim->max_fragments)
			cfg.max_fragments = cur.lim->max_fragments;
		o.eof = cur.lim->eof;
	}
	x.role = cur.role;
	x.ctr = 0;
	x.err = cur.err;
	x.close = cur.close;
	want = expand(cur.tpl, &x);
	if (cur.err) {
		CHECK_INT(ws_status_close_code(cur.err), cur.close);
		CHECK(strstr(want, ws_status_name(cur.err)) != NULL);
	}
	if (!cur.in.p)
		put(&cur.in, "", 0); /* never hand the harness a null pointer */
	/* Pairs of split points matter most where there are two frames to
	 * split; a single frame gets them up to 64 bytes. */
	if (cur.nframes < 2 && cur.max3 > 64)
		cur.max3 = 64;
	if (cur.in.len <= ALL_MAX)
		free(t_feed_all(&cfg, &o, cur.in.p, cur.in.len, want, cur.max3));
	else
		feed_big(&cfg, &o, &cur.in, cur.nframes, want);
	free(want);
}

/* Runs input in (already built) for one role as its own test, named after the
 * row; consumes in. */
static void run_built(const char *id, const char *variant, int role, const lim *l, bytes in,
                      unsigned nframes, const char *tpl, int err, unsigned close, size_t max3,
                      t_hook hook)
{
	char name[96];

	snprintf(name, sizeof name, "%s %s%s%s", id, role == WS_ROLE_SERVER ? "server" : "client",
	         variant ? " " : "", variant ? variant : "");
	cur.id = id;
	cur.role = role;
	cur.lim = l;
	cur.in = in;
	cur.nframes = nframes;
	cur.tpl = tpl;
	cur.err = err;
	cur.close = close;
	cur.max3 = max3;
	cur.hook = hook;
	t_run(name, run_job);
	free(cur.in.p);
}

static void run_row(const row *r)
{
	count_row(r->id);
	for (int role = WS_ROLE_SERVER; role <= WS_ROLE_CLIENT; role++) {
		bytes in = {0};
		unsigned nframes;
		if (!(r->roles & (role == WS_ROLE_SERVER ? SRV : CLI)))
			continue;
		nframes = build(&in, r->in, role);
		run_built(r->id, NULL, role, r->lim, in, nframes, r->want, r->err, r->close, MAX3,
		          r->hook);
	}
}

static void run_rows(const row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		run_row(&rows[i]);
}

#define ROW(id, roles, in, want) {id, roles, NULL, in, want, 0, 0, NULL}
#define ERR(id, roles, in, want, err, close) {id, roles, NULL, in, want, err, close, NULL}
#define LIM(id, roles, lim, in, want, err, close) {id, roles, &lim, in, want, err, close, NULL}
#define HOOK(id, roles, lim, hook, in, want, err, close) {id, roles, lim, in, want, err, close, hook}
#define NROWS(a) (sizeof a / sizeof a[0])

/* κόσμε */
#define KOSME "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"

/* ---- 1 Framing ---------------------------------------------------------- */

static void framing(void)
{
	static const row rows[] = {
		ROW("1.1.1", BOTH, "81''", "text \"\"\n"),
		ROW("1.1.2", BOTH, "81*125", "text @t *125@\n"),
		ROW("1.1.3", BOTH, "81*126", "text @t *126@\n"),
		ROW("1.1.4", BOTH, "81*127", "text @t *127@\n"),
		ROW("1.1.5", BOTH, "81*128", "text @t *128@\n"),
		ROW("1.1.6", BOTH, "81*65535", "text @t *65535@\n"),
		ROW("1.1.7", BOTH, "81*65536", "text @t *65536@\n"),
		ROW("1.2.1", BOTH, "82''", "binary \n"),
		ROW("1.2.2", BOTH, "82#125", "binary @b #125@\n"),
		ROW("1.2.3", BOTH, "82#126", "binary @b #126@\n"),
		ROW("1.2.4", BOTH, "82#127", "binary @b #127@\n"),
		ROW("1.2.5", BOTH, "82#128", "binary @b #128@\n"),
		ROW("1.2.6", BOTH, "82#65535", "binary @b #65535@\n"),
		ROW("1.2.7", BOTH, "82#65536", "binary @b #65536@\n"),
		ROW("1.3a", BOTH, "81'Hello' 82<00ff80> 81''",
		    "text \"Hello\"\nbinary 00ff80\ntext \"\"\n"),
		ROW("1.3b", BOTH, "81~3 82#1 81*1", "text @t ~3@\nbinary @b #1@\ntext \"*\"\n"),
		ROW("1.3c", BOTH, "82#126 81*125 82#0", "binary @b #126@\ntext @t *125@\nbinary \n"),
		ROW("1.3d", BOTH, "81*65536 82#70000", "text @t *65536@\nbinary @b #70000@\n"),
		/* An incomplete frame is kept; the rest of it is presented again. */
		ROW("1.4a", BOTH, "81'Hello' !81", "text \"Hello\"\nrest 1\n"),
		ROW("1.4b", SRV, "81'Hello' !8185", "text \"Hello\"\nrest 2\n"),
		ROW("1.4c", SRV, "81'Hello' !81853712", "text \"Hello\"\nrest 4\n"),
		ROW("1.4d", BOTH, "81{L=200}*100", "partial text @t *100@\n"),
	};
	run_rows(rows, NROWS(rows));
}

/* ---- 2 Pings and pongs -------------------------------------------------- */

static void pings(void)
{
	static const row rows[] = {
		ROW("2.1", BOTH, "89''", "@ping ''@"),
		ROW("2.2", BOTH, "89'Hello, world!'", "@ping 'Hello, world!'@"),
		ROW("2.3", BOTH, "89<00fffefdfcfb00ff>", "@ping <00fffefdfcfb00ff>@"),
		ROW("2.4", BOTH, "89#125", "@ping #125@"),
		ERR("2.5", BOTH, "89#126", "@fail@", WS_E_CONTROL_TOO_LONG, 1002),
		ERR("2.5a", BOTH, "89{L=126}", "@fail@", WS_E_CONTROL_TOO_LONG, 1002),
		ERR("2.5b", BOTH, "89{64,L=1}'x'", "@fail@", WS_E_CONTROL_TOO_LONG, 1002),
		ERR("2.5c", BOTH, "8a#126", "@fail@", WS_E_CONTROL_TOO_LONG, 1002),
		ERR("2.5d", BOTH, "88{L=65536}", "@fail@", WS_E_CONTROL_TOO_LONG, 1002),
		ROW("2.7", BOTH, "8a''", "pong \n"),
		ROW("2.8", BOTH, "8a'unsolicited pong payload'",
		    "pong @b 'unsolicited pong payload'@\n"),
		ROW("2.9", BOTH, "8a'unsolicited pong payload' 89'ping payload'",
		    "pong @b 'unsolicited pong payload'@\n@ping 'ping payload'@"),
		ROW("2.10", BOTH,
		    "89'payload-0' 89'payload-1' 89'payload-2' 89'payload-3' 89'payload-4' "
		    "89'payload-5' 89'payload-6' 89'payload-7' 89'payload-8' 89'payload-9'",
		    "@ping 'payload-0'@@ping 'payload-1'@@ping 'payload-2'@@ping 'payload-3'@"
		    "@ping 'payload-4'@@ping 'payload-5'@@ping 'payload-6'@@ping 'payload-7'@"
		    "@ping 'payload-8'@@ping 'payload-9'@"),
		ROW("2.12", BOTH, "89'Hello' 88<03e8>", "@ping 'Hello'@@close 1000@"),
		ROW("2.13", BOTH, "8a'a' 88<03e8>'bye'", "pong 61\n@close 1000 'bye'@"),
		ROW("2.14", BOTH, "89#125 8a#125 89#1",
		    "@ping #125@pong @b #125@\n@ping #1@"),
		/* An incomplete control frame is not consumed, whole or in part. */
		ROW("2.15", CLI, "89{L=5}'Hel'", "rest 5\n"),
		ROW("2.16", SRV, "89{L=5}'Hel'", "rest 9\n"),
	};
	run_rows(rows, NROWS(rows));
}

/* ---- 3 Reserved bits ---------------------------------------------------- */

static void reserved_bits(void)
{
	static const row rows[] = {
		ERR("3.1", BOTH, "c1'Hello'", "@fail@", WS_E_RSV, 1002),
		ERR("3.2", BOTH, "81'Hello' a1'Hello' 89''", "text \"Hello\"\n@fail@", WS_E_RSV, 1002),
		ERR("3.3", BOTH, "81'Hello' 91'Hello' 89''", "text \"Hello\"\n@fail@", WS_E_RSV, 1002),
		ERR("3.4", BOTH, "81'Hello' e1'Hello' 89''", "text \"Hello\"\n@fail@", WS_E_RSV, 1002),
		ERR("3.5", BOTH, "d2#8", "@fail@", WS_E_RSV, 1002),
		ERR("3.6", BOTH, "e9'Hello'", "@fail@", WS_E_RSV, 1002),
		ERR("3.7", BOTH, "f8<03e8>", "@fail@", WS_E_RSV, 1002),
		ERR("3.8", BOTH, "01'a' c0'b'", "partial text \"a\"\n@fail@", WS_E_RSV, 1002),
		ERR("3.9", BOTH, "82<01> ca''", "binary 01\n@fail@", WS_E_RSV, 1002),
		ERR("3.10", BOTH, "41'a'", "@fail@", WS_E_RSV, 1002),
		ERR("3.11", BOTH, "92{L=70000}", "@fail@", WS_E_RSV, 1002),
		ERR("3.12", BOTH, "02'a' 89'' a0'b'", "@ping ''@partial binary 61\n@fail@", WS_E_RSV,
		    1002),
	};
	run_rows(rows, NROWS(rows));
}

/* ---- 4 Reserved opcodes ------------------------------------------------- */

static void reserved_opcodes(void)
{
	static const row rows[] = {
		ERR("4.1.1", BOTH, "83''", "@fail@", WS_E_OPCODE, 1002),
		ERR("4.1.2", BOTH, "84'reserved opcode payload'", "@fail@", WS_E_OPCODE, 1002),
		ERR("4.1.3", BOTH, "81'Hello' 85'' 89''", "text \"Hello\"\n@fail@", WS_E_OPCODE, 1002),
		ERR("4.1.4", BOTH, "81'Hello' 86'reserved opcode payload' 89''", "text \"Hello\"\n@fail@",
		    WS_E_OPCODE, 1002),
		ERR("4.1.5", BOTH, "81'Hello' 87'reserved opcode payload' 89''", "text \"Hello\"\n@fail@",
		    WS_E_OPCODE, 1002),
		ERR("4.2.1", BOTH, "8b''", "@fail@", WS_E_OPCODE, 1002),
		ERR("4.2.2", BOTH, "8c'reserved opcode payload'", "@fail@", WS_E_OPCODE, 1002),
		ERR("4.2.3", BOTH, "81'Hello' 8d'' 89''", "text \"Hello\"\n@fail@", WS_E_OPCODE, 1002),
		ERR("4.2.4", BOTH, "81'Hello' 8e'reserved opcode payload' 89''", "text \"Hello\"\n@fail@",
		    WS_E_OPCODE, 1002),
		ERR("4.2.5", BOTH, "81'Hello' 8f'reserved opcode payload' 89''", "text \"Hello\"\n@fail@",
		    WS_E_OPCODE, 1002),
		/* Without FIN, inside a fragmented message, with a long length. */
		ERR("4.3a", BOTH, "03'x'", "@fail@", WS_E_OPCODE, 1002),
		ERR("4.3b", BOTH, "01'a' 04'b' 80'c'", "partial text \"a\"\n@fail@", WS_E_OPCODE, 1002),
		ERR("4.3c", BOTH, "8b{L=0x7fffffffffffffff}", "@fail@", WS_E_OPCODE, 1002),
		ERR("4.3d", BOTH, "8f{L=200}", "@fail@", WS_E_OPCODE, 1002),
	};
	run_rows(rows, NROWS(rows));
}

/* ---- 5 Fragmentation ---------------------------------------------------- */

static void fragmentation(void)
{
	static const row rows[] = {
		ERR("5.1", BOTH, "09'fragment1' 80'fragment2'", "@fail@", WS_E_CONTROL_FRAGMENTED, 1002),
		ERR("5.2", BOTH, "0a'fragment1' 80'fragment2'", "@fail@", WS_E_CONTROL_FRAGMENTED, 1002),
		ROW("5.3", BOTH, "01'fragment1' 80'fragment2'", "text \"fragment1fragment2\"\n"),
		ROW("5.6", BOTH, "01'fragment1' 89'ping payload' 80'fragment2'",
		    "@ping 'ping payload'@text \"fragment1fragment2\"\n"),
		ERR("5.9", BOTH, "80'non-continuation payload' 81'Hello, world!'", "@fail@",
		    WS_E_UNEXPECTED_CONTINUATION, 1002),
		ERR("5.12", BOTH, "00'non-continuation payload' 81'Hello, world!'", "@fail@",
		    WS_E_UNEXPECTED_CONTINUATION, 1002),
		ERR("5.15", BOTH, "01'fragment1' 80'fragment2' 00'fragment3' 81'fragment4'",
		    "text \"fragment1fragment2\"\n@fail@", WS_E_UNEXPECTED_CONTINUATION, 1002),
		ERR("5.16", BOTH,
		    "00'fragment1' 01'fragment2' 80'fragment3' 00'fragment1' 01'fragment2' 80'fragment3'",
		    "@fail@", WS_E_UNEXPECTED_CONTINUATION, 1002),
		ERR("5.17", BOTH,
		    "80'fragment1' 01'fragment2' 80'fragment3' 80'fragment1' 01'fragment2' 80'fragment3'",
		    "@fail@", WS_E_UNEXPECTED_CONTINUATION, 1002),
		ERR("5.18", BOTH, "01'fragment1' 81'fragment2'", "partial text \"fragment1\"\n@fail@",
		    WS_E_EXPECTED_CONTINUATION, 1002),
		ROW("5.19", BOTH,
		    "01'fragment1' 00'fragment2' 89'pongme 1!' 00'fragment3' 00'fragment4' "
		    "89'pongme 2!' 80'fragment5'",
		    "@ping 'pongme 1!'@@ping 'pongme 2!'@"
		    "text \"fragment1fragment2fragment3fragment4fragment5\"\n"),
		/* Two fragmented messages, with control frames between fragments. */
		ROW("5.21", BOTH, "01'ab' 80'cd' 02<01> 8a'' 00<02> 80<03>",
		    "text \"abcd\"\npong \nbinary 010203\n"),
		ROW("5.22", BOTH, "02#100 00#100 80#100 01*100 80*100",
		    "binary @b #100#100#100@\ntext @t *200@\n"),
		/* A control frame without FIN. */
		ERR("5.23", BOTH, "08<03e8>", "@fail@", WS_E_CONTROL_FRAGMENTED, 1002),
		ERR("5.24", BOTH, "01'a' 09'' 80'b'", "partial text \"a\"\n@fail@", WS_E_CONTROL_FRAGMENTED,
		    1002),
		/* A new message inside one, of either type. */
		ERR("5.25", BOTH, "02<01> 81'x'", "partial binary 01\n@fail@", WS_E_EXPECTED_CONTINUATION,
		    1002),
		ERR("5.26", BOTH, "01'a' 00'b' 02<01>", "partial text \"ab\"\n@fail@",
		    WS_E_EXPECTED_CONTINUATION, 1002),
		ERR("5.27", BOTH, "01'a' 01{L=100}", "partial text \"a\"\n@fail@",
		    WS_E_EXPECTED_CONTINUATION, 1002),
		/* A continuation after a complete message. */
		ERR("5.28", BOTH, "81'a' 80'b'", "text \"a\"\n@fail@", WS_E_UNEXPECTED_CONTINUATION, 1002),
		ERR("5.29", BOTH, "00{L=70000}", "@fail@", WS_E_UNEXPECTED_CONTINUATION, 1002),
		/* Fragments with empty payloads (Autobahn 6.1.2-3 are below). */
		ROW("5.30", BOTH, "01'' 00'' 80''", "text \"\"\n"),
		ROW("5.31", BOTH, "01'' 00'a' 00'' 00'' 80''", "text \"a\"\n"),
		ROW("5.32", BOTH, "02'' 80''", "binary \n"),
		ROW("5.33", BOTH, "01'' 89'' 00'' 8a'' 80'x'", "@ping ''@pong \ntext \"x\"\n"),
		ROW("5.34", BOTH, "02<01> 00'' 00'' 80<02> 82''", "binary 0102\nbinary \n"),
		ROW("5.35", BOTH, "01'' [20]00'' 80''", "text \"\"\n"),
		ROW("5.36", BOTH, "01'a' [20]00'' 00'b' [20]00'' 80'c'", "text \"abc\"\n"),
		ROW("5.37", BOTH, "01'' [10]00'' !01", "partial text \"\"\nrest 1\n"),
		/* Every fragment size for one message. */
		ROW("5.38", BOTH, "81{f=1}'fragmented!'", "text \"fragmented!\"\n"),
		ROW("5.39", BOTH, "82{f=3}#40", "binary @b #40@\n"),
		ROW("5.40", BOTH, "81{f=7}~5", "text @t ~5@\n"),
	};
	run_rows(rows, NROWS(rows));
}

/* ---- 6 UTF-8 ------------------------------------------------------------ */

typedef struct u8case {
	const char *id;
	const char *s;
	size_t n;
	long off; /* -1 valid; else the offset of the first impossible byte (n: truncated) */
} u8case;

#define U(id, lit, off) {id, lit, sizeof(lit) - 1, off}

/* The Autobahn 6.5-6.23 vectors (from the Markus Kuhn UTF-8 decoder stress
 * test), in Autobahn's order, with the fail-fast offset worked out by hand. */
static const u8case u8cases[] = {
	U("6.5.1", "hello\x24world", -1),
	U("6.5.2", "hello\xc2\xa2world", -1),
	U("6.5.3", "hello\xe2\x82\xacworld", -1),
	U("6.5.4", "hello\xf0\xa4\xad\xa2world", -1),
	U("6.5.5", KOSME, -1),
	/* 6.6: every prefix of κόσμε. */
	U("6.6.1", "\xce", 1),
	U("6.6.2", "\xce\xba", -1),
	U("6.6.3", "\xce\xba\xe1", 3),
	U("6.6.4", "\xce\xba\xe1\xbd", 4),
	U("6.6.5", "\xce\xba\xe1\xbd\xb9", -1),
	U("6.6.6", "\xce\xba\xe1\xbd\xb9\xcf", 6),
	U("6.6.7", "\xce\xba\xe1\xbd\xb9\xcf\x83", -1),
	U("6.6.8", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce", 8),
	U("6.6.9", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc", -1),
	U("6.6.10", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce", 10),
	U("6.6.11", KOSME, -1),
	U("6.7.1", "\x00", -1),
	U("6.7.2", "\xc2\x80", -1),
	U("6.7.3", "\xe0\xa0\x80", -1),
	U("6.7.4", "\xf0\x90\x80\x80", -1),
	U("6.8.1", "\xf8\x88\x80\x80\x80", 0),
	U("6.8.2", "\xfc\x84\x80\x80\x80\x80", 0),
	U("6.9.1", "\x7f", -1),
	U("6.9.2", "\xdf\xbf", -1),
	U("6.9.3", "\xef\xbf\xbf", -1),
	U("6.9.4", "\xf4\x8f\xbf\xbf", -1),
	U("6.10.1", "\xf7\xbf\xbf\xbf", 0),
	U("6.10.2", "\xfb\xbf\xbf\xbf\xbf", 0),
	U("6.10.3", "\xfd\xbf\xbf\xbf\xbf\xbf", 0),
	U("6.11.1", "\xed\x9f\xbf", -1),
	U("6.11.2", "\xee\x80\x80", -1),
	U("6.11.3", "\xef\xbf\xbd", -1),
	U("6.11.4", "\xf4\x8f\xbf\xbf", -1),
	U("6.11.5", "\xf4\x90\x80\x80", 1),
	U("6.12.1", "\x80", 0),
	U("6.12.2", "\xbf", 0),
	U("6.12.3", "\x80\xbf", 0),
	U("6.12.4", "\x80\xbf\x80", 0),
	U("6.12.5", "\x80\xbf\x80\xbf", 0),
	U("6.12.6", "\x80\xbf\x80\xbf\x80", 0),
	U("6.12.7", "\x80\xbf\x80\xbf\x80\xbf", 0),
	/* 6.12.8 and 6.13.x are generated in utf8_vectors(). */
	U("6.14.1", "\xc0", 0),
	U("6.14.2", "\xe0\x80", 1),
	U("6.14.3", "\xf0\x80\x80", 1),
	U("6.14.4", "\xf8\x80\x80\x80", 0),
	U("6.14.5", "\xfc\x80\x80\x80\x80", 0),
	U("6.14.6", "\xdf", 1),
	U("6.14.7", "\xef\xbf", 2),
	U("6.14.8", "\xf7\xbf\xbf", 0),
	U("6.14.9", "\xfb\xbf\xbf\xbf", 0),
	U("6.14.10", "\xfd\xbf\xbf\xbf\xbf", 0),
	U("6.15.1", "\xc0\xe0\x80\xf0\x80\x80\xf8\x80\x80\x80\xfc\x80\x80\x80\x80"
	            "\xdf\xef\xbf\xf7\xbf\xbf\xfb\xbf\xbf\xbf\xfd\xbf\xbf\xbf\xbf", 0),
	U("6.16.1", "\xfe", 0),
	U("6.16.2", "\xff", 0),
	U("6.16.3", "\xfe\xfe\xff\xff", 0),
	U("6.17.1", "\xc0\xaf", 0),
	U("6.17.2", "\xe0\x80\xaf", 1),
	U("6.17.3", "\xf0\x80\x80\xaf", 1),
	U("6.17.4", "\xf8\x80\x80\x80\xaf", 0),
	U("6.17.5", "\xfc\x80\x80\x80\x80\xaf", 0),
	U("6.18.1", "\xc1\xbf", 0),
	U("6.18.2", "\xe0\x9f\xbf", 1),
	U("6.18.3", "\xf0\x8f\xbf\xbf", 1),
	U("6.18.4", "\xf8\x87\xbf\xbf\xbf", 0),
	U("6.18.5", "\xfc\x83\xbf\xbf\xbf\xbf", 0),
	U("6.19.1", "\xc0\x80", 0),
	U("6.19.2", "\xe0\x80\x80", 1),
	U("6.19.3", "\xf0\x80\x80\x80", 1),
	U("6.19.4", "\xf8\x80\x80\x80\x80", 0),
	U("6.19.5", "\xfc\x80\x80\x80\x80\x80", 0),
	U("6.20.1", "\xed\xa0\x80", 1),
	U("6.20.2", "\xed\xad\xbf", 1),
	U("6.20.3", "\xed\xae\x80", 1),
	U("6.20.4", "\xed\xaf\xbf", 1),
	U("6.20.5", "\xed\xb0\x80", 1),
	U("6.20.6", "\xed\xbe\x80", 1),
	U("6.20.7", "\xed\xbf\xbf", 1),
	U("6.21.1", "\xed\xa0\x80\xed\xb0\x80", 1),
	U("6.21.2", "\xed\xa0\x80\xed\xbf\xbf", 1),
	U("6.21.3", "\xed\xad\xbf\xed\xb0\x80", 1),
	U("6.21.4", "\xed\xad\xbf\xed\xbf\xbf", 1),
	U("6.21.5", "\xed\xae\x80\xed\xb0\x80", 1),
	U("6.21.6", "\xed\xae\x80\xed\xbf\xbf", 1),
	U("6.21.7", "\xed\xaf\xbf\xed\xb0\x80", 1),
	U("6.21.8", "\xed\xaf\xbf\xed\xbf\xbf", 1),
	/* 6.22.x (noncharacters, valid) are generated in utf8_vectors(). */
	U("6.23.1", "\xef\xbf\xb9", -1),
	U("6.23.2", "\xef\xbf\xba", -1),
	U("6.23.3", "\xef\xbf\xbb", -1),
	U("6.23.4", "\xef\xbf\xbc", -1),
	U("6.23.5", "\xef\xbf\xbd", -1),
	U("6.23.6", "\xef\xbf\xbe", -1),
	U("6.23.7", "\xef\xbf\xbf", -1),
	/* Our own: fail-fast in longer text, and boundaries Autobahn skips. */
	U("6.24.1", "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!", -1),
	U("6.24.2", KOSME "\xed\xa0\x80" "edited", 12),
	U("6.24.3", KOSME "\xf4\x90\x80\x80" "edited", 12),
	U("6.24.4", "0123456789abcdef0123456789abcdef\x80", 32),
	U("6.24.5", "0123456789abcdef0123456789abcde\xe2\x82\xac" "0123456789abcdef\xc3", 51),
	U("6.24.6", "\xf5\x80\x80\x80", 0),
	U("6.24.7", "\xf4\x90", 1),
	U("6.24.8", "\xe0\xa0", 2),
	U("6.24.9", "a\xc2" "b", 2),
	U("6.24.10", "\xef\xb7\x90\xef\xb7\xaf", -1),
	U("6.24.11", "\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf\xf0\x90\x80\x80", -1),
	U("6.24.12", "\xc2\x80\xc2", 3),
};

/* Autobahn runs each vector as one text frame; we add the same text one
 * byte per frame, after a 70-byte valid prefix (ASCII, then 1- to 4-byte
 * sequences: a payload long enough for vectorised validation), and,
 * for invalid ones, cut right after the first impossible byte: the error must
 * be there already, before the rest of the frame (or message) arrives. */
static void utf8_case(const char *id, const uint8_t *s, size_t n, long off)
{
	static const char prefix[] = "Autobahn|UTF-8|test|"
	                             "a\xce\xba\xe2\x82\xac\xf0\x9d\x84\x9e"
	                             "a\xce\xba\xe2\x82\xac\xf0\x9d\x84\x9e"
	                             "a\xce\xba\xe2\x82\xac\xf0\x9d\x84\x9e"
	                             "a\xce\xba\xe2\x82\xac\xf0\x9d\x84\x9e"
	                             "a\xce\xba\xe2\x82\xac\xf0\x9d\x84\x9e";
	enum { PN = sizeof prefix - 1 };
	uint8_t *pre = malloc(PN + n + 1);
	int valid = off < 0;
	size_t bad = valid ? n : (size_t)off;

	if (!pre)
		abort();
	memcpy(pre, prefix, PN);
	if (n)
		memcpy(pre + PN, s, n);
	count_row(id);
	for (int role = WS_ROLE_SERVER; role <= WS_ROLE_CLIENT; role++) {
		int masked = role == WS_ROLE_SERVER;
		for (int variant = 0; variant < 5; variant++) {
			static const char *const names[] = {"one frame", "frame per byte", "long prefix",
			                                    "one frame cut", "frame per byte cut"};
			const uint8_t *p = variant == 2 ? pre : s;
			size_t pn = variant == 2 ? n + PN : n, pbad = variant == 2 ? bad + PN : bad;
			size_t upto = pn; /* payload bytes sent */
			bytes in = {0};
			unsigned nf = 0;
			t_log tpl = {0};

			if (variant >= 3) {
				if (valid || bad >= n)
					continue; /* nothing to cut */
				upto = bad + 1;
			}
			if (variant == 0 || variant == 2 || variant == 3) {
				uint64_t decl = pn;
				frame(&in, masked, 0x81, p, upto, 0, &decl, &nf);
			} else {
				for (size_t i = 0; i < upto; i++)
					frame(&in, masked, (i == 0 ? 0x01 : 0x00) | (i + 1 == pn ? 0x80 : 0), p + i,
					      1, 0, NULL, &nf);
				if (pn == 0)
					frame(&in, masked, 0x81, p, 0, 0, NULL, &nf);
			}
			/* The template holds raw bytes through <hex>, as "@t <...>@". */
			t_log_add(&tpl, "%s", "");
			if (valid) {
				t_log_add(&tpl, "text @t <");
				t_log_hex(&tpl, p, pn);
				t_log_add(&tpl, ">@\n");
			} else {
				if (pbad > 0) {
					t_log_add(&tpl, "partial text @t <");
					t_log_hex(&tpl, p, pbad);
					t_log_add(&tpl, ">@\n");
				}
				t_log_add(&tpl, "@fail@");
			}
			run_built(id, names[variant], role, NULL, in, nf, tpl.s, valid ? 0 : WS_E_UTF8,
			          valid ? 0 : 1007, variant == 0 ? MAX3 : 64, NULL);
			t_log_free(&tpl);
		}
	}
	free(pre);
}

static void utf8_vectors(void)
{
	uint8_t b[256];
	size_t n;
	char id[32];

	for (size_t i = 0; i < NROWS(u8cases); i++) {
		utf8_case(u8cases[i].id, (const uint8_t *)u8cases[i].s, u8cases[i].n, u8cases[i].off);
		if (!strcmp(u8cases[i].id, "6.12.7")) {
			/* 6.12.8: the continuation bytes 80-BE. */
			for (n = 0; n < 0xbf - 0x80; n++)
				b[n] = (uint8_t)(0x80 + n);
			utf8_case("6.12.8", b, n, 0);
			/* 6.13.1-5: lonely start bytes, each followed by a space
			 * (Autobahn's ranges, last byte excluded). */
			static const unsigned ranges[5][2] = {{0xc0, 0xdf}, {0xe0, 0xef}, {0xf0, 0xf7},
			                                      {0xf8, 0xfb}, {0xfc, 0xfd}};
			static const long offs[5] = {0, 1, 1, 0, 0}; /* C0; E0 then space; F0 then space */
			for (int r = 0; r < 5; r++) {
				n = 0;
				for (unsigned c = ranges[r][0]; c < ranges[r][1]; c++) {
					b[n++] = (uint8_t)c;
					b[n++] = ' ';
				}
				snprintf(id, sizeof id, "6.13.%d", r + 1);
				utf8_case(id, b, n, offs[r]);
			}
		}
		if (!strcmp(u8cases[i].id, "6.21.8")) {
			/* 6.22.1-34: the noncharacters U+nFFFE and U+nFFFF of every plane
			 * are valid UTF-8. */
			int k = 0;
			for (uint32_t plane = 0; plane <= 16; plane++)
				for (uint32_t low = 0xFFFE; low <= 0xFFFF; low++) {
					uint32_t cp = plane << 16 | low;
					if (cp < 0x10000) {
						b[0] = (uint8_t)(0xE0 | cp >> 12);
						b[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
						b[2] = (uint8_t)(0x80 | (cp & 0x3F));
						n = 3;
					} else {
						b[0] = (uint8_t)(0xF0 | cp >> 18);
						b[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
						b[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
						b[3] = (uint8_t)(0x80 | (cp & 0x3F));
						n = 4;
					}
					snprintf(id, sizeof id, "6.22.%d", ++k);
					utf8_case(id, b, n, -1);
				}
		}
	}
}

/* 6.33: a 300-byte text frame of 1- to 4-byte sequences with one byte made
 * impossible (FF) at spread positions: whatever the position relative to the
 * blocks a vectorised validator works in, the error is at that byte, the bytes
 * before it are delivered, and the error comes before the rest arrives. */
static void utf8_long_frames(void)
{
	enum { N = 300 };
	uint8_t text[N];
	char id[32];

	for (size_t i = 0; i < N; i++)
		text[i] = (uint8_t)umix[i % (sizeof umix - 1)];
	for (size_t pos = 0; pos < N; pos += pos < 70 ? 3 : 11) {
		uint8_t keep = text[pos];
		snprintf(id, sizeof id, "6.33.%zu", pos);
		count_row(id);
		text[pos] = 0xff;
		for (int role = WS_ROLE_SERVER; role <= WS_ROLE_CLIENT; role++)
			for (int cut = 0; cut < 2; cut++) {
				uint64_t decl = N;
				bytes in = {0};
				unsigned nf = 0;
				t_log tpl = {0};
				frame(&in, role == WS_ROLE_SERVER, 0x81, text, cut ? pos + 1 : N, 0, &decl, &nf);
				t_log_add(&tpl, "%s", "");
				if (pos > 0) {
					t_log_add(&tpl, "partial text @t <");
					t_log_hex(&tpl, text, pos);
					t_log_add(&tpl, ">@\n");
				}
				t_log_add(&tpl, "@fail@");
				run_built(id, cut ? "cut" : NULL, role, NULL, in, nf, tpl.s, WS_E_UTF8, 1007, 0,
				          NULL);
				t_log_free(&tpl);
			}
		text[pos] = keep;
	}
}

static void utf8_rows(void)
{
	static const row rows[] = {
		ROW("6.1.1", BOTH, "81''", "text \"\"\n"),
		ROW("6.1.2", BOTH, "01'' 00'' 80''", "text \"\"\n"),
		ROW("6.1.3", BOTH, "01'' 00'middle frame payload' 80''",
		    "text \"middle frame payload\"\n"),
		ROW("6.2.1", BOTH,
		    "81'Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!'",
		    "text @t 'Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!'@\n"),
		ROW("6.2.2", BOTH,
		    "01'Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4' 80'\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!'",
		    "text @t 'Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!'@\n"),
		ROW("6.2.3", BOTH,
		    "81{f=1}'Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!'",
		    "text @t 'Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!'@\n"),
		ROW("6.2.4", BOTH, "81{f=1}'" KOSME "'", "text @t '" KOSME "'@\n"),
		ERR("6.3.1", BOTH, "81'" KOSME "\xed\xa0\x80" "edited'",
		    "partial text @t '" KOSME "\xed'@\n@fail@", WS_E_UTF8, 1007),
		ERR("6.3.2", BOTH, "81{f=1}'" KOSME "\xed\xa0\x80" "edited'",
		    "partial text @t '" KOSME "\xed'@\n@fail@", WS_E_UTF8, 1007),
		/* 6.4: fail-fast across fragments and across reads. */
		ERR("6.4.1", BOTH, "01'" KOSME "' 00<f4908080> 80'edited'",
		    "partial text @t '" KOSME "\xf4'@\n@fail@", WS_E_UTF8, 1007),
		ERR("6.4.1 cut", BOTH, "01'" KOSME "' 00{L=4}<f490>",
		    "partial text @t '" KOSME "\xf4'@\n@fail@", WS_E_UTF8, 1007),
		ERR("6.4.2", BOTH, "01'" KOSME "\xf4' 00<908080> 80'edited'",
		    "partial text @t '" KOSME "\xf4'@\n@fail@", WS_E_UTF8, 1007),
		ERR("6.4.2 cut", BOTH, "01'" KOSME "\xf4' 00{L=3}<90>",
		    "partial text @t '" KOSME "\xf4'@\n@fail@", WS_E_UTF8, 1007),
		ERR("6.4.3", BOTH, "81'" KOSME "\xf4\x90\x80\x80" "edited'",
		    "partial text @t '" KOSME "\xf4'@\n@fail@", WS_E_UTF8, 1007),
		ERR("6.4.3 cut", BOTH, "81{L=21}'" KOSME "\xf4\x90'",
		    "partial text @t '" KOSME "\xf4'@\n@fail@", WS_E_UTF8, 1007),
		ERR("6.4.4", BOTH, "81'" KOSME "\xf4\x90\x80\x80" "edited'",
		    "partial text @t '" KOSME "\xf4'@\n@fail@", WS_E_UTF8, 1007),
		/* A message that ends inside a sequence, also on an empty final
		 * fragment; a sequence split by a control frame. */
		ERR("6.25", BOTH, "01<ce> 80''", "partial text @t <ce>@\n@fail@", WS_E_UTF8, 1007),
		ERR("6.26", BOTH, "01<f0> 00<9d> 00<84> 80''", "partial text @t <f09d84>@\n@fail@",
		    WS_E_UTF8, 1007),
		ROW("6.27", BOTH, "01<f0> 89'' 00<9d84> 8a'' 80<9e>", "@ping ''@pong \ntext @t <f09d849e>@\n"),
		ERR("6.28", BOTH, "01<e2> 00'' 00<82> [3]00'' 80<28>", "partial text @t <e282>@\n@fail@",
		    WS_E_UTF8, 1007),
		/* Binary messages are not UTF-8-checked; a text after one is. */
		ROW("6.29", BOTH, "82<fffe80c0> 02<ed> 80<a080>", "binary fffe80c0\nbinary eda080\n"),
		ERR("6.30", BOTH, "82<ce> 81<ba>", "binary ce\n@fail@", WS_E_UTF8, 1007),
		/* The state does not leak from one message into the next. */
		ERR("6.31", BOTH, "81'a' 81<80>", "text \"a\"\n@fail@", WS_E_UTF8, 1007),
		ROW("6.32", BOTH, "81~1 81~2 01~3 80~4", "text @t ~1@\ntext @t ~2@\ntext @t ~3~4@\n"),
		/* A whole short text message, invalid at once or after a valid
		 * prefix: the whole-message path and the general one report the
		 * same events (the error with no flags, however the input came;
		 * it used to carry MSG_BEGIN|MSG_END when fed whole). */
		ERR("6.34.1", BOTH, "81<ff>", "@fail@", WS_E_UTF8, 1007),
		ERR("6.34.2", BOTH, "81'a'<ff>", "partial text @t 'a'@\n@fail@", WS_E_UTF8, 1007),
		ERR("6.34.3", BOTH, "81<ce>", "partial text @t <ce>@\n@fail@", WS_E_UTF8, 1007),
		ERR("6.34.4", BOTH, "81{L=200}<ff>", "@fail@", WS_E_UTF8, 1007),
	};
	run_rows(rows, NROWS(rows));
	utf8_vectors();
	utf8_long_frames();
}

/* ---- 7 Close ------------------------------------------------------------ */

static const lim eof;

/* A hook that starts the close handshake (code 1000) at the first event while
 * the connection is OPEN, and otherwise replies as the harness's default does:
 * after our close, pings and the peer's close call for no reply. */
static void close_first(ws_conn *c, ws_event *ev, t_log *log, void *ud)
{
	uint8_t out[WS_CONTROL_FRAME_MAX];
	size_t n = 0;
	int rc;

	(void)ud;
	if (ws_conn_state(c) == WS_STATE_OPEN) {
		rc = ws_conn_close(c, 1000, "", 0, out, sizeof out, &n);
		if (rc)
			t_log_add(log, "close-error %s\n", ws_status_name(rc));
		t_log_add(log, "close-> ");
		t_log_hex(log, out, n);
		t_log_add(log, "\n");
	}
	if (ev->flags & WS_EVF_REPLY) {
		rc = ws_conn_reply(c, ev, out, sizeof out, &n);
		if (rc)
			t_log_add(log, "reply-error %s\n", ws_status_name(rc));
		else if (n) {
			t_log_add(log, "-> ");
			t_log_hex(log, out, n);
			t_log_add(log, "\n");
		}
	}
}

static void close_rows(void)
{
	static const row rows[] = {
		ROW("7.1.1", BOTH, "81'Hello World' 88<03e8>", "text \"Hello World\"\n@close 1000@"),
		ERR("7.1.2", BOTH, "88<03e8> 88<03e8>", "@close 1000@@err@", WS_E_DATA_AFTER_CLOSE, 1002),
		ERR("7.1.3", BOTH, "88<03e8> 89''", "@close 1000@@err@", WS_E_DATA_AFTER_CLOSE, 1002),
		ERR("7.1.4", BOTH, "88<03e8> 81'Hello World'", "@close 1000@@err@", WS_E_DATA_AFTER_CLOSE,
		    1002),
		ERR("7.1.5", BOTH, "01'fragment1' 88<03e8> 80'fragment2'",
		    "@close 1000@partial text \"fragment1\"\n@err@", WS_E_DATA_AFTER_CLOSE, 1002),
		ERR("7.1.6", BOTH, "82#65536 88<03e8> 89''", "binary @b #65536@\n@close 1000@@err@",
		    WS_E_DATA_AFTER_CLOSE, 1002),
		ERR("7.1.7", BOTH, "88'' !00", "@close 1005@@err@", WS_E_DATA_AFTER_CLOSE, 1002),
		ROW("7.3.1", BOTH, "88''", "@close 1005@"),
		ERR("7.3.2", BOTH, "88<03>", "@fail@", WS_E_CLOSE_LENGTH, 1002),
		ROW("7.3.3", BOTH, "88<03e8>", "@close 1000@"),
		ROW("7.3.4", BOTH, "88<03e8>'Hello World!'", "@close 1000 'Hello World!'@"),
		ROW("7.3.5", BOTH, "88<03e8>*123", "@close 1000 *123@"),
		ERR("7.3.6", BOTH, "88<03e8>*124", "@fail@", WS_E_CONTROL_TOO_LONG, 1002),
		ERR("7.5.1", BOTH, "88<03e8>'" KOSME "\xed\xa0\x80" "edited'", "@fail@", WS_E_CLOSE_UTF8,
		    1007),
		ERR("7.5.2", BOTH, "88<03e8><ce>", "@fail@", WS_E_CLOSE_UTF8, 1007),
		ERR("7.5.3", BOTH, "88<03e8>'ok'<c0af>", "@fail@", WS_E_CLOSE_UTF8, 1007),
		ROW("7.5.4", BOTH, "88<03e8>'" KOSME "'", "@close 1000 '" KOSME "'@"),
		/* Autobahn 7.13: codes beyond the range. */
		ERR("7.13.1", BOTH, "88<1388>", "@fail@", WS_E_CLOSE_CODE, 1002),
		ERR("7.13.2", BOTH, "88<ffff>", "@fail@", WS_E_CLOSE_CODE, 1002),
		/* An invalid code is judged before the reason. */
		ERR("7.13.3", BOTH, "88<03ed><ff>", "@fail@", WS_E_CLOSE_CODE, 1002),
		/* A close in the middle of a fragmented message, then nothing. */
		ROW("7.14", BOTH, "01'frag' 88<03e9>", "@close 1001@partial text \"frag\"\n"),
		/* A ping after the close (in the same read) is an error. */
		ERR("7.15", BOTH, "88<0bb8>'x' 89'late'", "@close 3000 'x'@@err@",
		    WS_E_DATA_AFTER_CLOSE, 1002),
		/* We close first: frames still arrive until the peer's close, but
		 * pings and that close call for no reply. */
		HOOK("7.16a", BOTH, NULL, close_first, "81'a' 89'p' 88<03e8>",
		     "text \"a\"\n@sent 1000@ping 70\nclose 1000 \"\"\n", 0, 0),
		HOOK("7.16b", BOTH, NULL, close_first, "01'a' 80'b' 8a'' 88''",
		     "@sent 1000@text \"ab\"\npong \nclose 1005 \"\"\n", 0, 0),
		HOOK("7.16c", BOTH, NULL, close_first, "81'a' 88<03e8> 81'b'",
		     "text \"a\"\n@sent 1000@close 1000 \"\"\n@err@", WS_E_DATA_AFTER_CLOSE, 1002),
		HOOK("7.16d", BOTH, NULL, close_first, "81'a' 82'x' c1'x'",
		     "text \"a\"\n@sent 1000@binary 78\n@err@", WS_E_RSV, 1002),
		HOOK("7.16e", BOTH, &eof, close_first, "81'a'",
		     "text \"a\"\n@sent 1000@eof-close 1006\n", 0, 0),
	};
	/* Autobahn 7.7 (valid) and 7.9 (invalid), and more: all of 1000-1016 and
	 * the edges of each range (RFC 6455 §7.4; 1012-1014 are registered with
	 * IANA and accepted), each with and without a reason. */
	static const struct {
		unsigned code;
		int valid;
	} codes[] = {
		{0, 0},    {999, 0},  {1000, 1}, {1001, 1}, {1002, 1}, {1003, 1}, {1004, 0},
		{1005, 0}, {1006, 0}, {1007, 1}, {1008, 1}, {1009, 1}, {1010, 1}, {1011, 1},
		{1012, 1}, {1013, 1}, {1014, 1}, {1015, 0}, {1016, 0}, {1100, 0}, {2000, 0},
		{2999, 0}, {3000, 1}, {3999, 1}, {4000, 1}, {4999, 1}, {5000, 0}, {65535, 0},
	};

	run_rows(rows, NROWS(rows));
	for (size_t i = 0; i < NROWS(codes); i++)
		for (int reason = 0; reason < 2; reason++) {
			char id[32], in[64], want[64];
			row r;
			snprintf(id, sizeof id, "7.%d.%u%s", codes[i].valid ? 7 : 9, codes[i].code,
			         reason ? "+reason" : "");
			snprintf(in, sizeof in, "88<%04x>%s", codes[i].code, reason ? "'Bye'" : "");
			if (codes[i].valid)
				snprintf(want, sizeof want, "@close %u%s@", codes[i].code, reason ? " 'Bye'" : "");
			else
				snprintf(want, sizeof want, "@fail@");
			r.id = id;
			r.roles = BOTH;
			r.lim = NULL;
			r.in = in;
			r.want = want;
			r.err = codes[i].valid ? 0 : WS_E_CLOSE_CODE;
			r.close = codes[i].valid ? 0 : 1002;
			r.hook = NULL;
			run_row(&r);
		}
}

/* ---- 10 Miscellaneous --------------------------------------------------- */

static void misc(void)
{
	static const row rows[] = {
		/* A 64 KiB message in fragments of many sizes; with 1-byte fragments
		 * it has exactly the default maximum of 65536 fragments. */
		ROW("10.1.1", BOTH, "81{f=1300}*65536", "text @t *65536@\n"),
		ROW("10.2.1", BOTH, "81{f=1}*65536", "text @t *65536@\n"),
		ROW("10.2.2", BOTH, "81{f=64}*65536", "text @t *65536@\n"),
		ROW("10.2.3", BOTH, "81{f=1000}*65536", "text @t *65536@\n"),
		ROW("10.2.4", BOTH, "81{f=4096}*65536", "text @t *65536@\n"),
		ROW("10.2.5", BOTH, "81{f=65535}*65536", "text @t *65536@\n"),
		ROW("10.2.6", BOTH, "82{f=1000}#65536", "binary @b #65536@\n"),
		ROW("10.2.7", BOTH, "82{f=257}#65536", "binary @b #65536@\n"),
		/* UTF-8 sequences straddling fragments of 3, 7 and 1000 bytes. */
		ROW("10.3.1", BOTH, "81{f=7}~6554", "text @t ~6554@\n"),
		ROW("10.3.2", BOTH, "81{f=3}~6554", "text @t ~6554@\n"),
		ROW("10.3.3", BOTH, "81{f=1000}~6554", "text @t ~6554@\n"),
		/* And in one frame, checked in whatever pieces the reads make. */
		ROW("10.3.4", BOTH, "81~6554", "text @t ~6554@\n"),
	};
	run_rows(rows, NROWS(rows));
}

/* ---- Masking, length encoding, limits, flags, EOF ----------------------- */

static const lim lenient = {WS_CFG_LENIENT_LENGTH, 0, 0, 0, 0};
static const lim small = {0, 100, 50, 4, 0};
static const lim msg_only = {0, 100, 0, 0, 0};
static const lim flood = {0, 0, 0, 1000, 0};
static const lim one_frag = {0, 0, 0, 1, 0};
static const lim no_utf8 = {WS_CFG_NO_UTF8_CHECK, 0, 0, 0, 0};
static const lim eof = {0, 0, 0, 0, 1};

static void masking(void)
{
	static const row rows[] = {
		ERR("mask.1", SRV, "81{u}'Hello'", "@fail@", WS_E_MASK_REQUIRED, 1002),
		ERR("mask.2", SRV, "89{u}''", "@fail@", WS_E_MASK_REQUIRED, 1002),
		ERR("mask.3", SRV, "88{u}<03e8>", "@fail@", WS_E_MASK_REQUIRED, 1002),
		ERR("mask.4", SRV, "81'Hello' 82{u}<00>", "text \"Hello\"\n@fail@", WS_E_MASK_REQUIRED,
		    1002),
		ERR("mask.5", SRV, "01'a' 80{u}'b'", "partial text \"a\"\n@fail@", WS_E_MASK_REQUIRED,
		    1002),
		ERR("mask.6", SRV, "82{u,L=70000}", "@fail@", WS_E_MASK_REQUIRED, 1002),
		ERR("mask.7", CLI, "81{m}'Hello'", "@fail@", WS_E_MASK_UNEXPECTED, 1002),
		ERR("mask.8", CLI, "8a{m}''", "@fail@", WS_E_MASK_UNEXPECTED, 1002),
		ERR("mask.9", CLI, "88{m}<03e8>", "@fail@", WS_E_MASK_UNEXPECTED, 1002),
		ERR("mask.10", CLI, "81'Hello' 82{m}<00>", "text \"Hello\"\n@fail@", WS_E_MASK_UNEXPECTED,
		    1002),
		ERR("mask.11", CLI, "01'a' 80{m}'b'", "partial text \"a\"\n@fail@", WS_E_MASK_UNEXPECTED,
		    1002),
		ERR("mask.12", CLI, "82{m,L=70000}", "@fail@", WS_E_MASK_UNEXPECTED, 1002),
		/* Unmasking restarts with each frame's own key, across fragments
		 * and control frames, at every phase. */
		ROW("mask.13", BOTH, "01'abcde' 89'xyz' 00'fghijk' 8a'w' 80'lmnopqr'",
		    "@ping 'xyz'@pong 77\ntext \"abcdefghijklmnopqr\"\n"),
	};
	run_rows(rows, NROWS(rows));
}

static void lengths(void)
{
	static const row rows[] = {
		ERR("len.1", BOTH, "82{16}#0", "@fail@", WS_E_LENGTH_NOT_MINIMAL, 1002),
		ERR("len.2", BOTH, "82{16}#125", "@fail@", WS_E_LENGTH_NOT_MINIMAL, 1002),
		ERR("len.3", BOTH, "81{64}'Hello'", "@fail@", WS_E_LENGTH_NOT_MINIMAL, 1002),
		ERR("len.4", BOTH, "82{64}#126", "@fail@", WS_E_LENGTH_NOT_MINIMAL, 1002),
		ERR("len.5", BOTH, "82{64}#65535", "@fail@", WS_E_LENGTH_NOT_MINIMAL, 1002),
		ERR("len.6", BOTH, "01'a' 80{16}'b'", "partial text \"a\"\n@fail@",
		    WS_E_LENGTH_NOT_MINIMAL, 1002),
		ROW("len.7", BOTH, "82{16}#126 82{64}#65536", "binary @b #126@\nbinary @b #65536@\n"),
		LIM("len.8", BOTH, lenient, "82{16}#0", "binary \n", 0, 0),
		LIM("len.9", BOTH, lenient, "82{16}#125", "binary @b #125@\n", 0, 0),
		LIM("len.10", BOTH, lenient, "81{64}'Hello'", "text \"Hello\"\n", 0, 0),
		LIM("len.11", BOTH, lenient, "82{64}#126", "binary @b #126@\n", 0, 0),
		LIM("len.12", BOTH, lenient, "82{64}#65535", "binary @b #65535@\n", 0, 0),
		LIM("len.13", BOTH, lenient, "01{64}'a' 00{16}'b' 80{64}''", "text \"ab\"\n", 0, 0),
		/* Control frames say their length in 7 bits, lenient or not. */
		LIM("len.14", BOTH, lenient, "89{16}'Hello'", "@fail@", WS_E_CONTROL_TOO_LONG, 1002),
		ERR("len.15", BOTH, "82{L=0x8000000000000000}", "@fail@", WS_E_LENGTH_TOP_BIT, 1002),
		ERR("len.16", BOTH, "82{L=0xffffffffffffffff}", "@fail@", WS_E_LENGTH_TOP_BIT, 1002),
		LIM("len.17", BOTH, lenient, "82{L=0x8000000000000000}", "@fail@", WS_E_LENGTH_TOP_BIT,
		    1002),
		ERR("len.18", BOTH, "81'ok' 02{L=0x8000000000000001}", "text \"ok\"\n@fail@",
		    WS_E_LENGTH_TOP_BIT, 1002),
	};
	run_rows(rows, NROWS(rows));
}

static void limits(void)
{
	static const row rows[] = {
		/* small: max_message 100, max_frame 50, max_fragments 4. The error
		 * comes with the header, before any payload: the "hdr" rows send
		 * nothing else. */
		LIM("lim.1", BOTH, small, "82#50", "binary @b #50@\n", 0, 0),
		LIM("lim.2", BOTH, small, "82#51", "@fail@", WS_E_FRAME_TOO_BIG, 1009),
		LIM("lim.2 hdr", BOTH, small, "82{L=51}", "@fail@", WS_E_FRAME_TOO_BIG, 1009),
		LIM("lim.3 hdr", BOTH, small, "82{L=0x7fffffffffffffff}", "@fail@", WS_E_FRAME_TOO_BIG,
		    1009),
		LIM("lim.4 hdr", BOTH, small, "02#50 00{L=51}", "partial binary @b #50@\n@fail@",
		    WS_E_FRAME_TOO_BIG, 1009),
		LIM("lim.5", BOTH, small, "02#50 80#50", "binary @b #50#50@\n", 0, 0),
		LIM("lim.6", BOTH, small, "02#50 00#50 80''", "binary @b #50#50@\n", 0, 0),
		LIM("lim.7", BOTH, small, "02#50 00#50 80#1", "partial binary @b #50#50@\n@fail@",
		    WS_E_MESSAGE_TOO_BIG, 1009),
		LIM("lim.7 hdr", BOTH, small, "02#50 00#50 80{L=1}", "partial binary @b #50#50@\n@fail@",
		    WS_E_MESSAGE_TOO_BIG, 1009),
		LIM("lim.8 hdr", BOTH, small, "01*30 00*30 00*30 80{L=11}",
		    "partial text @t *90@\n@fail@", WS_E_MESSAGE_TOO_BIG, 1009),
		LIM("lim.9", BOTH, small, "02#50 80#50 82#50 01*50 80*50",
		    "binary @b #50#50@\nbinary @b #50@\ntext @t *100@\n", 0, 0),
		LIM("lim.10", BOTH, small, "01'a' 00'b' 00'c' 80'd'", "text \"abcd\"\n", 0, 0),
		LIM("lim.11", BOTH, small, "01'a' 00'b' 00'c' 00'd' 80'e'",
		    "partial text \"abcd\"\n@fail@", WS_E_TOO_MANY_FRAGMENTS, 1009),
		LIM("lim.11 hdr", BOTH, small, "01'a' 00'b' 00'c' 00'd' 80{L=1}",
		    "partial text \"abcd\"\n@fail@", WS_E_TOO_MANY_FRAGMENTS, 1009),
		LIM("lim.12", BOTH, small, "01'a' 89'' 00'b' 8a'' 00'c' 89'1' 80'd'",
		    "@ping ''@pong \n@ping '1'@text \"abcd\"\n", 0, 0),
		LIM("lim.13", BOTH, small, "01'' 00'' 00'' 00'' 00''", "partial text \"\"\n@fail@",
		    WS_E_TOO_MANY_FRAGMENTS, 1009),
		LIM("lim.14", BOTH, small, "01'a' 00'b' 00'c' 80'd' 01'e' 00'f' 00'g' 80'h' 82#50",
		    "text \"abcd\"\ntext \"efgh\"\nbinary @b #50@\n", 0, 0),
		LIM("lim.15", BOTH, one_frag, "82'a' 81'b'", "binary 61\ntext \"b\"\n", 0, 0),
		LIM("lim.16", BOTH, one_frag, "02'a' 80'b'", "partial binary 61\n@fail@",
		    WS_E_TOO_MANY_FRAGMENTS, 1009),
		LIM("lim.17", BOTH, one_frag, "01'' 00''", "partial text \"\"\n@fail@",
		    WS_E_TOO_MANY_FRAGMENTS, 1009),
		/* A flood of empty fragments stops at max_fragments. */
		LIM("lim.18", BOTH, flood, "01'' [998]00'' 80''", "text \"\"\n", 0, 0),
		LIM("lim.19", BOTH, flood, "01'' [999]00'' 80''", "partial text \"\"\n@fail@",
		    WS_E_TOO_MANY_FRAGMENTS, 1009),
		LIM("lim.20", BOTH, flood, "02'x' [5000]00''", "partial binary 78\n@fail@",
		    WS_E_TOO_MANY_FRAGMENTS, 1009),
		ROW("lim.21", BOTH, "01'' [65534]00'' 80''", "text \"\"\n"),
		ERR("lim.22", BOTH, "01'' [65535]00'' 80''", "partial text \"\"\n@fail@",
		    WS_E_TOO_MANY_FRAGMENTS, 1009),
		/* The message limit alone, and the defaults (16 MiB). */
		LIM("lim.23", BOTH, msg_only, "81*100", "text @t *100@\n", 0, 0),
		LIM("lim.24 hdr", BOTH, msg_only, "82{L=101}", "@fail@", WS_E_MESSAGE_TOO_BIG, 1009),
		LIM("lim.25 hdr", BOTH, msg_only, "01*99 00'' 80{L=2}", "partial text @t *99@\n@fail@",
		    WS_E_MESSAGE_TOO_BIG, 1009),
		ERR("lim.26 hdr", BOTH, "82{L=16777217}", "@fail@", WS_E_FRAME_TOO_BIG, 1009),
		/* Control frames are not data: limits do not apply to them. */
		LIM("lim.27", BOTH, small, "89#125 88<03e8>*120", "@ping #125@@close 1000 *120@", 0, 0),
	};
	run_rows(rows, NROWS(rows));
}

static void flags_and_eof(void)
{
	static const row rows[] = {
		LIM("noutf8.1", BOTH, no_utf8, "81<fffe>", "text @t <fffe>@\n", 0, 0),
		LIM("noutf8.2", BOTH, no_utf8, "01<ce> 80''", "text @t <ce>@\n", 0, 0),
		LIM("noutf8.3", BOTH, no_utf8, "81{f=1}'" KOSME "\xed\xa0\x80" "edited'",
		    "text @t '" KOSME "\xed\xa0\x80" "edited'@\n", 0, 0),
		LIM("noutf8.4", BOTH, no_utf8, "88<03e8><ff>", "@close 1000 <ff>@", 0, 0),
		LIM("noutf8.5", BOTH, no_utf8, "81<c0af> 81'ok'", "text @t <c0af>@\ntext \"ok\"\n", 0, 0),
		/* The other checks stay on. */
		LIM("noutf8.6", BOTH, no_utf8, "88<03ec><ff>", "@fail@", WS_E_CLOSE_CODE, 1002),
		LIM("eof.1", BOTH, eof, "81'Hello'", "text \"Hello\"\neof-close 1006\n", 0, 0),
		LIM("eof.2", BOTH, eof, "", "eof-close 1006\n", 0, 0),
		LIM("eof.3", BOTH, eof, "01'Hel'", "eof-close 1006\npartial text \"Hel\"\n", 0, 0),
		LIM("eof.4", BOTH, eof, "88<03e8>", "@close 1000@", 0, 0),
		LIM("eof.5", BOTH, eof, "88''", "@close 1005@", 0, 0),
		LIM("eof.6", BOTH, eof, "!81", "eof-close 1006\nrest 1\n", 0, 0),
		LIM("eof.7", BOTH, eof, "81{L=5}'He'", "eof-close 1006\npartial text \"He\"\n", 0, 0),
		LIM("eof.8", CLI, eof, "89{L=5}'He'", "eof-close 1006\nrest 4\n", 0, 0),
		LIM("eof.9", SRV, eof, "89{L=5}'He'", "eof-close 1006\nrest 8\n", 0, 0),
		LIM("eof.10", BOTH, eof, "89'x' 8a'y'", "@ping <78>@pong 79\neof-close 1006\n", 0, 0),
	};
	run_rows(rows, NROWS(rows));
}

/* The close code for every error a peer can cause, as the table maps it. */
static void close_code_map(void)
{
	static const struct {
		int err;
		unsigned code;
	} m[] = {
		{WS_E_RSV, 1002},
		{WS_E_OPCODE, 1002},
		{WS_E_MASK_REQUIRED, 1002},
		{WS_E_MASK_UNEXPECTED, 1002},
		{WS_E_CONTROL_TOO_LONG, 1002},
		{WS_E_CONTROL_FRAGMENTED, 1002},
		{WS_E_UNEXPECTED_CONTINUATION, 1002},
		{WS_E_EXPECTED_CONTINUATION, 1002},
		{WS_E_LENGTH_TOP_BIT, 1002},
		{WS_E_LENGTH_NOT_MINIMAL, 1002},
		{WS_E_CLOSE_LENGTH, 1002},
		{WS_E_CLOSE_CODE, 1002},
		{WS_E_DATA_AFTER_CLOSE, 1002},
		{WS_E_UTF8, 1007},
		{WS_E_CLOSE_UTF8, 1007},
		{WS_E_MESSAGE_TOO_BIG, 1009},
		{WS_E_FRAME_TOO_BIG, 1009},
		{WS_E_TOO_MANY_FRAGMENTS, 1009},
	};
	for (size_t i = 0; i < NROWS(m); i++)
		CHECK_INT(ws_status_close_code(m[i].err), m[i].code);
}

int main(int argc, char **argv)
{
	(void)argc;
	RUN(close_code_map);
	framing();
	pings();
	reserved_bits();
	reserved_opcodes();
	fragmentation();
	utf8_rows();
	close_rows();
	misc();
	masking();
	lengths();
	limits();
	flags_and_eof();
	if (getenv("WS_CONFORMANCE_COUNTS"))
		for (int i = 0; i < 9; i++)
			printf("category %s: %u rows\n", cats[i], cat_rows[i]);
	return t_done(argv[0]);
}
