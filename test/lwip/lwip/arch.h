/* Stand-in for lwIP 2.x's lwip/arch.h (test/lwip/: lwIP is not packaged in
 * Debian): the integer types, as lwIP defines them from <stdint.h>. */
#ifndef LWIP_HDR_ARCH_H
#define LWIP_HDR_ARCH_H

#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8_t;
typedef int8_t s8_t;
typedef uint16_t u16_t;
typedef int16_t s16_t;
typedef uint32_t u32_t;
typedef int32_t s32_t;

#define LWIP_UNUSED_ARG(x) (void)(x)

#endif
