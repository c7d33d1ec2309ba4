"""The documented statistics (see ``docs/methodology.md``).

Each function takes a :class:`~traffickstats.Dataset`, a reference year (or several),
optionally a case attribute to group by, and returns a tidy pandas DataFrame.
Populations are NumPy boolean masks built from the columns' buffers
(:mod:`traffickstats.stats.populations`); the counting is done by the group-by
engine (:mod:`traffickstats.stats._engine`).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..model.dataset import Dataset
from ..model.links import _labels_eq
from ..model.schema import _fields, _pandas
from . import _args, _engine
from .disclosure import apply_min_cell
from .intervals import canonical_method, proportion_ci
from .populations import _Prep, _prep

COUNT_COLUMNS = ["statistic", "year", "count", "suppressed"]
SHARE_COLUMNS = ["statistic", "value", "year", "numerator", "denominator", "estimate", "ci_low", "ci_high",
                 "unknown", "suppressed"]


def _items(table: str, column: str) -> list[str]:
    for f in _fields(table):
        if f["name"] == column:
            return list(f.get("ts:items") or f.get("constraints", {}).get("enum") or [])
    raise KeyError(column)  # pragma: no cover


def _pd() -> Any:
    return _pandas()


# --------------------------------------------------------------------------- frame builders


def _count_frame(stat: str, rows: list[tuple[int, np.ndarray]], by: str | None, labels: list[str]) -> Any:
    pd = _pd()
    parts = []
    for y, counts in rows:
        df = pd.DataFrame({"statistic": stat, "year": y, "count": np.asarray(counts, dtype=np.int64)})
        if by is not None:
            df.insert(2, by, labels)
        parts.append(df)
    out = pd.concat(parts, ignore_index=True)
    out["count"] = out["count"].astype("Int64")
    out["suppressed"] = False
    return out


def _share_frame(stat: str, rows: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]], by: str | None,
                 labels: list[str], values: Sequence[Any] | None, method: str, level: float) -> Any:
    """rows: (year, numerator, denominator, unknown) arrays of shape (G,) or (G, V)."""
    pd = _pd()
    parts = []
    for y, num, den, unk in rows:
        num, den, unk = (np.asarray(a, dtype=np.int64) for a in (num, den, unk))
        if values is None:
            num, den, unk = num[:, None], den[:, None], unk[:, None]
            vals: list[Any] = [None]
        else:
            vals = list(values)
            den = np.broadcast_to(den.reshape(len(labels), -1), num.shape)
            unk = np.broadcast_to(unk.reshape(len(labels), -1), num.shape)
        G, V = num.shape
        df = pd.DataFrame({
            "statistic": stat,
            "value": np.tile(np.asarray(vals, dtype=object), G),
            "year": y,
            "numerator": num.ravel(), "denominator": den.ravel(), "unknown": unk.ravel(),
        })
        if by is not None:
            df.insert(3, by, np.repeat(np.asarray(labels, dtype=object), V))
        parts.append(df)
    out = pd.concat(parts, ignore_index=True)
    return _finish_shares(out, method, level)


def _finish_shares(out: Any, method: str, level: float) -> Any:
    num = out["numerator"].to_numpy(dtype=np.float64)
    den = out["denominator"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["estimate"] = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
    lo, hi = proportion_ci(num, den, method=method, level=level)
    out["ci_low"], out["ci_high"] = lo, hi
    for c in ("numerator", "denominator", "unknown"):
        out[c] = out[c].astype("Int64")
    out["suppressed"] = False
    by_cols = [c for c in out.columns if c not in SHARE_COLUMNS]
    cols = SHARE_COLUMNS[:3] + by_cols + SHARE_COLUMNS[3:]
    return out[cols]


def _share_counts(p: _Prep, table: str, by: str | None,
                  parts: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]
                  ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(numerator, denominator, unknown) by group of each (population, known, yes):
    one engine call for all of them."""
    masks = []
    for pop, known, yes in parts:
        answered = pop & known
        masks += [answered & yes, answered, pop]
    c = _engine.counts(masks, p.key(table, by))
    return [(c[3 * i], c[3 * i + 1], c[3 * i + 2] - c[3 * i + 1]) for i in range(len(parts))]


