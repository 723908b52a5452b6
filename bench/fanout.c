/* fanout: load generator for the chat demo scaled out through Redis (README,
 * "Scaling out"); bench/fanout.py runs it against two instances.
 *
 *     fanout --port P [--port P2 ...] [--clients N] [--senders S] [--inflight K]
 *            [--duration D] [--warmup W] [--token T] [--room R] [--size B]
 *
 * Opens N connections to each port (the ports take turns), all joined to one
 * room. S of them (spread over the ports) also send: each keeps K messages in
 * flight and sends the next when Redis has brought one of its own back, so the
 * load follows what the servers and Redis sustain instead of filling queues.
 * After W seconds of warm-up it counts for D seconds:
 *   published/s   messages that completed the round trip to their sender (so
 *                 they went through Redis and out of an instance),
 *   deliveries/s  "message" envelopes received by all clients together,
 *   fan-out       deliveries per published message (ideal: every client,
 *                 N x ports),
 *   p50/p99 ms    sender -> Redis -> sender round trip.
 * Prints one line: "fanout: ports=2 clients=200 senders=S published/s=...".
 *
 * Written against libws's client role through the adapter core
 * (examples/adapter.c), like any other client. Masks come from xorshift:
 * fine for a benchmark against our own servers, not for a real client. */
#define _GNU_SOURCE
#include "../examples/ad_policy.h" /* and adapter.h */
#include "client_util.h"          /* cu_rand, cu_want */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 8
#define MAX_K 64
#define MSG_CAP 2048 /* envelopes here are small; a longer one is counted, not parsed */

struct fc {
	ad_conn a; /* first: on_event gets &a */
	int fd, id, sender, joined, dirty;
	unsigned events;
	uint64_t next;             /* this sender's next message number */
	unsigned inflight;
	int64_t sent_ns[MAX_K];    /* send time of message m at [m % K] */
	char msg[MSG_CAP];
	size_t msg_len;
};

static struct {
	int ports[MAX_PORTS], nports, clients, senders, size;
	unsigned inflight;
	double duration, warmup;
	const char *token, *room;
} opt = { { 0 }, 0, 100, 4, 32, 8, 5, 1, "devtoken", "bench" };

enum { P_JOINING, P_WARMUP, P_MEASURE };
static int phase, ep, njoined, nconns;
static ad_loop loop; /* the one thread's: its read buffer and clock */
static struct fc **conns;
static uint64_t m_pub, m_deliv;
static int64_t *lat;
static size_t nlat, caplat;
static char padding[4096];

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void send_text(struct fc *c, const char *s)
{
	ad_send(&c->a, WS_OP_TEXT, 0, s, strlen(s));
	c->dirty = 1;
}

static void send_next(struct fc *c)
{
	char buf[sizeof padding + 128];

	snprintf(buf, sizeof buf, "{\"type\":\"message\",\"text\":\"s%d:%llu:%s\"}", c->id,
	         (unsigned long long)c->next, padding);
	c->sent_ns[c->next % opt.inflight] = now_ns();
	c->next++;
	c->inflight++;
	send_text(c, buf);
}

/* One whole envelope from the server. */
static void on_envelope(struct fc *c, const char *s, size_t len)
{
	const char *t;
	int id;
	unsigned long long m;

	if (len >= MSG_CAP) {
		m_deliv += phase == P_MEASURE;
		return;
	}
	if (strstr(s, "\"type\":\"joined\"") && !c->joined) {
		c->joined = 1;
		njoined++;
		return;
	}
	if (!strstr(s, "\"type\":\"message\"") || strstr(s, "\"history\":true"))
		return;
	m_deliv += phase == P_MEASURE;
	if (!c->sender || !(t = strstr(s, "\"text\":\"s")) || sscanf(t + 9, "%d:%llu", &id, &m) != 2 ||
	    id != c->id)
		return;
	/* Our own, back through Redis: one round trip done, the next goes out. */
	if (phase == P_MEASURE) {
		m_pub++;
		if (nlat == caplat) {
			int64_t *p = realloc(lat, (caplat = caplat ? caplat * 2 : 65536) * sizeof *lat);
			if (p)
				lat = p;
			else
				caplat = nlat;
		}
		if (nlat < caplat)
			lat[nlat++] = now_ns() - c->sent_ns[m % opt.inflight];
	}
	c->inflight--;
	if (phase != P_JOINING)
		send_next(c);
}

