"""How many times one report calls into the C engine.

A statistic's counts come from one engine call that takes its populations as masks
(``_core._gb_tally``), not from a group-by on a made-up constant key per year and per
population.  ``sys.setprofile`` sees every call of a C function, however it was
imported, so the count cannot miss a call.
"""
from __future__ import annotations

import collections
import sys

import traffickstats as ts
from traffickstats import _core


def _engine_calls(fn, *args, **kwargs):
    calls: collections.Counter[str] = collections.Counter()

    def profile(frame, event, arg):
        if event == "c_call" and getattr(arg, "__self__", None) is _core:
            calls[arg.__name__] += 1

    sys.setprofile(profile)
    try:
        out = fn(*args, **kwargs)
    finally:
        sys.setprofile(None)
    return out, calls


def test_the_counter_sees_engine_calls():
    t = ts.Table({"k": [1, 2, 2]})
    res, calls = _engine_calls(lambda: ts.group_by(t, "k").size())
    assert list(res["size"]) == [1, 2]
    assert sum(calls.values()) >= 1, dict(calls)


def test_one_report_makes_at_most_30_engine_calls():
    ds = ts.load_sample()
    rep, calls = _engine_calls(ts.report, ds, year=2020)
    assert rep.frames, "the report computed nothing"
    assert sum(calls.values()) <= 30, dict(calls)
    # no constant key encoded to fake "one group"
    assert calls["_gb_encode_num"] == 0, dict(calls)
