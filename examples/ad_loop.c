/* ad_loop: see ad_loop.h. */
#define _GNU_SOURCE
#include "ad_loop.h"
#include <limits.h>
#ifdef _WIN32
#include <windows.h>

/* Windows' monotonic clock in ms; it ticks every 10-16 ms, enough for
 * deadlines of seconds. */
int64_t ad_now(void) { return (int64_t)GetTickCount64(); }
#else
#include <time.h>

int64_t ad_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
#endif

int64_t ad_loop_now(ad_loop *l)
{
	if (!l->in_io)
		return ad_now();
	if (!l->now_valid)
		l->now = ad_now(), l->now_valid = 1;
	return l->now;
}

int ad_timeout(int64_t deadline, int64_t now)
{
	if (deadline < 0)
		return -1;
	return deadline <= now ? 0 : deadline - now > INT_MAX ? INT_MAX : (int)(deadline - now);
}

void ad_loop_init(ad_loop *l)
{
	l->in_io = l->now_valid = 0;
	ad_loop_wake(l);
}

void ad_loop_wake(ad_loop *l)
{
	l->handshakes = AD_WAKE_HANDSHAKES;
	l->accepts = AD_WAKE_ACCEPTS;
}

int ad_loop_accept(ad_loop *l)
{
	return l->accepts && l->handshakes ? (l->accepts--, 1) : 0;
}

void ad_loop_handshake(ad_loop *l)
{
	l->handshakes -= l->handshakes ? 1 : 0;
}
