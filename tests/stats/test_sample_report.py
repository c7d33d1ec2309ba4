"""The package's own 2020 report on the bundled synthetic sample reproduces the figures
the Human Trafficking Institute published for 2020 (issue 6).

Everything here goes through the public API and the C engine: ``ts.load_sample()``
(``read_dataset`` on the shipped CSVs), ``ts.report(...)`` and the headline table of
:meth:`Report.to_frame`, and the ``traffickstats`` console script.  The expected
values are the published ones, written out below; percentages are compared at
whole-percent rounding (half up), counts exactly.  The definitions are the package's
documented ones (docs/methodology.md); nothing here special-cases the sample.
"""
from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest

import traffickstats as ts
from traffickstats.datasets import SYNTHETIC_NOTICE, sample_dir

YEAR, PREV = 2020, 2019

# (statistic, value or None) -> published whole percentage
PUBLISHED_PERCENT = {
    ("conviction_rate", None): 89,
    ("active_sex_share", None): 94,
    ("minor_share", None): 53,
    ("female_share", None): 94,
    ("us_citizen_share", None): 91,
    ("recruited_online_share", None): 41,
    ("platform_share", "facebook"): 59,
    ("platform_share_minors", "facebook"): 65,
    ("platform_share_minors", "instagram"): 14,
    ("platform_share_minors", "snapchat"): 8,
    ("platform_share_adults", "facebook"): 36,
    ("platform_share_adults", "wechat"): 43,
    ("platform_share_adults", "instagram"): 7,
    ("gang_led_share", None): 3,
    ("multi_agency_share", None): 88,
    ("cumulative_sex_online_share", None): 30,
}
# (statistic, value) -> (numerator, denominator) stated by the issue
PUBLISHED_FRACTION = {
    ("conviction_rate", None): (163, 183),
    ("platform_share", "facebook"): (78, 133),
    ("platform_share_minors", "facebook"): (68, 105),
    ("platform_share_adults", "facebook"): (10, 28),
}
# count statistic -> (2020, 2019 or None, whole-percent change or None)
PUBLISHED_COUNTS = {
    "new_cases": (165, 149, 11),
    "new_defendants": (257, 279, -8),
    "convicted": (163, 333, -51),
    "active_cases": (579, None, None),
    "victims_in_active_cases": (1499, None, None),
    "cumulative_cases": (2093, None, None),
    "cumulative_defendants": (4132, None, None),
    "cumulative_convicted": (3169, None, None),
    "cumulative_victims": (4824, None, None),
}


def whole_percent(x: float) -> int:
    """A fraction as a whole percentage, rounded half up (as the report publishes)."""
    return int(math.floor(100 * float(x) + 0.5 + 1e-9))


def _row(frame, stat, value=None):
    sel = frame[frame["statistic"] == stat]
    sel = sel[sel["value"].isna()] if value is None else sel[sel["value"] == value]
    assert len(sel) == 1, f"{stat}/{value}: {len(sel)} rows in the report"
    return sel.iloc[0]


@pytest.fixture(scope="module")
def sample():
    return ts.load_sample()


@pytest.fixture(scope="module")
def headline(sample):
    rep = ts.report(sample, year=YEAR, compare_to=PREV)
    assert rep.year == YEAR and rep.compare_to == PREV and rep.since == 2000
    return rep.to_frame()


# ----------------------------------------------------------------------------- the figures


@pytest.mark.parametrize("stat", sorted(PUBLISHED_COUNTS))
def test_published_counts(headline, stat):
    cur, prev, change = PUBLISHED_COUNTS[stat]
    r = _row(headline, stat)
    assert r["kind"] == "count"
    assert int(r["estimate"]) == cur
    if prev is not None:
        assert int(r["previous"]) == prev
        assert r["change"] == pytest.approx((cur - prev) / prev)
        assert whole_percent(r["change"]) == change


@pytest.mark.parametrize("key", sorted(PUBLISHED_PERCENT, key=str))
def test_published_percentages(headline, key):
    r = _row(headline, *key)
    assert r["kind"] == "share"
    num, den = int(r["numerator"]), int(r["denominator"])
    assert r["estimate"] == pytest.approx(num / den)
    assert r["ci_low"] <= r["estimate"] <= r["ci_high"]
    assert whole_percent(r["estimate"]) == PUBLISHED_PERCENT[key]
    if key in PUBLISHED_FRACTION:
        assert (num, den) == PUBLISHED_FRACTION[key]


