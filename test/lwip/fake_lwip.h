/* The test's side of test/lwip/fake_lwip.c: a stand-in for lwIP's TCP with
 * one listener and simulated connections. The test plays the client: it
 * sends bytes that the fake hands to the server's recv callback as pbufs
 * (within lwIP's receive window, in segments of a chosen size), reads what the
 * server tcp_write()s and tcp_output()s (each read acknowledges: tcp_sndbuf()
 * grows and the sent callback runs), sends a FIN or a RST, and advances the
 * timers (refused pbufs offered again, poll callbacks). */
#ifndef FAKE_LWIP_H
#define FAKE_LWIP_H

#include <stddef.h>
#include "lwip/tcp.h"

/* How a connection ended, as seen from the client. */
enum {
	FAKE_OPEN = 0,
	FAKE_FIN,       /* the server called tcp_close() with every byte received tcp_recved() */
	FAKE_CLOSE_RST, /* tcp_close() with unread data: lwIP answers with a RST */
	FAKE_ABORTED,   /* the server called tcp_abort() */
	FAKE_RESET      /* the client sent a RST: the server's err callback ran */
};

struct fake_opts {
	u16_t snd_buf;   /* tcp_sndbuf() of a new connection (lwIP: TCP_SND_BUF) */
	size_t chunk;    /* bytes per recv callback at most; 0: TCP_MSS (a whole segment) */
	size_t seg;      /* bytes per pbuf of a chain at most; 0: one pbuf */
	int random;      /* chunk sizes random in 1..chunk */
	int write_fail;  /* every write_fail-th tcp_write() says ERR_MEM anyway; 0: never */
	unsigned seed;
};

struct fake_stats {
	unsigned write_mem;   /* tcp_write() answered ERR_MEM */
	unsigned sndbuf_zero; /* tcp_sndbuf() went down to 0 */
	unsigned refused;     /* the recv callback answered ERR_MEM (lwIP keeps the pbuf) */
	unsigned errors;      /* misuse of the API by the server; each printed */
	unsigned long moved;  /* bytes moved either way, and FINs: progress */
};

extern struct fake_opts fake_opts;
extern struct fake_stats fake_stats;

void fake_reset_stats(void);
/* A client connects to port: the listener's accept callback runs. Returns
 * the connection's id (valid until fake_reset), or -1 with no listener. */
int fake_connect(u16_t port);
void fake_send(int id, const void *data, size_t len);
/* Offers what the client sent (refused data first) to the server. */
void fake_deliver(int id);
/* Reads up to max bytes the server sent; acknowledges them. */
size_t fake_read(int id, void *buf, size_t max);
size_t fake_readable(int id);
int fake_eof(int id);  /* the server's FIN arrived and every byte before it was read */
void fake_fin(int id);
void fake_rst(int id);
int fake_state(int id);
struct tcp_pcb *fake_pcb(int id);
/* tcp_fasttmr/tcp_slowtmr: refused data offered again, poll callbacks. */
void fake_tick(void);
long fake_pbufs_live(void);

#endif
