/* deflate-clients: many permessage-deflate clients that echo through a
 * server and say which of them the server dropped before they were done
 * (issue 21 #2), for test/e2e/adapters/run.py.
 *
 *     deflate-clients --port P [--conns 500] [--messages 16] [--size 8192]
 *                     [--read-rate BYTES_PER_S] [--rcvbuf B] [--timeout 60]
 *
 * Each connection offers permessage-deflate with client_no_context_takeover,
 * sends its M text messages at once (JSON-like, about S bytes each, taken
 * from a pool of 64 that were compressed once at the start: the clients
 * cost next to nothing, the server is what is measured), reads their echoes
 * and compares them byte for byte, answers pings, then closes with 1000.
 * --read-rate reads each connection at most that fast (a token bucket
 * refilled every 10 ms), --rcvbuf sets its SO_RCVBUF before the connect.
 *
 * A connection is "ok" once the server answers our close 1000 with its own,
 * "dropped" when the server ends it any other way (a close frame, a FIN or
 * a reset), before or after our close. For each drop one line on stdout:
 *     drop CONN at=S got=ECHOES/M how=close:CODE:REASON|eof|reset rx_ago_ms=MS receiving_s=S
 * at= counts from the start and is stamped when the drop was read; how ends
 * in "(after-our-close)" when our close had been queued; rx_ago_ms: how
 * long before the drop this connection last received bytes; receiving_s:
 * how long since its first echo began to arrive. Then
 *     summary conns=N ok=N dropped=N unfinished=N failed=N echoes=N/N took=S received=B/conn
 * (unfinished: still open at --timeout; failed: could not connect, a
 * mismatched echo, a protocol error). Exit 0 when every connection is ok. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <ws/ws.h>
#include <zlib.h>
#include "../../../bench/client_util.h" /* cu_rand, cu_dial, struct cu_out ... */

#define IN_SIZE (64 * 1024)

enum { S_CONNECTING, S_HANDSHAKE, S_OPEN, S_CLOSING, S_DONE };
enum { RES_NONE, RES_OK, RES_DROPPED, RES_FAILED };

struct cli {
	ws_conn ws;
	int fd, id, state, result;
	unsigned events;
	int starved;       /* EPOLLIN taken away until the bucket refills */
	double tokens;     /* --read-rate: bytes it may read now */
	struct cu_out out; /* output not yet written */
	size_t have;       /* bytes in in[] */
	unsigned got;      /* echoes received whole and equal */
	size_t msg_off;    /* bytes of the echo in progress received so far */
	int msg_bad;
	double rx_at;      /* when bytes last arrived */
	double echo_at;    /* when the first echo's first bytes arrived (0: not yet) */
	uint8_t in[IN_SIZE];
};

static struct {
	int port, conns, rcvbuf;
	unsigned messages;
	size_t size;
	double read_rate, timeout;
} opt = { 0, 500, 0, 16, 8192, 0, 60 };

static ws_config cfg;
static ws_deflate_config dcfg;
static ws_connect_opts copts = { "127.0.0.1", "/", NULL, NULL, NULL };
static uint8_t inflated[64 * 1024];
static struct cli *cs;
static int ep, live;
static unsigned long long rx_bytes; /* all connections' */
static double t0;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *xalloc(void *ctx, size_t n) { (void)ctx; return malloc(n); }
static void xfree(void *ctx, void *p) { (void)ctx; free(p); }

/* A message into buf (opt.size + 200 bytes of room): JSON records of
 * chat-like events with a random token each, different for each (id, seq);
 * the server compresses them about 4:1 (--deflate), 2.6:1 (low memory). */
static size_t make_msg(int id, unsigned seq, uint8_t *buf)
{
	static const char *const words[] = { "alpha", "beta", "gamma", "delta", "room", "message", "user",
		                             "joined", "left", "typing", "presence", "status", "online", "away" };
	uint32_t x = (uint32_t)id * 2654435761u ^ seq * 40503u ^ 0x5bd1e995u;
	size_t n = 1;
	unsigned k = 0;

	buf[0] = '[';
	while (n < opt.size) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		uint32_t y = x * 2654435761u, z = y * 2246822519u;
		n += (size_t)sprintf((char *)buf + n, "%s{\"id\":%u,\"conn\":%d,\"seq\":%u,\"user\":\"%s\",\"text\":\"%s %s %s\","
		                     "\"ts\":%u,\"token\":\"%08x%08x%08x\"}", k++ ? "," : "", x % 1000000, id, seq, words[x % 14],
		                     words[(x >> 4) % 14], words[(x >> 8) % 14], words[(x >> 12) % 14],
		                     1700000000u + (x >> 8) % 100000, x, y, z);
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
	}
	buf[n++] = ']';
	return n;
}