static int on_event(ad_conn *a, ws_event *ev)
{
	struct fc *c = (struct fc *)a;
	char buf[128];

	if (ev->type == WS_EV_OPEN) {
		snprintf(buf, sizeof buf, "{\"type\":\"join\",\"room\":\"%s\",\"user\":\"c%d\"}", opt.room, c->id);
		send_text(c, buf);
		return 0;
	}
	if (ev->type == WS_EV_REJECTED) {
		fprintf(stderr, "fanout: connection %d refused: %d\n", c->id, ev->http.status);
		return 1;
	}
	if (ev->type != WS_EV_TEXT)
		return 0;
	if (ev->flags & WS_EVF_MSG_BEGIN)
		c->msg_len = 0;
	if (c->msg_len + ev->len < MSG_CAP)
		memcpy(c->msg + c->msg_len, ev->data, ev->len);
	c->msg_len += ev->len;
	if (ev->flags & WS_EVF_MSG_END) {
		c->msg[c->msg_len < MSG_CAP ? c->msg_len : 0] = 0;
		on_envelope(c, c->msg, c->msg_len);
	}
	return 0;
}

static int step(struct fc *c)
{
	unsigned w;

	c->dirty = 0;
	if (ad_io(&c->a)) {
		fprintf(stderr, "fanout: connection %d ended: %s\n", c->id, c->a.why ? c->a.why : "?");
		return -1;
	}
	w = ad_wants(&c->a);
	w = (w & AD_READ ? EPOLLIN : 0) | (w & AD_WRITE ? EPOLLOUT : 0);
	cu_want(ep, c->fd, c, &c->events, w);
	return 0;
}

static struct fc *dial(int id, int port, const ws_config *cfg, const ad_opts *o)
{
	static ws_connect_opts copts = { NULL, NULL, NULL, NULL, NULL };
	static char host[32], target[160];
	struct sockaddr_in sa;
	struct epoll_event ev = { EPOLLIN | EPOLLOUT, { 0 } };
	struct fc *c = calloc(1, sizeof *c);
	uint8_t *p;
	size_t n = 0;
	int one = 1;

