/* loadgen: an epoll WebSocket load generator written against libws (client role).
 *
 *     loadgen --port PORT [--host 127.0.0.1] [--conns N] [--inflight K] [--size S]
 *             [--duration D | --messages M] [--warmup W] [--server-pid PID]
 *             [--label NAME] [--json FILE] [--verify] [--check] [--timeout T]
 *
 * Opens N connections; each keeps K binary messages of S bytes in flight: it
 * sends K, and on each complete echo sends the next. Echoes come back in order
 * on a connection, so a per-connection ring of K send times gives each
 * message's round trip (CLOCK_MONOTONIC, one reading per epoll batch). After
 * W seconds of warm-up (JIT, caches, TCP windows) it measures for D seconds:
 * messages echoed per second, payload MB/s (one direction, 10^6 bytes),
 * p50/p99 round trip, and the server's CPU time (utime+stime from
 * /proc/PID/stat, before and after) per message. The server's system calls
 * per message are counted in the second half of the warm-up, under the same
 * load: the raw_syscalls:sys_enter tracepoint through perf_event_open on each
 * of its threads, closed again before the measured window because a live
 * tracepoint costs the server some 4 % per call. "?" where the kernel does
 * not allow it (it needs tracefs and ptrace rights over PID, and
 * perf_event_paranoid <= -1 for a non-root user). With --messages M it sends
 * M messages in all (no warm-up unless asked) and measures until the last
 * echo.
 *
 * Payload of message n is tmpl[n % 251 ..][0..S), so a mixed-up or corrupted
 * echo does not match; the first 64 bytes of every echo are compared, all of
 * them with --verify. --check (the correctness run of `make bench-e2e-check`)
 * implies --verify, cycles message sizes through 0 .. 200000 bytes (frame
 * length encodings, fragmentation by the echo server) and ends with
 * "bench-e2e: N passed, M failed" (messages echoed byte for byte; failures
 * are mismatches, messages never echoed and connections that broke).
 *
 * One line per run on stdout; with --json, one JSON object per run is
 * appended (one per line) to FILE. Exit status 0 only without errors.
 *
 * The mask keys and Sec-WebSocket-Key come from xorshift64*: fine for a
 * benchmark against our own servers, not for a real client (use a CSPRNG).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <ws/ws.h>
#include "client_util.h" /* cu_rand, cu_dial, struct cu_out ... */
#include "../examples/ad_transport.h" /* ad_socket(); with -DWITH_TLS, examples/tls.c */
#ifdef WITH_TLS
#include "../examples/tls.h"
#endif

#define IN_SIZE (128 * 1024) /* per connection; payload streams through it */
#define TMPL_SHIFT 251u      /* message n starts at tmpl[n % 251] */
#define HEAD_CHECK 64u       /* bytes of every echo compared without --verify */

enum { C_CONNECTING, C_HANDSHAKE, C_OPEN, C_CLOSING, C_LINGER, C_DONE };
enum { P_WARMUP, P_MEASURE, P_DRAIN, P_CLOSING };

struct lconn {
	ws_conn ws;
	ad_transport t;            /* the socket, or with --tls-ca the TLS session over it */
	int fd, state;
	unsigned events;
	struct cu_out out;         /* output not yet written */
	size_t have;               /* bytes in in[] */
	uint64_t next_seq;         /* sequence number of the next message sent */
	uint64_t recv_seq;         /* sequence number of the echo expected next */
	uint64_t msg_off;          /* bytes of that echo received so far */
	int msg_bad;               /* that echo already mismatched */
	uint64_t quota;            /* --messages: messages this connection still sends */
	unsigned inflight;
	uint64_t *sent_ns;         /* ring of K send times, by sequence number */
	uint8_t in[IN_SIZE];
};

/* Message sizes of --check: every length encoding and its edges, fragments. */
static const size_t check_sizes[] = { 0, 1, 7, 16, 125, 126, 127, 1000, 1024, 65535, 65536, 65537,
	                              131072, 200000, 3, 64 };

static struct {
	const char *host, *label, *json, *tls_ca;
	int port, conns, server_pid, verify, check;
	unsigned inflight;
	size_t size;
	double duration, warmup, timeout;
	uint64_t messages;
} opt = { "127.0.0.1", NULL, NULL, NULL, 0, 1, 0, 0, 0, 16, 1024, 3.0, -1.0, 0.0, 0 };

