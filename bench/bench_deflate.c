/* bench-deflate: what permessage-deflate (RFC 7692) costs and saves on JSON.
 *
 * A client ws_conn sends 10 000 distinct JSON records (about 200 to 2000
 * bytes, made deterministically) to a server ws_conn, in memory, through the
 * public API only. The records go round-robin over 100 connection pairs, as a
 * server's traffic would. Modes:
 *   plain      no permessage-deflate: the baseline
 *   takeover   context takeover both ways, 15-bit windows, memLevel 8
 *   shared-15  no context takeover both ways, 15-bit windows, memLevel 8,
 *              whole messages compressed by one shared compressor
 *   shared-10  the same with 10-bit windows and memLevel 2
 *   shared-9   the same with 9-bit windows and memLevel 1
 * (shared-15 tells what the lost context costs apart from the small window.)
 * Context takeover is run a second time over one connection: with many, each
 * compressor's 260 KiB is cold when its turn comes, and that costs more than
 * the compression itself unless libws brings it in first (deflate.c).
 * (compression level 6 throughout, zlib's default.)
 *
 * compress: ws_conn_send() of every record (deflate, frame header, masking)
 * into one wire buffer. inflate: ws_conn_recv() of that wire, message by
 * message, on the server side (unmasking, inflating into a 16 KiB inflate
 * buffer, UTF-8 validation). Both are timed on the thread's CPU clock, so
 * other processes on the machine do not count; best of 3 runs, each with
 * fresh connections. MB/s are of payload (uncompressed) bytes, 10^6 a MB.
 *
 * Memory: each side has its own counting allocator. "held/conn" is what a
 * connection still holds from it once idle after the workload (zlib state
 * plus the library's extension state), client side + server side; the
 * shared compressor is held once per thread, whatever the connection count.
 *
 *   bench_deflate [--records N] [--conns N]   the table
 *   bench_deflate --check                     every message of a small
 *       workload (and fragmented, large, empty and binary ones) arrives
 *       intact in every mode, JSON compresses, nothing leaks; prints
 *       "bench-deflate: N passed, M failed" in well under 3 s.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ws/ws.h>

#define RUNS 3
#define INFLATE_CAP (16 * 1024)

/* ---- a counting allocator ---------------------------------------------- */

typedef struct counter {
	size_t now, peak;
} counter;

static void *count_alloc(void *ctx, size_t n)
{
	counter *k = ctx;
	size_t *p = malloc(n + 2 * sizeof(size_t)); /* keeps malloc's alignment */

	if (!p)
		return NULL;
	p[0] = n;
	k->now += n;
	if (k->now > k->peak)
		k->peak = k->now;
	return p + 2;
}

static void count_free(void *ctx, void *ptr)
{
	counter *k = ctx;
	size_t *p = ptr;

	if (!p)
		return;
	k->now -= p[-2];
	free(p - 2);
}

/* ---- the workload ------------------------------------------------------- */

static uint64_t seed;

static uint32_t rnd(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return (uint32_t)(seed >> 32);
}

/* Masks for the client: fast and deterministic, for a benchmark only (real
 * clients use a CSPRNG, see demos/client/client.c). */
static int bench_rand(void *ctx, void *buf, size_t len)
{
	uint8_t *p = buf;
	(void)ctx;
	while (len--)
		*p++ = (uint8_t)rnd();
	return 0;
}

#define PICK(a) (a[rnd() % (sizeof a / sizeof a[0])])

typedef struct workload {
	char *text;     /* every record, back to back */
	size_t *off;    /* record i is text[off[i] .. off[i + 1]) */
	size_t count, bytes;
} workload;

