/* adapter-threads: one adapter loop per thread, under ThreadSanitizer (issue
 * 22). Two server threads each run their own ad_loop on poll() with 100
 * connections; a third thread runs the 200 clients on a loop of its own,
 * over socketpairs. Every client sends messages of 1 B to 200 KiB (one at a
 * time, some split across reads and carried), checks each echo byte for
 * byte, then closes. Anything the adapter kept per process instead of per
 * loop (a read buffer, a clock cache, the wake-up's allowance) is written by
 * three threads at once: TSan reports it and exits nonzero.
 * Prints "adapter-threads: N passed, M failed". */
#define _GNU_SOURCE
#include "../../../examples/ad_policy.h"
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NSERVERS 2
#define NCONN 100 /* per server loop */
#define NMSG 8    /* per connection */
#define MAX_MSG (200 * 1024)
#define LIMIT_MS 120000 /* TSan is slow; a loop that runs longer has hung */

struct conn {
	ad_conn a; /* first: on_event gets &a */
	int fd, id, sent, echoed, bad, live;
	size_t pos; /* bytes of the current echo checked */
};

struct loop {
	pthread_t th;
	ad_loop loop;
	ws_config cfg;
	ad_opts opts;
	struct conn *c;
	int n, client, finished, timed_out;
	uint64_t rng; /* client masks and keys: this thread's own */
};

static const size_t sizes[] = { 1, 125, 126, 1000, 65535, 65536, 70000, 3, MAX_MSG, 16384 };

static size_t msg_len(int id, int k) { return sizes[(size_t)(id + k * 3) % (sizeof sizes / sizeof *sizes)]; }
static uint8_t msg_byte(int id, int k, size_t j) { return (uint8_t)(id * 31 + k * 7 + j * 13 + (j >> 8)); }

static int xrand(void *ctx, void *buf, size_t len)
{
	uint64_t *s = ctx;
	uint8_t *p = buf;

	while (len--) {
		*s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
		*p++ = (uint8_t)*s;
	}
	return 0;
}

static int send_next(struct conn *c)
{
	size_t len = msg_len(c->id, c->sent), j;
	uint8_t *m = malloc(len);
	int rc;

	if (!m)
		return -1;
	for (j = 0; j < len; j++)
		m[j] = msg_byte(c->id, c->sent, j);
	rc = ad_send(&c->a, WS_OP_BINARY, 0, m, len);
	free(m);
	c->sent++;
	return rc != WS_OK;
}

static int server_event(ad_conn *a, ws_event *ev)
{
	uint8_t *p;
	size_t n = 0;

	if (ev->type == WS_EV_REQUEST) {
		ws_accept_opts opts = { 0 };
		if (!(p = ad_reserve(a, 1024)) || ws_conn_accept(&a->ws, &opts, p, 1024, &n) != WS_OK)
			return -1;
		ad_commit(a, n);
		return 0;
	}
	if ((ev->type != WS_EV_TEXT && ev->type != WS_EV_BINARY) || ws_conn_state(&a->ws) != WS_STATE_OPEN)
		return 0;
	return ad_send(a, !(ev->flags & WS_EVF_MSG_BEGIN) ? WS_OP_CONTINUATION : WS_OP_BINARY,
	               ev->flags & WS_EVF_MSG_END ? 0 : WS_SEND_MORE, ev->data, ev->len) != WS_OK;
}

static int client_event(ad_conn *a, ws_event *ev)
{
	struct conn *c = (struct conn *)a;
	size_t j;

	if (ev->type == WS_EV_OPEN)
		return send_next(c);
	if (ev->type != WS_EV_BINARY)
		return ev->type == WS_EV_REJECTED;
	for (j = 0; j < ev->len; j++)
		c->bad += ((const uint8_t *)ev->data)[j] != msg_byte(c->id, c->echoed, c->pos + j);
	c->pos += ev->len;
	if (!(ev->flags & WS_EVF_MSG_END))
		return 0;
	c->bad += c->pos != msg_len(c->id, c->echoed);
	c->pos = 0;
	if (++c->echoed < NMSG)
		return send_next(c);
	return ad_close(a, WS_CLOSE_NORMAL, "done", 4) != WS_OK;
}

