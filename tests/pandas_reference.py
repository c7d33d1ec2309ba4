"""Plain-pandas reference implementation of the traffickstats metric definitions.

This module is the independent oracle the package's C-backed statistics are tested
against, and the pandas side of the benchmarks.  It uses pandas and NumPy only,
vectorised (no loops over rows), and follows the documented definitions literally.

Inputs are the three tables of the data model (``cases``, ``defendants``,
``victims``), either as produced by
:func:`traffickstats.datasets._synthetic.synthetic_frames` or read back from the CSV
files with :func:`pandas.read_csv` (default options or :func:`read_frames`).  Column
values are normalised on the fly, so both forms work:

* dates may be ``datetime64`` or ``YYYY-MM-DD`` strings;
* booleans may be pandas ``boolean``, ``True``/``False`` objects, or the strings
  ``"true"``/``"false"``; missing means unknown;
* list columns may hold Python lists or ``;``-joined strings; an empty list or a
  missing value means an empty list.

Conventions
-----------
* Every statistic is restricted to criminal proceedings (``cases.proceeding ==
  "criminal"``); defendants and victims belong to a case through ``case_id``.
* Counts are returned as ``int``.  Shares are returned as a triple
  ``(numerator, denominator, unknown)`` of ints: ``unknown`` counts the rows of the
  population whose value is unknown; they are excluded from the denominator.
  :func:`percent` turns a triple into a whole percentage.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Union

import numpy as np
import pandas as pd

__all__ = [
    "Share", "read_frames", "percent", "yoy_change",
    "new_cases", "active_cases", "active_case_type_share",
    "new_defendants", "convicted", "conviction_rate", "active_defendants",
    "victims_in_active_cases", "minor_share", "female_share", "us_citizen_share",
    "recruited_online_share", "platform_share", "gang_led_share",
    "multi_agency_share", "identified_by_share", "identified_by_counts",
    "cumulative_cases", "cumulative_defendants", "cumulative_convicted",
    "cumulative_victims", "cumulative_sex_online_share", "report",
    "allowed", "PLATFORMS", "COERCION", "RELATIONSHIPS", "WAYS",
]



def allowed(table: str, field: str) -> list[str]:
    """The values the shipped schema allows in a category or list<category> field.

    Read from the package's Table Schema (data, not code under test), so that the
    tests and the benchmark draw random records from the same lists the package
    validates against instead of restating them.
    """
    import traffickstats as ts

    (f,) = [f for f in ts.schema(table)["fields"] if f["name"] == field]
    return list(f["ts:items"] if "ts:items" in f else f["constraints"]["enum"])


PLATFORMS = allowed("victims", "recruitment_platforms")
COERCION = allowed("victims", "coercion")
RELATIONSHIPS = allowed("victims", "relationship")
WAYS = allowed("cases", "identified_by")

CONVICTED_OUTCOMES = ("plea", "trial_conviction")
NOT_CONVICTED_OUTCOMES = ("acquitted", "dismissed")


class Share(NamedTuple):
    """A share with its honest denominator.

    Attributes
    ----------
    numerator : int
        Rows of the population with the value asked about.
    denominator : int
        Rows of the population whose value is known.
    unknown : int
        Rows of the population whose value is unknown (not in the denominator).
    """

    numerator: int
    denominator: int
    unknown: int


# ---------------------------------------------------------------------------------
# Input normalisation
# ---------------------------------------------------------------------------------
def read_frames(folder: Union[str, Path]) -> dict[str, pd.DataFrame]:
    """Read ``cases.csv``, ``defendants.csv`` and ``victims.csv`` from ``folder``.

    Only empty fields are treated as missing (so a citizenship such as ``"NA"``
    survives) and the date columns are parsed.

    Parameters
    ----------
    folder : str or pathlib.Path
        Folder holding the three CSV files.

    Returns
    -------
    dict of str to pandas.DataFrame
        Keys ``"cases"``, ``"defendants"``, ``"victims"``.
    """
    folder = Path(folder)
    dates = {"cases": ["filing_date", "closed_date"],
             "defendants": ["charge_date", "outcome_date"],
             "victims": []}
    return {name: pd.read_csv(folder / f"{name}.csv", keep_default_na=False,
                              na_values=[""], parse_dates=cols)
            for name, cols in dates.items()}


def _dates(s: pd.Series) -> pd.Series:
    """Column as ``datetime64`` (missing -> NaT)."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s
    return pd.to_datetime(s, format="%Y-%m-%d")