static void set_events(struct cli *c)
{
	unsigned want = (c->starved ? 0u : (unsigned)EPOLLIN) | (c->out.off < c->out.len ? (unsigned)EPOLLOUT : 0u);
	if (c->state == S_CONNECTING)
		want = EPOLLOUT;
	cu_want(ep, c->fd, c, &c->events, want);
}

static void finish(struct cli *c, int result, const char *how)
{
	if (c->state == S_DONE)
		return;
	if (result == RES_DROPPED)
		printf("drop %d at=%.3f got=%u/%u how=%s rx_ago_ms=%.0f receiving_s=%.2f\n", c->id, now_s() - t0,
		       c->got, opt.messages, how, (now_s() - c->rx_at) * 1000, c->echo_at ? now_s() - c->echo_at : 0.0);
	else if (result == RES_FAILED)
		printf("failed %d at=%.3f got=%u/%u why=%s\n", c->id, now_s() - t0, c->got, opt.messages, how);
	close(c->fd);
	free(c->out.buf);
	c->out.buf = NULL;
	ws_conn_release(&c->ws);
	c->result = result;
	c->state = S_DONE;
	live--;
}

/* The server ended the connection (how) before the closing handshake was
 * done: a drop, after our close too (its answer never came). */
static void ended(struct cli *c, const char *how)
{
	char buf[200];

	snprintf(buf, sizeof buf, "%s%s", how, c->state == S_CLOSING ? "(after-our-close)" : "");
	finish(c, RES_DROPPED, buf);
}

