"""The yearly report: every documented statistic for one year, with the change on a
comparison year, confidence intervals and (optionally) small-cell suppression.

>>> import traffickstats as ts
>>> rep = ts.report(ts.Dataset.sample(), year=2020)      # doctest: +SKIP
>>> print(rep.to_markdown())                              # doctest: +SKIP
"""
from __future__ import annotations

import html
import json
import math
from typing import Any

import numpy as np

from . import stats as S
from .model.dataset import Dataset

__all__ = ["Report", "report", "LABELS"]

#: Plain-words label of each statistic (the full definitions are in docs/methodology.md).
LABELS = {
    "new_cases": "New criminal cases (filed in the year)",
    "active_cases": "Active criminal cases",
    "active_sex_share": "Active cases that are sex trafficking",
    "gang_led_share": "Active sex-trafficking cases that were gang-led",
    "multi_agency_share": "New cases investigated by two or more agencies",
    "identified_by_share": "New cases identified by",
    "new_defendants": "New defendants (charged in the year)",
    "active_defendants": "Active defendants",
    "convicted": "Defendants convicted",
    "conviction_rate": "Conviction rate (of defendants decided in the year)",
    "plea_share": "Convictions by plea",
    "sentence_mean": "Mean prison sentence (months) of those convicted",
    "sentence_median": "Median prison sentence (months) of those convicted",
    "life_sentences": "Life sentences",
    "restitution_share": "Restitution ordered (convicted, cases with identified victims)",
    "victims_in_active_cases": "Victims in active criminal cases",
    "minor_share": "Victims who were minors",
    "female_share": "Victims who are female",
    "us_citizen_share": "Victims who are US citizens",
    "recruited_online_share": "Victims recruited online",
    "platform_share": "Online recruitment (active sex-trafficking cases) on",
    "platform_share_minors": "Online recruitment of minors on",
    "platform_share_adults": "Online recruitment of adults on",
    "relationship_share": "Victim's relationship to the trafficker",
    "coercion_share": "Coercion method used",
    "cumulative_cases": "Criminal cases filed since {since}",
    "cumulative_defendants": "Defendants in cases filed since {since}",
    "cumulative_convicted": "Defendants convicted since {since}",
    "cumulative_victims": "Victims in cases filed since {since}",
    "cumulative_sex_online_share": "Victims in sex-trafficking cases since {since} recruited online",
}

SECTIONS = [
    ("Cases", ["new_cases", "active_cases", "active_sex_share", "gang_led_share", "multi_agency_share",
               "identified_by_share"]),
    ("Defendants", ["new_defendants", "active_defendants", "convicted", "conviction_rate", "plea_share",
                    "sentence_mean", "sentence_median", "life_sentences", "restitution_share"]),
    ("Victims", ["victims_in_active_cases", "minor_share", "female_share", "us_citizen_share",
                 "recruited_online_share", "platform_share", "platform_share_minors", "platform_share_adults",
                 "relationship_share", "coercion_share"]),
    ("Cumulative", ["cumulative_cases", "cumulative_defendants", "cumulative_convicted", "cumulative_victims",
                    "cumulative_sex_online_share"]),
]

_VICTIM_SHARES = ("minor_share", "female_share", "us_citizen_share", "recruited_online_share",
                  "relationship_share", "coercion_share")

COLUMNS = ["section", "statistic", "value", "label", "year", "kind", "estimate", "numerator", "denominator",
           "ci_low", "ci_high", "unknown", "previous", "change", "suppressed", "previous_suppressed"]


def _isnan(x: Any) -> bool:
    try:
        return x is None or x is _na() or (isinstance(x, float) and math.isnan(x))
    except TypeError:  # pragma: no cover
        return False


def _na() -> Any:
    import pandas as pd

    return pd.NA