def _flag(s: pd.Series) -> pd.Series:
    """Column as pandas nullable ``boolean`` (missing -> <NA>)."""
    if isinstance(s.dtype, pd.BooleanDtype):
        return s
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("boolean")
    mapped = s.map({True: True, False: False, "true": True, "false": False,
                    "True": True, "False": False}, na_action="ignore")
    return mapped.astype("boolean")


def _eq(s: pd.Series, value: object) -> np.ndarray:
    """``s == value`` as a NumPy bool array, missing -> False."""
    return s.eq(value).fillna(False).to_numpy(dtype=bool)


def _known(s: pd.Series) -> np.ndarray:
    return s.notna().to_numpy(dtype=bool)


def _is_joined(s: pd.Series) -> bool:
    """True when a list column holds ``;``-joined strings (as read from CSV)."""
    first = s.dropna()
    return len(first) > 0 and isinstance(first.iloc[0], str)


def _list_len(s: pd.Series) -> np.ndarray:
    """Number of values in each row of a list column (missing/empty -> 0)."""
    if _is_joined(s):
        text = s.astype(object).where(s.notna(), "").astype(str)
        n = text.str.count(";") + 1
        return n.where(text.str.len() > 0, 0).to_numpy(dtype=np.int64)
    return s.str.len().fillna(0).to_numpy(dtype=np.int64)


def _list_contains(s: pd.Series, value: str) -> np.ndarray:
    """Whether each row of a list column contains ``value`` (missing -> False)."""
    if _is_joined(s):
        text = ";" + s.astype(object).where(s.notna(), "").astype(str) + ";"
        return text.str.contains(f";{value};", regex=False).to_numpy(dtype=bool)
    positional = pd.Series(s.to_numpy(dtype=object))   # any index, even duplicated
    hit = positional.explode().eq(value).groupby(level=0).any()
    return hit.reindex(positional.index, fill_value=False).to_numpy(dtype=bool)


def _year(s: pd.Series) -> np.ndarray:
    """Calendar year of a date column as float (NaT -> NaN)."""
    return _dates(s).dt.year.to_numpy(dtype=float, na_value=np.nan)


def _share(num: np.ndarray, known: np.ndarray, population: np.ndarray) -> Share:
    """Build a :class:`Share` from masks over the same rows."""
    return Share(int(np.sum(num & known & population)),
                 int(np.sum(known & population)),
                 int(np.sum(~known & population)))


def percent(share: Share | tuple) -> int:
    """Share as a whole percentage, rounded half up.

    Raises
    ------
    ZeroDivisionError
        If the denominator is 0.
    """
    num, den = share[0], share[1]
    if den == 0:
        raise ZeroDivisionError("share with an empty denominator")
    return int(np.floor(100.0 * num / den + 0.5))


def yoy_change(current: float, previous: float) -> float:
    """Year-over-year change ``(x_Y - x_{Y-1}) / x_{Y-1}``."""
    return (current - previous) / previous


# ---------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------
def _criminal(cases: pd.DataFrame) -> np.ndarray:
    return _eq(cases["proceeding"], "criminal")


def _new_case_mask(cases: pd.DataFrame, year: int) -> np.ndarray:
    return _criminal(cases) & (_year(cases["filing_date"]) == year)


