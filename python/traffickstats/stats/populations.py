"""The populations of the statistics: which cases, defendants and victims count.

:class:`_Prep` holds the masks every statistic starts from (criminal cases, filing and
closing dates, outcomes, the case of each defendant and victim) and builds the
populations of a reference year (new and active cases, new, active and convicted
defendants) as NumPy boolean masks over the columns' buffers, plus the group keys of
``by=``.  It is derived once per dataset and kept with it (``Dataset._derived``).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import _core

from ..model.dataset import Dataset
from ..model.links import _labels_eq
from . import _engine

__all__ = ["BY"]

BY = ("case_type", "district", "state")
CONVICTED = ("plea", "trial_conviction")
NOT_CONVICTED = ("acquitted", "dismissed")
_EPOCH = np.datetime64(_core.EPOCH, "D")
_KEY = "traffickstats.stats.populations"   # where the populations are kept on a Dataset


def _day(y: int, m: int, d: int) -> int:
    return int((np.datetime64(f"{int(y):04d}-{m:02d}-{d:02d}", "D") - _EPOCH).astype(np.int64))


class _Prep:
    """Arrays derived once per dataset (kept with it: see :meth:`Dataset._derived`)."""

    def __init__(self, ds: Dataset) -> None:
        c, d, v = ds.cases, ds.defendants, ds.victims
        self.ds = ds
        self.nc, self.nd, self.nv = c.num_rows, d.num_rows, v.num_rows
        self.crim = _labels_eq(c["proceeding"], "criminal")
        self.sex = _labels_eq(c["case_type"], "sex")
        self.filed, self.filed_ok = self._date(c["filing_date"])
        self.closed, self.closed_ok = self._date(c["closed_date"])
        self.d_case = ds._defendant_case
        self.v_case = ds._victim_case
        self.charge, self.charge_ok = self._date(d["charge_date"])
        self.odate, self.odate_ok = self._date(d["outcome_date"])
        out = d["outcome"]
        self.conv = np.isin(np.asarray(out.codes), [i for i, c_ in enumerate(out.categories) if c_ in CONVICTED])
        self.nonconv = np.isin(np.asarray(out.codes), [i for i, c_ in enumerate(out.categories) if c_ in NOT_CONVICTED])
        self.plea = _labels_eq(out, "plea")
        self.pending = _labels_eq(out, "pending")
        self.outcome_null = ~np.asarray(out.valid)
        self.crim_d = self.to_def(self.crim)
        self.crim_v = self.to_vic(self.crim)
        has_victim = np.bincount(self.v_case[self.v_case >= 0], minlength=self.nc) > 0
        self.case_has_victim = has_victim
        self.span = ds.date_range()   # first and last date in the data (the year warnings)

    @staticmethod
    def _date(col: Any) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(col.values), np.asarray(col.valid)

    def to_def(self, case_mask: np.ndarray) -> np.ndarray:
        """Case mask -> defendant mask (defendants of those cases)."""
        return np.append(case_mask, False)[self.d_case]

    def to_vic(self, case_mask: np.ndarray) -> np.ndarray:
        return np.append(case_mask, False)[self.v_case]

    # populations of cases
    def filed_between(self, first: int, last: int) -> np.ndarray:
        return self.crim & self.filed_ok & (self.filed >= _day(first, 1, 1)) & (self.filed <= _day(last, 12, 31))

    def new_cases(self, y: int) -> np.ndarray:
        return self.filed_between(y, y)

    def active_cases(self, y: int) -> np.ndarray:
        return (self.crim & self.filed_ok & (self.filed <= _day(y, 12, 31))
                & (~self.closed_ok | (self.closed >= _day(y, 1, 1))))

    # defendants
    def decided(self, which: np.ndarray, first: int, last: int) -> np.ndarray:
        return which & self.odate_ok & (self.odate >= _day(first, 1, 1)) & (self.odate <= _day(last, 12, 31))

    def convicted(self, y: int) -> np.ndarray:
        return self.crim_d & self.decided(self.conv, y, y)

    def new_defendants(self, y: int) -> np.ndarray:
        return self.crim_d & self.charge_ok & (self.charge >= _day(y, 1, 1)) & (self.charge <= _day(y, 12, 31))

    def active_defendants(self, y: int) -> np.ndarray:
        return (self.crim_d & self.charge_ok & (self.charge <= _day(y, 12, 31))
                & (self.pending | (self.odate_ok & (self.odate >= _day(y, 1, 1)))))

    # keys
    def key(self, table: str, by: str | None) -> _engine.Key:
        """The groups of ``table``'s rows by the case attribute ``by`` (None: one group)."""
        if by is None:
            return _engine.ONE_GROUP
        if by not in BY:
            raise ValueError(f"by must be one of {', '.join(BY)} or None, got {by!r}")
        col = self.ds.cases[by]
        labels = [str(x) for x in col.categories]
        codes = np.where(np.asarray(col.valid), np.asarray(col.codes), -1).astype(np.int32)
        if table != "cases":
            link = self.d_case if table == "defendants" else self.v_case
            codes = np.append(codes, np.int32(-1))[link]
        return _engine.Key(codes, labels)


def _prep(ds: Dataset) -> _Prep:
    if not isinstance(ds, Dataset):
        raise TypeError(f"expected a traffickstats Dataset, got {type(ds).__name__}")
    return ds._derived(_KEY, _Prep)
