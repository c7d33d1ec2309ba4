"""Small-cell disclosure control (DESIGN section 6).

With ``min_cell=k``:

1. *Primary suppression*: every published count from 1 to k-1 is withheld.  Counts
   that can be derived by subtraction from what is published (for a share, the
   rows *without* the attribute: ``denominator - numerator``) are treated as
   published: when one of them is small, it is protected like a published cell.
   Zero is not sensitive.
2. *Complementary suppression*: the published figures are linked by additive
   equations (a table's cells sum to its margins; a share's numerator and its
   complement sum to the denominator; the denominator and the unknowns sum to the
   population).  After primary suppression, the withheld values are the unknowns of
   that linear system.  A withheld value is *recoverable* when the system determines
   it uniquely (its unit vector lies in the row space of the equations restricted to
   the withheld values; tested with the null space from an SVD).  While some
   withheld value is recoverable, the smallest published value that shares an
   equation with it is withheld too (preferring positive interior cells to margins),
   and the check is repeated until nothing withheld can be recovered.
3. A share is withheld when its numerator or its denominator is.

The check is linear (it does not use the bounds ``0 <= x``); margins smaller than
k are themselves withheld by step 1, which removes the usual bound-based attack on
a margin of, say, 2 split into two cells.
"""
from __future__ import annotations

from typing import Any, Hashable, Iterable, Mapping, Sequence

import numpy as np

from ._args import min_cell
from .populations import BY

__all__ = ["suppress", "determined", "apply_min_cell", "System"]


class System:
    """Named non-negative integer quantities linked by ``total = sum(parts)``.

    Parameters are added with :meth:`add` and :meth:`equation`; :func:`suppress`
    chooses what to withhold.
    """

    def __init__(self) -> None:
        self.values: dict[Hashable, int] = {}
        self.shown: set[Hashable] = set()
        self.equations: list[tuple[Hashable, tuple[Hashable, ...]]] = []

    def add(self, name: Hashable, value: int, shown: bool = True) -> Hashable:
        """Add (or re-mark) a quantity; ``shown=False`` for derivable-only values."""
        value = int(value)
        if name in self.values and self.values[name] != value:
            raise ValueError(f"quantity {name!r} added twice with different values ({self.values[name]}, {value})")
        self.values[name] = value
        if shown:
            self.shown.add(name)
        return name

    def equation(self, total: Hashable, parts: Iterable[Hashable]) -> None:
        """Declare ``total == sum(parts)`` (all names must have been added)."""
        parts = tuple(parts)
        for n in (total, *parts):
            if n not in self.values:
                raise KeyError(f"unknown quantity {n!r}")
        if sum(self.values[p] for p in parts) != self.values[total]:
            raise ValueError(f"equation does not hold: {total!r} != sum of {parts!r}")
        self.equations.append((total, parts))


def determined(system: System, hidden: set) -> dict[Hashable, bool]:
    """Which hidden quantities the published ones determine uniquely.

    Parameters
    ----------
    system : System
    hidden : set
        Names not published.

    Returns
    -------
    dict
        name -> True when its value follows from the published values and the
        equations.
    """
    names = sorted(hidden, key=repr)
    if not names:
        return {}
    col = {n: i for i, n in enumerate(names)}
    rows = []
    for total, parts in system.equations:
        r = np.zeros(len(names))
        touched = False
        if total in col:
            r[col[total]] += 1.0
            touched = True
        for p in parts:
            if p in col:
                r[col[p]] -= 1.0
                touched = True
        if touched:
            rows.append(r)
    if not rows:
        return {n: False for n in names}
    a = np.vstack(rows)
    _, s, vt = np.linalg.svd(a, full_matrices=True)
    tol = max(a.shape) * np.finfo(float).eps * (s[0] if s.size else 0.0) * 10
    rank = int(np.sum(s > tol))
    null = vt[rank:].T  # columns span the null space
    if null.shape[1] == 0:
        return {n: True for n in names}
    norms = np.linalg.norm(null, axis=1)
    return {n: bool(norms[col[n]] < 1e-9) for n in names}


def suppress(system: System, k: int) -> tuple[set, set]:
    """Choose what to withhold.

    Parameters
    ----------
    system : System
    k : int
        Smallest publishable count (counts 1..k-1 are sensitive).

    Returns
    -------
    (primary, complementary) : tuple of sets of names
        Every shown name in either set must be withheld.
    """
    if not isinstance(system, System):
        raise TypeError(f"suppress() takes a System of linked counts (see build_system), got "
                        f"{type(system).__name__}; to withhold small cells of statistic frames use "
                        "apply_min_cell([frame, ...], k)")
    k = min_cell(k)
    if k < 1:
        raise ValueError(f"min_cell must be at least 1, got {k}")
    primary = {n for n, v in system.values.items() if 1 <= v < k}
    hidden = (set(system.values) - system.shown) | primary
    comp: set = set()
    neighbours: dict[Hashable, set] = {n: set() for n in system.values}
    is_total = set()
    for total, parts in system.equations:
        members = {total, *parts}
        is_total.add(total)
        for m in members:
            neighbours[m] |= members
    for _ in range(len(system.values) + 1):
        det = determined(system, hidden)
        bad = sorted((n for n, d in det.items() if d and (n in primary or n in comp)),
                     key=lambda n: (system.values[n], repr(n)))
        if not bad:
            break
        target = bad[0]
        cands = [n for n in neighbours[target] if n not in hidden]
        if not cands:  # widen to the connected component
            seen, todo = {target}, [target]
            while todo:
                for m in neighbours[todo.pop()]:
                    if m not in seen:
                        seen.add(m)
                        todo.append(m)
            cands = [n for n in seen if n not in hidden]
        if not cands:
            raise RuntimeError(f"cannot protect {target!r}: nothing left to withhold")  # pragma: no cover
        choice = min(cands, key=lambda n: (system.values[n] == 0, n in is_total, system.values[n], repr(n)))
        hidden.add(choice)
        comp.add(choice)
    return primary, comp