static size_t put(char *p, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(p, cap, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= cap ? cap : (size_t)n;
}

/* One order-like record of about target bytes (at least ~230). */
static size_t make_record(char *p, size_t cap, unsigned id, size_t target)
{
	static const char *const first[] = {"alice", "bob", "carol", "dave", "erin", "frank", "grace",
	                                    "heidi", "ivan", "judy", "mallory", "niaj", "olivia", "peggy"};
	static const char *const last[] = {"smith", "jones", "garcia", "miller", "davis", "lopez",
	                                   "wilson", "taylor", "moore", "martin", "lee", "walker"};
	static const char *const city[] = {"Lisbon", "Oslo", "Nairobi", "Osaka", "Quito", "Perth",
	                                   "Tallinn", "Dakar", "Lima", "Hanoi", "Reno", "Turku"};
	static const char *const status[] = {"pending", "paid", "shipped", "delivered", "returned"};
	static const char *const product[] = {"widget", "gadget", "sprocket", "gizmo", "flange",
	                                      "bracket", "hinge", "valve", "gasket", "spindle"};
	static const char *const color[] = {"red", "green", "blue", "black", "white", "steel"};
	const char *f = PICK(first), *l = PICK(last);
	unsigned total = 0, items = 0;
	size_t n = 0;

	n += put(p + n, cap - n,
	         "{\"id\":%u,\"type\":\"order\",\"status\":\"%s\",\"created\":\"2024-%02u-%02uT%02u:%02u:%02uZ\","
	         "\"customer\":{\"id\":%u,\"name\":\"%s %s\",\"email\":\"%s.%s%u@example.com\",\"city\":\"%s\","
	         "\"vip\":%s},\"items\":[",
	         id, PICK(status), 1 + rnd() % 12, 1 + rnd() % 28, rnd() % 24, rnd() % 60, rnd() % 60,
	         10000 + rnd() % 90000, f, l, f, l, rnd() % 100, PICK(city), rnd() % 5 ? "false" : "true");
	do {
		unsigned qty = 1 + rnd() % 9, cents = 99 + rnd() % 20000;
		total += qty * cents;
		n += put(p + n, cap - n,
		         "%s{\"sku\":\"%c%c-%05u\",\"name\":\"%s %s\",\"qty\":%u,\"price\":%u.%02u}",
		         items++ ? "," : "", 'A' + rnd() % 26, 'A' + rnd() % 26, rnd() % 100000, PICK(color),
		         PICK(product), qty, cents / 100, cents % 100);
	} while (n + 60 < target && n + 200 < cap);
	n += put(p + n, cap - n, "],\"total\":%u.%02u,\"currency\":\"EUR\"}", total / 100, total % 100);
	return n;
}

static void make_workload(workload *w, size_t count)
{
	size_t cap = count * 2300 + 4096, i;

	seed = 0x9e3779b97f4a7c15u;
	w->text = malloc(cap);
	w->off = malloc((count + 1) * sizeof *w->off);
	w->count = count;
	w->bytes = 0;
	for (i = 0; i < count; i++) {
		w->off[i] = w->bytes;
		w->bytes += make_record(w->text + w->bytes, cap - w->bytes, (unsigned)i + 1, 200 + rnd() % 1801);
	}
	w->off[count] = w->bytes;
}

/* ---- modes -------------------------------------------------------------- */

typedef struct mode {
	const char *name;
	int deflate;            /* 0: plain */
	ws_deflate_params p;    /* agreed as a handshake would */
	uint8_t mem_level;
	int shared;             /* a shared compressor for the client's whole messages */
} mode;

static const mode modes[] = {
	{"plain", 0, {0, 0, 15, 15}, 8, 0},
	{"takeover 15 bits, memLevel 8", 1, {0, 0, 15, 15}, 8, 0},
	{"shared-15: no takeover, 15 bits, memLevel 8", 1, {1, 1, 15, 15}, 8, 1},
	{"shared-10: no takeover, 10 bits, memLevel 2", 1, {1, 1, 10, 10}, 2, 1},
	{"shared-9: no takeover, 9 bits, memLevel 1", 1, {1, 1, 9, 9}, 1, 1},
};

typedef struct result {
	size_t wire;              /* bytes on the wire */
	double compress_s, inflate_s;
	size_t held_client, held_server; /* per connection, idle after the workload */
	size_t shared;            /* the shared compressor */
	size_t leaked;            /* allocator bytes left after release */
	int intact;               /* every message arrived whole and equal */
	int compressed;           /* every message arrived flagged compressed */
} result;

/* One extra message to send, for --check. */
typedef struct extra {
	const uint8_t *data;
	size_t len;
	unsigned op;
	size_t frag; /* 0: whole; else fragments of this size */
} extra;

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Receives one message's wire bytes on c; returns bytes delivered, or
 * (size_t)-1 if anything is off. With want, compares against it. */
static size_t recv_message(ws_conn *c, uint8_t *wire, size_t len, const uint8_t *want, size_t want_len,
                           int *compressed)
{
	size_t pos = 0, got = 0, used;
	int begins = 0, ends = 0;
	ws_event ev;

	for (;;) { /* until no event: the read loop of conn.h */
		if (ws_conn_recv(c, wire + pos, len - pos, &used, &ev) != WS_OK)
			return (size_t)-1;
		pos += used;
		if (ev.type == WS_EV_NONE)
			break;
		if (ev.type != WS_EV_TEXT && ev.type != WS_EV_BINARY)
			return (size_t)-1;
		begins += !!(ev.flags & WS_EVF_MSG_BEGIN);
		ends += !!(ev.flags & WS_EVF_MSG_END);
		if (!(ev.flags & WS_EVF_COMPRESSED))
			*compressed = 0;
		if (want && (got + ev.len > want_len || memcmp(want + got, ev.data, ev.len)))
			return (size_t)-1;
		got += ev.len;
	}
	if (pos != len || begins != 1 || ends != 1 || (want && got != want_len))
		return (size_t)-1;
	return got;
}

/* Sends data as one message (or fragments of frag bytes) from c into wire. */
static int send_message(ws_conn *c, unsigned op, const void *data, size_t len, size_t frag, uint8_t *wire,
                        size_t cap, size_t *n)
{
	size_t off = 0, m;

	*n = 0;
	do {
		size_t piece = frag && len - off > frag ? frag : len - off;
		unsigned flags = off + piece < len ? WS_SEND_MORE : 0;
		if (ws_conn_send(c, off ? WS_OP_CONTINUATION : op, flags, (const uint8_t *)data + off, piece,
		                 wire + *n, cap - *n, &m) != WS_OK)
			return -1;
		*n += m;
		off += piece;
	} while (off < len);
	return 0;
}

static int run(const mode *m, const workload *w, size_t conns, const extra *extras, size_t nextras, int check,
               result *r)
{
	static uint8_t inflated[INFLATE_CAP], unused[1024];
	counter ck = {0, 0}, sk = {0, 0};
	ws_deflate_config cd, sd;
	ws_config cc, sc;
	ws_deflate_shared *shared = NULL;
	ws_conn *cl = calloc(conns, sizeof *cl), *sv = calloc(conns, sizeof *sv);
	size_t total = w->count + nextras, cap = 0, pos = 0, i, n;
	size_t *woff = malloc((total + 1) * sizeof *woff);
	uint8_t *wire;
	double t0, t1, t2;

	for (i = 0; i < w->count; i++)
		cap += WS_SEND_SIZE_COMPRESSED(w->off[i + 1] - w->off[i]);
	for (i = 0; i < nextras; i++)
		cap += WS_SEND_SIZE_COMPRESSED(extras[i].len) + 64 * (extras[i].len / (extras[i].frag + 1) + 1);
	wire = malloc(cap);
	memset(r, 0, sizeof *r);
	r->intact = r->compressed = 1;

	ws_deflate_config_init(&cd);
	cd.alloc.alloc = count_alloc;
	cd.alloc.free = count_free;
	cd.alloc.ctx = &ck;
	cd.inflate_buf = unused; /* the client receives nothing here */
	cd.inflate_cap = sizeof unused;
	cd.mem_level = m->mem_level;
	cd.threshold = 0;
	sd = cd;
	sd.alloc.ctx = &sk;
	sd.inflate_buf = inflated;
	sd.inflate_cap = sizeof inflated;
	ws_config_init(&cc, WS_ROLE_CLIENT);
	cc.flags = WS_CFG_START_OPEN; /* no handshake: the parameters are set directly */
	cc.rand = bench_rand;
	ws_config_init(&sc, WS_ROLE_SERVER);
	sc.flags = WS_CFG_START_OPEN;
	if (m->deflate) {
		cc.deflate = &cd;
		sc.deflate = &sd;
		if (m->shared) {
			cd.server_max_window_bits = cd.client_max_window_bits = m->p.client_max_window_bits;
			if (ws_deflate_shared_new(&cd, &shared) != WS_OK)
				return -1;
			cd.shared = shared;
			r->shared = ck.now;
		}
	}
	for (i = 0; i < conns; i++) {
		if (ws_conn_init(&cl[i], sizeof cl[i], &cc) != WS_OK || ws_conn_init(&sv[i], sizeof sv[i], &sc) != WS_OK)
			return -1;
		if (m->deflate && (ws_conn_enable_deflate(&cl[i], &m->p) != WS_OK ||
		                   ws_conn_enable_deflate(&sv[i], &m->p) != WS_OK))
			return -1;
	}

	t0 = cpu_s();
	for (i = 0; i < w->count; i++) {
		size_t len = w->off[i + 1] - w->off[i];
		woff[i] = pos;
		if (ws_conn_send(&cl[i % conns], WS_OP_TEXT, 0, w->text + w->off[i], len, wire + pos, cap - pos, &n))
			return -1;
		pos += n;
	}
	for (; i < total; i++) { /* --check only: not timed in earnest */
		const extra *e = &extras[i - w->count];
		woff[i] = pos;
		if (send_message(&cl[i % conns], e->op, e->data, e->len, e->frag, wire + pos, cap - pos, &n))
			return -1;
		pos += n;
	}
	woff[total] = pos;
	t1 = cpu_s();
	for (i = 0; i < total; i++) {
		const uint8_t *want = NULL;
		size_t want_len = 0, got;
		if (check && i < w->count) {
			want = (const uint8_t *)w->text + w->off[i];
			want_len = w->off[i + 1] - w->off[i];
		} else if (check) {
			want = extras[i - w->count].data;
			want_len = extras[i - w->count].len;
		}
		got = recv_message(&sv[i % conns], wire + woff[i], woff[i + 1] - woff[i], want, want_len, &r->compressed);
		if (got == (size_t)-1) {
			r->intact = 0;
			break;
		}
	}
	t2 = cpu_s();

	r->wire = pos;
	r->compress_s = t1 - t0;
	r->inflate_s = t2 - t1;
	r->held_client = (ck.now - r->shared) / conns;
	r->held_server = sk.now / conns;
	for (i = 0; i < conns; i++) {
		ws_conn_release(&cl[i]);
		ws_conn_release(&sv[i]);
	}
	ws_deflate_shared_free(shared);
	r->leaked = ck.now + sk.now;
	free(cl);
	free(sv);
	free(woff);
	free(wire);
	return 0;
}

/* ---- the table ---------------------------------------------------------- */

static void table(size_t records, size_t conns)
{
	workload w;
	size_t i, k, min = (size_t)-1, max = 0;

	make_workload(&w, records);
	for (i = 0; i < w.count; i++) {
		size_t len = w.off[i + 1] - w.off[i];
		min = len < min ? len : min;
		max = len > max ? len : max;
	}
	printf("bench-deflate: %zu distinct JSON records of %zu-%zu bytes (%.2f MB), client -> server,\n"
	       "%zu connection pairs round-robin, zlib level 6; CPU time, best of %d%s\n\n",
	       w.count, min, max, w.bytes / 1e6, conns, RUNS,
	       ws_deflate_available() ? "" : " (libws built without deflate: plain only)");
	printf("%-44s %7s %14s %13s %22s %14s\n", "mode", "ratio", "compress MB/s", "inflate MB/s",
	       "held/conn client+srv", "shared/thread");
	for (k = 0; k < sizeof modes / sizeof modes[0]; k++) {
		const mode *m = &modes[k];
		size_t c = conns;
		int again;

		if (m->deflate && !ws_deflate_available())
			continue;
		/* Context takeover once more over one connection: a compressor's
		 * 260 KiB is cold at every message when many connections take
		 * turns, and hot with one (see libws/deflate.c, prefetch()). */
		do {
			result best, r;
			const char *name = c == conns ? m->name : "  the same, 1 connection";
			int j;

			again = m->deflate && !m->p.server_no_context_takeover && c != 1;
			memset(&best, 0, sizeof best);
			for (j = 0; j < RUNS; j++) {
				if (run(m, &w, c, NULL, 0, 0, &r) || !r.intact) {
					printf("%-44s failed\n", name);
					break;
				}
				if (j == 0) {
					best = r; /* sizes and memory are the same every run */
					continue;
				}
				if (r.compress_s < best.compress_s)
					best.compress_s = r.compress_s;
				if (r.inflate_s < best.inflate_s)
					best.inflate_s = r.inflate_s;
			}
			if (j == RUNS)
				printf("%-44s %7.3f %14.1f %13.1f %11zu + %-8zu %14zu\n", name,
				       (double)best.wire / w.bytes, w.bytes / best.compress_s / 1e6,
				       w.bytes / best.inflate_s / 1e6, best.held_client, best.held_server, best.shared);
			c = 1;
		} while (again);
	}
	printf("\nratio: wire bytes (frame headers and masks included) / payload bytes.\n"
	       "held/conn: bytes a connection still holds from the deflate allocator when idle after the\n"
	       "workload (zlib state and libws's extension state), sender (client) + receiver (server);\n"
	       "shared/thread: the one shared compressor, whatever the number of connections.\n");
	free(w.text);
	free(w.off);
}

/* ---- --check ------------------------------------------------------------ */

static int passed, failed;

static void check(int ok, const char *what, const char *mode_name)
{
	if (ok) {
		passed++;
	} else {
		failed++;
		printf("FAIL %s: %s\n", mode_name, what);
	}
}

static void self_check(void)
{
	enum { BIG = 200000 };
	uint8_t *json = malloc(BIG), *bin = malloc(70000);
	workload w, big;
	size_t k, i;

	make_workload(&w, 300);
	make_workload(&big, 200); /* about 200 KB of records, sent as one message */
	memcpy(json, big.text, BIG < big.bytes ? BIG : big.bytes);
	for (i = 0; i < 70000; i++)
		bin[i] = (uint8_t)rnd();
	{
		const extra extras[] = {
			{json, BIG, WS_OP_TEXT, 0},       /* larger than the inflate buffer */
			{json, BIG, WS_OP_TEXT, 7000},    /* fragmented */
			{json, 0, WS_OP_TEXT, 0},         /* empty */
			{bin, 70000, WS_OP_BINARY, 0},    /* incompressible */
			{bin, 70000, WS_OP_BINARY, 30000},
			{json, 1000, WS_OP_BINARY, 333},
		};
		for (k = 0; k < sizeof modes / sizeof modes[0]; k++) {
			const mode *m = &modes[k];
			result r;

			if (m->deflate && !ws_deflate_available())
				continue;
			/* The records alone, as the table sends them: size and memory. */
			check(run(m, &w, 7, NULL, 0, 1, &r) == 0 && r.intact, "the records arrive intact", m->name);
			if (!m->deflate)
				check(r.wire > w.bytes, "plain costs headers and masks", m->name);
			else if (!m->p.server_no_context_takeover)
				check(r.wire * 3 < w.bytes, "JSON shrinks to under a third", m->name);
			else
				check(r.wire * 5 < w.bytes * 3, "JSON shrinks to under 60 %", m->name);
			check(m->deflate && !m->p.server_no_context_takeover ? r.held_client > 100000 && r.held_server > 30000
			                                                     : r.held_client < 1024 && r.held_server < 1024,
			      "bytes held per idle connection fit the mode (deflate.h)", m->name);
			check(r.leaked == 0, "ws_conn_release() and ws_deflate_shared_free() give back everything",
			      m->name);
			/* Then with large, fragmented, empty and binary messages among them. */
			check(run(m, &w, 7, extras, sizeof extras / sizeof extras[0], 1, &r) == 0, "run", m->name);
			check(r.intact, "every message arrives intact, in order, one begin and one end", m->name);
			check(r.compressed == m->deflate, m->deflate ? "every message arrives compressed"
			                                             : "no message claims compression", m->name);
			check(r.leaked == 0, "nothing leaks after fragmented sends either", m->name);
		}
	}
	if (!ws_deflate_available()) {
		ws_deflate_config d;
		ws_deflate_shared *sh;
		ws_deflate_config_init(&d);
		check(ws_deflate_shared_new(&d, &sh) == WS_E_STATE, "built without deflate: no shared compressor",
		      "-");
	}
	printf("bench-deflate: %d passed, %d failed\n", passed, failed);
	free(json);
	free(bin);
	free(w.text);
	free(w.off);
	free(big.text);
	free(big.off);
}

int main(int argc, char **argv)
{
	size_t records = 10000, conns = 100;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--check")) {
			self_check();
			return failed ? 1 : 0;
		} else if (!strcmp(argv[i], "--records") && i + 1 < argc) {
			records = strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--conns") && i + 1 < argc) {
			conns = strtoul(argv[++i], NULL, 10);
		} else {
			fprintf(stderr, "usage: bench_deflate [--records N] [--conns N] | --check\n");
			return 2;
		}
	}
	if (!records || !conns) {
		fprintf(stderr, "bench_deflate: --records and --conns must be positive\n");
		return 2;
	}
	table(records, conns);
	return 0;
}