def _active_case_mask(cases: pd.DataFrame, year: int) -> np.ndarray:
    """Criminal, filed on or before 31 Dec ``year``, not closed before 1 Jan ``year``."""
    filed = _dates(cases["filing_date"])
    closed = _dates(cases["closed_date"])
    on_or_before = (filed <= pd.Timestamp(year, 12, 31)).to_numpy(dtype=bool)
    still_open = (closed.isna() | (closed >= pd.Timestamp(year, 1, 1))).to_numpy(dtype=bool)
    return _criminal(cases) & on_or_before & still_open


def _case_ids(cases: pd.DataFrame, mask: np.ndarray) -> pd.Index:
    return pd.Index(cases["case_id"].to_numpy()[mask])


def new_cases(cases: pd.DataFrame, year: int) -> int:
    """Criminal cases filed in ``year``."""
    return int(_new_case_mask(cases, year).sum())


def active_cases(cases: pd.DataFrame, year: int) -> int:
    """Criminal cases active in ``year`` (filed by 31 Dec, not closed before 1 Jan)."""
    return int(_active_case_mask(cases, year).sum())


def active_case_type_share(cases: pd.DataFrame, year: int,
                           case_type: str = "sex") -> Share:
    """Share of active criminal cases of ``case_type`` (over case_type known)."""
    return _share(_eq(cases["case_type"], case_type), _known(cases["case_type"]),
                  _active_case_mask(cases, year))


def gang_led_share(cases: pd.DataFrame, year: int) -> Share:
    """Share of active sex-trafficking criminal cases with ``gang_led`` true
    (over gang_led known)."""
    gang = _flag(cases["gang_led"])
    population = _active_case_mask(cases, year) & _eq(cases["case_type"], "sex")
    return _share(_eq(gang, True), _known(gang), population)


def multi_agency_share(cases: pd.DataFrame, year: int) -> Share:
    """Share of new criminal cases investigated by two or more agencies (over cases
    whose agency list is known, i.e. non-empty)."""
    n = _list_len(cases["agencies"])
    return _share(n >= 2, n > 0, _new_case_mask(cases, year))


def identified_by_counts(cases: pd.DataFrame, year: int) -> pd.Series:
    """Number of new criminal cases per ``identified_by`` value (known values only),
    most common first."""
    sub = cases.loc[_new_case_mask(cases, year), "identified_by"].dropna()
    return sub.value_counts().sort_index().sort_values(ascending=False, kind="stable")


def identified_by_share(cases: pd.DataFrame, year: int, way: str) -> Share:
    """Share of new criminal cases that reached law enforcement by ``way`` (over
    identified_by known)."""
    col = cases["identified_by"]
    return _share(_eq(col, way), _known(col), _new_case_mask(cases, year))


# ---------------------------------------------------------------------------------
# Defendants
# ---------------------------------------------------------------------------------
def _criminal_defendants(cases: pd.DataFrame, defendants: pd.DataFrame) -> np.ndarray:
    ids = _case_ids(cases, _criminal(cases))
    return defendants["case_id"].isin(ids).to_numpy(dtype=bool)


def new_defendants(cases: pd.DataFrame, defendants: pd.DataFrame, year: int) -> int:
    """Defendants of criminal cases charged in ``year``."""
    return int(np.sum(_criminal_defendants(cases, defendants)
                      & (_year(defendants["charge_date"]) == year)))


def _decided_in(defendants: pd.DataFrame, outcomes: tuple, first: int,
                last: int) -> np.ndarray:
    oy = _year(defendants["outcome_date"])
    return (defendants["outcome"].isin(outcomes).to_numpy(dtype=bool)
            & (oy >= first) & (oy <= last))


def convicted(cases: pd.DataFrame, defendants: pd.DataFrame, year: int) -> int:
    """Defendants of criminal cases convicted (plea or trial conviction) with the
    outcome dated in ``year``."""
    return int(np.sum(_criminal_defendants(cases, defendants)
                      & _decided_in(defendants, CONVICTED_OUTCOMES, year, year)))


