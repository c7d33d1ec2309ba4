"""Disclosure control: an attacker who knows every published number and every
additive relation between them tries to recover each withheld cell, and must fail.

The attacker here is independent of the implementation: it writes the equations
from the table layout (or from the published frames) itself and decides whether a
withheld cell is determined by comparing matrix ranks (the implementation uses
the null space of an SVD)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traffickstats.stats import disclosure as D


def recoverable(equations: list[dict], unknown: list) -> dict:
    """For linear equations sum(coef * x) = rhs over `unknown` variables (the known
    ones already moved to the right-hand side), which unknowns are determined?

    x_i is determined iff adding the row e_i does not raise the rank."""
    idx = {u: i for i, u in enumerate(unknown)}
    rows = [np.array([eq.get(u, 0.0) for u in unknown]) for eq in equations if any(u in eq for u in unknown)]
    a = np.vstack(rows) if rows else np.zeros((0, len(unknown)))
    r = np.linalg.matrix_rank(a) if rows else 0
    out = {}
    for u in unknown:
        e = np.zeros(len(unknown))
        e[idx[u]] = 1.0
        out[u] = np.linalg.matrix_rank(np.vstack([a, e])) == r
    return out


def table_system(cells: np.ndarray) -> tuple[D.System, list[dict]]:
    """An R x C table with row, column and grand totals, all published."""
    R, C = cells.shape
    s = D.System()
    eqs = []
    for i in range(R):
        for j in range(C):
            s.add(("c", i, j), cells[i, j])
    for i in range(R):
        s.add(("r", i), cells[i].sum())
        s.equation(("r", i), [("c", i, j) for j in range(C)])
        eqs.append({("r", i): 1.0, **{("c", i, j): -1.0 for j in range(C)}})
    for j in range(C):
        s.add(("k", j), cells[:, j].sum())
        s.equation(("k", j), [("c", i, j) for i in range(R)])
        eqs.append({("k", j): 1.0, **{("c", i, j): -1.0 for i in range(R)}})
    s.add("t", cells.sum())
    s.equation("t", [("r", i) for i in range(R)])
    eqs.append({"t": 1.0, **{("r", i): -1.0 for i in range(R)}})
    s.equation("t", [("k", j) for j in range(C)])
    eqs.append({"t": 1.0, **{("k", j): -1.0 for j in range(C)}})
    return s, eqs


@settings(max_examples=80, deadline=None)
@given(R=st.integers(1, 6), C=st.integers(1, 6), seed=st.integers(0, 2**32 - 1), k=st.sampled_from([3, 5, 11]),
       small=st.floats(0.0, 0.8))
def test_no_withheld_cell_of_a_table_with_margins_can_be_recovered(R, C, seed, k, small):
    rng = np.random.default_rng(seed)
    cells = np.where(rng.random((R, C)) < small, rng.integers(0, k, (R, C)), rng.integers(k, 60, (R, C)))
    s, eqs = table_system(cells)
    primary, comp = D.suppress(s, k)
    withheld = primary | comp
    # every count 1..k-1 is withheld, zeros and large counts only as complements
    for name, v in s.values.items():
        if 1 <= v < k:
            assert name in withheld
    assert all(s.values[n] == 0 or s.values[n] >= k for n in comp)
    # the attack
    rec = recoverable(eqs, sorted(withheld, key=repr))
    assert not any(rec.values()), [n for n, r in rec.items() if r]


def test_single_small_cell_gets_a_complement_in_its_row_and_column():
    cells = np.array([[20, 3, 40], [30, 25, 50], [12, 60, 70]])
    s, eqs = table_system(cells)
    primary, comp = D.suppress(s, 11)
    assert primary == {("c", 0, 1)}
    assert len(comp) >= 3  # a rectangle at least
    assert not any(recoverable(eqs, sorted(primary | comp, key=repr)).values())


def test_zero_is_not_sensitive_and_big_counts_are_untouched():
    cells = np.array([[0, 40], [30, 25]])
    s, _ = table_system(cells)
    assert D.suppress(s, 11) == (set(), set())


def test_min_cell_must_be_positive():
    s, _ = table_system(np.array([[5]]))
    with pytest.raises(ValueError):
        D.suppress(s, 0)


# --------------------------------------------------------------------------- frames


def _frames(rng, groups, k):
    """A grouped count frame with its ungrouped total and grouped + ungrouped share
    frames, as the report publishes them."""
    G = len(groups)
    counts = rng.integers(0, 3 * k, G)
    cnt = pd.DataFrame({"statistic": "victims_in_active_cases", "year": 2020, "district": groups,
                        "count": counts, "suppressed": False})
    tot = pd.DataFrame({"statistic": ["victims_in_active_cases"], "year": [2020], "count": [counts.sum()],
                        "suppressed": [False]})
    unk = rng.integers(0, counts + 1)
    den = counts - unk
    num = rng.integers(0, den + 1)

    def share(by):
        d = pd.DataFrame({"statistic": "minor_share", "value": None, "year": 2020, "numerator": num,
                          "denominator": den, "estimate": num / np.maximum(den, 1), "ci_low": 0.0, "ci_high": 1.0,
                          "unknown": unk, "suppressed": False})
        if by:
            d.insert(3, "district", groups)
            return d
        return d.groupby(["statistic", "year"], as_index=False, dropna=False)[["numerator", "denominator",
                                                                            "unknown"]].sum().assign(
            value=None, estimate=0.5, ci_low=0.0, ci_high=1.0, suppressed=False)
    return [cnt, tot, share(True), share(False)], (counts, num, den, unk)


@settings(max_examples=40, deadline=None)
@given(G=st.integers(1, 6), seed=st.integers(0, 2**32 - 1), k=st.sampled_from([5, 11]))
def test_published_frames_do_not_reveal_withheld_values(G, seed, k):
    rng = np.random.default_rng(seed)
    groups = [f"g{i}" for i in range(G)]
    frames, (counts, num, den, unk) = _frames(rng, groups, k)
    pops = {"minor_share": "victims_in_active_cases"}
    out = D.apply_min_cell(frames, k, pops)
    cnt, tot, sh, sh_all = out
    # the attacker's variables: per group count, num, no (= den - num), unk; totals
    var = {}
    for g in range(G):
        var[("count", g)] = counts[g]
        var[("num", g)] = num[g]
        var[("no", g)] = den[g] - num[g]
        var[("unk", g)] = unk[g]
    T = {"count": counts.sum(), "num": num.sum(), "no": (den - num).sum(), "unk": unk.sum()}
    for kname, v in T.items():
        var[("T" + kname,)] = v
    known = {}

    def pub(name, value):
        if value is not pd.NA and value is not None and not (isinstance(value, float) and np.isnan(value)):
            known[name] = int(value)
    for g in range(G):
        pub(("count", g), cnt["count"].iloc[g])
        pub(("num", g), sh["numerator"].iloc[g])
        pub(("unk", g), sh["unknown"].iloc[g])
    pub(("Tcount",), tot["count"].iloc[0])
    pub(("Tnum",), sh_all["numerator"].iloc[0])
    pub(("Tunk",), sh_all["unknown"].iloc[0])
    # published derived facts: denominators (num + no), populations (num + no + unk)
    eqs = []

    def lin(terms, value):
        if value is pd.NA or value is None:
            return
        eqs.append((terms, int(value)))
    for g in range(G):
        lin({("num", g): 1, ("no", g): 1}, sh["denominator"].iloc[g])
        lin({("num", g): 1, ("no", g): 1, ("unk", g): 1, ("count", g): -1}, 0)
    lin({("Tnum",): 1, ("Tno",): 1}, sh_all["denominator"].iloc[0])
    for kname in ("count", "num", "no", "unk"):
        eqs.append(({("T" + kname,): 1, **{(kname, g): -1 for g in range(G)}}, 0))
    eqs.append(({("Tcount",): 1, ("Tnum",): -1, ("Tno",): -1, ("Tunk",): -1}, 0))
    # every published value agrees with the truth, and every small value is hidden
    for name, v in known.items():
        assert v == var[name]
    hidden = [n for n in var if n not in known]
    for n in var:
        if 1 <= var[n] < k:
            assert n in hidden, n
    # a denominator equation with a known value is a plain linear equation
    rows = [{u: float(c) for u, c in terms.items() if u in hidden} for terms, _ in eqs]
    rec = recoverable(rows, hidden)
    sensitive_or_withheld = [n for n in hidden if 1 <= var[n] < k or n[0] in ("count", "num", "unk", "Tcount",
                                                                               "Tnum", "Tunk")]
    assert not any(rec[n] for n in sensitive_or_withheld), [n for n in sensitive_or_withheld if rec[n]]
    # shares with a withheld numerator or denominator are withheld
    gone = sh["numerator"].isna() | sh["denominator"].isna()
    assert sh.loc[gone, "estimate"].isna().all()
    assert (sh["suppressed"] | ~gone).all()


def test_min_cell_none_changes_nothing():
    rng = np.random.default_rng(0)
    frames, _ = _frames(rng, ["a", "b"], 11)
    out = D.apply_min_cell(frames, None)
    for a, b in zip(frames, out):
        pd.testing.assert_frame_equal(a, b)


def test_statistics_take_min_cell_and_sensitive_datasets_default_to_11():
    import traffickstats as ts
    from traffickstats import stats as S
    from traffickstats.datasets import synthetic_frames

    frames = synthetic_frames(0, 1)
    ds = ts.Dataset(**frames, sensitive=True)
    plain = S.new_cases(ds, 2020, by="state", min_cell=0)
    prot = S.new_cases(ds, 2020, by="state")  # sensitive: k = 11
    shown = prot["count"].dropna()
    assert not ((shown >= 1) & (shown < 11)).any()
    small = plain[(plain["count"] >= 1) & (plain["count"] < 11)]
    assert len(small) and prot.loc[small.index, "suppressed"].all()
    # the attacker knows the published states and the national total (the margin)
    hidden = list(prot.index[prot["suppressed"]])
    rec = recoverable([{i: -1.0 for i in hidden}], hidden)
    assert not any(rec.values())
    share = S.minor_share(ds, 2020, by="case_type", min_cell=11)
    assert list(share.columns[-1:]) == ["suppressed"]
    # off explicitly
    assert not S.new_cases(ds, 2020, by="state", min_cell=0)["suppressed"].any()