# --------------------------------------------------------------------------- frames


_NUMBERS = ("count", "numerator", "denominator", "unknown", "estimate", "ci_low", "ci_high", "previous", "change",
            "mean", "median")


def _group_cols(frame: Any) -> list[str]:
    return [c for c in frame.columns if c in BY]


def _is_share(frame: Any) -> bool:
    return "numerator" in frame.columns


def _margin(sysm: System, total: Hashable, parts: list) -> None:
    """``total = sum(parts)``; rows in no group (unknown key) form an unpublished part.

    The margin is the same quantity as the ungrouped figure (same name), so a
    grouped table published next to its total is protected as one table."""
    s = sum(sysm.values[p] for p in parts)
    if total in sysm.values and sysm.values[total] != s:
        rest = ("no group",) + (total if isinstance(total, tuple) else (total,))
        sysm.add(rest, sysm.values[total] - s, shown=False)
        parts = list(parts) + [rest]
    else:
        sysm.add(total, s)
    sysm.equation(total, parts)


def build_system(frames: Sequence[Any], populations: Mapping[str, str] | None = None) -> tuple[System, list]:
    """The linear system of what a set of statistic frames publishes.

    Returns the system and, per frame, a list of per-row name tuples
    (``count`` rows: (name,); share rows: (numerator, denominator, unknown)).
    """
    populations = dict(populations or {})
    sysm = System()
    keys: list = [None] * len(frames)
    # ungrouped figures first, so that grouped tables attach to them as margins
    order = sorted(range(len(frames)), key=lambda i: bool(_group_cols(frames[i])))

    def gkey(row: Mapping, gcols: list[str]) -> tuple:
        return tuple((c, row[c]) for c in gcols)

    count_totals: dict = {}
    # counts first: a share's population may be one of them
    for fi in order:
        frame = frames[fi]
        if _is_share(frame) or "count" not in frame.columns:
            continue
        gcols = _group_cols(frame)
        names = []
        groups: dict = {}
        for row in frame.to_dict("records"):
            name = ("count", row["statistic"], row.get("since"), row["year"], gkey(row, gcols))
            sysm.add(name, int(row["count"]))
            names.append((name,))
            if gcols:
                groups.setdefault((row["statistic"], row.get("since"), row["year"]), []).append(name)
            else:
                count_totals[(row["statistic"], row["year"])] = name
        for (stat, since, year), parts in groups.items():
            _margin(sysm, ("count", stat, since, year, ()), parts)
        keys[fi] = names
    for fi in order:
        frame = frames[fi]
        if not _is_share(frame):
            continue
        gcols = _group_cols(frame)
        share_names: list[tuple[Hashable, Hashable, Hashable]] = []   # (numerator, denominator, unknown)
        margins: dict = {}
        records = frame.to_dict("records")
        by_pop: dict = {}
        for row in records:
            base = (row["statistic"], row.get("since"), row["year"], gkey(row, gcols))
            by_pop.setdefault(base, []).append(row)
        multi = {}
        for base, rows in by_pop.items():
            stat, since, year, g = base
            den = ("den",) + base
            unk = ("unk",) + base
            d0, u0 = int(rows[0]["denominator"]), int(rows[0]["unknown"])
            sysm.add(den, d0)
            sysm.add(unk, u0)
            pop_count = populations.get(stat)
            pop = ("count", pop_count, since, year, g) if pop_count else ("pop",) + base
            if pop not in sysm.values:
                sysm.add(pop, d0 + u0)
            if sysm.values[pop] == d0 + u0:
                sysm.equation(pop, [den, unk])
            yes_names = []
            for row in rows:
                yes = ("num", row["value"]) + base
                sysm.add(yes, int(row["numerator"]))
                yes_names.append(yes)
                share_names.append((yes, den, unk))
            values = [r["value"] for r in rows]
            partition = values != [None] and sum(sysm.values[y] for y in yes_names) == d0 and not stat.startswith(
                ("platform", "coercion"))
            if partition:
                sysm.equation(den, yes_names)
            else:
                for y in yes_names:
                    no = ("no",) + y[1:]
                    sysm.add(no, d0 - sysm.values[y], shown=False)
                    sysm.equation(den, [y, no])
            multi[base] = (yes_names, den, unk, pop)
            if gcols:
                margins.setdefault((stat, since, year), []).append(base)
        for (stat, since, year), bases in margins.items():
            for kind in ("den", "unk"):
                _margin(sysm, (kind, stat, since, year, ()), [(kind,) + b for b in bases])
            nvals = len(multi[bases[0]][0])
            for j in range(nvals):
                value = multi[bases[0]][0][j][1]
                _margin(sysm, ("num", value, stat, since, year, ()), [multi[b][0][j] for b in bases])
        keys[fi] = share_names
    return sysm, keys