def conviction_rate(cases: pd.DataFrame, defendants: pd.DataFrame, year: int) -> Share:
    """Convicted / (convicted + acquitted + dismissed), all decided in ``year``.

    ``unknown`` counts defendants with an outcome date in ``year`` but no outcome.
    """
    crim = _criminal_defendants(cases, defendants)
    conv = _decided_in(defendants, CONVICTED_OUTCOMES, year, year)
    nonconv = _decided_in(defendants, NOT_CONVICTED_OUTCOMES, year, year)
    dated = _year(defendants["outcome_date"]) == year
    no_outcome = defendants["outcome"].isna().to_numpy(dtype=bool)
    return Share(int(np.sum(crim & conv)), int(np.sum(crim & (conv | nonconv))),
                 int(np.sum(crim & dated & no_outcome)))


def active_defendants(cases: pd.DataFrame, defendants: pd.DataFrame, year: int) -> int:
    """Defendants of criminal cases charged by 31 Dec ``year`` whose outcome is
    pending or dated on or after 1 Jan ``year``."""
    charge = _dates(defendants["charge_date"])
    odate = _dates(defendants["outcome_date"])
    charged = (charge <= pd.Timestamp(year, 12, 31)).to_numpy(dtype=bool)
    open_ = (_eq(defendants["outcome"], "pending")
             | (odate >= pd.Timestamp(year, 1, 1)).to_numpy(dtype=bool))
    return int(np.sum(_criminal_defendants(cases, defendants) & charged & open_))


# ---------------------------------------------------------------------------------
# Victims
# ---------------------------------------------------------------------------------
def _victims_of(cases: pd.DataFrame, victims: pd.DataFrame,
                case_mask: np.ndarray) -> np.ndarray:
    return victims["case_id"].isin(_case_ids(cases, case_mask)).to_numpy(dtype=bool)


def victims_in_active_cases(cases: pd.DataFrame, victims: pd.DataFrame,
                            year: int) -> int:
    """Victims whose case is an active criminal case in ``year``."""
    return int(_victims_of(cases, victims, _active_case_mask(cases, year)).sum())


def _victim_share(cases: pd.DataFrame, victims: pd.DataFrame, year: int,
                  column: str, value: object, boolean: bool) -> Share:
    col = _flag(victims[column]) if boolean else victims[column]
    return _share(_eq(col, value), _known(col),
                  _victims_of(cases, victims, _active_case_mask(cases, year)))


def minor_share(cases: pd.DataFrame, victims: pd.DataFrame, year: int) -> Share:
    """Share of victims in active criminal cases who were minors (over minor known)."""
    return _victim_share(cases, victims, year, "minor", True, boolean=True)


def female_share(cases: pd.DataFrame, victims: pd.DataFrame, year: int) -> Share:
    """Share of victims in active criminal cases who are female (over gender known)."""
    return _victim_share(cases, victims, year, "gender", "female", boolean=False)


def us_citizen_share(cases: pd.DataFrame, victims: pd.DataFrame, year: int) -> Share:
    """Share of victims in active criminal cases who are US citizens (over
    citizenship known)."""
    return _victim_share(cases, victims, year, "citizenship", "US", boolean=False)


def recruited_online_share(cases: pd.DataFrame, victims: pd.DataFrame,
                           year: int) -> Share:
    """Share of victims in active criminal cases recruited online (over known)."""
    return _victim_share(cases, victims, year, "recruited_online", True, boolean=True)


def platform_share(cases: pd.DataFrame, victims: pd.DataFrame, year: int,
                   platform: str, minor: bool | None = None) -> Share:
    """Share of online-recruited victims of active sex-trafficking criminal cases
    whose platform list contains ``platform``.

    The population is victims of active sex-trafficking criminal cases with
    ``recruited_online`` true (restricted to ``minor == minor`` when ``minor`` is
    given; victims with minor unknown are then left out).  The denominator is those
    with at least one platform listed; those with an empty list are ``unknown``.  A
    victim recruited on several platforms counts for each of them.
    """
    cases_mask = _active_case_mask(cases, year) & _eq(cases["case_type"], "sex")
    population = (_victims_of(cases, victims, cases_mask)
                  & _eq(_flag(victims["recruited_online"]), True))
    if minor is not None:
        population &= _eq(_flag(victims["minor"]), bool(minor))
    platforms = victims["recruitment_platforms"][population]   # list work on few rows
    known = _list_len(platforms) > 0
    return Share(int(np.sum(_list_contains(platforms, platform) & known)),
                 int(np.sum(known)), int(np.sum(~known)))