static void *run(void *arg)
{
	struct loop *L = arg;
	struct pollfd *pfd = calloc((size_t)L->n, sizeof *pfd);
	int64_t start = ad_now();
	int i, live = L->n;

	ad_loop_init(&L->loop);
	for (i = 0; i < L->n; i++) {
		struct conn *c = &L->c[i];
		uint8_t *p;
		size_t n = 0;
		ws_connect_opts co = { "localhost", "/", NULL, NULL, NULL };
		c->live = ad_init(&c->a, &L->loop, &L->cfg, &L->opts, ad_socket(c->fd)) == WS_OK;
		if (c->live && L->client)
			c->live = (p = ad_reserve(&c->a, 1024)) && ws_conn_connect(&c->a.ws, &co, p, 1024, &n) == WS_OK;
		if (c->live && L->client)
			ad_commit(&c->a, n);
		live -= !c->live;
	}
	while (live > 0 && pfd) {
		int64_t now = ad_now(), next = -1;
		if (now - start > LIMIT_MS) {
			L->timed_out = 1;
			break;
		}
		for (i = 0; i < L->n; i++) {
			struct conn *c = &L->c[i];
			unsigned w = c->live ? ad_wants(&c->a) : 0;
			int64_t d = c->live ? ad_deadline(&c->a) : -1;
			pfd[i].fd = c->live ? c->fd : -1;
			pfd[i].events = (short)((w & AD_READ ? POLLIN : 0) | (w & AD_WRITE ? POLLOUT : 0));
			if (d >= 0 && (next < 0 || d < next))
				next = d;
		}
		poll(pfd, (nfds_t)L->n, next < 0 ? 1000 : ad_timeout(next, now));
		ad_loop_wake(&L->loop);
		now = ad_now();
		for (i = 0; i < L->n; i++) {
			struct conn *c = &L->c[i];
			int64_t d;
			if (!c->live || (!pfd[i].revents && ((d = ad_deadline(&c->a)) < 0 || d > now)))
				continue;
			if (!ad_io(&c->a))
				continue;
			L->finished += !c->a.why && !c->a.err;
			if (c->a.why || c->a.err)
				fprintf(stderr, "adapter-threads: %s %d: %s\n", L->client ? "client" : "server", c->id,
				        c->a.why ? c->a.why : ws_status_str(c->a.err));
			ad_free(&c->a);
			close(c->fd);
			c->live = 0;
			live--;
		}
	}
	for (i = 0; i < L->n; i++)
		if (L->c[i].live)
			ad_free(&L->c[i].a), close(L->c[i].fd);
	free(pfd);
	return NULL;
}

static void setup(struct loop *L, int n, int client)
{
	ad_opts o = { client ? client_event : server_event, 256 * 1024, 10000, 0, 0, 0, 5000, 20000, NULL };

	L->c = calloc((size_t)n, sizeof *L->c);
	L->n = n;
	L->client = client;
	L->opts = o;
	L->rng = 0x9e3779b97f4a7c15ull;
	ws_config_init(&L->cfg, client ? WS_ROLE_CLIENT : WS_ROLE_SERVER);
	L->cfg.rand = xrand;
	L->cfg.rand_ctx = &L->rng;
}

int main(void)
{
	static struct loop srv[NSERVERS], cli;
	int i, k, pass = 0, fail = 0;

	setup(&cli, NSERVERS * NCONN, 1);
	for (k = 0; k < NSERVERS; k++) {
		setup(&srv[k], NCONN, 0);
		for (i = 0; i < NCONN; i++) {
			int sv[2];
			if (!cli.c || !srv[k].c || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
				return perror("adapter-threads"), 1;
			srv[k].c[i].fd = sv[0], srv[k].c[i].id = k * NCONN + i;
			cli.c[k * NCONN + i].fd = sv[1], cli.c[k * NCONN + i].id = k * NCONN + i;
		}
	}
	for (k = 0; k < NSERVERS; k++)
		if (pthread_create(&srv[k].th, NULL, run, &srv[k]))
			return perror("adapter-threads"), 1;
	run(&cli);
	for (k = 0; k < NSERVERS; k++)
		pthread_join(srv[k].th, NULL);

	for (k = 0; k < NSERVERS; k++) {
		int ok = srv[k].finished == NCONN && !srv[k].timed_out;
		printf("%s server loop %d: %d of %d connections ended cleanly\n", ok ? "ok" : "FAIL", k, srv[k].finished, NCONN);
		pass += ok, fail += !ok;
	}
	{
		int echoed = 0, bad = 0, ok;
		for (i = 0; i < cli.n; i++)
			echoed += cli.c[i].echoed, bad += cli.c[i].bad;
		ok = echoed == cli.n * NMSG && !bad && cli.finished == cli.n && !cli.timed_out;
		printf("%s client loop: %d of %d echoes, %d bad bytes, %d of %d closed cleanly\n", ok ? "ok" : "FAIL",
		       echoed, cli.n * NMSG, bad, cli.finished, cli.n);
		pass += ok, fail += !ok;
	}
	for (k = 0; k < NSERVERS; k++)
		free(srv[k].c);
	free(cli.c);
	printf("adapter-threads: %d passed, %d failed\n", pass, fail);
	return fail != 0;
}
