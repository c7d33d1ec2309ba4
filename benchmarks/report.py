"""Benchmark: the full yearly report, traffickstats vs a plain-pandas implementation.

The data is the synthetic generator scaled to about one million victims.  Both sides
compute the same figures with the same definitions for the reference year and the
comparison year: every count, every share (numerator, denominator, unknown), the
platform, relationship, coercion and identification distributions, sentences and the
cumulative figures.  The pandas side is tests/pandas_reference.py (vectorised pandas,
no loops over rows); traffickstats also computes the confidence intervals and builds
the report's tables.  Each run of traffickstats starts from a fresh Dataset cache, so
the preparation of the join keys and date arrays is inside the timing.

Usage: python benchmarks/report.py [--victims 1000000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import traffickstats as ts
from traffickstats.datasets import synthetic_frames

_spec = importlib.util.spec_from_file_location(
    "pandas_reference", Path(__file__).resolve().parent.parent / "tests" / "pandas_reference.py")
pr = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pr)  # type: ignore[union-attr]

PLATFORMS, COERCION, RELATIONSHIPS, WAYS = pr.PLATFORMS, pr.COERCION, pr.RELATIONSHIPS, pr.WAYS


def pandas_report(frames: dict, year: int = 2020, since: int = 2000) -> dict:
    """The same figures as traffickstats.report(), with plain pandas."""
    c, d, v = frames["cases"], frames["defendants"], frames["victims"]
    out: dict = {}
    for y in (year - 1, year):
        out[("new_cases", y)] = pr.new_cases(c, y)
        out[("active_cases", y)] = pr.active_cases(c, y)
        out[("new_defendants", y)] = pr.new_defendants(c, d, y)
        out[("active_defendants", y)] = pr.active_defendants(c, d, y)
        out[("convicted", y)] = pr.convicted(c, d, y)
        out[("life_sentences", y)] = pr.life_sentences(c, d, y)
        out[("victims", y)] = pr.victims_in_active_cases(c, v, y)
        out[("active_sex", y)] = pr.active_case_type_share(c, y)
        out[("gang_led", y)] = pr.gang_led_share(c, y)
        out[("multi_agency", y)] = pr.multi_agency_share(c, y)
        out[("conviction_rate", y)] = pr.conviction_rate(c, d, y)
        out[("plea", y)] = pr.plea_share(c, d, y)
        out[("restitution", y)] = pr.restitution_share(c, d, v, y)
        out[("sentences", y)] = pr.sentence_months(c, d, y)
        out[("minor", y)] = pr.minor_share(c, v, y)
        out[("female", y)] = pr.female_share(c, v, y)
        out[("us", y)] = pr.us_citizen_share(c, v, y)
        out[("online", y)] = pr.recruited_online_share(c, v, y)
        for w in WAYS:
            out[("identified_by", w, y)] = pr.identified_by_share(c, y, w)
        for r in RELATIONSHIPS:
            out[("relationship", r, y)] = pr.relationship_share(c, v, y, r)
        for m in COERCION:
            out[("coercion", m, y)] = pr.coercion_share(c, v, y, m)
        for minor in (None, True, False):
            for p in PLATFORMS:
                out[("platform", minor, p, y)] = pr.platform_share(c, v, y, p, minor)
    out["cumulative_cases"] = pr.cumulative_cases(c, since, year)
    out["cumulative_defendants"] = pr.cumulative_defendants(c, d, since, year)
    out["cumulative_convicted"] = pr.cumulative_convicted(c, d, since, year)
    out["cumulative_victims"] = pr.cumulative_victims(c, v, since, year)
    out["cumulative_sex_online"] = pr.cumulative_sex_online_share(c, v, since, year)
    return out


def ts_report(ds: ts.Dataset, year: int = 2020) -> ts.Report:
    ds.__dict__.pop("_stats_prep", None)  # no cache carried over between runs
    return ts.report(ds, year=year)


def check(rep: ts.Report, ref: dict, year: int = 2020) -> None:
    f = rep.to_frame()

    def row(stat, value=None):
        g = f[f["statistic"] == stat]
        return g[g["value"] == value].iloc[0] if value is not None else g.iloc[0]
    assert row("new_cases")["estimate"] == ref[("new_cases", year)]
    assert row("victims_in_active_cases")["estimate"] == ref[("victims", year)]
    r = row("platform_share_minors", "facebook")
    assert (r["numerator"], r["denominator"], r["unknown"]) == tuple(ref[("platform", True, "facebook", year)])
    r = row("coercion_share", "debt")
    assert (r["numerator"], r["denominator"], r["unknown"]) == tuple(ref[("coercion", "debt", year)])
    assert row("cumulative_victims")["estimate"] == ref["cumulative_victims"]


def timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--victims", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    scale = args.victims / 5528  # victims in the scale-1 sample
    t = time.perf_counter()
    frames = synthetic_frames(seed=1, scale=scale)
    gen = time.perf_counter() - t
    n = {k: len(v) for k, v in frames.items()}
    print(f"synthetic data (scale {scale:.1f}, generated in {gen:.1f} s): {n['cases']:,} cases, "
          f"{n['defendants']:,} defendants, {n['victims']:,} victims")
    t = time.perf_counter()
    ds = ts.Dataset(**frames)
    print(f"Dataset built from the DataFrames in {time.perf_counter() - t:.1f} s (not part of the timings)")
    t_ts, rep = timed(lambda: ts_report(ds), args.repeat)
    t_pd, ref = timed(lambda: pandas_report(frames), max(1, args.repeat - 1))
    check(rep, ref)  # same numbers
    print()
    print(f"{'implementation':<34}{'median s':>10}")
    print(f"{'traffickstats.report()':<34}{t_ts:>10.3f}")
    print(f"{'plain pandas (same definitions)':<34}{t_pd:>10.3f}")
    print()
    print(f"ratio pandas / traffickstats: {t_pd / t_ts:.1f}x")


if __name__ == "__main__":
    sys.exit(main())