# ---------------------------------------------------------------------------------
# Cumulative since a start year
# ---------------------------------------------------------------------------------
def _filed_between(cases: pd.DataFrame, start: int, year: int) -> np.ndarray:
    fy = _year(cases["filing_date"])
    return _criminal(cases) & (fy >= start) & (fy <= year)


def cumulative_cases(cases: pd.DataFrame, start: int, year: int) -> int:
    """Criminal cases filed in ``[start, year]``."""
    return int(_filed_between(cases, start, year).sum())


def cumulative_defendants(cases: pd.DataFrame, defendants: pd.DataFrame,
                          start: int, year: int) -> int:
    """Defendants in criminal cases filed in ``[start, year]``."""
    ids = _case_ids(cases, _filed_between(cases, start, year))
    return int(defendants["case_id"].isin(ids).sum())


def cumulative_convicted(cases: pd.DataFrame, defendants: pd.DataFrame,
                         start: int, year: int) -> int:
    """Defendants in criminal cases filed in ``[start, year]`` convicted (plea or
    trial conviction) with the outcome dated in ``[start, year]``."""
    ids = _case_ids(cases, _filed_between(cases, start, year))
    in_cases = defendants["case_id"].isin(ids).to_numpy(dtype=bool)
    return int(np.sum(in_cases & _decided_in(defendants, CONVICTED_OUTCOMES,
                                             start, year)))


def cumulative_victims(cases: pd.DataFrame, victims: pd.DataFrame,
                       start: int, year: int) -> int:
    """Victims in criminal cases filed in ``[start, year]``."""
    return int(_victims_of(cases, victims, _filed_between(cases, start, year)).sum())


def cumulative_sex_online_share(cases: pd.DataFrame, victims: pd.DataFrame,
                                start: int, year: int) -> Share:
    """Share of victims in sex-trafficking criminal cases filed in ``[start, year]``
    recruited online (over recruited_online known)."""
    mask = _filed_between(cases, start, year) & _eq(cases["case_type"], "sex")
    online = _flag(victims["recruited_online"])
    return _share(_eq(online, True), _known(online), _victims_of(cases, victims, mask))


def report(frames: dict[str, pd.DataFrame], year: int = 2020,
           since: int = 2000) -> dict[str, object]:
    """All statistics above for one year, as a flat dict (for tests and benchmarks).

    Parameters
    ----------
    frames : dict of str to pandas.DataFrame
        ``{"cases": ..., "defendants": ..., "victims": ...}``.
    year : int
        Reference year.
    since : int
        Start year of the cumulative statistics.

    Returns
    -------
    dict of str to object
        Counts as ``int``, shares as :class:`Share`, ``"identified_by"`` as the
        Series of :func:`identified_by_counts`; ``*_prev`` keys hold year - 1.
    """
    c, d, v = frames["cases"], frames["defendants"], frames["victims"]
    out: dict[str, object] = {
        "new_cases": new_cases(c, year),
        "new_cases_prev": new_cases(c, year - 1),
        "new_defendants": new_defendants(c, d, year),
        "new_defendants_prev": new_defendants(c, d, year - 1),
        "convicted": convicted(c, d, year),
        "convicted_prev": convicted(c, d, year - 1),
        "conviction_rate": conviction_rate(c, d, year),
        "active_defendants": active_defendants(c, d, year),
        "active_cases": active_cases(c, year),
        "active_sex_share": active_case_type_share(c, year, "sex"),
        "victims_active": victims_in_active_cases(c, v, year),
        "minor": minor_share(c, v, year),
        "female": female_share(c, v, year),
        "us_citizen": us_citizen_share(c, v, year),
        "recruited_online": recruited_online_share(c, v, year),
        "gang_led": gang_led_share(c, year),
        "multi_agency": multi_agency_share(c, year),
        "identified_by": identified_by_counts(c, year),
        "cumulative_cases": cumulative_cases(c, since, year),
        "cumulative_defendants": cumulative_defendants(c, d, since, year),
        "cumulative_convicted": cumulative_convicted(c, d, since, year),
        "cumulative_victims": cumulative_victims(c, v, since, year),
        "cumulative_sex_online": cumulative_sex_online_share(c, v, since, year),
    }
    for who, minor in (("all", None), ("minors", True), ("adults", False)):
        for p in ("facebook", "instagram", "snapchat", "wechat"):
            out[f"platform_{who}_{p}"] = platform_share(c, v, year, p, minor)
    return out


