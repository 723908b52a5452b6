/* Cortex-M startup for the target tests and examples: the vector table, a
 * reset handler that sets up C (copies .data from flash, zeroes .bss) and
 * calls main, and fault handlers that report instead of hanging. Output and
 * exit go through semihosting (newlib's librdimon: printf becomes a host
 * write, exit ends QEMU with the status), so no UART driver is needed.
 * MCU_PROG is the program's name, passed as argv[0]. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MCU_PROG
#define MCU_PROG "mcu"
#endif

int main(int argc, char **argv);
void initialise_monitor_handles(void); /* librdimon: opens stdin/stdout/stderr */
void mcu_reset(void);
void mcu_fault(void);

extern uint32_t __data_start__, __data_end__, __data_load__, __bss_start__, __bss_end__;
extern uint32_t __stack_top;

void mcu_reset(void)
{
	static char name[] = MCU_PROG;
	static char *argv[] = { name, NULL };
	uint32_t *src = &__data_load__, *dst = &__data_start__;

	while (dst < &__data_end__)
		*dst++ = *src++;
	for (dst = &__bss_start__; dst < &__bss_end__;)
		*dst++ = 0;
	initialise_monitor_handles();
	exit(main(1, argv));
}

/* newlib's exit() runs the C++ destructor lists, which end in _fini, usually
 * from crti.o/crtn.o that -nostartfiles leaves out. C has nothing to run. */
void _fini(void);
void _fini(void)
{
}

/* Any fault (a wild pointer, an unaligned access the core refuses, a stack
 * overflow into nothing) ends the run with a message and status 2, so a test
 * that crashes is counted as failed rather than hanging the build. */
void mcu_fault(void)
{
	fputs("mcu: fault\n", stderr);
	exit(2);
}

/* ARMv7-M: the initial stack pointer, then the handlers (B1.5.3). */
__attribute__((section(".vectors"), used))
static const uintptr_t vectors[16] = {
	(uintptr_t)&__stack_top,
	(uintptr_t)mcu_reset,
	(uintptr_t)mcu_fault, /* NMI */
	(uintptr_t)mcu_fault, /* HardFault */
	(uintptr_t)mcu_fault, /* MemManage */
	(uintptr_t)mcu_fault, /* BusFault */
	(uintptr_t)mcu_fault, /* UsageFault */
};
