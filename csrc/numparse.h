/*
 * numparse.h -- locale-independent, exact parsing of integers, decimal floats and
 * dates from byte ranges (not NUL-terminated).  No function here touches Python
 * objects, so all of them may run without the GIL.
 */
#ifndef TS_NUMPARSE_H
#define TS_NUMPARSE_H

#include <stddef.h>
#include <stdint.h>

#define TS_NUM_BAD 0       /* not valid syntax */
#define TS_NUM_OK 1        /* parsed; result stored */
#define TS_NUM_SLOW 2      /* valid float syntax, but needs the exact slow path */
#define TS_NUM_OVERFLOW 3  /* integer syntax, out of int64 range */

/* [+-]digits -> int64.  Returns TS_NUM_OK, TS_NUM_BAD or TS_NUM_OVERFLOW.
 * (inline: it runs once per field of an integer column) */
static inline int
ts_parse_int64(const char *s, size_t n, int64_t *out)
{
    const char *p = s, *e = s + n;
    int neg = 0;
    if (p < e && (*p == '-' || *p == '+')) {
        neg = *p == '-';
        p++;
    }
    if (p == e) return TS_NUM_BAD;
    uint64_t v = 0;
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

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12, day 1-31). */
int32_t ts_days_from_civil(int64_t y, unsigned m, unsigned d);
/* Inverse of ts_days_from_civil. */
void ts_civil_from_days(int32_t z, int64_t *y, unsigned *m, unsigned *d);

/* A valid calendar date (year 1-9999 as Python) -> days since 1970-01-01 in *out:
 * 1, or 0 when invalid. */
int ts_make_date(int64_t y, unsigned m, unsigned d, int32_t *out);

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
    int64_t y = ts_dig(s[0]) * 1000 + ts_dig(s[1]) * 100 + ts_dig(s[2]) * 10 + ts_dig(s[3]);
    unsigned m = ts_dig(s[5]) * 10 + ts_dig(s[6]);
    unsigned d = ts_dig(s[8]) * 10 + ts_dig(s[9]);
    return ts_make_date(y, m, d, out);
}


/* A date in a strptime-like format using %Y (4 digits), %y (2 digits, 69-99 -> 19xx,
 * else 20xx, as Python), %m and %d (1 or 2 digits), %% and literal bytes.  1 when
 * parsed, else 0.  `fmt` is NUL-terminated. */
int ts_parse_date_format(const char *s, size_t n, const char *fmt, int32_t *out);

#endif
