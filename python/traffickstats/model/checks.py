"""The validation checks of a dataset (:func:`_check`) and their summary in words.

Required values, allowed values (list items included), patterns, ranges, future
dates, duplicate ids, defendants and victims whose case is not in cases, the order of
dates, outcomes without a date and a ``minor`` flag that contradicts ``age``: each as
column arrays, added to the problems found while reading.
"""
from __future__ import annotations

import datetime as _dt
import difflib
import re
from typing import Any, Mapping

import numpy as np

from ..engine.table import Table
from .coercion import _NA_WORDS, _label
from .links import _list_rows
from .problems import _Problems
from .schema import _EPOCH, _ID, TABLES, _allowed, _decided_outcomes, _fields, _pandas, _required


def _value_hint(label: str, allowed: list[str]) -> str:
    """A hint for a value outside a category's allowed set."""
    if label.strip().lower() in _NA_WORDS:
        return "; leave the field empty for unknown"
    low = [a for a in allowed if a.lower() == label.strip().lower().replace(" ", "_").replace("-", "_")]
    if low:
        return f"; did you mean {low[0]!r}? codes are lower-case words"
    close = difflib.get_close_matches(label.lower(), allowed, n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""


def _check(tables: Mapping[str, Table], found: _Problems, case_of: Mapping[str, np.ndarray],
           files: Mapping[str, str]) -> Any:
    """Every problem of a dataset as a DataFrame (see :func:`traffickstats.validate`).

    ``tables``: the three tables by name; ``found``: the problems found while reading
    them; ``case_of``: the row in cases of each defendant's and victim's case (-1 when
    not found), by table name; ``files``: the file each table was read from.
    """
    p = _Problems()
    p.extend(found)
    bad: dict[tuple[str, str], np.ndarray] = {}
    today_date = _dt.date.today()   # read once: a check that runs across midnight stays one check
    today = int((np.datetime64(today_date, "D") - _EPOCH).astype(np.int64))
    for t in TABLES:
        tab = tables[t]
        n = tab.num_rows
        for field in _fields(t):
            col = tab[field["name"]]
            name = field["name"]
            flagged = found.bad(t, name, n)
            if found.missing(t, name):   # said once, in the header: nothing to say per row
                bad[(t, name)] = np.ones(n, dtype=bool)
                continue
            if _required(field) and col.null_count:
                p.add(t, np.flatnonzero(~np.asarray(col.valid) & ~flagged), name, "", "required value missing")
            allowed = _allowed(field)
            if allowed is not None and col.type in ("category", "list<category>"):
                cats = np.asarray(list(col.categories), dtype=object)
                bad_cat = ~np.isin(cats, allowed) if cats.size else np.zeros(0, dtype=bool)
                if bad_cat.any():
                    if col.type == "category":
                        codes = np.asarray(col.codes)
                        rows = np.flatnonzero((codes >= 0) & bad_cat[np.where(codes >= 0, codes, 0)])
                        idx = codes[rows]
                        flagged[rows] = True
                    else:
                        items = np.asarray(col.values)
                        hit = bad_cat[items]
                        rows = _list_rows(col)[hit]
                        idx = items[hit]
                    vals = cats[idx]
                    hints = np.array([_value_hint(str(v), allowed) if b else "" for v, b in zip(cats, bad_cat)],
                                     dtype=object)  # per category outside the allowed set
                    row_hints = hints[idx]
                    for h in sorted(set(row_hints.tolist())):
                        sel = row_hints == h
                        p.add(t, rows[sel], name, vals[sel], "value not allowed (allowed: " + ", ".join(allowed) + h + ")")
            pattern = field.get("constraints", {}).get("pattern")
            if pattern and col.type == "category":
                rx = re.compile(pattern)
                labels = list(col.categories)
                bad_cat = np.array([rx.fullmatch(c) is None for c in labels], dtype=bool)  # per distinct value
                if bad_cat.any():
                    codes = np.asarray(col.codes)
                    rows = np.flatnonzero((codes >= 0) & bad_cat[np.where(codes >= 0, codes, 0)])
                    flagged[rows] = True
                    vals = np.asarray(labels, dtype=object)[codes[rows]]
                    hints = np.array([_pattern_hint(c, pattern) if b else "" for c, b in zip(labels, bad_cat)],
                                     dtype=object)[codes[rows]]  # per label that does not match
                    for h in sorted(set(hints.tolist())):
                        sel = hints == h
                        p.add(t, rows[sel], name, vals[sel], f"value does not match {pattern}" + (f" ({h})" if h else ""))
            lo = field.get("constraints", {}).get("minimum")
            hi = field.get("constraints", {}).get("maximum")
            if (lo is not None or hi is not None) and col.type in ("int64", "float64"):
                v = np.asarray(col.values)
                out = np.asarray(col.valid) & (((v < lo) if lo is not None else False) | ((v > hi) if hi is not None else False))
                if np.any(out):
                    rows = np.flatnonzero(out)
                    flagged[rows] = True
                    shown = np.array([_label(x) for x in v[rows].tolist()], dtype=object)  # per problem row
                    na = np.isin(shown, list(_NA_WORDS))
                    for sel, h in ((na, " (a code for unknown? leave the field empty for unknown)"), (~na, "")):
                        p.add(t, rows[sel], name, shown[sel], f"value out of range [{lo}, {hi}]" + h)
            if col.type == "date":
                v = np.asarray(col.values)
                future = np.asarray(col.valid) & (v > today)
                if future.any():
                    rows = np.flatnonzero(future)
                    shown = (v[rows].astype("datetime64[D]")).astype(str).astype(object)
                    p.add(t, rows, name, shown, f"date in the future (after {today_date.isoformat()})",
                          severity="warning")
            bad[(t, name)] = flagged
        # duplicate ids
        if found.missing(t, _ID[t]):
            continue
        idcol = tab[_ID[t]]
        codes = np.asarray(idcol.codes)
        ok = codes >= 0
        if ok.any():
            counts = np.bincount(codes[ok], minlength=len(idcol.categories))
            dup = ok & (counts[np.where(ok, codes, 0)] > 1)
            if dup.any():
                rows = np.flatnonzero(dup)
                p.add(t, rows, _ID[t], np.asarray(list(idcol.categories), dtype=object)[codes[rows]], "duplicate id")
    # orphans
    for t, link in (("defendants", case_of["defendants"]), ("victims", case_of["victims"])):
        if found.missing("cases", "case_id") or found.missing(t, "case_id"):
            continue
        col = tables[t]["case_id"]
        codes = np.asarray(col.codes)
        rows = np.flatnonzero((link < 0) & (codes >= 0))
        p.add(t, rows, "case_id", np.asarray(list(col.categories), dtype=object)[codes[rows]], "case_id not in cases")
    # date order
    for t, first, second in (("cases", "filing_date", "closed_date"), ("defendants", "charge_date", "outcome_date")):
        tab = tables[t]
        a, b = tab[first], tab[second]
        wrong = np.asarray(a.valid) & np.asarray(b.valid) & (np.asarray(b.values) < np.asarray(a.values))
        rows = np.flatnonzero(wrong)
        vals = np.asarray(b.values)[rows].astype("datetime64[D]").astype(str).astype(object)
        p.add(t, rows, second, vals, f"{second} before {first}")
    # outcome consistency: a decided outcome has a date (pending and unknown ones need none)
    d = tables["defendants"]
    outcome, odate = d["outcome"], d["outcome_date"]
    decided = np.isin(np.asarray(outcome.codes),
                      [i for i, c in enumerate(outcome.categories) if c in _decided_outcomes()])
    rows = np.flatnonzero(decided & ~np.asarray(odate.valid) & ~bad[("defendants", "outcome_date")])
    p.add("defendants", rows, "outcome_date", "", "outcome decided but outcome_date missing", severity="warning")
    # minor vs age
    vic = tables["victims"]
    age, minor = vic["age"], vic["minor"]
    both = np.asarray(age.valid) & np.asarray(minor.valid) & ~bad[("victims", "age")] & ~bad[("victims", "minor")]
    ages = np.asarray(age.values)
    is_minor = np.asarray(minor.values).astype(bool)
    wrong = both & ((ages < 18) != is_minor)
    rows = np.flatnonzero(wrong)
    if rows.size:
        shown = np.char.add(np.char.add("minor=", np.where(is_minor[rows], "true", "false")),
                            np.char.add(", age=", ages[rows].astype(str))).astype(object)
        p.add("victims", rows, "minor", shown, "minor flag contradicts age")
    return p.frame(files)


def _pattern_hint(label: str, pattern: str) -> str:
    if label.strip().lower() in _NA_WORDS:
        return "leave the field empty for unknown"
    if pattern == "^[A-Z]{2}$":
        if re.fullmatch(r"[A-Za-z]{2}", label.strip()):
            return f"did you mean {label.strip().upper()!r}? codes are upper-case"
        return "an ISO 3166 alpha-2 code: two capital letters"
    return ""


def _summary(problems: Any, why: str | None = None, severity: str = "error", limit: int = 10) -> str:
    rows = problems[problems["severity"] == severity]
    noun = "problem(s)" if severity == "error" else "warning(s)"
    lines = [f"{len(rows)} {noun} found in the dataset" + (f" ({why})" if why else "") + ":"]
    pd = _pandas()
    for rec in rows.head(limit).itertuples(index=False):
        where = rec.file
        if rec.line is not pd.NA and rec.line is not None:
            where += f", line {rec.line}"
        elif rec.row is not pd.NA and rec.row is not None:
            where += f", row {rec.row}"
        col = f", column {rec.column!r}" if rec.column else ""
        val = f" ({rec.value!r})" if rec.value not in ("", None) else ""
        lines.append(f"  {where}{col}: {rec.problem}{val}")
    if len(rows) > limit:
        lines.append(f"  ... and {len(rows) - limit} more; traffickstats.validate() lists them all")
    return "\n".join(lines)
