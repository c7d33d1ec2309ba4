/*
 * civil.c -- calendar checks around the day-count conversions of civil.h.
 */
#include "util/civil.h"

int
ts_civil_days_in_month(int64_t y, unsigned m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return dm[m - 1];
}

int
ts_civil_make_date(int64_t y, unsigned m, unsigned d, int32_t *out)
{
    if (y < 1 || m < 1 || m > 12 || d < 1 || (int)d > ts_civil_days_in_month(y, m)) return 0;
    *out = ts_days_from_civil(y, m, d);
    return 1;
}