static ws_config cfg;
static ws_connect_opts copts;
static char host_hdr[64];
static uint8_t *tmpl;
static int ep;
static struct lconn *conns;
static int phase, opened, alive;

/* Results of the measured phase. */
static uint64_t m_msgs, m_bytes, m_ok, m_bad, m_fail_conns;
static uint32_t *lat;          /* round trips in ns (clamped), measured phase only */
static size_t nlat, caplat;

/* The server's system calls: one counter per thread of --server-pid (the
 * threads there when counting starts: Node's are all up by then). */
#define SC_MAX 256
static int sc_fd[SC_MAX], sc_n;

static void sc_close(void)
{
	while (sc_n)
		close(sc_fd[--sc_n]);
}

/* Starts counting; nothing is counted unless every thread could be. */
static void sc_start(int pid)
{
	static const char *const ids[] = { "/sys/kernel/tracing/events/raw_syscalls/sys_enter/id",
		                           "/sys/kernel/debug/tracing/events/raw_syscalls/sys_enter/id" };
	struct perf_event_attr a;
	unsigned long long id = 0;
	char path[64];
	struct dirent *d;
	DIR *dir;
	size_t i;
	int k;

	for (i = 0; i < sizeof ids / sizeof ids[0] && !id; i++) {
		FILE *f = fopen(ids[i], "r");
		if (f && fscanf(f, "%llu", &id) != 1)
			id = 0;
		if (f)
			fclose(f);
	}
	snprintf(path, sizeof path, "/proc/%d/task", pid);
	if (!id || pid <= 0 || !(dir = opendir(path)))
		return;
	memset(&a, 0, sizeof a);
	a.type = PERF_TYPE_TRACEPOINT;
	a.size = sizeof a;
	a.config = id;
	a.disabled = 1;
	while ((d = readdir(dir))) {
		int tid = atoi(d->d_name), fd = -1;
		if (tid <= 0)
			continue;
		if (sc_n == SC_MAX ||
		    (fd = (int)syscall(SYS_perf_event_open, &a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC)) < 0) {
			sc_close(); /* a partial count would mislead */
			break;
		}
		sc_fd[sc_n++] = fd;
	}
	closedir(dir);
	for (k = 0; k < sc_n; k++)
		ioctl(sc_fd[k], PERF_EVENT_IOC_ENABLE, 0);
}

