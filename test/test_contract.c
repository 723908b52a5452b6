/* The placement every other test relies on (test/contract.c): bytes placed
 * against a PROT_NONE page, read-only tails, guard bytes. If placement stopped
 * faulting, over-reads and writes to unconsumed bytes would pass unseen. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "contract.h"
#include "harness.h"

static sigjmp_buf env;
static volatile sig_atomic_t armed;

static void on_fault(int sig)
{
	(void)sig;
	if (armed) {
		armed = 0;
		siglongjmp(env, 1);
	}
	abort();
}

/* 1 if reading (write 0) or writing (write 1) p faults. */
static int faults(volatile uint8_t *p, int write)
{
	struct sigaction sa, old_segv, old_bus;
	int hit;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_fault;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	if (!(hit = sigsetjmp(env, 1))) {
		armed = 1;
		if (write)
			*p = *p;
		else
			(void)*p;
		armed = 0;
	}
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	return hit;
}

static uint8_t src[300000];

/* Places len bytes with tail ro_tail and checks every promise of ct_place(). */
static void place_case(ct_arena *a, size_t len, size_t ro_tail)
{
	const uint8_t *after;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), nafter = 0, tail = ro_tail == CT_END ? 0 : ro_tail;
	uint8_t *p = ct_place(a, src, len, ro_tail, &after, &nafter);
	/* The PROT_NONE page: right after the copy, or after the tail's pages. */
	uint8_t *guard = p + len - tail + (tail + page - 1) / page * page;

	CHECK_MEM(p, src, len);
	CHECK(after == p + len);
	CHECK(faults(guard, 0));
	if (guard > p)
		CHECK(!faults(guard - 1, 0));
	if (ro_tail == CT_END)
		CHECK(guard == p + len && nafter == 0);
	for (size_t i = 0; i < nafter; i++)
		CHECK_INT(after[i], CT_GUARD_BYTE);
	if (nafter) /* guard bytes sit on the read-only pages */
		CHECK(faults((uint8_t *)after, 1));
	if (len > tail) { /* the bytes the call may consume are writable */
		CHECK(!faults(p, 1));
		CHECK(!faults(p + len - tail - 1, 1));
	}
	if (tail) { /* the ones it must leave are not, first to last */
		CHECK(faults(p + len - tail, 1));
		CHECK(faults(p + len - 1, 1));
		CHECK(!faults(p + len - 1, 0));
	}
	CHECK_MEM(p, src, len); /* the writes above put back what they read */
	ct_unplace(a);
}

static void placement(void)
{
	static const size_t lens[] = { 0, 1, 2, 100, 4095, 4096, 4097, 65536 + 14, 150000, 290000 };
	ct_arena a = { 0 };

	for (size_t i = 0; i < sizeof src; i++)
		src[i] = (uint8_t)(i * 7 + i / 251);
	/* Growing and shrinking, every kind of tail: none, small, a page, a tail
	 * of 32 pages or more (a view of its own), the whole input. */
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		size_t n = lens[i];
		place_case(&a, n, CT_END);
		place_case(&a, n, 0);
		if (n)
			place_case(&a, n, 1);
		if (n > 4096)
			place_case(&a, n, 4096);
		if (n > 40 * 4096)
			place_case(&a, n, 40 * 4096 + 3);
		place_case(&a, n, n);
	}
	ct_arena_free(&a);
}

int main(void)
{
	RUN(placement);
	return t_done("test_contract");
}