def test_platform_denominators_are_victims_with_a_known_platform(headline):
    """Minors and adults split the overall platform population (the minor flag is
    known for everyone recruited online here), and every platform row of one group
    shares its denominator."""
    for stat, den in (("platform_share", 133), ("platform_share_minors", 105), ("platform_share_adults", 28)):
        rows = headline[headline["statistic"] == stat]
        assert set(rows["denominator"].astype(int)) == {den}, stat
        assert (rows["unknown"].astype(int) > 0).all(), f"{stat}: online victims without a platform are unknowns"
    assert 105 + 28 == 133


def test_active_case_shares_denominators(headline):
    assert int(_row(headline, "active_sex_share")["denominator"]) == 579
    for stat in ("minor_share", "female_share", "us_citizen_share", "recruited_online_share"):
        r = _row(headline, stat)
        # honest denominators: the unknowns are left out and reported, nobody is lost
        assert int(r["denominator"]) + int(r["unknown"]) == 1499, stat
        assert int(r["unknown"]) > 0, stat


def test_victim_self_report_is_the_most_common_way_over_a_third(headline):
    rows = headline[headline["statistic"] == "identified_by_share"].set_index("value")
    assert rows["estimate"].astype(float).idxmax() == "victim_self_report"
    top = rows.loc["victim_self_report"]
    assert int(top["numerator"]) * 3 > int(top["denominator"])    # over a third
    assert (rows["denominator"].astype(int) + rows["unknown"].astype(int) == 165).all()


# ----------------------------------------------------------------------------- the sample


def test_sample_is_labelled_synthetic(sample):
    assert sample.notice == SYNTHETIC_NOTICE
    assert "synthetic" in sample.name
    rep = ts.report(sample, year=YEAR)
    for text in (rep.to_text(), rep.to_markdown(), rep.to_html(), rep.to_csv()):
        assert "Synthetic data" in text and "no real" in text
    assert rep.to_dict()["notice"] == SYNTHETIC_NOTICE
    suppressed = ts.report(sample, year=YEAR, min_cell=11)
    assert "Synthetic data" in suppressed.to_text()


def test_sample_folder_holds_exactly_the_three_tables():
    folder = sample_dir()
    assert folder.is_dir(), "the sample CSVs are missing from the installed package"
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        "cases.csv", "defendants.csv", "victims.csv"]


