"""The yearly report: contents, renderings, suppression, the synthetic notice."""
from __future__ import annotations

import json
import math

import pandas as pd
import pytest

import traffickstats as ts
from traffickstats import stats as S
from traffickstats.datasets import SYNTHETIC_NOTICE, synthetic_frames


@pytest.fixture(scope="module")
def sample():
    return ts.Dataset.sample()


@pytest.fixture(scope="module")
def rep(sample):
    return ts.report(sample, year=2020)


def _row(frame, stat, value=None):
    f = frame[frame["statistic"] == stat]
    if value is not None:
        f = f[f["value"] == value]
    assert len(f) == 1
    return f.iloc[0]


def test_headline_figures_and_changes_match_the_statistics(sample, rep):
    f = rep.to_frame()
    for stat in ("new_cases", "active_cases", "new_defendants", "active_defendants", "convicted",
                 "victims_in_active_cases", "life_sentences"):
        both = getattr(S, stat)(sample, [2019, 2020])
        now = int(both[both["year"] == 2020]["count"].iloc[0])
        before = int(both[both["year"] == 2019]["count"].iloc[0])
        r = _row(f, stat)
        assert r["estimate"] == now and r["previous"] == before
        assert r["change"] == pytest.approx((now - before) / before)
    r = _row(f, "conviction_rate")
    ref = S.conviction_rate(sample, 2020).iloc[0]
    assert (r["numerator"], r["denominator"], r["unknown"]) == (ref["numerator"], ref["denominator"], ref["unknown"])
    assert r["ci_low"] == ref["ci_low"] and r["ci_high"] == ref["ci_high"]
    # the published FHTR 2020 figures the sample is calibrated to
    assert _row(f, "new_cases")["estimate"] == 165
    assert round(100 * _row(f, "new_cases")["change"]) == 11
    assert round(100 * _row(f, "minor_share")["estimate"]) == 53
    assert round(100 * _row(f, "recruited_online_share")["estimate"]) == 41
    assert round(100 * _row(f, "platform_share", "facebook")["estimate"]) == 59
    assert round(100 * _row(f, "cumulative_sex_online_share")["estimate"]) == 30
    # every section and every platform is there
    assert set(f["section"]) == {"Cases", "Defendants", "Victims", "Cumulative"}
    assert len(f[f["statistic"] == "platform_share_minors"]) == 9


def test_renderings_carry_the_numbers_and_the_synthetic_notice(rep):
    text, md, html, js, csv = rep.to_text(), rep.to_markdown(), rep._repr_html_(), rep.to_json(), rep.to_csv()
    for out in (text, md, html, js, csv):
        out = " ".join(out.split())  # the text rendering wraps its notes to the terminal width
        assert SYNTHETIC_NOTICE in out or SYNTHETIC_NOTICE.replace("'", "&#x27;") in out
    assert "165" in text and "+11% on 2019 (149)" in text
    assert md.startswith("# traffickstats report") and "| New criminal cases" in md
    assert "<table>" in html and "<h3>" in html
    d = json.loads(js)
    assert d["notice"] == SYNTHETIC_NOTICE and d["year"] == 2020 and d["compare_to"] == 2019
    nc = [s for s in d["statistics"] if s["statistic"] == "new_cases"][0]
    assert nc["estimate"] == 165 and nc["numerator"] is None
    assert "new_cases" in csv
    assert str(rep) == text


def test_no_notice_for_ordinary_data():
    ds = ts.Dataset(**synthetic_frames(1, 0.2))
    r = ts.report(ds, 2020)
    assert SYNTHETIC_NOTICE not in r.to_text()


def test_min_cell_suppresses_small_counts_and_dependent_shares(sample):
    r = ts.report(sample, 2020, min_cell=11)
    f = r.to_frame()
    counts = f[f["kind"] == "count"]
    shown = counts["estimate"].dropna()
    assert not ((shown >= 1) & (shown < 11)).any()
    shares = f[f["kind"] == "share"]
    for c in ("numerator", "denominator", "unknown"):
        vals = shares[c].dropna()
        assert not ((vals >= 1) & (vals < 11)).any(), c
    # complements of shares are protected too (denominator - numerator)
    both = shares.dropna(subset=["numerator", "denominator"])
    comp = both["denominator"] - both["numerator"]
    assert not ((comp >= 1) & (comp < 11)).any()
    gone = shares[shares["numerator"].isna() | shares["denominator"].isna()]
    assert gone["estimate"].isna().all() and gone["suppressed"].all()
    assert _row(f, "life_sentences")["suppressed"]
    assert "withheld" in r.to_text()


def test_sensitive_dataset_suppresses_by_default():
    ds = ts.Dataset(**synthetic_frames(0, 0.2), sensitive=True)
    assert ts.report(ds, 2020).min_cell == 11
    assert ts.report(ds, 2020, min_cell=0).min_cell is None
    assert ts.report(ts.Dataset(**synthetic_frames(0, 0.2)), 2020).min_cell is None


def test_year_without_data_and_arguments(sample):
    with pytest.warns(ts.DataWarning, match="before the first date in the data"):
        r = ts.report(sample, year=1980, since=1970)
    f = r.to_frame()
    assert _row(f, "new_cases")["estimate"] == 0
    assert math.isnan(_row(f, "new_cases")["change"])
    assert pd.isna(_row(f, "minor_share")["estimate"])
    assert "n/a" in r.to_text()
    with pytest.raises(ValueError, match="since"):
        ts.report(sample, year=2020, since=2021)
    with pytest.raises(TypeError):
        ts.report(synthetic_frames(0, 0.1), 2020)
    r = ts.report(sample, 2020, compare_to=2015, method="jeffreys")
    assert r.compare_to == 2015 and "jeffreys" in r.to_text()


def test_plot_returns_a_figure_with_three_panels(rep):
    pytest.importorskip("matplotlib")
    fig = rep.plot()
    assert len(fig.axes) == 3
    assert SYNTHETIC_NOTICE in fig._suptitle.get_text()
    bars = fig.axes[1].patches
    assert len(bars) == 18  # 9 platforms, minors and adults
    fb = _row(rep.frames["platform_share_minors"].query("year == 2020"), "platform_share_minors", "facebook")
    assert bars[0].get_height() == pytest.approx(100 * fb["estimate"])
