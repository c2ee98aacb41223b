/* Freestanding helpers for the packet pipeline: the same code compiles for
 * BPF (clang -target bpf), for DPDK/AF_XDP userspace and for native tests. */
#ifndef GW_PIPELINE_COMPILER_H
#define GW_PIPELINE_COMPILER_H

#include <linux/types.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#ifndef likely
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

/* Loops the BPF verifier must see unrolled (clang); gcc builds of the same
 * headers (DPDK driver, native tests) just run them. */
#ifdef __clang__
#define GW_UNROLL _Pragma("unroll")
#else
#define GW_UNROLL
#endif

#define gw_memcpy __builtin_memcpy
#define gw_memset __builtin_memset

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define gw_htons(x) ((__be16)__builtin_bswap16((__u16)(x)))
#define gw_ntohs(x) ((__u16)__builtin_bswap16((__u16)(x)))
#define gw_htonl(x) ((__be32)__builtin_bswap32((__u32)(x)))
#define gw_ntohl(x) ((__u32)__builtin_bswap32((__u32)(x)))
#else
#define gw_htons(x) ((__be16)(x))
#define gw_ntohs(x) ((__u16)(x))
#define gw_htonl(x) ((__be32)(x))
#define gw_ntohl(x) ((__u32)(x))
#endif

/* Compile-time constant byte swaps, for switch labels. */
#define GW_BE16(x) ((__be16)((((x)&0xff) << 8) | (((x) >> 8) & 0xff)))

#endif