def _dist_counts(p: _Prep, table: str, by: str | None, pops: Sequence[np.ndarray], known: np.ndarray,
                 col: Any, values: list[str]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per value of a category or list column, for each population: (numerator (G,V),
    denominator (G,), unknown (G,)); one engine call for all of them."""
    masks = []
    for pop in pops:
        masks += [pop & known, pop]
    per, rows = _engine.value_counts(masks, p.key(table, by), col)
    cats = list(col.categories)
    out = []
    for i in range(len(pops)):
        num = np.zeros((per.shape[1], len(values)), dtype=np.int64)
        for j, v in enumerate(values):  # per allowed value, not per row
            if v in cats:
                num[:, j] = per[2 * i, :, cats.index(v)]
        out.append((num, rows[2 * i], rows[2 * i + 1] - rows[2 * i]))
    return out


def _list_len(col: Any) -> np.ndarray:
    return np.diff(np.asarray(col.offsets))


def _flag(col: Any) -> tuple[np.ndarray, np.ndarray]:
    """(true, known) masks of a bool column."""
    valid = np.asarray(col.valid)
    return np.asarray(col.values).astype(bool) & valid, valid


# --------------------------------------------------------------------------- disclosure hook


def _protected(fn: Any) -> Any:
    """A public statistic: its arguments checked, a warning for years outside the data,
    and a ``min_cell=`` keyword (default: 11 for a sensitive dataset).

    The undecorated function is ``wrapper.__wrapped__`` (the report calls it, checking
    the arguments and warning once for the whole report)."""
    import functools

    @functools.wraps(fn)
    def wrapper(ds: Dataset, year: Any, *args: Any, min_cell: int | None = None, **kwargs: Any) -> Any:
        p = _prep(ds)
        asked = _args.years(year)
        k = _args.min_cell(min_cell, default=11 if getattr(ds, "sensitive", False) else 0)
        if "level" in kwargs:
            _args.level(kwargs["level"])
        if "method" in kwargs:
            canonical_method(kwargs["method"])
        _args.warn_outside_data(p.span, asked, stacklevel=2)
        out = fn(ds, year, *args, **kwargs)
        if not k:
            return out
        return apply_min_cell([out], k)[0]
    wrapper.__doc__ = (fn.__doc__ or "") + """
    min_cell : int, optional
        Withhold counts 1..min_cell-1 and what would reveal them (see
        :mod:`traffickstats.stats.disclosure`).  Default: 11 when the dataset is
        marked ``sensitive=True``, otherwise off; 0 switches it off.
    """
    return wrapper


# --------------------------------------------------------------------------- counts


def _counts(stat: str, ds: Dataset, year: Any, by: str | None, table: str, pop_of: Any) -> Any:
    p = _prep(ds)
    years = _args.years(year)
    key = p.key(table, by)
    n = _engine.counts([pop_of(p, y) for y in years], key)
    return _count_frame(stat, list(zip(years, n)), by, key.labels)


@_protected
def new_cases(ds: Dataset, year: Any, by: str | None = None) -> Any:
    """Criminal cases filed in the year.

    Parameters
    ----------
    ds : Dataset
    year : int, (first, last) or iterable of int
        One row per year (and group).
    by : {"case_type", "district", "state"}, optional
        Group by a case attribute (cases whose attribute is unknown are in no group).

    Returns
    -------
    pandas.DataFrame
        Columns ``statistic``, ``year``, [``by``], ``count``, ``suppressed``.
    """
    return _counts("new_cases", ds, year, by, "cases", lambda p, y: p.new_cases(y))


@_protected
def active_cases(ds: Dataset, year: Any, by: str | None = None) -> Any:
    """Criminal cases active in the year: filed on or before 31 Dec and not closed
    before 1 Jan (still open, or closed during the year).  See :func:`new_cases`."""
    return _counts("active_cases", ds, year, by, "cases", lambda p, y: p.active_cases(y))


@_protected
def new_defendants(ds: Dataset, year: Any, by: str | None = None) -> Any:
    """Defendants in criminal cases charged in the year.  See :func:`new_cases`."""
    return _counts("new_defendants", ds, year, by, "defendants", lambda p, y: p.new_defendants(y))


@_protected
def active_defendants(ds: Dataset, year: Any, by: str | None = None) -> Any:
    """Defendants in criminal cases charged on or before 31 Dec whose outcome is
    pending or dated on or after 1 Jan.  See :func:`new_cases`."""
    return _counts("active_defendants", ds, year, by, "defendants", lambda p, y: p.active_defendants(y))


@_protected
def convicted(ds: Dataset, year: Any, by: str | None = None) -> Any:
    """Defendants in criminal cases convicted (plea or trial conviction) with the
    outcome dated in the year.  See :func:`new_cases`."""
    return _counts("convicted", ds, year, by, "defendants", lambda p, y: p.convicted(y))


@_protected
def victims_in_active_cases(ds: Dataset, year: Any, by: str | None = None) -> Any:
    """Victims whose case is a criminal case active in the year.  See :func:`new_cases`."""
    return _counts("victims_in_active_cases", ds, year, by, "victims", lambda p, y: p.to_vic(p.active_cases(y)))


@_protected
def life_sentences(ds: Dataset, year: Any, by: str | None = None) -> Any:
    """Defendants convicted in the year who received a life sentence."""
    def pop(p: _Prep, y: int) -> np.ndarray:
        life, _ = _flag(p.ds.defendants["life_sentence"])
        return p.convicted(y) & life
    return _counts("life_sentences", ds, year, by, "defendants", pop)


# --------------------------------------------------------------------------- shares


def _shares(stat: str, ds: Dataset, year: Any, by: str | None, table: str, parts_of: Any,
            method: str, level: float) -> Any:
    p = _prep(ds)
    years = _args.years(year)
    shares = _share_counts(p, table, by, [parts_of(p, y) for y in years])
    rows = [(y, *s) for y, s in zip(years, shares)]
    return _share_frame(stat, rows, by, p.key(table, by).labels, None, method, level)


@_protected
def conviction_rate(ds: Dataset, year: Any, by: str | None = None, method: str = "wilson",
                    level: float = 0.95) -> Any:
    """Convicted / (convicted + acquitted + dismissed), all with the outcome dated in
    the year.  ``unknown``: defendants with an outcome date in the year but no outcome.

    Returns
    -------
    pandas.DataFrame
        Columns ``statistic``, ``value``, ``year``, [``by``], ``numerator``,
        ``denominator``, ``estimate``, ``ci_low``, ``ci_high``, ``unknown``,
        ``suppressed``.
    """
    def parts(p: _Prep, y: int) -> tuple:
        conv = p.decided(p.conv, y, y)
        known = conv | p.decided(p.nonconv, y, y)
        unknown = p.decided(p.outcome_null, y, y)
        return p.crim_d & (known | unknown), known, conv
    return _shares("conviction_rate", ds, year, by, "defendants", parts, method, level)


@_protected
def plea_share(ds: Dataset, year: Any, by: str | None = None, method: str = "wilson", level: float = 0.95) -> Any:
    """Share of the defendants convicted in the year who pleaded guilty (over all
    convicted in the year).  See :func:`conviction_rate` for the columns."""
    def parts(p: _Prep, y: int) -> tuple:
        pop = p.convicted(y)
        return pop, pop, p.plea
    return _shares("plea_share", ds, year, by, "defendants", parts, method, level)


@_protected
def restitution_share(ds: Dataset, year: Any, by: str | None = None, method: str = "wilson",
                      level: float = 0.95) -> Any:
    """Share of defendants convicted in the year, in cases with at least one
    identified victim, who were ordered to pay restitution (over restitution_ordered
    known)."""
    def parts(p: _Prep, y: int) -> tuple:
        yes, known = _flag(p.ds.defendants["restitution_ordered"])
        return p.convicted(y) & p.to_def(p.case_has_victim), known, yes
    return _shares("restitution_share", ds, year, by, "defendants", parts, method, level)


def _victim_parts(column: str, value: Any) -> Any:
    def parts(p: _Prep, y: int) -> tuple:
        col = p.ds.victims[column]
        if col.type == "bool":
            yes, known = _flag(col)
            if value is False:
                yes = known & ~yes
        else:
            known = np.asarray(col.valid)
            yes = _labels_eq(col, value)
        return p.to_vic(p.active_cases(y)), known, yes
    return parts


@_protected
def minor_share(ds: Dataset, year: Any, by: str | None = None, method: str = "wilson", level: float = 0.95) -> Any:
    """Share of victims in active criminal cases who were minors (over minor known)."""
    return _shares("minor_share", ds, year, by, "victims", _victim_parts("minor", True), method, level)


@_protected
def female_share(ds: Dataset, year: Any, by: str | None = None, method: str = "wilson", level: float = 0.95) -> Any:
    """Share of victims in active criminal cases who are female (over gender known)."""
    return _shares("female_share", ds, year, by, "victims", _victim_parts("gender", "female"), method, level)


@_protected
def us_citizen_share(ds: Dataset, year: Any, by: str | None = None, method: str = "wilson",
                     level: float = 0.95) -> Any:
    """Share of victims in active criminal cases who are US citizens (over
    citizenship known)."""
    return _shares("us_citizen_share", ds, year, by, "victims", _victim_parts("citizenship", "US"), method, level)


@_protected
def recruited_online_share(ds: Dataset, year: Any, by: str | None = None, method: str = "wilson",
                           level: float = 0.95) -> Any:
    """Share of victims in active criminal cases recruited online (over known)."""
    return _shares("recruited_online_share", ds, year, by, "victims", _victim_parts("recruited_online", True),
                   method, level)


@_protected
def gang_led_share(ds: Dataset, year: Any, by: str | None = None, method: str = "wilson",
                   level: float = 0.95) -> Any:
    """Share of active sex-trafficking criminal cases that were gang-led (over
    gang_led known)."""
    def parts(p: _Prep, y: int) -> tuple:
        yes, known = _flag(p.ds.cases["gang_led"])
        return p.active_cases(y) & p.sex, known, yes
    return _shares("gang_led_share", ds, year, by, "cases", parts, method, level)


@_protected
def multi_agency_share(ds: Dataset, year: Any, by: str | None = None, method: str = "wilson",
                       level: float = 0.95) -> Any:
    """Share of new criminal cases investigated by two or more agencies (over cases
    with a non-empty agency list)."""
    def parts(p: _Prep, y: int) -> tuple:
        n = _list_len(p.ds.cases["agencies"])
        return p.new_cases(y), n > 0, n >= 2
    return _shares("multi_agency_share", ds, year, by, "cases", parts, method, level)


def _dist(stat: str, ds: Dataset, year: Any, by: str | None, table: str, column: str, pop_of: Any,
          method: str, level: float, values: list[str] | None = None) -> Any:
    p = _prep(ds)
    col = ds.table(table)[column]
    values = values or _items(table, column)
    known = (_list_len(col) > 0) if col.type == "list<category>" else np.asarray(col.valid)
    years = _args.years(year)
    shares = _dist_counts(p, table, by, [pop_of(p, y) for y in years], known, col, values)
    rows = [(y, *s) for y, s in zip(years, shares)]
    return _share_frame(stat, rows, by, p.key(table, by).labels, values, method, level)


@_protected
def identified_by_share(ds: Dataset, year: Any, by: str | None = None, method: str = "wilson",
                        level: float = 0.95) -> Any:
    """How new criminal cases reached law enforcement: each way's share of new
    cases with identified_by known (one row per way, in ``value``)."""
    return _dist("identified_by_share", ds, year, by, "cases", "identified_by", lambda p, y: p.new_cases(y),
                 method, level)


@_protected
def relationship_share(ds: Dataset, year: Any, by: str | None = None, method: str = "wilson",
                       level: float = 0.95) -> Any:
    """Victims in active criminal cases by relationship to the trafficker: each
    relationship's share of victims with the relationship known."""
    return _dist("relationship_share", ds, year, by, "victims", "relationship",
                 lambda p, y: p.to_vic(p.active_cases(y)), method, level)


@_protected
def coercion_share(ds: Dataset, year: Any, by: str | None = None, method: str = "wilson",
                   level: float = 0.95) -> Any:
    """Victims in active criminal cases by coercion method: each method's share of
    victims with at least one method recorded (a victim counts for every method
    listed, so shares can add to more than 1)."""
    return _dist("coercion_share", ds, year, by, "victims", "coercion",
                 lambda p, y: p.to_vic(p.active_cases(y)), method, level)


@_protected
def platform_share(ds: Dataset, year: Any, by: str | None = None, minor: bool | None = None,
                   method: str = "wilson", level: float = 0.95) -> Any:
    """Platform shares of online recruitment.

    Population: victims in active sex-trafficking criminal cases with
    ``recruited_online`` true (and ``minor == minor`` when given; victims whose minor
    flag is unknown are then left out).  Denominator: those with at least one
    platform listed (an empty list is ``unknown``).  Numerator: those whose list
    contains the platform; a victim on two platforms counts for both.
    """
    def pop(p: _Prep, y: int) -> np.ndarray:
        v = p.ds.victims
        online, _ = _flag(v["recruited_online"])
        m = p.to_vic(p.active_cases(y) & p.sex) & online
        if minor is not None:
            is_minor, known = _flag(v["minor"])
            m &= known & (is_minor if minor else ~is_minor)
        return m
    stat = "platform_share" + ("" if minor is None else ("_minors" if minor else "_adults"))
    return _dist(stat, ds, year, by, "victims", "recruitment_platforms", pop, method, level)


@_protected
def active_sex_share(ds: Dataset, year: Any, by: str | None = None, method: str = "wilson",
                     level: float = 0.95) -> Any:
    """Share of active criminal cases that are sex-trafficking cases (over
    case_type known)."""
    def parts(p: _Prep, y: int) -> tuple:
        return p.active_cases(y), np.asarray(p.ds.cases["case_type"].valid), p.sex
    return _shares("active_sex_share", ds, year, by, "cases", parts, method, level)


# --------------------------------------------------------------------------- sentences


@_protected
def sentences(ds: Dataset, year: Any, by: str | None = None) -> Any:
    """Prison sentences of the defendants convicted in the year.

    Returns
    -------
    pandas.DataFrame
        ``statistic`` (``"sentence_months"``), ``year``, [``by``], ``convicted``,
        ``count`` (sentence known), ``unknown``, ``mean``, ``median`` (months),
        ``life_sentences``.
    """
    p = _prep(ds)
    d = ds.defendants
    months = d["sentence_months"]
    life, _ = _flag(d["life_sentence"])
    key = p.key("defendants", by)
    years = _args.years(year)
    known = np.asarray(months.valid)
    convs = [p.convicted(y) for y in years]   # disjoint: one outcome date per defendant
    n = _engine.counts([m for conv in convs for m in (conv, conv & known, conv & life)], key)
    mean, median = _engine.means_and_medians([conv & known for conv in convs], key, months)
    pd = _pd()
    parts = []
    for i, y in enumerate(years):
        convicted_, count = n[3 * i], n[3 * i + 1]
        df = pd.DataFrame({"statistic": "sentence_months", "year": y, "convicted": convicted_,
                           "count": count, "unknown": convicted_ - count,
                           "mean": mean[i], "median": median[i], "life_sentences": n[3 * i + 2]})
        if by is not None:
            df.insert(2, by, key.labels)
        parts.append(df)
    out = pd.concat(parts, ignore_index=True)
    for c in ("convicted", "count", "unknown", "life_sentences"):
        out[c] = out[c].astype("Int64")
    out["suppressed"] = False
    return out


# --------------------------------------------------------------------------- change and cumulative


def year_over_year(frame: Any, column: str = "count") -> Any:
    """Add ``previous`` and ``change`` to a count frame holding consecutive years.

    ``change`` is ``(x_Y - x_{Y-1}) / x_{Y-1}``, NaN when ``x_{Y-1}`` is 0, missing or
    withheld.  Rows of the first year (no previous year in the frame) get NaN.
    """
    keys = [c for c in frame.columns if c not in ("year", column, "suppressed", "count", "numerator",
                                                   "denominator", "estimate", "ci_low", "ci_high", "unknown",
                                                   "previous", "change")]
    prev = frame[keys + ["year", column]].copy()
    prev["year"] = prev["year"] + 1
    prev = prev.rename(columns={column: "previous"})
    out = frame.merge(prev, on=keys + ["year"], how="left")
    cur = out[column].astype("Float64")
    before = out["previous"].astype("Float64")
    ok = before.notna() & (before != 0) & cur.notna()
    change = np.full(len(out), np.nan)
    ok_np = ok.fillna(False).to_numpy(dtype=bool)
    change[ok_np] = ((cur[ok] - before[ok]) / before[ok]).to_numpy(dtype=np.float64)
    out["change"] = change
    out["previous"] = out["previous"].astype("Int64")
    return out


@_protected
def cumulative(ds: Dataset, year: Any, *, since: Any = 2000, by: str | None = None) -> Any:
    """Counts for criminal cases filed from 1 Jan ``since`` to 31 Dec ``year``.

    Parameters
    ----------
    ds : Dataset
    year : int
        The last year of the span.
    since : int, default 2000
        The first year of the span.
    by : {"case_type", "district", "state"}, optional

    Returns
    -------
    pandas.DataFrame
        Count rows (columns ``statistic``, ``since``, ``year``, [``by``], ``count``,
        ``suppressed``): ``cumulative_cases`` (cases filed in the span),
        ``cumulative_defendants`` (defendants in those cases),
        ``cumulative_convicted`` (of those, convicted with the outcome dated in the
        span) and ``cumulative_victims`` (victims in those cases).  ``year`` is the
        last year.  The share of those victims recruited online is
        :func:`cumulative_sex_online_share`.
    """
    p = _prep(ds)
    since, year = _cumulative_span(since, year)
    filed = p.filed_between(since, year)
    defendants = p.to_def(filed)
    pops = {   # by table; one engine call for them all
        "cases": {"cumulative_cases": filed},
        "defendants": {"cumulative_defendants": defendants,
                       "cumulative_convicted": defendants & p.decided(p.conv, since, year)},
        "victims": {"cumulative_victims": p.to_vic(filed)},
    }
    pd = _pd()
    key = {table: p.key(table, by) for table in pops}
    n = _engine.counts_across([(list(of_table.values()), key[table]) for table, of_table in pops.items()])
    frames = [_count_frame(stat, [(year, n_table[i])], by, key[table].labels)
              for (table, of_table), n_table in zip(pops.items(), n) for i, stat in enumerate(of_table)]
    counts = pd.concat(frames, ignore_index=True)
    counts.insert(1, "since", since)
    return counts


def _cumulative_span(since: Any, year: Any) -> tuple[int, int]:
    since, year = _args.one_year(since, "since"), _args.one_year(year, "year")
    if since > year:
        raise ValueError(f"since ({since}) is after year ({year})")
    return since, year


@_protected
def cumulative_sex_online_share(ds: Dataset, year: Any, *, since: Any = 2000, by: str | None = None,
                                method: str = "wilson", level: float = 0.95) -> Any:
    """Victims in sex-trafficking criminal cases filed from 1 Jan ``since`` to 31 Dec
    ``year`` who were recruited online (over recruited_online known).

    Returns
    -------
    pandas.DataFrame
        One share row (see :func:`conviction_rate` for the columns) with a ``since``
        column; ``year`` is the last year of the span.
    """
    p = _prep(ds)
    since, year = _cumulative_span(since, year)
    filed = p.filed_between(since, year)
    online, known = _flag(ds.victims["recruited_online"])
    pop = p.to_vic(filed & p.sex)
    (counts,) = _share_counts(p, "victims", by, [(pop, known, online)])
    share = _share_frame("cumulative_sex_online_share", [(year, *counts)], by, p.key("victims", by).labels,
                         None, method, level)
    share.insert(1, "since", since)
    return share
