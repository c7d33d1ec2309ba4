/*
 * numparse.c -- exact, locale-independent number and date parsing for the CSV reader.
 *
 * Floats: the decimal significand is gathered into a uint64 (up to 19 significant
 * digits).  When no nonzero digit was dropped, the significand is at most 2**53 and
 * the decimal exponent is in [-22, 22] (or can be moved there while the significand
 * stays below 2**53), one IEEE multiplication or division of two exactly
 * representable doubles gives the correctly rounded result (Clinger's fast path).
 * Every other input is reported as TS_NUM_SLOW and the caller converts it with
 * PyOS_string_to_double, which is correctly rounded and locale-independent, so the
 * result is always identical to Python's float() of the same text.
 */
#include "util/numparse.h"

#include <math.h>
#include <string.h>

static const double pow10_exact[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* Case-insensitive equality of p[0..n) with the lower-case word w. */
static int
word_eq(const char *p, size_t n, const char *w)
{
    size_t k = strlen(w);
    if (n != k) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != w[i]) return 0;
    }
    return 1;
}

int
ts_parse_float(const char *s, size_t n, int special, double *out)
{
    const char *p = s, *e = s + n;
    int neg = ts_parse_sign(&p, e);
    if (p == e) return TS_NUM_BAD;
    if (special && (*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') {
        size_t k = (size_t)(e - p);
        if (word_eq(p, k, "inf") || word_eq(p, k, "infinity")) {
            *out = neg ? -HUGE_VAL : HUGE_VAL;
            return TS_NUM_OK;
        }
        if (word_eq(p, k, "nan")) {
            *out = neg ? -NAN : NAN;
            return TS_NUM_OK;
        }
        return TS_NUM_BAD;
    }
    uint64_t m = 0;
    int nd = 0, any = 0, lost = 0;
    int64_t scale = 0;  /* value = m * 10**(scale + exponent) */
    for (; p < e; p++) {
        unsigned d = (unsigned)(unsigned char)*p - '0';
        if (d > 9) break;
        any = 1;
        if (m == 0 && d == 0) continue;
        if (nd < 19) { m = m * 10 + d; nd++; }
        else { scale++; if (d) lost = 1; }
    }
    if (p < e && *p == '.') {
        p++;
        for (; p < e; p++) {
            unsigned d = (unsigned)(unsigned char)*p - '0';
            if (d > 9) break;
            any = 1;
            if (m == 0 && d == 0) { scale--; continue; }
            if (nd < 19) { m = m * 10 + d; nd++; scale--; }
            else if (d) lost = 1;
        }
    }
    if (!any) return TS_NUM_BAD;
    int64_t ex = 0;
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0;
        if (p < e && (*p == '-' || *p == '+')) {
            eneg = *p == '-';
            p++;
        }
        if (p == e) return TS_NUM_BAD;
        for (; p < e; p++) {
            unsigned d = (unsigned)(unsigned char)*p - '0';
            if (d > 9) return TS_NUM_BAD;
            if (ex < 100000000) ex = ex * 10 + d;
        }
        if (eneg) ex = -ex;
    }
    if (p != e) return TS_NUM_BAD;
    if (m == 0) {
        *out = neg ? -0.0 : 0.0;
        return TS_NUM_OK;
    }
    int64_t e10 = scale + ex;
    if (!lost && m <= ((uint64_t)1 << 53)) {
        double v = (double)m;
        if (e10 >= -22 && e10 <= 22) {
            v = e10 < 0 ? v / pow10_exact[-e10] : v * pow10_exact[e10];
            *out = neg ? -v : v;
            return TS_NUM_OK;
        }
        if (e10 > 22 && e10 <= 22 + 15) {
            /* move powers of ten into the significand while it stays exact */
            uint64_t mm = m;
            int64_t k = e10 - 22;
            int ok = 1;
            for (int64_t i = 0; i < k; i++) {
                if (mm > ((uint64_t)1 << 53) / 10) { ok = 0; break; }
                mm *= 10;
            }
            if (ok) {
                v = (double)mm * pow10_exact[22];
                *out = neg ? -v : v;
                return TS_NUM_OK;
            }
        }
    }
    return TS_NUM_SLOW;
}

static inline unsigned
dig(char c)
{
    return (unsigned)(unsigned char)c - '0';
}

/* Reads between lo and hi digits at *p (not past e); returns -1 when fewer than lo. */
static int64_t
read_digits(const char **p, const char *e, int lo, int hi)
{
    int64_t v = 0;
    int k = 0;
    while (k < hi && *p < e && dig(**p) <= 9) {
        v = v * 10 + dig(**p);
        (*p)++;
        k++;
    }
    return k < lo ? -1 : v;
}

int
ts_parse_date_format(const char *s, size_t n, const char *fmt, int32_t *out)
{
    const char *p = s, *e = s + n;
    int64_t y = -1, m = -1, d = -1;
    for (const char *f = fmt; *f; f++) {
        if (*f == '%') {
            f++;
            switch (*f) {
            case 'Y': y = read_digits(&p, e, 4, 4); if (y < 0) return 0; break;
            case 'y': {
                int64_t v = read_digits(&p, e, 2, 2);
                if (v < 0) return 0;
                y = v < 69 ? 2000 + v : 1900 + v;
                break;
            }
            case 'm': m = read_digits(&p, e, 1, 2); if (m < 0) return 0; break;
            case 'd': d = read_digits(&p, e, 1, 2); if (d < 0) return 0; break;
            case '%': if (p == e || *p != '%') return 0; p++; break;
            default: return 0;
            }
        }
        else {
            if (p == e || *p != *f) return 0;
            p++;
        }
    }
    if (p != e || y < 0 || m < 0 || d < 0) return 0;
    return ts_civil_make_date(y, (unsigned)m, (unsigned)d, out);
}
