/*
 * numparse.h -- locale-independent, exact parsing of integers, decimal floats and
 * dates from byte ranges (not NUL-terminated).  No function here touches Python
 * objects, so all of them may run without the GIL.
 */
#ifndef TS_NUMPARSE_H
#define TS_NUMPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "util/civil.h"

#define TS_NUM_BAD 0       /* not valid syntax */
#define TS_NUM_OK 1        /* parsed; result stored */
#define TS_NUM_SLOW 2      /* valid float syntax, but needs the exact slow path */
#define TS_NUM_OVERFLOW 3  /* integer syntax, out of int64 range */

/* Skips an optional leading '+' or '-' at *p (before e); returns 1 for '-'. */
static inline int
ts_parse_sign(const char **p, const char *e)
{
    if (*p < e && (**p == '-' || **p == '+')) return *(*p)++ == '-';
    return 0;
}

/* [+-]digits -> int64.  Returns TS_NUM_OK, TS_NUM_BAD or TS_NUM_OVERFLOW.
 * (inline: it runs once per field of an integer column) */
static inline int
ts_parse_int64(const char *s, size_t n, int64_t *out)
{
    const char *p = s, *e = s + n;
    int neg = ts_parse_sign(&p, e);
    if (p == e) return TS_NUM_BAD;
    uint64_t v = 0;
    if (e - p <= 18) {
        /* at most 18 digits cannot overflow: no per-digit range check */
        for (; p < e; p++) {
            unsigned d = (unsigned)(unsigned char)*p - '0';
            if (d > 9) return TS_NUM_BAD;
            v = v * 10 + d;
        }
        *out = neg ? -(int64_t)v : (int64_t)v;
        return TS_NUM_OK;
    }
    int over = 0;
    for (; p < e; p++) {
        unsigned d = (unsigned)(unsigned char)*p - '0';
        if (d > 9) return TS_NUM_BAD;
        if (v > (UINT64_MAX - d) / 10) over = 1;
        else v = v * 10 + d;
    }
    if (over) return TS_NUM_OVERFLOW;
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1) return TS_NUM_OVERFLOW;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    }
    else {
        if (v > (uint64_t)INT64_MAX) return TS_NUM_OVERFLOW;
        *out = (int64_t)v;
    }
    return TS_NUM_OK;
}


/* Python float() syntax without underscores or surrounding spaces:
 * [+-](digits[.digits]|.digits)[(e|E)[+-]digits], and when `special` is set also
 * inf, infinity and nan (any case).  Returns TS_NUM_OK when the result is exact by
 * the Clinger fast path (mantissa <= 2**53 and an exactly representable power of
 * ten), TS_NUM_SLOW when the syntax is valid but the correctly rounded result needs
 * a big-number conversion (the caller uses PyOS_string_to_double), TS_NUM_BAD. */
int ts_parse_float(const char *s, size_t n, int special, double *out);

/* The common short case of ts_parse_float, inline: [+-]digits[.digits] with at most
 * 15 digits in all, so the significand is below 2**53 and the power of ten exact
 * (Clinger's fast path: one correctly rounded division).  Anything else goes to
 * ts_parse_float, so the result and the return value are always the same as its. */
static inline int
ts_parse_float_fast(const char *s, size_t n, int special, double *out)
{
    static const double p10[16] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
                                   1e11, 1e12, 1e13, 1e14, 1e15};
    const char *p = s, *e = s + n;
    int neg = ts_parse_sign(&p, e);
    if (p == e || (size_t)(e - p) > 16) return ts_parse_float(s, n, special, out);
    uint64_t m = 0;
    const char *d0 = p;
    for (; p < e; p++) {
        unsigned d = (unsigned)(unsigned char)*p - '0';
        if (d > 9) break;
        m = m * 10 + d;
    }
    int nd = (int)(p - d0), frac = 0;
    if (nd == 0) return ts_parse_float(s, n, special, out);
    if (p < e) {
        if (*p != '.') return ts_parse_float(s, n, special, out);
        p++;
        const char *f0 = p;
        for (; p < e; p++) {
            unsigned d = (unsigned)(unsigned char)*p - '0';
            if (d > 9) return ts_parse_float(s, n, special, out);
            m = m * 10 + d;
        }
        frac = (int)(p - f0);
        if (frac == 0) return ts_parse_float(s, n, special, out);
    }
    if (nd + frac > 15) return ts_parse_float(s, n, special, out);
    double v = (double)m / p10[frac];
    *out = neg ? -v : v;
    return TS_NUM_OK;
}

static inline unsigned
ts_dig(char c)
{
    return (unsigned)(unsigned char)c - '0';
}

/* YYYY-MM-DD (exactly 10 bytes, a valid calendar date).  1 when parsed, else 0.
 * (inline: it runs once per field of a date column) */
static inline int
ts_parse_iso_date(const char *s, size_t n, int32_t *out)
{
    if (n != 10 || s[4] != '-' || s[7] != '-') return 0;
    static const int pos[8] = {0, 1, 2, 3, 5, 6, 8, 9};
    for (int i = 0; i < 8; i++) {
        if (ts_dig(s[pos[i]]) > 9) return 0;
    }
    static const uint16_t before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    static const uint8_t dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y = ts_dig(s[0]) * 1000 + ts_dig(s[1]) * 100 + ts_dig(s[2]) * 10 + ts_dig(s[3]);
    unsigned m = ts_dig(s[5]) * 10 + ts_dig(s[6]);
    unsigned d = ts_dig(s[8]) * 10 + ts_dig(s[9]);
    if (y < 1 || m < 1 || m > 12 || d < 1) return 0;
    unsigned leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > dim[m - 1] + (m == 2 ? leap : 0)) return 0;
    /* days since 0001-01-01, then moved to 1970-01-01 (day 719162) */
    unsigned yy = y - 1;
    int64_t days = (int64_t)yy * 365 + yy / 4 - yy / 100 + yy / 400 + before[m - 1] + (m > 2 ? leap : 0) + d - 1;
    *out = (int32_t)(days - 719162);
    return 1;
}


/* A date in a strptime-like format using %Y (4 digits), %y (2 digits, 69-99 -> 19xx,
 * else 20xx, as Python), %m and %d (1 or 2 digits), %% and literal bytes.  1 when
 * parsed, else 0.  `fmt` is NUL-terminated. */
int ts_parse_date_format(const char *s, size_t n, const char *fmt, int32_t *out);

#endif