# ---------------------------------------------------------------------------------
# Further statistics (added for the stats layer's oracle tests)
# ---------------------------------------------------------------------------------
def plea_share(cases: pd.DataFrame, defendants: pd.DataFrame, year: int) -> Share:
    """Share of defendants convicted in ``year`` who pleaded guilty."""
    conv = _criminal_defendants(cases, defendants) & _decided_in(defendants, CONVICTED_OUTCOMES, year, year)
    plea = _eq(defendants["outcome"], "plea")
    return _share(plea, np.ones(len(defendants), dtype=bool), conv)


def life_sentences(cases: pd.DataFrame, defendants: pd.DataFrame, year: int) -> int:
    """Defendants convicted in ``year`` with a life sentence."""
    conv = _criminal_defendants(cases, defendants) & _decided_in(defendants, CONVICTED_OUTCOMES, year, year)
    return int(np.sum(conv & _eq(_flag(defendants["life_sentence"]), True)))


def sentence_months(cases: pd.DataFrame, defendants: pd.DataFrame, year: int) -> tuple[int, float, float]:
    """(count known, mean, median) of sentence_months of defendants convicted in ``year``."""
    conv = _criminal_defendants(cases, defendants) & _decided_in(defendants, CONVICTED_OUTCOMES, year, year)
    months = pd.to_numeric(defendants["sentence_months"]).astype("Float64")
    sel = months[conv & months.notna().to_numpy(dtype=bool)].astype(float)
    if len(sel) == 0:
        return 0, float("nan"), float("nan")
    return int(len(sel)), float(sel.mean()), float(sel.median())


def restitution_share(cases: pd.DataFrame, defendants: pd.DataFrame, victims: pd.DataFrame,
                      year: int) -> Share:
    """Share of defendants convicted in ``year`` in cases with at least one victim
    ordered to pay restitution (over restitution_ordered known)."""
    with_victims = defendants["case_id"].isin(pd.Index(victims["case_id"].dropna().unique())).to_numpy(dtype=bool)
    conv = (_criminal_defendants(cases, defendants) & with_victims
            & _decided_in(defendants, CONVICTED_OUTCOMES, year, year))
    flag = _flag(defendants["restitution_ordered"])
    return _share(_eq(flag, True), _known(flag), conv)


def relationship_share(cases: pd.DataFrame, victims: pd.DataFrame, year: int, value: str) -> Share:
    """Share of victims in active criminal cases with ``relationship == value`` (over known)."""
    return _victim_share(cases, victims, year, "relationship", value, boolean=False)


def coercion_share(cases: pd.DataFrame, victims: pd.DataFrame, year: int, method: str) -> Share:
    """Share of victims in active criminal cases whose coercion list contains
    ``method`` (over victims with a non-empty list)."""
    col = victims["coercion"]
    return _share(_list_contains(col, method), _list_len(col) > 0,
                  _victims_of(cases, victims, _active_case_mask(cases, year)))