static int flush(struct cli *c)
{
	while (c->out.off < c->out.len) {
		ssize_t n = send(c->fd, c->out.buf + c->out.off, c->out.len - c->out.off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		c->out.off += (size_t)n;
	}
	if (c->out.off == c->out.len)
		c->out.off = c->out.len = 0;
	set_events(c);
	return 0;
}

/* The messages, compressed once: with client_no_context_takeover agreed
 * each is a raw deflate stream of its own (RFC 7692 §7.2.1), so that the
 * clients cost next to nothing and the server is what is measured. Message
 * seq of connection id is pool[(id * 7 + seq) % POOL]. */
#define POOL 64
static struct {
	uint8_t *text, *z;
	size_t text_len, z_len;
} pool[POOL];

static int make_pool(void)
{
	z_stream zs;
	int i;

	memset(&zs, 0, sizeof zs);
	if (deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	for (i = 0; i < POOL; i++) {
		size_t cap = opt.size * 2 + 1024;
		if (!(pool[i].text = malloc(opt.size + 256)) || !(pool[i].z = malloc(cap)))
			return -1;
		pool[i].text_len = make_msg(i, (unsigned)i, pool[i].text);
		zs.next_in = pool[i].text;
		zs.avail_in = (uInt)pool[i].text_len;
		zs.next_out = pool[i].z;
		zs.avail_out = (uInt)cap;
		if (deflate(&zs, Z_SYNC_FLUSH) != Z_OK || zs.avail_in || zs.avail_out < 6)
			return -1;
		pool[i].z_len = cap - zs.avail_out - 4; /* without 00 00 ff ff */
		deflateReset(&zs);
	}
	deflateEnd(&zs);
	return 0;
}

#define MSG(id, seq) (&pool[((unsigned)(id) * 7u + (seq)) % POOL])

/* All M messages at once: masked text frames with RSV1 (compressed). */
static int send_all(struct cli *c)
{
	unsigned seq;

	for (seq = 0; seq < opt.messages; seq++) {
		size_t n = MSG(c->id, seq)->z_len, i, h = 2;
		const uint8_t *z = MSG(c->id, seq)->z;
		uint8_t *p, key[4];
		if (cu_reserve(&c->out, n + 14))
			return -1;
		p = c->out.buf + c->out.len;
		p[0] = 0xc1; /* FIN, RSV1, text */
		if (n < 126)
			p[1] = (uint8_t)(0x80 | n);
		else if (n < 65536)
			p[1] = 0x80 | 126, p[2] = (uint8_t)(n >> 8), p[3] = (uint8_t)n, h = 4;
		else
			return -1;
		cu_rand(NULL, key, 4);
		memcpy(p + h, key, 4);
		for (i = 0; i < n; i++)
			p[h + 4 + i] = z[i] ^ key[i & 3];
		c->out.len += h + 4 + n;
	}
	return 0;
}

/* A chunk of echo seq c->got, compared where it falls. */
static int on_data(struct cli *c, const ws_event *ev)
{
	if (c->got >= opt.messages)
		return -1;
	if (ev->flags & WS_EVF_MSG_BEGIN)
		c->msg_off = 0, c->msg_bad = 0;
	if (!c->echo_at)
		c->echo_at = c->rx_at;
	if (c->msg_off + ev->len > MSG(c->id, c->got)->text_len ||
	    memcmp(ev->data, MSG(c->id, c->got)->text + c->msg_off, ev->len))
		c->msg_bad = 1;
	c->msg_off += ev->len;
	if (!(ev->flags & WS_EVF_MSG_END))
		return 0;
	if (c->msg_bad || c->msg_off != MSG(c->id, c->got)->text_len)
		return -1;
	if (++c->got == opt.messages) { /* done: our close */
		if (cu_close(&c->ws, 1000, "done", 4, &c->out))
			return -1;
		c->state = S_CLOSING;
	}
	return 0;
}

static void on_readable(struct cli *c)
{
	size_t want = IN_SIZE - c->have, off = 0, used;
	ssize_t r;
	ws_event ev;
	int rc;
	char how[160];

	if (opt.read_rate > 0) {
		if (c->tokens < 1) {
			c->starved = 1;
			set_events(c);
			return;
		}
		if ((double)want > c->tokens)
			want = (size_t)c->tokens;
	}
	r = recv(c->fd, c->in + c->have, want, 0);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (r < 0) {
		ended(c, "reset");
		return;
	}
	if (r == 0) {
		ended(c, "eof");
		return;
	}
	c->rx_at = now_s();
	rx_bytes += (unsigned long long)r;
	c->tokens -= (double)r;
	c->have += (size_t)r;
	do {
		rc = ws_conn_recv(&c->ws, c->in + off, c->have - off, &used, &ev);
		off += used;
		if (rc < 0) {
			finish(c, RES_FAILED, ws_status_str(rc));
			return;
		}
		switch (ev.type) {
		case WS_EV_OPEN:
			c->state = S_OPEN;
			if (send_all(c)) {
				finish(c, RES_FAILED, "cannot send");
				return;
			}
			break;
		case WS_EV_REJECTED:
			finish(c, RES_FAILED, "handshake rejected");
			return;
		case WS_EV_TEXT:
		case WS_EV_BINARY:
			if (on_data(c, &ev)) {
				finish(c, RES_FAILED, "echo differs");
				return;
			}
			break;
		case WS_EV_PING:
		case WS_EV_CLOSE:
			if (ev.type == WS_EV_CLOSE && c->state == S_CLOSING && ev.code == 1000) {
				finish(c, RES_OK, ""); /* our close answered: done */
				return;
			}
			if (ev.type == WS_EV_CLOSE) {
				size_t k, m = (size_t)snprintf(how, sizeof how, "close:%u:", ev.code);
				for (k = 0; k < ev.len && m + 1 < sizeof how; k++) /* the reason, spaces as '_' */
					how[m++] = ev.data[k] > ' ' && ev.data[k] < 127 ? (char)ev.data[k] : '_';
				how[m] = 0;
				ended(c, how);
				return;
			}
			if (cu_reply(&c->ws, &ev, &c->out)) {
				finish(c, RES_FAILED, "cannot answer");
				return;
			}
			break;
		}
	} while (ev.type != WS_EV_NONE);
	memmove(c->in, c->in + off, c->have - off);
	c->have -= off;
	if (flush(c))
		ended(c, "reset");
}

static void on_writable(struct cli *c)
{
	if (c->state == S_CONNECTING) {
		if (cu_connected(c->fd)) {
			finish(c, RES_FAILED, "connect");
			return;
		}
		if (cu_handshake(&c->ws, &copts, &c->out)) {
			finish(c, RES_FAILED, "handshake");
			return;
		}
		c->state = S_HANDSHAKE;
	}
	if (flush(c))
		ended(c, "reset");
}

static int open_one(struct cli *c, int id)
{
	struct sockaddr_in sa;
	struct epoll_event ev;

	memset(c, 0, sizeof *c);
	c->id = id;
	c->rx_at = now_s();
	c->tokens = opt.read_rate / 100;
	if (ws_conn_init(&c->ws, sizeof c->ws, &cfg) != WS_OK)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)opt.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((c->fd = cu_dial(&sa, opt.rcvbuf)) < 0)
		return -1;
	c->state = S_CONNECTING;
	c->events = ev.events = EPOLLOUT;
	ev.data.ptr = c;
	live++;
	return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

int main(int argc, char **argv)
{
	struct epoll_event evs[256];
	struct rlimit rl;
	double last_tick;
	int i, n, counts[4] = { 0, 0, 0, 0 };
	unsigned long echoes = 0;

	for (i = 1; i + 1 < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];
		if (!strcmp(a, "--port"))
			opt.port = atoi(v);
		else if (!strcmp(a, "--conns"))
			opt.conns = atoi(v);
		else if (!strcmp(a, "--messages"))
			opt.messages = (unsigned)atoi(v);
		else if (!strcmp(a, "--size"))
			opt.size = (size_t)atol(v);
		else if (!strcmp(a, "--read-rate"))
			opt.read_rate = atof(v);
		else if (!strcmp(a, "--rcvbuf"))
			opt.rcvbuf = atoi(v);
		else if (!strcmp(a, "--timeout"))
			opt.timeout = atof(v);
		else
			break;
	}
	if (i != argc || !opt.port || opt.conns < 1 || !opt.messages || opt.size < 64)
		return fprintf(stderr, "usage: deflate-clients --port P [--conns N] [--messages M] [--size S] "
		                       "[--read-rate B/s] [--rcvbuf B] [--timeout T]\n"), 2;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	ws_config_init(&cfg, WS_ROLE_CLIENT);
	cfg.rand = cu_rand;
	cfg.max_message = cfg.max_frame = 64u << 20;
	ws_deflate_config_init(&dcfg);
	dcfg.alloc.alloc = xalloc;
	dcfg.alloc.free = xfree;
	dcfg.inflate_buf = inflated;
	dcfg.inflate_cap = sizeof inflated;
	cfg.deflate = &dcfg;
	dcfg.client_no_context_takeover = 1; /* our messages are compressed once, before */
	if (!(cs = calloc((size_t)opt.conns, sizeof *cs)) || make_pool() ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return perror("deflate-clients"), 2;
	t0 = last_tick = now_s();
	for (i = 0; i < opt.conns; i++)
		if (open_one(&cs[i], i))
			return perror("deflate-clients: connect"), 2;
	while (live > 0 && now_s() - t0 < opt.timeout) {
		double t;
		n = epoll_wait(ep, evs, 256, opt.read_rate > 0 ? 10 : 100);
		for (i = 0; i < n; i++) {
			struct cli *c = evs[i].data.ptr;
			if (c->state != S_DONE && (evs[i].events & (EPOLLOUT | EPOLLERR)))
				on_writable(c);
			if (c->state != S_DONE && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				on_readable(c);
		}
		t = now_s();
		if (opt.read_rate > 0 && t - last_tick >= 0.01) { /* refill the buckets, at most 0.1 s worth */
			for (i = 0; i < opt.conns; i++) {
				struct cli *c = &cs[i];
				if (c->state == S_DONE)
					continue;
				c->tokens += opt.read_rate * (t - last_tick);
				if (c->tokens > opt.read_rate / 10)
					c->tokens = opt.read_rate / 10;
				if (c->starved && c->tokens >= 1) {
					c->starved = 0;
					set_events(c);
				}
			}
			last_tick = t;
		}
	}
	for (i = 0; i < opt.conns; i++) {
		echoes += cs[i].got;
		if (cs[i].state != S_DONE) {
			printf("unfinished %d got=%u/%u rx_ago_ms=%.0f\n", i, cs[i].got, opt.messages,
			       (now_s() - cs[i].rx_at) * 1000);
			counts[RES_NONE]++;
		} else {
			counts[cs[i].result]++;
		}
	}
	printf("summary conns=%d ok=%d dropped=%d unfinished=%d failed=%d echoes=%lu/%lu took=%.1f "
	       "received=%.0f/conn\n", opt.conns, counts[RES_OK], counts[RES_DROPPED], counts[RES_NONE],
	       counts[RES_FAILED], echoes, (unsigned long)opt.conns * opt.messages, now_s() - t0,
	       (double)rx_bytes / opt.conns);
	return counts[RES_OK] == opt.conns ? 0 : 1;
}
