/* lwIP's compiler and platform definitions for Mica (lwIP's arch/cc.h, included by
 * lwip/arch.h). C, because lwIP is C; the functions declared here are in net/lwip/sys_arch.cc.
 * The kernel is freestanding: <stddef.h>, <stdint.h> and <limits.h> come from GCC, and lwIP's
 * own replacements stand in for <inttypes.h> and <ctype.h>, which the kernel does not have. */
#ifndef MICA_LWIP_ARCH_CC_H
#define MICA_LWIP_ARCH_CC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Both architectures Mica runs on are little-endian (lwip/arch.h's default). */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "lwIP port: Mica's targets are little-endian"
#endif

/* No <inttypes.h>: the printf formats lwIP's diagnostics use, for Mica's kprintf. */
#define LWIP_NO_INTTYPES_H 1
#define X8_F "02x"
#define U16_F "u"
#define S16_F "d"
#define X16_F "x"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "zu"

/* No <ctype.h> (lwIP then uses its own ASCII macros) and no <unistd.h>: ssize_t as on LP64
 * Linux. */
#define LWIP_NO_CTYPE_H 1
#define LWIP_NO_UNISTD_H 1
typedef long ssize_t;
#define SSIZE_MAX __LONG_MAX__

/* Byte swaps as single instructions rather than lwIP's shifts and masks. */
#define lwip_htons(x) ((uint16_t)__builtin_bswap16((uint16_t)(x)))
#define lwip_htonl(x) ((uint32_t)__builtin_bswap32((uint32_t)(x)))

/* Diagnostics go to the kernel console; a failed assertion is a kernel panic naming it. */
int mica_lwip_diag(const char* format, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void mica_lwip_assert(const char* message, const char* file, int line);
#define LWIP_PLATFORM_DIAG(x) do { mica_lwip_diag x; } while (0)
#define LWIP_PLATFORM_ASSERT(x) mica_lwip_assert((x), __FILE__, __LINE__)

/* Random numbers (DHCP and DNS transaction ids, the first ephemeral port) from the kernel's
 * generator, the one behind /dev/urandom. */
uint32_t mica_lwip_rand(void);
#define LWIP_RAND() mica_lwip_rand()

#ifdef __cplusplus
}
#endif

#endif /* MICA_LWIP_ARCH_CC_H */
