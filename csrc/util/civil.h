/*
 * civil.h -- the one conversion between day counts since 1970-01-01 and proleptic
 * Gregorian year/month/day (Howard Hinnant's civil_from_days / days_from_civil).
 * Inline, so that per-row loops (group-by on a date's year or month, the CSV writer)
 * pay no call.  No Python; safe without the GIL.
 */
#ifndef TS_UTIL_CIVIL_H
#define TS_UTIL_CIVIL_H

#include <stdint.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12, day 1-31). */
static inline int32_t
ts_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + (int64_t)doe - 719468);
}

/* Year, month (1-12) and day (1-31) of day count `days` since 1970-01-01 (any day
 * count whose |days| stays below 2**62); the inverse of ts_days_from_civil.  Callers
 * that need only the year or month may pass the others and let the compiler drop them. */
static inline void
ts_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

/* Days in month m (1-12) of year y (proleptic Gregorian). */
int ts_civil_days_in_month(int64_t y, unsigned m);

/* A valid calendar date (year >= 1; callers read at most 4 year digits, so 1-9999
 * as Python's datetime.date) -> days since 1970-01-01 in *out: 1, or 0 when the date
 * does not exist. */
int ts_civil_make_date(int64_t y, unsigned m, unsigned d, int32_t *out);

#endif
