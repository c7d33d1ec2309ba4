/*
 * strdict.h -- the one byte-string hash and string dictionary of the C core (CSV
 * categories, group-by string keys).  No Python; safe without the GIL (a dictionary
 * is used by one thread at a time).
 *
 * Hash: a string's key words are w0 = its first min(n, 8) bytes (zero-padded) and
 * w1 = its last 8 bytes when n > 8 (overlapping w0 when n < 16), else 0; equal
 * strings have equal words, and for n <= 16 equal words and lengths mean equal
 * strings.  The hash mixes n, w0, w1 and, for n > 16, the words in between.
 *
 * Dictionary: distinct byte strings -> dense int codes in first-seen order.  A slot
 * holds (high 32 bits of the hash << 32) | (code + 1), 0 when empty, so probing
 * touches the entries only on a likely match; each entry keeps its key words, so
 * strings of up to 16 bytes compare with two word compares.  The dictionary keeps its
 * own copy of the bytes (with TS_SLACK readable bytes past the end).
 */
#ifndef TS_UTIL_STRDICT_H
#define TS_UTIL_STRDICT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/bytes.h"

/* A 64-bit finalizer (MurmurHash3's fmix64): hash of an integer key. */
static inline uint64_t
ts_hash_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* The key words of s[0..n) (see above).  Reads 8 bytes at s: s needs TS_SLACK
 * readable bytes past its end. */
static inline void
ts_hash_key(const char *s, size_t n, uint64_t *w0, uint64_t *w1)
{
    *w0 = ts_prefix8(s, n);
#if TS_SWAR
    *w1 = n > 8 ? ts_load8(s + n - 8) : 0;
#else
    uint64_t w = 0;
    if (n > 8) {
        for (size_t i = 0; i < 8; i++) w |= (uint64_t)(uint8_t)s[n - 8 + i] << (8 * i);
    }
    *w1 = w;
#endif
}

/* ts_hash_key that reads only s[0..n) (same words). */
static inline void
ts_hash_key_safe(const char *s, size_t n, uint64_t *w0, uint64_t *w1)
{
    if (n >= 8) {
        ts_hash_key(s, n, w0, w1);
        return;
    }
    *w0 = ts_prefix8_safe(s, n);
    *w1 = 0;
}

/* Hash of s[0..n) with key words w0, w1 (ts_hash_key).  Reads only s[8..n-8). */
static inline uint64_t
ts_hash_words(const char *s, size_t n, uint64_t w0, uint64_t w1)
{
    uint64_t h = (0x9E3779B97F4A7C15ull ^ (uint64_t)n) + w0 * 0xbf58476d1ce4e5b9ull;
    h ^= w1 * 0x94d049bb133111ebull;
    for (size_t i = 8; i + 8 < n; i += 8) {
        uint64_t w;
#if TS_SWAR
        w = ts_load8(s + i);
#else
        w = ts_prefix8(s + i, 8);
#endif
        h = (h ^ (h >> 32) ^ w) * 0xbf58476d1ce4e5b9ull;
    }
    h ^= h >> 32;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 29;
    return h;
}

/* Hash of any s[0..n) (reads only those bytes); equal to ts_hash_words of its key. */
static inline uint64_t
ts_hash_bytes(const char *s, size_t n)
{
    uint64_t w0, w1;
    ts_hash_key_safe(s, n, &w0, &w1);
    return ts_hash_words(s, n, w0, w1);
}

typedef struct {
    uint64_t w0, w1;      /* key words of the string */
    uint32_t off, len;    /* its bytes: bytes[off .. off + len) */
} ts_strdict_entry;

typedef struct {
    uint64_t *slots;
    size_t mask;          /* slot count - 1 (0 slots until the first add) */
    ts_strdict_entry *ent;  /* code -> entry */
    size_t count, cap;
    char *bytes;          /* the strings back to back (+ TS_SLACK bytes) */
    size_t blen, bcap;
} ts_strdict;

/* A zeroed ts_strdict is empty and ready.  Frees its memory and zeroes it. */
void ts_strdict_free(ts_strdict *d);

/* Adds s[0..n), not present, with key words w0, w1 and hash h: its new code, or -1
 * out of memory, -2 too many strings or bytes (codes and offsets stay int32). */
int64_t ts_strdict_add(ts_strdict *d, const char *s, size_t n, uint64_t w0, uint64_t w1, uint64_t h);

/* Code of s[0..n) with key words w0, w1 and hash h, or -1 when absent. */
static inline int64_t
ts_strdict_find(const ts_strdict *d, const char *s, size_t n, uint64_t w0, uint64_t w1, uint64_t h)
{
    if (d->slots == NULL) return -1;
    uint64_t tag = h & 0xFFFFFFFF00000000ull;
    size_t i = (size_t)h & d->mask;
    uint64_t v;
    while ((v = d->slots[i]) != 0) {
        if ((v & 0xFFFFFFFF00000000ull) == tag) {
            size_t c = (size_t)(uint32_t)v - 1;
            const ts_strdict_entry *e = &d->ent[c];
            if (e->w0 == w0 && e->w1 == w1 && e->len == n &&
                (n <= 16 || memcmp(d->bytes + e->off + 8, s + 8, n - 16) == 0)) {
                return (int64_t)c;
            }
        }
        i = (i + 1) & d->mask;
    }
    return -1;
}

/* Code of s[0..n), added when new: >= 0, or -1 / -2 as ts_strdict_add.  s needs
 * TS_SLACK readable bytes past its end (the lookup is inlined; adding is not). */
static inline int64_t
ts_strdict_intern(ts_strdict *d, const char *s, size_t n)
{
    uint64_t w0, w1;
    ts_hash_key(s, n, &w0, &w1);
    uint64_t h = ts_hash_words(s, n, w0, w1);
    int64_t c = ts_strdict_find(d, s, n, w0, w1, h);
    return c >= 0 ? c : ts_strdict_add(d, s, n, w0, w1, h);
}

/* ts_strdict_intern for any s[0..n) (reads only those bytes). */
static inline int64_t
ts_strdict_intern_safe(ts_strdict *d, const char *s, size_t n)
{
    uint64_t w0, w1;
    ts_hash_key_safe(s, n, &w0, &w1);
    uint64_t h = ts_hash_words(s, n, w0, w1);
    int64_t c = ts_strdict_find(d, s, n, w0, w1, h);
    return c >= 0 ? c : ts_strdict_add(d, s, n, w0, w1, h);
}

/* The bytes of code c (0 <= c < count) and their length. */
static inline const char *
ts_strdict_str(const ts_strdict *d, size_t c, size_t *len)
{
    *len = d->ent[c].len;
    return d->bytes + d->ent[c].off;
}

#endif