def test_generator_writes_exactly_the_shipped_files(tmp_path):
    ts.datasets.write_sample(tmp_path, seed=0, scale=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cases.csv", "defendants.csv", "victims.csv"]
    for name in ("cases.csv", "defendants.csv", "victims.csv"):
        assert (tmp_path / name).read_bytes() == (sample_dir() / name).read_bytes(), (
            f"{name} is stale: regenerate with traffickstats.datasets.write_sample(sample_dir())")


def test_synthetic_returns_the_sample_as_a_dataset(headline):
    ds = ts.datasets.synthetic(seed=0, scale=1)
    assert isinstance(ds, ts.Dataset)
    assert ds.notice == SYNTHETIC_NOTICE
    assert ds.problems().empty
    assert ds.cases.num_rows == ts.load_sample().cases.num_rows
    frame = ts.report(ds, year=YEAR, compare_to=PREV).to_frame()
    assert frame.drop(columns="label").equals(headline.drop(columns="label"))


def test_synthetic_is_deterministic():
    a, b = ts.datasets.synthetic(seed=3), ts.datasets.synthetic(seed=3)
    for t in ("cases", "defendants", "victims"):
        assert a.table(t).equals(b.table(t)), t
    c = ts.datasets.synthetic(seed=4)
    assert not a.cases.equals(c.cases)


def test_calibrated_figures_hold_for_another_seed():
    frame = ts.report(ts.datasets.synthetic(seed=1), year=YEAR, compare_to=PREV).to_frame()
    for stat, (cur, _, _) in PUBLISHED_COUNTS.items():
        assert int(_row(frame, stat)["estimate"]) == cur, stat
    for key, pct in PUBLISHED_PERCENT.items():
        assert whole_percent(_row(frame, *key)["estimate"]) == pct, key


def test_scale_multiplies_the_counts_and_keeps_the_proportions(headline):
    big = ts.report(ts.datasets.synthetic(seed=0, scale=3), year=YEAR, compare_to=PREV).to_frame()
    for stat in ("new_cases", "active_cases", "new_defendants", "victims_in_active_cases", "cumulative_victims"):
        one = float(_row(headline, stat)["estimate"])
        assert float(_row(big, stat)["estimate"]) == pytest.approx(3 * one, rel=0.03), stat
    for key in (("minor_share", None), ("recruited_online_share", None), ("platform_share", "facebook")):
        assert float(_row(big, *key)["estimate"]) == pytest.approx(float(_row(headline, *key)["estimate"]),
                                                                   abs=0.02), key


# ----------------------------------------------------------------------------- the CLI


def _script() -> list[str]:
    path = Path(sysconfig.get_path("scripts")) / "traffickstats"
    found = str(path) if path.exists() else shutil.which("traffickstats")
    return [found] if found else [sys.executable, "-m", "traffickstats"]


@pytest.fixture(scope="module")
def cli_text(tmp_path_factory):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env["COLUMNS"] = "100"
    r = subprocess.run(_script() + ["report", "--sample", "--year", "2020"], capture_output=True, text=True,
                       env=env, cwd=tmp_path_factory.mktemp("cli"), timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    return r.stdout


def test_cli_report_says_it_is_synthetic(cli_text):
    flat = " ".join(cli_text.split())
    assert SYNTHETIC_NOTICE in flat
    assert "synthetic sample" in cli_text.splitlines()[0]


@pytest.mark.parametrize("label, figure", [
    ("New criminal cases", r"165\s+\+11% on 2019 \(149\)"),
    ("New defendants", r"257\s+-8% on 2019 \(279\)"),
    ("Defendants convicted", r"163\s+-51% on 2019 \(333\)"),
    ("Conviction rate", r"89\.\d%.*163/183"),
    ("Active criminal cases", r"579"),
    ("Victims in active criminal cases", r"1,499"),
    ("facebook", r"58\.6%.*78/133"),         # all victims recruited online, platform known
    ("facebook", r"64\.8%.*68/105"),         # minors
    ("facebook", r"35\.7%.*10/28"),          # adults
    ("Criminal cases filed since 2000", r"2,093"),
    ("Defendants in cases filed since 2000", r"4,132"),
    ("Defendants convicted since 2000", r"3,169"),
    ("Victims in cases filed since 2000", r"4,824"),
])
def test_cli_report_shows_the_key_figures(cli_text, label, figure):
    lines = cli_text.splitlines()
    # a long label wraps: its figures are then on the next line
    rows = [" ".join(lines[i:i + 2]) for i, ln in enumerate(lines) if label in ln]
    assert rows, f"no line with {label!r}"
    assert any(re.search(figure, row) for row in rows), rows


def test_cli_report_groups_platforms_under_headings(cli_text):
    lines = cli_text.splitlines()
    for head, den in (("Online recruitment (active sex-trafficking cases) on:", "/133"),
                      ("Online recruitment of minors on:", "/105"), ("Online recruitment of adults on:", "/28")):
        i = [ln.strip() for ln in lines].index(head)
        assert lines[i + 1].split()[0] == "facebook" and den in lines[i + 1]


def test_cli_report_fits_a_terminal(cli_text):
    widths = np.array([len(ln) for ln in cli_text.splitlines()])
    assert widths.max() <= 100, [ln for ln in cli_text.splitlines() if len(ln) > 100][:3]


# ----------------------------------------------------------------------------- the README


def test_readme_first_command_prints_the_sample_report(cli_text):
    readme = Path(__file__).resolve().parents[2] / "README.md"
    text = readme.read_text(encoding="utf-8")
    quick = text[text.lower().index("## quick start"):]
    first = re.findall(r"```[a-z]*\n(.*?)```", quick, re.S)[0].strip()
    assert first == "pip install . && traffickstats report --sample --year 2020"
    assert "synthetic" in quick[:quick.index("## ", 3)].lower()
    # the command after the install is the one whose output the tests above check
    assert first.split(" && ", 1)[1].split()[1:] == ["report", "--sample", "--year", "2020"]


def test_datasets_docstring_examples_run():
    import doctest

    result = doctest.testmod(ts.datasets, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 4 and result.failed == 0


def test_import_stays_numpy_only():
    """traffickstats.datasets (pandas) loads on first use, not at import."""
    code = ("import sys, traffickstats as ts; assert 'traffickstats.datasets' not in sys.modules; "
            "ts.datasets; assert 'traffickstats.datasets' in sys.modules; assert callable(ts.load_sample)")
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
