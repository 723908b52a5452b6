/* examples/lwip_echo.c driven through a stand-in for lwIP's TCP
 * (fake_lwip.c), with a libws client on the other end. The same sessions run
 * with input handed over in whole segments (TCP_MSS bytes, as much as lwIP
 * hands over at once in order), a byte at a time, and at random split points
 * (pbuf chains of random lengths, random tcp_write() failures, the client
 * reading in random pieces); the client's events must be the same in every
 * run. in[] is smaller than lwIP's window here, so that the recv callback's
 * ERR_MEM is exercised too. */
#define ECHO_PEERS 3
#define ECHO_IN_SIZE 1024
#include "../../examples/lwip_echo.c"

#include <stdio.h>
#include <stdlib.h>
#include "fake_lwip.h"

#define PORT 8080

static int passed, failed;
static const char *run_name = "";

static void check(const char *what, int ok)
{
	if (ok)
		passed++;
	else
		failed++;
	printf("%s %s: %s\n", ok ? "ok  " : "FAIL", run_name, what);
}

/* ---- the client ---- */

static int client_rand(void *ctx, void *buf, size_t len)
{
	unsigned *s = ctx;
	uint8_t *b = buf;

	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(*s = *s * 1103515245u + 12345u) >> 16;
	return 0;
}

static unsigned rand_state;
static ws_config client_cfg;
static struct lwip_echo server;

struct client {
	int id;
	ws_conn ws;
	uint8_t in[1 << 17], out[1 << 16], msg[1 << 16];
	size_t have;
	ws_assembler as;
	int eof;
	char *log;     /* shared by the clients of a run */
	size_t log_cap;
};

static unsigned read_rng = 7;

static void logf_(struct client *c, const char *s)
{
	size_t len = strlen(c->log), n = strlen(s);

	if (len + n + 1 < c->log_cap)
		memcpy(c->log + len, s, n + 1);
}

