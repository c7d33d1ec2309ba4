/*
 * bytes.h -- word-at-a-time byte helpers shared by the hash, the string dictionary
 * and the CSV tokenizer.  No Python.
 */
#ifndef TS_UTIL_BYTES_H
#define TS_UTIL_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Eight bytes at a time on little-endian GCC/Clang builds, a byte loop elsewhere. */
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define TS_SWAR 1
/* High bit set in each byte of x equal to the byte broadcast in pat (exact for the
 * lowest such byte, which is all the caller uses). */
static inline uint64_t
ts_has_byte(uint64_t x, uint64_t pat)
{
    uint64_t y = x ^ pat;
    return (y - 0x0101010101010101ull) & ~y & 0x8080808080808080ull;
}
#else
#define TS_SWAR 0
#endif

#if defined(__GNUC__)
#define TS_NOINLINE __attribute__((noinline))
#else
#define TS_NOINLINE
#endif

/* Buffers whose strings are read with ts_prefix8 / ts_hash_key have this many
 * readable bytes past their end, so short strings load as one 8-byte word. */
#define TS_SLACK 16

/* An unaligned 8-byte load. */
static inline uint64_t
ts_load8(const char *s)
{
    uint64_t w;
    memcpy(&w, s, 8);
    return w;
}

/* The first min(n, 8) bytes of s as a zero-padded little-endian word.  Reads 8
 * bytes: s needs TS_SLACK readable bytes past s[n] (see ts_prefix8_safe). */
static inline uint64_t
ts_prefix8(const char *s, size_t n)
{
#if TS_SWAR
    uint64_t w;
    memcpy(&w, s, 8);
    if (n >= 8) return w;
    if (n == 0) return 0;
    return w & (~0ull >> (64 - 8 * n));
#else
    uint64_t w = 0;
    for (size_t i = 0; i < n && i < 8; i++) w |= (uint64_t)(uint8_t)s[i] << (8 * i);
    return w;
#endif
}

/* ts_prefix8 that reads only s[0..n). */
static inline uint64_t
ts_prefix8_safe(const char *s, size_t n)
{
#if TS_SWAR
    uint64_t w = 0;
    memcpy(&w, s, n < 8 ? n : 8);
    return w;
#else
    return ts_prefix8(s, n);
#endif
}

#endif