/* System calls since sc_start(), -1 if not counted; closes the counters. */
static double sc_stop(void)
{
	uint64_t v, sum = 0;
	int i, ok = sc_n > 0;

	for (i = 0; i < sc_n; i++)
		ioctl(sc_fd[i], PERF_EVENT_IOC_DISABLE, 0);
	for (i = 0; i < sc_n && ok; i++)
		if (read(sc_fd[i], &v, sizeof v) != (ssize_t)sizeof v)
			ok = 0;
		else
			sum += v;
	sc_close();
	return ok ? (double)sum : -1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double self_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* utime + stime of a process (all its threads), in seconds, and stime in
 * *sys; -1 if unknown. */
static double proc_cpu_s(int pid, double *sys)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	ssize_t n;
	int fd, i;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	if (!(p = strrchr(buf, ')'))) /* the command name may hold spaces */
		return -1;
	p++;
	for (i = 3; i <= 13; i++) { /* skip fields 3 (state) .. 13 to reach 14 (utime) */
		p = strchr(p + 1, ' ');
		if (!p)
			return -1;
	}
	if (sscanf(p, " %llu %llu", &ut, &st) != 2)
		return -1;
	*sys = (double)st / (double)sysconf(_SC_CLK_TCK);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static size_t msg_size(uint64_t seq)
{
	if (opt.check)
		return check_sizes[seq % (sizeof check_sizes / sizeof check_sizes[0])];
	return opt.size;
}

static void set_events(struct lconn *c, unsigned want)
{
	cu_want(ep, c->fd, c, &c->events, want);
}

static void finish(struct lconn *c, int failed)
{
	if (c->state == C_DONE)
		return;
	if (failed) {
		m_fail_conns++;
		m_bad += c->inflight; /* never echoed */
		c->inflight = 0;
	}
	close(c->fd);
#ifdef WITH_TLS
	if (opt.tls_ca && c->t.ctx)
		tls_free(&c->t);
#endif
	c->state = C_DONE;
	alive--;
}

/* One send per batch; the rest waits for EPOLLOUT. */
static int flush(struct lconn *c)
{
	while (c->out.off < c->out.len) { /* TLS writes a record at a time: until it would block */
		long n = c->t.ops->write(c->t.ctx, c->out.buf + c->out.off, c->out.len - c->out.off);
		if (n == AD_AGAIN)
			break;
		if (n < 0)
			return -1;
		c->out.off += (size_t)n;
		if (!opt.tls_ca)
			break;
	}
	if (c->out.off == c->out.len)
		c->out.off = c->out.len = 0;
	/* A TLS handshake waiting for the server: a writable socket is no news. */
	if (opt.tls_ca && c->t.ops->wants(c->t.ctx) == AD_READ)
		set_events(c, EPOLLIN);
	else
		set_events(c, EPOLLIN | (c->out.off < c->out.len ? EPOLLOUT : 0u));
	return 0;
}

/* Tops the connection up to K messages in flight. */
static int top_up(struct lconn *c, uint64_t now)
{
	while (c->state == C_OPEN && phase < P_DRAIN && c->inflight < opt.inflight &&
	       (!opt.messages || c->quota)) {
		uint64_t seq = c->next_seq;
		size_t len = msg_size(seq), n;
		if (cu_reserve(&c->out, WS_SEND_SIZE(len)) ||
		    ws_conn_send(&c->ws, WS_OP_BINARY, 0, tmpl + seq % TMPL_SHIFT, len, c->out.buf + c->out.len,
		                 c->out.cap - c->out.len, &n) != WS_OK)
			return -1;
		c->out.len += n;
		c->sent_ns[seq % opt.inflight] = now;
		c->next_seq++;
		c->inflight++;
		if (opt.messages)
			c->quota--;
	}
	return 0;
}

static void record(uint64_t ns)
{
	if (nlat == caplat) {
		size_t cap = caplat ? caplat * 2 : 1u << 16;
		uint32_t *p = realloc(lat, cap * sizeof *p);
		if (!p)
			return;
		lat = p;
		caplat = cap;
	}
	lat[nlat++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

static int start_close(struct lconn *c)
{
	if (c->state != C_OPEN)
		return 0;
	if (cu_close(&c->ws, 1000, NULL, 0, &c->out))
		return -1;
	c->state = C_CLOSING;
	return 0;
}

/* A chunk of an echo: compared against what was sent at the same offset. */
static int on_data(struct lconn *c, const ws_event *ev, uint64_t now)
{
	size_t expect, limit, cmp;

	if (ev->type != WS_EV_BINARY || !c->inflight) {
		fprintf(stderr, "loadgen: unexpected %s message\n", ev->type == WS_EV_TEXT ? "text" : "binary");
		return -1;
	}
	expect = msg_size(c->recv_seq);
	if (c->msg_off + ev->len > expect) {
		c->msg_bad = 1;
	} else if (!c->msg_bad) {
		limit = opt.verify ? expect : (expect < HEAD_CHECK ? expect : HEAD_CHECK);
		cmp = c->msg_off >= limit ? 0 : limit - c->msg_off;
		if (cmp > ev->len)
			cmp = ev->len;
		if (cmp && memcmp(ev->data, tmpl + c->recv_seq % TMPL_SHIFT + c->msg_off, cmp))
			c->msg_bad = 1;
	}
	c->msg_off += ev->len;
	if (!(ev->flags & WS_EVF_MSG_END))
		return 0;
	if (c->msg_off != expect)
		c->msg_bad = 1;
	if (c->msg_bad) {
		m_bad++;
		fprintf(stderr, "loadgen: echo of message %llu (%zu bytes) does not match (%llu bytes came back)\n",
		        (unsigned long long)c->recv_seq, expect, (unsigned long long)c->msg_off);
	} else {
		m_ok++;
	}
	if (phase == P_MEASURE) {
		m_msgs++;
		m_bytes += expect;
		record(now - c->sent_ns[c->recv_seq % opt.inflight]);
	}
	c->recv_seq++;
	c->msg_off = 0;
	c->msg_bad = 0;
	c->inflight--;
	return top_up(c, now);
}

static int on_event(struct lconn *c, ws_event *ev, uint64_t now)
{
	switch (ev->type) {
	case WS_EV_OPEN:
		c->state = C_OPEN;
		opened++;
		return top_up(c, now);
	case WS_EV_REJECTED:
		fprintf(stderr, "loadgen: handshake rejected with %u\n", ev->http.status);
		return -1;
	case WS_EV_TEXT:
	case WS_EV_BINARY:
		return on_data(c, ev, now);
	case WS_EV_PING:
	case WS_EV_CLOSE:
		if (cu_reply(&c->ws, ev, &c->out))
			return -1;
		if (ev->type == WS_EV_CLOSE && c->state == C_OPEN) {
			fprintf(stderr, "loadgen: the server closed with %u\n", ev->code);
			c->state = C_CLOSING;
			return phase < P_CLOSING ? -1 : 0;
		}
		return 0;
	}
	return 0;
}

/* One read and what it brings; 1 if it read bytes (TLS: more may be buffered). */
static int read_once(struct lconn *c, uint64_t now)
{
	size_t off = 0, used;
	long n;
	ws_event ev;
	int rc;

	n = c->t.ops->read(c->t.ctx, c->in + c->have, IN_SIZE - c->have);
	if (n == AD_AGAIN) {
		if (opt.tls_ca && flush(c)) /* TLS: a handshake just done lets the request out */
			finish(c, 1);
		return 0;
	}
	if (n < 0) {
		finish(c, c->state != C_LINGER && c->state != C_CLOSING);
		return 0;
	}
	if (n == 0) {
		if (c->state != C_LINGER && c->state != C_CLOSING)
			fprintf(stderr, "loadgen: the server hung up\n");
		finish(c, c->state != C_LINGER && c->state != C_CLOSING);
		return 0;
	}
	if (c->state == C_LINGER)
		return 1; /* discard until the server's FIN */
	c->have += (size_t)n;
	do {
		rc = ws_conn_recv(&c->ws, c->in + off, c->have - off, &used, &ev);
		off += used;
		if (rc < 0) {
			fprintf(stderr, "loadgen: %s\n", ws_status_str(rc));
			finish(c, 1);
			return 0;
		}
		if (on_event(c, &ev, now)) {
			finish(c, 1);
			return 0;
		}
	} while (ev.type != WS_EV_NONE && !ws_conn_should_close_transport(&c->ws));
	memmove(c->in, c->in + off, c->have - off);
	c->have -= off;
	if (c->have == IN_SIZE) {
		fprintf(stderr, "loadgen: receive buffer stuck\n");
		finish(c, 1);
		return 0;
	}
	if (flush(c)) {
		finish(c, c->state != C_CLOSING);
		return 0;
	}
	if (ws_conn_should_close_transport(&c->ws) && c->out.off == c->out.len) {
		/* Close frames went both ways: let the server close TCP first. */
		shutdown(c->fd, SHUT_WR);
		c->state = C_LINGER;
	}
	return c->state != C_DONE;
}

static void on_readable(struct lconn *c, uint64_t now)
{
	while (read_once(c, now) && opt.tls_ca)
		; /* mbedTLS hands out a record at a time and keeps the rest */
}

static void on_writable(struct lconn *c)
{
	if (c->state == C_CONNECTING) {
		int err = cu_connected(c->fd);
		if (err) {
			fprintf(stderr, "loadgen: connect: %s\n", strerror(err));
			finish(c, 1);
			return;
		}
		c->t = ad_socket(c->fd);
#ifdef WITH_TLS
		if (opt.tls_ca && tls_connect(c->fd, "localhost", opt.tls_ca, 0, &c->t)) {
			finish(c, 1);
			return;
		}
#endif
		if (cu_handshake(&c->ws, &copts, &c->out)) {
			finish(c, 1);
			return;
		}
		c->state = C_HANDSHAKE;
	}
	if (flush(c))
		finish(c, c->state != C_CLOSING);
}

static int open_conn(struct lconn *c)
{
	struct sockaddr_in sa;
	struct epoll_event ev;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)opt.port);
	if (inet_pton(AF_INET, opt.host, &sa.sin_addr) != 1) {
		fprintf(stderr, "loadgen: --host must be an IPv4 address\n");
		return -1;
	}
	if ((c->fd = cu_dial(&sa, 0)) < 0) {
		perror("loadgen: connect");
		return -1;
	}
	if (ws_conn_init(&c->ws, sizeof c->ws, &cfg) != WS_OK ||
	    !(c->sent_ns = calloc(opt.inflight, sizeof *c->sent_ns)))
		return -1;
	c->state = C_CONNECTING;
	c->events = EPOLLOUT;
	ev.events = EPOLLOUT;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev))
		return -1;
	alive++;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static double pct_us(double p)
{
	size_t i;
	if (!nlat)
		return 0;
	i = (size_t)(p * (double)(nlat - 1) + 0.5);
	return lat[i] / 1e3;
}