	if (!c)
		return NULL;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	snprintf(host, sizeof host, "127.0.0.1:%d", port);
	snprintf(target, sizeof target, "/ws?token=%s", opt.token);
	copts.host = host;
	copts.target = target;
	/* Blocking connect (loopback: immediate), then non-blocking I/O. */
	if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(c->fd, (struct sockaddr *)&sa, sizeof sa) || fcntl(c->fd, F_SETFL, O_NONBLOCK)) {
		fprintf(stderr, "fanout: connection %d to port %d: %s\n", id, port, strerror(errno));
		return NULL;
	}
	if (ad_init(&c->a, &loop, cfg, o, ad_socket(c->fd)) != WS_OK || !(p = ad_reserve(&c->a, 1024)) ||
	    ws_conn_connect(&c->a.ws, &copts, p, 1024, &n) != WS_OK) {
		fprintf(stderr, "fanout: connection %d: cannot start the handshake\n", id);
		return NULL;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	ad_commit(&c->a, n);
	c->id = id;
	c->events = ev.events;
	ev.data.ptr = c;
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	return c;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int usage(void)
{
	fprintf(stderr, "usage: fanout --port P [--port P2 ...] [--clients N] [--senders S] [--inflight K]\n"
	                "              [--duration D] [--warmup W] [--token T] [--room R] [--size B]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static ad_opts o = { on_event, 1 << 20, 10000, 0, 0, 0, 1000, 10000, NULL };
	struct epoll_event evs[256];
	ws_config cfg;
	int64_t t0 = 0, t_end = 0, deadline;
	double secs;
	int i, n, total;

	if (argc % 2 == 0) /* options come in pairs */
		return usage();
	for (i = 1; i + 1 < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];
		if (!strcmp(a, "--port") && opt.nports < MAX_PORTS)
			opt.ports[opt.nports++] = atoi(v);
		else if (!strcmp(a, "--clients"))
			opt.clients = atoi(v);
		else if (!strcmp(a, "--senders"))
			opt.senders = atoi(v);
		else if (!strcmp(a, "--inflight"))
			opt.inflight = (unsigned)atoi(v);
		else if (!strcmp(a, "--duration"))
			opt.duration = atof(v);
		else if (!strcmp(a, "--warmup"))
			opt.warmup = atof(v);
		else if (!strcmp(a, "--token"))
			opt.token = v;
		else if (!strcmp(a, "--room"))
			opt.room = v;
		else if (!strcmp(a, "--size"))
			opt.size = atoi(v);
		else
			return usage();
	}
	total = opt.clients * opt.nports;
	if (!opt.nports || opt.clients < 1 || opt.senders < 0 || opt.senders > total || opt.inflight < 1 ||
	    opt.inflight > MAX_K || opt.duration <= 0 || opt.warmup < 0 || opt.size < 0 ||
	    opt.size >= (int)sizeof padding)
		return usage();
	memset(padding, 'x', (size_t)opt.size);
	signal(SIGPIPE, SIG_IGN);
	ad_loop_init(&loop);
	ws_config_init(&cfg, WS_ROLE_CLIENT);
	cfg.rand = cu_rand;
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0 || !(conns = calloc((size_t)total, sizeof *conns)))
		return perror("fanout"), 1;
	/* Connection i goes to port i % nports; senders are the first S, so
	 * they too are spread over the ports. */
	for (i = 0; i < total; i++) {
		if (!(conns[i] = dial(i, opt.ports[i % opt.nports], &cfg, &o)))
			return 1;
		conns[i]->sender = i < opt.senders;
		nconns++;
	}
	deadline = ad_now() + 20000;
	for (;;) {
		int64_t now = ad_now();

		if (phase == P_JOINING && njoined == total) {
			phase = P_WARMUP;
			t0 = now + (int64_t)(opt.warmup * 1000);
			for (i = 0; i < opt.senders; i++) {
				unsigned k;
				for (k = 0; k < opt.inflight; k++)
					send_next(conns[i]);
			}
		}
		if (phase == P_JOINING && now > deadline) {
			fprintf(stderr, "fanout: only %d of %d joined in 20 s\n", njoined, total);
			return 1;
		}
		if (phase == P_WARMUP && now >= t0) {
			phase = P_MEASURE;
			t0 = now_ns();
			t_end = now + (int64_t)(opt.duration * 1000);
		}
		if (phase == P_MEASURE && now >= t_end)
			break;
		for (i = 0; i < total; i++)
			if (conns[i]->dirty && step(conns[i]))
				return 1;
		n = epoll_wait(ep, evs, 256, 50);
		for (i = 0; i < n; i++)
			if (step(evs[i].data.ptr))
				return 1;
	}
	secs = (double)(now_ns() - t0) / 1e9;
	if (nlat)
		qsort(lat, nlat, sizeof *lat, cmp64);
	printf("fanout: ports=%d clients=%d senders=%d inflight=%u size=%d published/s=%.0f deliveries/s=%.0f "
	       "fanout=%.1f p50_ms=%.2f p99_ms=%.2f\n",
	       opt.nports, total, opt.senders, opt.inflight, opt.size, (double)m_pub / secs, (double)m_deliv / secs,
	       m_pub ? (double)m_deliv / (double)m_pub : 0.0, nlat ? (double)lat[nlat / 2] / 1e6 : 0.0,
	       nlat ? (double)lat[nlat * 99 / 100] / 1e6 : 0.0);
	return m_pub ? 0 : 1;
}
