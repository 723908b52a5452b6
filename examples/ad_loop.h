/* ad_loop: what the connections of one thread share (the read buffer, the
 * clock, each wake-up's allowance of work and accepts); part of the adapter
 * (adapter.h). One per thread: nothing in the adapter is a process global,
 * so threads that each run their own loop need no locks.
 *
 * Fairness: each ad_io() reads and queues at most 64 KiB before it yields;
 * each wake-up of the host loop (ad_loop_wake) accepts at most
 * AD_WAKE_ACCEPTS connections, and none once AD_WAKE_HANDSHAKES steps of
 * transports' own handshakes ran (a TLS step costs public-key operations,
 * milliseconds). So a wake-up's handshake work is bounded by what its
 * accepts and the handshakes under way bring, and a flood of ClientHellos
 * delays a connected peer's echo by about that: new connections wait in the
 * listen queue, in order, not in our loop. Bytes are not counted against
 * accepts: under heavy traffic new peers would wait for a quiet moment. */
#ifndef AD_LOOP_H
#define AD_LOOP_H

#include <stddef.h>
#include <stdint.h>

#define AD_RBUF (64 * 1024)    /* largest read; a carry buffer's size */
#define AD_WAKE_ACCEPTS 16     /* connections one wake-up may accept */
#define AD_WAKE_HANDSHAKES 4   /* handshake steps after which it accepts no more */

typedef struct ad_loop {
	uint8_t rbuf[AD_RBUF];        /* every read lands here first */
	size_t turn;                  /* bytes left in the running ad_io()'s work budget */
	unsigned accepts, handshakes; /* left in this wake-up */
	int64_t now;                  /* the clock, read once per stretch of ad_io() */
	unsigned char in_io, now_valid;
} ad_loop;

/* Monotonic milliseconds. */
int64_t ad_now(void);
/* The loop's clock: inside ad_io() one reading serves the whole call (what
 * it read and wrote is stamped the same millisecond anyway); outside it (the
 * program calling ad_send() from a timer) every call reads the clock. */
int64_t ad_loop_now(ad_loop *l);
/* Milliseconds from now until deadline, for poll()/epoll_wait(): never
 * negative, -1 for no deadline (deadline < 0). */
int ad_timeout(int64_t deadline, int64_t now);
void ad_loop_init(ad_loop *l);
/* At each wake-up of the host loop, before its connections run: a fresh
 * allowance of work and accepts. */
void ad_loop_wake(ad_loop *l);
/* Takes one accept from the wake-up's allowance: 1, or 0 when it is spent
 * or the wake-up's work is (leave the rest in the listen queue, first come
 * first served; level-triggered readiness brings the loop back for them
 * after the connected peers had their turn). */
int ad_loop_accept(ad_loop *l);
/* Counts a step of a transport's handshake (done by ad_io(); call it for
 * handshakes you drive yourself, as h2-server does before ALPN). */
void ad_loop_handshake(ad_loop *l);

#endif