static uint32_t fnv(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

/* Reads what the server sent, in pieces as the run says, and logs each
 * whole message and control event. Returns bytes read. */
static size_t client_read(struct client *c)
{
	size_t total = 0, used, max;
	char line[160];
	ws_event ev;
	int rc;

	for (;;) {
		max = sizeof c->in - c->have;
		if (fake_opts.chunk == 1)
			max = 1;
		else if (fake_opts.random)
			max = 1 + (read_rng = read_rng * 1103515245u + 12345u) % 700;
		size_t n = fake_read(c->id, c->in + c->have, max);
		if (!n)
			break;
		total += n;
		c->have += n;
		size_t off = 0;
		do {
			rc = ws_conn_recv(&c->ws, c->in + off, c->have - off, &used, &ev);
			off += used;
			line[0] = 0;
			if (rc < 0)
				snprintf(line, sizeof line, "client error %s\n", ws_status_name(rc));
			else if (ev.type == WS_EV_OPEN)
				snprintf(line, sizeof line, "OPEN %u\n", ev.http.status);
			else if (ev.type == WS_EV_TEXT || ev.type == WS_EV_BINARY) {
				if (ws_assembler_add(&c->as, &ev) == 1)
					snprintf(line, sizeof line, "%s %u %08x\n", c->as.type == WS_EV_TEXT ? "TEXT" : "BINARY",
					         (unsigned)c->as.len, (unsigned)fnv(c->as.buf, c->as.len));
			} else if (ev.type == WS_EV_PONG)
				snprintf(line, sizeof line, "PONG %.*s\n", (int)ev.len, (char *)ev.data);
			else if (ev.type == WS_EV_PING)
				snprintf(line, sizeof line, "PING\n");
			else if (ev.type == WS_EV_CLOSE)
				snprintf(line, sizeof line, "CLOSE %u\n", ev.code);
			else if (ev.type == WS_EV_REJECTED)
				snprintf(line, sizeof line, "REJECTED %u\n", ev.http.status);
			logf_(c, line);
		} while (rc == WS_OK && ev.type != WS_EV_NONE);
		memmove(c->in, c->in + off, c->have - off);
		c->have -= off;
		if (rc < 0)
			break;
	}
	if (!c->eof && fake_eof(c->id)) {
		c->eof = 1;
		logf_(c, "EOF\n");
	}
	return total;
}

/* Runs both ends until nothing moves, timers included. */
static void pump(struct client *c)
{
	for (int idle = 0, round = 0; idle < 3 && round < 1000000; round++) {
		unsigned long before = fake_stats.moved;
		fake_deliver(c->id);
		client_read(c);
		if (fake_stats.moved == before) {
			fake_tick();
			idle++;
		} else {
			idle = 0;
		}
	}
}

static void client_send(struct client *c, unsigned op, unsigned flags, const void *data, size_t len)
{
	size_t n;

	if (ws_conn_send(&c->ws, op, flags, data, len, c->out, sizeof c->out, &n) == WS_OK)
		fake_send(c->id, c->out, n);
	else
		logf_(c, "client send failed\n");
}

/* Connects and sends the upgrade request. */
static int client_open(struct client *c, char *log, size_t cap, int handshake)
{
	static const ws_connect_opts opts = { "board.local", "/echo", NULL, NULL, NULL };
	size_t n;

	memset(c, 0, sizeof *c);
	c->log = log;
	c->log_cap = cap;
	c->id = fake_connect(PORT);
	ws_conn_init(&c->ws, sizeof c->ws, &client_cfg);
	ws_assembler_init(&c->as, c->msg, sizeof c->msg);
	if (c->id < 0 || fake_state(c->id) != FAKE_OPEN)
		return -1;
	if (handshake) {
		ws_conn_connect(&c->ws, &opts, c->out, sizeof c->out, &n);
		fake_send(c->id, c->out, n);
		pump(c);
	}
	return 0;
}

static int peers_free(void)
{
	int n = 0;

	for (int i = 0; i < ECHO_PEERS; i++)
		n += !server.peer[i].pcb;
	return n;
}

static struct echo_peer *peer_of(struct client *c)
{
	for (int i = 0; i < ECHO_PEERS; i++)
		if (server.peer[i].pcb == fake_pcb(c->id))
			return &server.peer[i];
	return NULL;
}

static int logged(const struct client *c, const char *line)
{
	return strstr(c->log, line) != NULL;
}

/* ---- the sessions ---- */

static uint8_t big[5000], many[3][900];
static char big_line[64];

/* Handshake, text, binary, a message larger than lwIP's send buffer,
 * ping, input while output is full, a fragmented message, close 1000. */
static void session_main(char *log, size_t cap)
{
	static struct client c;
	char line[64];
	unsigned wm, refused;

	check("connection accepted", client_open(&c, log, cap, 1) == 0);
	check("handshake: OPEN 101", logged(&c, "OPEN 101\n"));

	client_send(&c, WS_OP_TEXT, 0, "hello, lwIP", 11);
	pump(&c);
	snprintf(line, sizeof line, "TEXT 11 %08x\n", (unsigned)fnv((const uint8_t *)"hello, lwIP", 11));
	check("text echoed", logged(&c, line));

	client_send(&c, WS_OP_BINARY, 0, big, 300);
	pump(&c);
	snprintf(line, sizeof line, "BINARY 300 %08x\n", (unsigned)fnv(big, 300));
	check("binary echoed", logged(&c, line));

	wm = fake_stats.sndbuf_zero + fake_stats.write_mem;
	client_send(&c, WS_OP_BINARY, 0, big, sizeof big);
	pump(&c);
	check("5000-byte message echoed through a 1072-byte send buffer", logged(&c, big_line));
	check("tcp_sndbuf() ran out on the way (backpressure path taken)",
	      fake_stats.sndbuf_zero + fake_stats.write_mem > wm);

	client_send(&c, WS_OP_PING, 0, "tick", 4);
	pump(&c);
	check("ping answered with pong", logged(&c, "PONG tick\n"));

	/* Three messages while the client reads nothing: output fills, input
	 * waits in in[], then the recv callback refuses (ERR_MEM). */
	refused = fake_stats.refused;
	for (int i = 0; i < 3; i++)
		client_send(&c, WS_OP_BINARY, 0, many[i], sizeof many[i]);
	fake_deliver(c.id);
	fake_deliver(c.id);
	{
		struct echo_peer *p = peer_of(&c);
		check("output full: input held in in[]", p && p->have > 0 && sizeof p->out - p->out_len < REPLY_ROOM);
	}
	check("input offered while output full refused with ERR_MEM", fake_stats.refused > refused);
	pump(&c);
	for (int i = 0; i < 3; i++) {
		snprintf(line, sizeof line, "BINARY 900 %08x\n", (unsigned)fnv(many[i], sizeof many[i]));
		check("held input echoed once output drained", logged(&c, line));
	}

	client_send(&c, WS_OP_TEXT, WS_SEND_MORE, "frag", 4);
	client_send(&c, WS_OP_PING, 0, "mid", 3);
	client_send(&c, WS_OP_CONTINUATION, WS_SEND_MORE, "men", 3);
	client_send(&c, WS_OP_CONTINUATION, 0, "ted", 3);
	pump(&c);
	snprintf(line, sizeof line, "TEXT 10 %08x\n", (unsigned)fnv((const uint8_t *)"fragmented", 10));
	check("fragmented message echoed, ping between fragments answered",
	      logged(&c, line) && logged(&c, "PONG mid\n"));

	{
		size_t n;
		ws_conn_close(&c.ws, WS_CLOSE_NORMAL, "bye", 3, c.out, sizeof c.out, &n);
		fake_send(c.id, c.out, n);
	}
	pump(&c);
	check("close 1000 echoed", logged(&c, "CLOSE 1000\n"));
	check("server closed TCP with a FIN (no RST)", fake_state(c.id) == FAKE_FIN && c.eof);
	check("peer slot released", peers_free() == ECHO_PEERS);
}

/* The client's FIN: input held before it is still echoed, then the server
 * closes; a FIN in the middle of the handshake. */
static void session_fin(char *log, size_t cap)
{
	static struct client c;
	char line[64];

	client_open(&c, log, cap, 1);
	client_send(&c, WS_OP_BINARY, 0, big, sizeof big);
	fake_fin(c.id);
	pump(&c);
	snprintf(line, sizeof line, "BINARY %u %08x\n", (unsigned)sizeof big, (unsigned)fnv(big, sizeof big));
	check("FIN after a message: the message is echoed first", logged(&c, line));
	check("FIN: server closes with a FIN, slot released",
	      fake_state(c.id) == FAKE_FIN && c.eof && peers_free() == ECHO_PEERS);

	client_open(&c, log, cap, 0);
	fake_send(c.id, "GET /echo HTTP/1.1\r\nHost: bo", 29);
	fake_fin(c.id);
	pump(&c);
	check("FIN during the handshake: closed, nothing sent",
	      fake_state(c.id) == FAKE_FIN && c.eof && peers_free() == ECHO_PEERS);
}

/* Errors: a RST from the client (tcp_err), a request that is no upgrade
 * (400), a protocol error (1002), the pool exhausted (tcp_abort). */
static void session_errors(char *log, size_t cap)
{
	static struct client c, all[ECHO_PEERS + 1];
	static const uint8_t unmasked[] = { 0x81, 0x02, 'h', 'i' };
	char raw[512];
	size_t n;
	int ok;

	client_open(&c, log, cap, 1);
	client_send(&c, WS_OP_TEXT, 0, "x", 1);
	fake_rst(c.id);
	pump(&c);
	check("RST from the client: err callback released the slot",
	      fake_state(c.id) == FAKE_RESET && peers_free() == ECHO_PEERS);

	client_open(&c, log, cap, 0); /* no WebSocket client: the bytes are read raw */
	fake_send(c.id, "GET / HTTP/1.1\r\nHost: board.local\r\n\r\n", 38);
	for (int round = n = 0; !fake_eof(c.id) && n < sizeof raw - 1 && round < 100; round++) {
		unsigned long before = fake_stats.moved;
		fake_deliver(c.id);
		n += fake_read(c.id, raw + n, sizeof raw - 1 - n);
		if (fake_stats.moved == before)
			fake_tick();
	}
	raw[n] = 0;
	logf_(&c, strncmp(raw, "HTTP/1.1 400", 12) == 0 ? "HTTP 400\n" : "HTTP other\n");
	check("plain HTTP request: 400, then FIN", strncmp(raw, "HTTP/1.1 400", 12) == 0 &&
	      fake_state(c.id) == FAKE_FIN && peers_free() == ECHO_PEERS);

	client_open(&c, log, cap, 1);
	fake_send(c.id, unmasked, sizeof unmasked);
	pump(&c);
	check("unmasked frame: close 1002, then FIN", logged(&c, "CLOSE 1002\n") &&
	      fake_state(c.id) == FAKE_FIN && peers_free() == ECHO_PEERS);

	ok = 1;
	for (int i = 0; i < ECHO_PEERS; i++)
		ok &= client_open(&all[i], log, cap, 1) == 0;
	check("pool: ECHO_PEERS connections accepted", ok && peers_free() == 0);
	client_open(&all[ECHO_PEERS], log, cap, 0);
	check("pool exhausted: the next one aborted (accept returned ERR_ABRT)",
	      fake_state(all[ECHO_PEERS].id) == FAKE_ABORTED);
	for (int i = 0; i < ECHO_PEERS; i++)
		client_send(&all[i], WS_OP_TEXT, 0, "still here", 10);
	for (int i = 0; i < ECHO_PEERS; i++)
		pump(&all[i]);
	ok = 1;
	for (int i = 0; i < ECHO_PEERS; i++)
		ok &= fake_state(all[i].id) == FAKE_OPEN;
	check("pool exhausted: the others still served", ok);
	for (int i = 0; i < ECHO_PEERS; i++) {
		ws_conn_close(&all[i].ws, WS_CLOSE_GOING_AWAY, NULL, 0, all[i].out, sizeof all[i].out, &n);
		fake_send(all[i].id, all[i].out, n);
		pump(&all[i]);
	}
	check("pool: every slot free again after the closes", peers_free() == ECHO_PEERS);
}

struct run {
	const char *name;
	size_t chunk, seg;
	int random, write_fail;
	unsigned seed;
	char log[16384];
};

static struct run runs[] = {
	{ "whole", 0, 0, 0, 0, 1, "" }, /* each segment whole: TCP_MSS bytes, one pbuf */
	{ "bytewise", 1, 1, 0, 0, 1, "" },
	{ "random-1", 536, 97, 1, 3, 11, "" },
	{ "random-2", 200, 13, 1, 5, 23, "" },
	{ "random-3", 536, 0, 1, 2, 97, "" },
};

int main(void)
{
	size_t i;

	for (i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 7 + (i >> 8));
	for (i = 0; i < sizeof many[0]; i++)
		many[0][i] = (uint8_t)i, many[1][i] = (uint8_t)(i * 3), many[2][i] = (uint8_t)(255 - i);
	snprintf(big_line, sizeof big_line, "BINARY %u %08x\n", (unsigned)sizeof big, (unsigned)fnv(big, sizeof big));

	ws_config_init(&client_cfg, WS_ROLE_CLIENT);
	client_cfg.rand = client_rand;
	client_cfg.rand_ctx = &rand_state;

	run_name = "setup";
	check("lwip_echo_start listens", lwip_echo_start(&server, PORT) == ERR_OK);
	for (i = 0; i < sizeof runs / sizeof runs[0]; i++) {
		struct run *r = &runs[i];
		run_name = r->name;
		rand_state = 1;
		read_rng = 7;
		fake_opts.chunk = r->chunk;
		fake_opts.seg = r->seg;
		fake_opts.random = r->random;
		fake_opts.write_fail = r->write_fail;
		fake_opts.seed = r->seed;
		fake_reset_stats();
		session_main(r->log, sizeof r->log);
		session_fin(r->log, sizeof r->log);
		session_errors(r->log, sizeof r->log);
		check("no misuse of the lwIP API", fake_stats.errors == 0);
		check("every pbuf freed", fake_pbufs_live() == 0);
		if (i > 0 && strcmp(r->log, runs[0].log) != 0)
			printf("%s run's events:\n%s", r->name, r->log);
		if (i > 0)
			check("client events identical to the whole run", strcmp(r->log, runs[0].log) == 0);
	}
	if (failed)
		printf("whole run's events:\n%s", runs[0].log);
	printf("lwip: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