static int usage(int status)
{
	fprintf(status ? stderr : stdout,
	        "usage: loadgen --port PORT [--host ADDR] [--conns N] [--inflight K] [--size BYTES]\n"
	        "               [--duration S | --messages M] [--warmup S] [--server-pid PID]\n"
	        "               [--label NAME] [--json FILE] [--verify] [--check] [--timeout S]\n"
	        "               [--tls-ca FILE]  (wss://; the certificate must name localhost)\n");
	return status;
}

int main(int argc, char **argv)
{
	struct epoll_event evs[64];
	uint64_t t_start, t0 = 0, t1 = 0, t_phase_end = 0, deadline;
	double cpu0 = -1, cpu1 = -1, sys0 = 0, sys1 = 0, self0 = 0, self1 = 0, secs, srv, util, sc = -1;
	uint64_t sc_msgs = 0;
	int sc_on = 0;
	size_t maxsize = 0, i;
	int k, errors;
	char line[512], srvbuf[64], scbuf[32];

	for (k = 1; k < argc; k++) {
		const char *a = argv[k], *v = k + 1 < argc ? argv[k + 1] : NULL;
		if (!strcmp(a, "--verify")) { opt.verify = 1; continue; }
		if (!strcmp(a, "--check")) { opt.check = opt.verify = 1; continue; }
		if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			return usage(0);
		if (!v)
			return usage(2);
		k++;
		if (!strcmp(a, "--port")) opt.port = atoi(v);
		else if (!strcmp(a, "--host")) opt.host = v;
		else if (!strcmp(a, "--conns")) opt.conns = atoi(v);
		else if (!strcmp(a, "--inflight")) opt.inflight = (unsigned)atoi(v);
		else if (!strcmp(a, "--size")) opt.size = (size_t)strtoull(v, NULL, 10);
		else if (!strcmp(a, "--duration")) opt.duration = atof(v);
		else if (!strcmp(a, "--messages")) opt.messages = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--warmup")) opt.warmup = atof(v);
		else if (!strcmp(a, "--server-pid")) opt.server_pid = atoi(v);
		else if (!strcmp(a, "--label")) opt.label = v;
		else if (!strcmp(a, "--json")) opt.json = v;
		else if (!strcmp(a, "--timeout")) opt.timeout = atof(v);
#ifdef WITH_TLS
		else if (!strcmp(a, "--tls-ca")) opt.tls_ca = v; /* wss://, verified against this CA, as localhost */
#endif
		else return usage(2);
	}
	if (opt.port <= 0 || opt.port > 65535 || opt.conns <= 0 || opt.conns > 10000 || !opt.inflight ||
	    opt.duration <= 0)
		return usage(2);
	if (opt.warmup < 0)
		opt.warmup = opt.messages ? 0 : 1.0;
	if (opt.timeout <= 0)
		opt.timeout = opt.warmup + (opt.messages ? 30 : opt.duration) + 10;
	if (!opt.label)
		opt.label = opt.check ? "check" : "run";
	signal(SIGPIPE, SIG_IGN);

	/* Template: message n is tmpl[n % 251 ..][0..size). */
	if (opt.check)
		for (i = 0; i < sizeof check_sizes / sizeof check_sizes[0]; i++)
			maxsize = check_sizes[i] > maxsize ? check_sizes[i] : maxsize;
	else
		maxsize = opt.size;
	if (!(tmpl = malloc(maxsize + TMPL_SHIFT)))
		return 1;
	cu_rng ^= (uint64_t)getpid() << 32 ^ now_ns();
	for (i = 0; i < maxsize + TMPL_SHIFT; i++)
		tmpl[i] = (uint8_t)(i * 131u + (i >> 8) * 7u + 1u);

	ws_config_init(&cfg, WS_ROLE_CLIENT);
	cfg.rand = cu_rand;
	cfg.max_message = cfg.max_frame = 64u << 20;
	snprintf(host_hdr, sizeof host_hdr, "%s:%d", opt.host, opt.port);
	copts.host = host_hdr;
	copts.target = "/";

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0 || !(conns = calloc((size_t)opt.conns, sizeof *conns))) {
		perror("loadgen");
		return 1;
	}
	if (opt.messages) { /* split the total over the connections */
		for (k = 0; k < opt.conns; k++)
			conns[k].quota = opt.messages / (uint64_t)opt.conns +
			                 ((uint64_t)k < opt.messages % (uint64_t)opt.conns);
	}
	t_start = now_ns();
	deadline = t_start + (uint64_t)(opt.timeout * 1e9);
	for (k = 0; k < opt.conns; k++)
		if (open_conn(&conns[k])) {
			fprintf(stderr, "loadgen: cannot open connection %d\n", k);
			return 1;
		}

	phase = P_WARMUP;
	for (;;) {
		uint64_t now = now_ns();
		int n, timeout = 50;

		if (now >= deadline) {
			fprintf(stderr, "loadgen: timed out (phase %d)\n", phase);
			m_fail_conns += (uint64_t)alive;
			break;
		}
		/* Phase changes, checked between batches. The warm-up starts once
		 * every connection is open. */
		if (phase == P_WARMUP && !t_phase_end && opened == opt.conns)
			t_phase_end = now + (uint64_t)(opt.warmup * 1e9);
		/* The second half of the warm-up counts the server's system calls. */
		if (phase == P_WARMUP && t_phase_end && !sc_on && opt.warmup > 0 &&
		    now >= t_phase_end - (uint64_t)(opt.warmup / 2 * 1e9)) {
			sc_on = 1;
			sc_msgs = m_ok;
			sc_start(opt.server_pid);
		}
		if (phase == P_WARMUP && t_phase_end && now >= t_phase_end) {
			if (sc_on) {
				sc = sc_stop();
				sc_msgs = m_ok - sc_msgs;
			}
			cpu0 = proc_cpu_s(opt.server_pid, &sys0);
			self0 = self_cpu_s();
			t0 = now_ns();
			m_msgs = m_bytes = 0;
			nlat = 0;
			phase = P_MEASURE;
			t_phase_end = t0 + (uint64_t)(opt.duration * 1e9);
		}
		if (phase == P_MEASURE) {
			int done = opt.messages ? 1 : now >= t_phase_end;
			if (opt.messages)
				for (k = 0; k < opt.conns && done; k++)
					done = conns[k].state == C_DONE ||
					       (!conns[k].quota && !conns[k].inflight);
			if (done) {
				cpu1 = proc_cpu_s(opt.server_pid, &sys1);
				self1 = self_cpu_s();
				t1 = now_ns();
				phase = P_DRAIN;
				t_phase_end = t1 + 3000000000u;
			}
		}
		if (phase == P_DRAIN) {
			int busy = 0;
			for (k = 0; k < opt.conns; k++)
				busy |= conns[k].state == C_OPEN && conns[k].inflight;
			if (!busy || now >= t_phase_end) {
				for (k = 0; k < opt.conns; k++) {
					struct lconn *c = &conns[k];
					if (c->state == C_DONE)
						continue;
					if (c->inflight) { /* never echoed */
						m_bad += c->inflight;
						c->inflight = 0;
					}
					if (start_close(c) || flush(c))
						finish(c, 1);
				}
				phase = P_CLOSING;
				t_phase_end = now + 2000000000u;
			}
		}
		if (phase == P_CLOSING && (!alive || now >= t_phase_end))
			break;
		if (!alive && phase < P_CLOSING) {
			fprintf(stderr, "loadgen: every connection ended early\n");
			break;
		}

		n = epoll_wait(ep, evs, 64, timeout);
		if (n < 0 && errno != EINTR) {
			perror("loadgen: epoll_wait");
			return 1;
		}
		now = now_ns();
		for (k = 0; k < n; k++) {
			struct lconn *c = evs[k].data.ptr;
			if (c->state == C_DONE)
				continue;
			if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				on_readable(c, now);
			if (c->state != C_DONE && (evs[k].events & EPOLLOUT))
				on_writable(c);
		}
	}
	for (k = 0; k < opt.conns; k++)
		if (conns[k].state != C_DONE)
			finish(&conns[k], 0);

	if (!t1) { /* never measured: the run failed */
		t1 = now_ns();
		if (!t0)
			t0 = t1;
	}
	secs = (double)(t1 - t0) / 1e9;
	qsort(lat, nlat, sizeof *lat, cmp_u32);
	srv = cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1;
	util = secs > 0 ? (self1 - self0) / secs : 0;
	errors = (int)(m_bad + m_fail_conns);

	if (opt.check) {
		printf("bench-e2e: %llu passed, %llu failed\n", (unsigned long long)m_ok,
		       (unsigned long long)(m_bad + m_fail_conns + (opt.messages > m_ok + m_bad ? opt.messages - m_ok - m_bad : 0)));
		return errors || m_ok != opt.messages;
	}
	if (srv >= 0)
		snprintf(srvbuf, sizeof srvbuf, "%.2f us/msg (%.0f%% cpu)", m_msgs ? srv * 1e6 / (double)m_msgs : 0,
		         secs > 0 ? srv / secs * 100 : 0);
	else
		snprintf(srvbuf, sizeof srvbuf, "? (no --server-pid)");
	if (sc >= 0 && sc_msgs)
		snprintf(scbuf, sizeof scbuf, "%.3f", sc / (double)sc_msgs);
	else
		snprintf(scbuf, sizeof scbuf, "?");
	snprintf(line, sizeof line,
	         "%-10s %3dx%-6zu k%-3u %9.0f msg/s %8.1f MB/s  p50 %8.1f us  p99 %8.1f us  "
	         "server %s %s syscalls/msg  client %.0f%% cpu%s",
	         opt.label, opt.conns, opt.size, opt.inflight, secs > 0 ? (double)m_msgs / secs : 0,
	         secs > 0 ? (double)m_bytes / secs / 1e6 : 0, pct_us(0.50), pct_us(0.99), srvbuf, scbuf,
	         util * 100, errors ? "  ERRORS" : "");
	printf("%s\n", line);
	fflush(stdout);
	if (opt.json) {
		FILE *f = fopen(opt.json, "a");
		if (!f) {
			perror(opt.json);
			return 1;
		}
		fprintf(f,
		        "{\"label\": \"%s\", \"conns\": %d, \"inflight\": %u, \"size\": %zu, \"seconds\": %.3f, "
		        "\"messages\": %llu, \"msgs_per_s\": %.1f, \"mb_per_s\": %.3f, \"p50_us\": %.1f, "
		        "\"p99_us\": %.1f, \"server_cpu_s\": %.3f, \"server_cpu_us_per_msg\": %.4f, "
		        "\"server_cpu_util\": %.3f, \"server_sys_share\": %.3f, \"server_syscalls_per_msg\": %s, "
		        "\"client_cpu_util\": %.3f, \"errors\": %d}\n",
		        opt.label, opt.conns, opt.inflight, opt.size, secs, (unsigned long long)m_msgs,
		        secs > 0 ? (double)m_msgs / secs : 0, secs > 0 ? (double)m_bytes / secs / 1e6 : 0,
		        pct_us(0.50), pct_us(0.99), srv, srv >= 0 && m_msgs ? srv * 1e6 / (double)m_msgs : -1,
		        srv >= 0 && secs > 0 ? srv / secs : -1, srv > 0 ? (sys1 - sys0) / srv : -1,
		        sc >= 0 && sc_msgs ? scbuf : "null", util, errors);
		fclose(f);
	}
	return errors ? 1 : 0;
}