def _check_frame(i: int, f: Any) -> None:
    """A frame ``apply_min_cell`` can protect: counts or shares as :mod:`traffickstats.stats` makes them."""
    import pandas as pd

    if not isinstance(f, pd.DataFrame):
        raise TypeError(f"apply_min_cell: frame {i} is a {type(f).__name__}, not a pandas DataFrame")
    cols = set(f.columns)
    if _is_share(f):
        need = ["statistic", "value", "year", "numerator", "denominator", "unknown"]
    elif "count" in cols:
        need = ["statistic", "year", "count"]
    else:
        raise ValueError(f"apply_min_cell: frame {i} has neither a 'count' column nor 'numerator'/'denominator' "
                         f"columns, so nothing in it can be protected (columns: {list(f.columns)})")
    missing = [c for c in need if c not in cols]
    if missing:
        raise ValueError(f"apply_min_cell: frame {i} lacks the column(s) {missing} (columns: {list(f.columns)})")
    for c in need[need.index("year") + 1:]:
        v = pd.to_numeric(f[c], errors="coerce").astype("Float64")
        bad = v.isna() | (v < 0) | (v != v.round())
        if bad.any():
            r = int(np.flatnonzero(bad.to_numpy(dtype=bool, na_value=True))[0])
            raise ValueError(f"apply_min_cell: frame {i}, row {r}: {c} is {f[c].iloc[r]!r}, not a count "
                             "(a whole number, 0 or more; a frame that is already suppressed cannot be "
                             "suppressed again)")


def apply_min_cell(frames: Sequence[Any], k: int | None, populations: Mapping[str, str] | None = None) -> list:
    """Withhold small counts (and what would reveal them) in statistic frames.

    Parameters
    ----------
    frames : sequence of pandas.DataFrame, or one DataFrame
        Count frames (``count`` column) and share frames (``numerator``...) as
        returned by :mod:`traffickstats.stats`, treated as one publication: grouped
        frames are assumed to be published with their margins (sums over groups).
        Any other frame is refused (``ValueError``) rather than passed through
        unprotected; so is a frame whose counts are missing or not whole numbers.
        One DataFrame gives one DataFrame back.
    k : int or None
        Counts 1..k-1 are withheld; ``None`` or ``0`` returns copies unchanged.
    populations : mapping, optional
        ``{share statistic: count statistic}`` when a share's population is a
        published count (e.g. ``{"minor_share": "victims_in_active_cases"}``), so that
        both are protected together.

    Returns
    -------
    list of pandas.DataFrame
        Copies with withheld numbers set to missing and ``suppressed`` True.
    """
    import pandas as pd

    if isinstance(frames, pd.DataFrame):
        return apply_min_cell([frames], k, populations)[0]
    if isinstance(frames, (str, bytes)) or not hasattr(frames, "__iter__"):
        raise TypeError(f"apply_min_cell takes a list of statistic frames, got {type(frames).__name__}")
    frames = list(frames)
    k = min_cell(k)
    for i, f in enumerate(frames):
        _check_frame(i, f)
    if not k:
        return [f.copy() for f in frames]
    sysm, keys = build_system(frames, populations)
    primary, comp = suppress(sysm, k)
    withheld = primary | comp
    out = []
    for frame, names in zip(frames, keys):
        f = frame.copy()
        if names is None:
            out.append(f)
            continue
        if _is_share(f):
            num_h = np.array([n[0] in withheld for n in names], dtype=bool)
            den_h = np.array([n[1] in withheld for n in names], dtype=bool)
            unk_h = np.array([n[2] in withheld for n in names], dtype=bool)
            gone = num_h | den_h
            for c in ("numerator", "estimate", "ci_low", "ci_high"):
                f[c] = f[c].astype("Float64" if c != "numerator" else "Int64")
                f.loc[gone, c] = None
            f["denominator"] = f["denominator"].astype("Int64")
            f.loc[den_h, "denominator"] = None
            f["unknown"] = f["unknown"].astype("Int64")
            f.loc[unk_h, "unknown"] = None
            f["suppressed"] = gone | unk_h
        else:
            hid = np.array([n[0] in withheld for n in names], dtype=bool)
            f["count"] = f["count"].astype("Int64")
            f.loc[hid, "count"] = None
            f["suppressed"] = hid
            for c in ("change", "previous", "mean", "median", "convicted", "unknown", "life_sentences"):
                if c in f.columns:
                    f[c] = f[c].astype("Float64" if c in ("change", "mean", "median") else "Int64")
                    f.loc[hid, c] = None
        out.append(f)
    return out
