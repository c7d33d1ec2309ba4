/*
 * utf8.h -- the one UTF-8 validator (strict: no overlong forms, no surrogates,
 * nothing above U+10FFFF), used by the CSV reader, column construction and Arrow
 * import.  No Python; safe without the GIL.
 */
#ifndef TS_UTIL_UTF8_H
#define TS_UTIL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Offset of the first byte of the first invalid (or truncated) UTF-8 sequence in
 * s[0..n), or -1 when all of it is valid.  ASCII runs are skipped 32 bytes at a time. */
int64_t ts_utf8_invalid_at(const uint8_t *s, size_t n);

/* 1 when s[0..n) is valid UTF-8; else 0 with the offset of the first bad sequence in
 * *bad. */
static inline int
ts_utf8_valid(const uint8_t *s, size_t n, int64_t *bad)
{
    int64_t at = ts_utf8_invalid_at(s, n);
    if (at < 0) return 1;
    *bad = at;
    return 0;
}

#endif