class Report:
    """The statistics of one year; build it with :func:`report`.

    Attributes
    ----------
    dataset : Dataset
    year, compare_to, since : int
    min_cell : int or None
        The suppression threshold in force (None: no suppression).
    method : str
        Interval method.
    level : float
        Confidence level.
    notice : str or None
        A notice every rendering carries (e.g. synthetic data).
    frames : dict of str to pandas.DataFrame
        The underlying tidy statistics for ``compare_to`` and ``year`` (after
        suppression), by statistic.
    """

    def __init__(self, dataset: Dataset, year: int, compare_to: int, since: int, min_cell: int | None,
                 method: str, level: float) -> None:
        self.dataset = dataset
        self.year, self.compare_to, self.since = int(year), int(compare_to), int(since)
        self.min_cell = min_cell
        self.method, self.level = method, level
        self.notice = getattr(dataset, "notice", None)
        self.frames = self._compute()
        self._frame = self._headline()

    # ------------------------------------------------------------------ computing

    def _compute(self) -> dict[str, Any]:
        ds, years = self.dataset, sorted({self.compare_to, self.year})
        # the statistics undecorated: the arguments were checked (and years outside the
        # data warned about) once by report(); suppression is applied once below, to
        # the report as one publication
        kw = {"method": self.method, "level": self.level}
        f: dict[str, Any] = {}
        for name in ("new_cases", "active_cases", "new_defendants", "active_defendants", "convicted",
                     "life_sentences", "victims_in_active_cases"):
            f[name] = _raw(name)(ds, years)
        for name in ("active_sex_share", "gang_led_share", "multi_agency_share", "identified_by_share",
                     "conviction_rate", "plea_share", "restitution_share", "minor_share", "female_share",
                     "us_citizen_share", "recruited_online_share", "relationship_share", "coercion_share"):
            f[name] = _raw(name)(ds, years, **kw)
        f["platform_share"] = _raw("platform_share")(ds, years, **kw)
        f["platform_share_minors"] = _raw("platform_share")(ds, years, minor=True, **kw)
        f["platform_share_adults"] = _raw("platform_share")(ds, years, minor=False, **kw)
        f["sentences"] = _raw("sentences")(ds, years)
        f["cumulative_counts"] = _raw("cumulative")(ds, self.year, since=self.since)
        f["cumulative_sex_online_share"] = _raw("cumulative_sex_online_share")(ds, self.year, since=self.since, **kw)
        if self.min_cell:
            names = list(f)
            pops = {s: "victims_in_active_cases" for s in _VICTIM_SHARES}
            protected = S.apply_min_cell([f[n] for n in names], self.min_cell, pops)
            f = dict(zip(names, protected))
        return f

    def _headline(self) -> Any:
        import pandas as pd

        y, c = self.year, self.compare_to
        rows: list[dict] = []
        section_of = {s: sec for sec, stats in SECTIONS for s in stats}

        def add_count(stat: str, frame: Any, label_fmt: dict | None = None) -> None:
            cur = frame[(frame["statistic"] == stat) & (frame["year"] == y)].iloc[0]
            prev_rows = frame[(frame["statistic"] == stat) & (frame["year"] == c)]
            prev = prev_rows["count"].iloc[0] if len(prev_rows) and c != y else _na()
            prev_withheld = bool(len(prev_rows) and c != y and prev_rows["suppressed"].iloc[0])
            change = np.nan
            if not _isnan(cur["count"]) and not _isnan(prev) and prev != 0:
                change = (float(cur["count"]) - float(prev)) / float(prev)
            rows.append({"section": section_of[stat], "statistic": stat, "value": None,
                         "label": LABELS[stat].format(since=self.since), "year": y, "kind": "count",
                         "estimate": (np.nan if _isnan(cur["count"]) else float(cur["count"])),
                         "numerator": _na(), "denominator": _na(), "ci_low": np.nan, "ci_high": np.nan,
                         "unknown": _na(), "previous": prev, "change": change, "suppressed": bool(cur["suppressed"]),
                         "previous_suppressed": prev_withheld})

        def add_shares(stat: str, frame: Any) -> None:
            cur = frame[frame["year"] == y]
            prev = frame[frame["year"] == c] if c != y else frame.iloc[0:0]
            prev_est = dict(zip(prev["value"], prev["estimate"]))
            for r in cur.to_dict("records"):
                label = LABELS[stat].format(since=self.since)
                if r["value"] is not None:
                    label = f"{label} {r['value'].replace('_', ' ')}" if stat.startswith("platform") else \
                        f"{label}: {r['value'].replace('_', ' ')}"
                p = prev_est.get(r["value"], np.nan)
                rows.append({"section": section_of[stat], "statistic": stat, "value": r["value"], "label": label,
                             "year": y, "kind": "share", "estimate": r["estimate"], "numerator": r["numerator"],
                             "denominator": r["denominator"], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
                             "unknown": r["unknown"], "previous": p, "change": np.nan,
                             "suppressed": bool(r["suppressed"]), "previous_suppressed": False})

        f = self.frames
        for sec, stats in SECTIONS:
            for stat in stats:
                if stat in ("sentence_mean", "sentence_median"):
                    sent = f["sentences"]
                    col = "mean" if stat == "sentence_mean" else "median"
                    cur = sent[sent["year"] == y].iloc[0]
                    prev = sent[sent["year"] == c][col] if c != y else None
                    rows.append({"section": sec, "statistic": stat, "value": None, "label": LABELS[stat],
                                 "year": y, "kind": "months", "estimate": cur[col], "numerator": _na(),
                                 "denominator": cur["count"], "ci_low": np.nan, "ci_high": np.nan,
                                 "unknown": cur["unknown"],
                                 "previous": (prev.iloc[0] if prev is not None and len(prev) else np.nan),
                                 "change": np.nan,
                                 "suppressed": bool(cur["suppressed"]), "previous_suppressed": False})
                elif stat.startswith("cumulative") and not stat.endswith("share"):
                    add_count(stat, f["cumulative_counts"])
                elif stat in f and "count" in f[stat].columns and "numerator" not in f[stat].columns:
                    add_count(stat, f[stat])
                else:
                    add_shares(stat, f[stat])
        out = pd.DataFrame(rows, columns=COLUMNS)
        for col in ("numerator", "denominator", "unknown"):
            out[col] = out[col].astype("Int64")
        out["previous"] = pd.array([None if _isnan(v) else float(v) for v in out["previous"]], dtype="Float64")
        out["estimate"] = out["estimate"].astype("Float64")
        return out

    # ------------------------------------------------------------------ renderings

    def to_frame(self) -> Any:
        """The headline table: one row per figure.

        Columns: ``section``, ``statistic``, ``value`` (category of a distribution),
        ``label`` (plain words), ``year``, ``kind`` (``count``, ``share`` or
        ``months``), ``estimate`` (the count, the share as a fraction, or months),
        ``numerator``, ``denominator``, ``ci_low``, ``ci_high``, ``unknown`` (left
        out of the denominator), ``previous`` (the figure in ``compare_to``),
        ``change`` (year-over-year change of counts), ``suppressed`` and
        ``previous_suppressed`` (the comparison figure is withheld).
        """
        return self._frame.copy()

    def _fmt_estimate(self, r: dict) -> str:
        if r["suppressed"] and _isnan(r["estimate"]):
            return "withheld"
        if _isnan(r["estimate"]):
            return "n/a"
        if r["kind"] == "count":
            return f"{int(r['estimate']):,}"
        if r["kind"] == "months":
            return f"{r['estimate']:.1f}"
        return f"{100 * r['estimate']:.1f}%"

    def _fmt_detail(self, r: dict) -> str:
        if r["kind"] == "count":
            if _isnan(r["previous"]):
                return f"({self.compare_to}: withheld)" if r["previous_suppressed"] else ""
            ch = "n/a" if _isnan(r["change"]) else f"{100 * r['change']:+.0f}%"
            return f"{ch} on {self.compare_to} ({int(r['previous']):,})"
        if r["kind"] == "months":
            n = "" if _isnan(r["denominator"]) else f"n={int(r['denominator']):,}"
            return n
        if _isnan(r["estimate"]):
            den = "" if _isnan(r["denominator"]) else f"denominator {int(r['denominator']):,}"
            return den
        unk = "" if _isnan(r["unknown"]) else f", {int(r['unknown']):,} unknown"
        return (f"[{100 * r['ci_low']:.1f}, {100 * r['ci_high']:.1f}]  "
                f"{int(r['numerator']):,}/{int(r['denominator']):,}{unk}")

    def _title(self) -> str:
        name = self.dataset.name or "dataset"
        comp = "" if self.compare_to == self.year else f", compared with {self.compare_to}"
        return f"traffickstats report: {name}, {self.year}{comp}"

    def _notes(self, notice: bool = True) -> list[str]:
        notes = [f"Criminal cases only. Shares exclude unknowns from the denominator; "
                 f"{int(round(self.level * 100))}% {self.method} intervals. Definitions: docs/methodology.md."]
        if self.min_cell:
            notes.append(f"Counts from 1 to {self.min_cell - 1} are withheld, with complementary cells, "
                         f"and so is every share built on a withheld count.")
        if self.notice and notice:
            notes.append(self.notice)
        return notes

    def to_text(self, width: int = 100) -> str:
        """A plain-text report for the terminal.

        Parameters
        ----------
        width : int, default 100
            Lines are kept within this many columns: long labels wrap (the figures
            stay on the label's last line) and so do the notes.
        """
        import textwrap

        label_w = max(30, width - 51)  # 2 + label + 1 + value (8) + 2 + detail (up to 38)
        lines = [self._title(), "=" * min(len(self._title()), width)]
        if self.notice:  # said first as well as in the notes: nobody should quote it as real
            lines += textwrap.wrap(self.notice, width)
        for sec, _ in SECTIONS:
            part = self._frame[self._frame["section"] == sec]
            if not len(part):
                continue
            lines += ["", sec]
            group = None
            for r in part.to_dict("records"):
                text = r["label"]
                if not _isnan(r["value"]):  # one heading per distribution, then its values indented
                    if r["statistic"] != group:
                        group = r["statistic"]
                        head = LABELS[group].format(since=self.since)
                        lines += [f"  {ln}" for ln in textwrap.wrap(head.rstrip(":") + ":", width - 2)]
                    text = "  " + str(r["value"]).replace("_", " ")
                label = textwrap.wrap(text, label_w, subsequent_indent="  ", drop_whitespace=False) or [""]
                lines += [f"  {ln}".rstrip() for ln in label[:-1]]
                lines.append(f"  {label[-1]:<{label_w}} {self._fmt_estimate(r):>8}  {self._fmt_detail(r)}".rstrip())
        lines.append("")
        for n in self._notes():
            lines += textwrap.wrap("Note: " + n, width, subsequent_indent="      ")
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"<traffickstats.Report {self.year} of {self.dataset!r}>"

    def to_markdown(self) -> str:
        """A Markdown report (GitHub tables)."""
        out = [f"# {self._title()}", ""]
        for sec, _ in SECTIONS:
            part = self._frame[self._frame["section"] == sec]
            if not len(part):
                continue
            out += [f"## {sec}", "", "| Statistic | Value | Detail |", "|---|---:|---|"]
            for r in part.to_dict("records"):
                out.append(f"| {r['label']} | {self._fmt_estimate(r)} | {self._fmt_detail(r)} |")
            out.append("")
        out += [f"> {n}" for n in self._notes()]
        return "\n".join(out) + "\n"

    def _repr_html_(self) -> str:
        esc = html.escape
        parts = [f"<div><h3>{esc(self._title())}</h3>"]
        for sec, _ in SECTIONS:
            part = self._frame[self._frame["section"] == sec]
            if not len(part):
                continue
            parts.append(f"<h4>{esc(sec)}</h4><table><thead><tr><th>Statistic</th><th>Value</th><th>Detail</th>"
                         "</tr></thead><tbody>")
            for r in part.to_dict("records"):
                parts.append(f"<tr><td>{esc(r['label'])}</td><td style='text-align:right'>"
                             f"{esc(self._fmt_estimate(r))}</td><td>{esc(self._fmt_detail(r))}</td></tr>")
            parts.append("</tbody></table>")
        parts += [f"<p><small>{esc(n)}</small></p>" for n in self._notes()]
        parts.append("</div>")
        return "".join(parts)

    def to_html(self) -> str:
        """A standalone HTML page."""
        return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
                f"{html.escape(self._title())}</title></head><body>{self._repr_html_()}</body></html>\n")

    def to_dict(self) -> dict:
        """Everything as plain Python objects (what :meth:`to_json` writes)."""
        recs = []
        for r in self._frame.to_dict("records"):
            recs.append({k: (None if _isnan(v) else (v.item() if hasattr(v, "item") else v)) for k, v in r.items()})
        return {"title": self._title(), "dataset": self.dataset.name, "year": self.year,
                "compare_to": self.compare_to, "since": self.since, "min_cell": self.min_cell,
                "interval": {"method": self.method, "level": self.level}, "notice": self.notice,
                "notes": self._notes(), "statistics": recs}

    def to_json(self, indent: int | None = 2) -> str:
        """The report as JSON (missing and withheld numbers are ``null``)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False) + "\n"

    def to_csv(self) -> str:
        """The headline table as plain CSV (``pandas.read_csv`` reads it back).

        Besides the columns of :meth:`to_frame` every row carries ``notice`` (the
        dataset's notice, e.g. that the data are synthetic; empty when there is none)
        and ``notes`` (how the figures were made: the population, the interval, the
        suppression rule), so that no copy of a row travels without them.
        """
        out = self._frame.copy()
        out["notice"] = self.notice or ""
        out["notes"] = " ".join(self._notes(notice=False))
        return out.to_csv(index=False)

    # ------------------------------------------------------------------ plot

    def plot(self, first_year: int | None = None) -> Any:
        """Three panels: counts over the years, platform shares of online recruitment
        with interval error bars for minors and adults, and victim demographics.

        Parameters
        ----------
        first_year : int, optional
            First year of the counts panel (default ten years before ``year``).

        Returns
        -------
        matplotlib.figure.Figure
        """
        try:
            import matplotlib

            matplotlib.use(matplotlib.get_backend())
            from matplotlib.figure import Figure
        except ImportError:  # pragma: no cover
            raise ImportError("Report.plot() needs matplotlib: pip install 'traffickstats[plot]'") from None
        ds, y = self.dataset, self.year
        first = int(first_year) if first_year is not None else y - 10
        years = list(range(first, y + 1))
        fig = Figure(figsize=(15, 4.8), layout="constrained")
        ax1, ax2, ax3 = fig.subplots(1, 3)
        for name in ("new_cases", "active_cases", "new_defendants", "convicted"):
            fr = _raw(name)(ds, years)
            if self.min_cell:
                fr = S.apply_min_cell([fr], self.min_cell)[0]
            vals = fr["count"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            ax1.plot(fr["year"], vals, marker="o", label=LABELS[name].split(" (")[0])
        ax1.set_title("Counts over the years")
        ax1.set_xlabel("year")
        ax1.legend(fontsize=8)
        width = 0.4
        for i, (stat, who) in enumerate((("platform_share_minors", "minors"), ("platform_share_adults", "adults"))):
            fr = self.frames[stat]
            fr = fr[fr["year"] == y]
            est = fr["estimate"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            lo = fr["ci_low"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            hi = fr["ci_high"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            x = np.arange(len(fr)) + (i - 0.5) * width
            err = np.vstack([np.nan_to_num(est - lo), np.nan_to_num(hi - est)])
            ax2.bar(x, np.nan_to_num(est) * 100, width, yerr=err * 100, capsize=2, label=who)
            ax2.set_xticks(np.arange(len(fr)), [str(v).replace("_", " ") for v in fr["value"]], rotation=45,
                           ha="right", fontsize=8)
        ax2.set_ylabel("% of victims recruited online (platform known)")
        ax2.set_title(f"Recruitment platforms, {y} (95% intervals)")
        ax2.legend(fontsize=8)
        demo = [("minor_share", "minors"), ("female_share", "female"), ("us_citizen_share", "US citizens"),
                ("recruited_online_share", "recruited online")]
        est, lo, hi = [], [], []
        for stat, _ in demo:
            r = self.frames[stat]
            r = r[r["year"] == y].iloc[0]
            e = np.nan if _isnan(r["estimate"]) else float(r["estimate"])
            est.append(e)
            lo.append(np.nan if _isnan(r["ci_low"]) else float(r["ci_low"]))
            hi.append(np.nan if _isnan(r["ci_high"]) else float(r["ci_high"]))
        est_a, lo_a, hi_a = (np.array(a, dtype=float) for a in (est, lo, hi))
        ax3.barh(np.arange(len(demo)), np.nan_to_num(est_a) * 100,
                 xerr=np.vstack([np.nan_to_num(est_a - lo_a), np.nan_to_num(hi_a - est_a)]) * 100, capsize=3)
        ax3.set_yticks(np.arange(len(demo)), [d[1] for d in demo])
        ax3.set_xlim(0, 100)
        ax3.set_xlabel("% of victims in active cases (value known)")
        ax3.set_title(f"Victims in active cases, {y}")
        title = self._title()
        if self.notice:
            title += "\n" + self.notice
        fig.suptitle(title, fontsize=9)
        return fig


def _raw(name: str) -> Any:
    """A statistic of :mod:`traffickstats.stats` without its argument checks and suppression."""
    return getattr(S, name).__wrapped__


def report(dataset: Dataset, year: Any = 2020, compare_to: Any = None, min_cell: Any = None,
           since: Any = None, method: str = "wilson", level: float = 0.95) -> Report:
    """Compute the yearly report.

    Parameters
    ----------
    dataset : Dataset
    year : int, default 2020
        Reference year (a whole number or its text; see :mod:`traffickstats.stats`).
        A year after the last date in the data, or before the first, is computed
        with a :class:`~traffickstats.DataWarning`.
    compare_to : int, optional
        Year for the year-over-year change (default ``year - 1``); not after
        ``year`` (``compare_to=year`` shows no change).
    min_cell : int, optional
        Withhold counts 1..min_cell-1 (and what would reveal them).  Default: 11 when
        the dataset is marked ``sensitive=True``, otherwise no suppression; pass 0 to
        switch it off explicitly.
    since : int, optional
        First year of the cumulative figures: 2000 (the year of the Trafficking
        Victims Protection Act, as in the FHTR), or ``year`` when that is earlier.
    method : {"wilson", "clopper-pearson", "jeffreys"}
        Interval method.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    Report
    """
    from .stats import _args
    from .stats.populations import _prep
    from .stats.intervals import canonical_method

    if not isinstance(dataset, Dataset):
        raise TypeError(f"report() needs a traffickstats Dataset, got {type(dataset).__name__}")
    year = _args.one_year(year, "year")
    compare_to = year - 1 if compare_to is None else _args.one_year(compare_to, "compare_to")
    if compare_to > year:
        raise ValueError(f"compare_to ({compare_to}) is after year ({year}); the comparison year comes first")
    since = (2000 if year >= 2000 else year) if since is None else _args.one_year(since, "since")
    if since > year:
        raise ValueError(f"since ({since}) is after year ({year})")
    k = _args.min_cell(min_cell, default=11 if dataset.sensitive else 0)
    level = _args.level(level)
    canonical_method(method)   # an unknown method fails before any counting
    _args.warn_outside_data(_prep(dataset).span, sorted({compare_to, year}), stacklevel=2)
    return Report(dataset, year, compare_to, since, k or None, method, level)
