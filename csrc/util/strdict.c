/*
 * strdict.c -- growing the string dictionary (see strdict.h).
 */
#include "util/strdict.h"

#include "util/mem.h"

void
ts_strdict_free(ts_strdict *d)
{
    ts_raw_free(d->slots);
    ts_raw_free(d->ent);
    ts_raw_free(d->bytes);
    memset(d, 0, sizeof(*d));
}

/* Rebuilds the slots at nslots (a power of two).  0 or -1 out of memory. */
static int
strdict_rehash(ts_strdict *d, size_t nslots)
{
    uint64_t *s = ts_raw_calloc(nslots, sizeof(uint64_t));
    if (s == NULL) return -1;
    size_t mask = nslots - 1;
    for (size_t c = 0; c < d->count; c++) {
        const ts_strdict_entry *e = &d->ent[c];
        uint64_t h = ts_hash_words(d->bytes + e->off, e->len, e->w0, e->w1);
        size_t i = (size_t)h & mask;
        while (s[i]) i = (i + 1) & mask;
        s[i] = (h & 0xFFFFFFFF00000000ull) | (uint64_t)(c + 1);
    }
    ts_raw_free(d->slots);
    d->slots = s;
    d->mask = mask;
    return 0;
}

TS_NOINLINE int64_t
ts_strdict_add(ts_strdict *d, const char *s, size_t n, uint64_t w0, uint64_t w1, uint64_t h)
{
    uint64_t tag = h & 0xFFFFFFFF00000000ull;
    if (d->count >= INT32_MAX - 1 || d->blen + n > INT32_MAX) return -2;
    if ((d->count + 1) * 2 > (d->slots ? d->mask + 1 : 0)) {
        if (strdict_rehash(d, d->slots ? (d->mask + 1) * 2 : 64) < 0) return -1;
    }
    if (ts_grow((void **)&d->ent, &d->cap, d->count + 1, sizeof(ts_strdict_entry)) < 0) return -1;
    if (ts_grow((void **)&d->bytes, &d->bcap, d->blen + n + TS_SLACK, 1) < 0) return -1;
    memcpy(d->bytes + d->blen, s, n);
    size_t c = d->count++;
    ts_strdict_entry *e = &d->ent[c];
    e->w0 = w0;
    e->w1 = w1;
    e->off = (uint32_t)d->blen;
    e->len = (uint32_t)n;
    d->blen += n;
    size_t i = (size_t)h & d->mask;
    while (d->slots[i]) i = (i + 1) & d->mask;
    d->slots[i] = tag | (uint64_t)(c + 1);
    return (int64_t)c;
}
