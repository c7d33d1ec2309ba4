"""The trafficking data model: :class:`Dataset`, :func:`read_dataset`, :func:`validate`.

A dataset is three tables linked by ``case_id`` (DESIGN section 5):

* ``cases``: one row per case;
* ``defendants``: one row per defendant, ``case_id`` naming the case;
* ``victims``: one row per identified victim, ``case_id`` naming the case.

The columns follow :func:`~traffickstats.schema` (:mod:`.schema`); values are coerced
and cleaned by :mod:`.coercion`, the case links are :mod:`.links`, the checks
:mod:`.checks`.  This layer needs pandas (validation problems and results are pandas
DataFrames).
"""
from __future__ import annotations

import csv
import io
import os
import warnings
from pathlib import Path
from typing import Any, Callable, Hashable, Mapping, Protocol, TypeVar

import numpy as np

from ..engine.table import Table
from ..errors import DatasetError, DatasetWarning
from .checks import _check, _summary
from .coercion import _coerce_table
from .links import _lookup
from .problems import _Problems
from .schema import _EPOCH, TABLES, _fields, schema

__all__ = ["Dataset", "read_dataset", "validate", "schema", "DatasetError", "DatasetWarning", "TABLES"]

_T = TypeVar("_T")


class Dataset:
    """Cases, defendants and victims linked by ``case_id``.

    Parameters
    ----------
    cases, defendants, victims : Table or pandas.DataFrame
        The three tables with the columns of :func:`schema`.  Columns are converted to
        the schema's types (text dates, ``"true"``/``"false"``, ``;``-joined lists and
        integer ids are accepted).  Whitespace around values is removed and an empty
        text is unknown, as in a CSV file; a list counts each distinct item once.
    validate : bool, default True
        Check the data as :func:`read_dataset` does: raise :class:`DatasetError` when
        there are errors (duplicate ids, values outside the allowed codes, dates that
        do not parse, ...) and warn with :class:`DatasetWarning` about the rest
        (missing optional columns, repeated list items, dates in the future, ...).
        ``False`` skips the checks, except that a missing required column is always
        an error.  :meth:`problems` lists everything either way.
    sensitive : bool, default False
        Mark the data as sensitive (e.g. victim-level data that is not public court
        record): reports then withhold small cells (``min_cell=11``) by default.
    name : str, optional
        A label shown in reports.
    notice : str, optional
        A notice every report of this dataset must carry (e.g. that it is synthetic).

    Attributes
    ----------
    cases, defendants, victims : Table

    Raises
    ------
    DatasetError
        With the full list of problems in its ``problems`` attribute.
    """

    def __init__(self, cases: Any, defendants: Any, victims: Any, *, validate: bool = True,
                 sensitive: bool = False, name: str | None = None, notice: str | None = None) -> None:
        self._setup(cases, defendants, victims, sensitive=sensitive, name=name, notice=notice)
        self._enforce(validate, stacklevel=2)

    def _setup(self, cases: Any, defendants: Any, victims: Any, *, sensitive: bool, name: str | None,
               notice: str | None, files: Mapping[str, str] | None = None) -> None:
        self._problems = _Problems()
        self._files = dict(files or {})
        self._memo: dict[Hashable, Any] = {}
        self.cases = _coerce_table("cases", cases, self._problems)
        self.defendants = _coerce_table("defendants", defendants, self._problems)
        self.victims = _coerce_table("victims", victims, self._problems)
        self.sensitive = bool(sensitive)
        self.name = name
        self.notice = notice
        self.source: str | None = None
        self._defendant_case = _lookup(self.defendants["case_id"], self.cases["case_id"])
        self._victim_case = _lookup(self.victims["case_id"], self.cases["case_id"])

    def _enforce(self, validate: bool, stacklevel: int) -> None:
        """Raise on errors (on structural ones only without ``validate``); warn on warnings."""
        if not validate:
            if self._problems.structural():
                only = _Problems()
                only.parts = [q for q in self._problems.parts if q["structural"]]
                raise DatasetError(_summary(only.frame(self._files), "the tables cannot be read as they are"),
                                   self.problems())
            return
        problems = self.problems()
        if (problems["severity"] == "error").any():
            raise DatasetError(_summary(problems), problems)
        if len(problems):
            warnings.warn(DatasetWarning(_summary(problems, severity="warning"), problems), stacklevel=stacklevel + 1)

    def __repr__(self) -> str:
        flag = ", sensitive" if self.sensitive else ""
        return (f"<traffickstats.Dataset{' ' + repr(self.name) if self.name else ''}: {self.cases.num_rows:,} cases, "
                f"{self.defendants.num_rows:,} defendants, {self.victims.num_rows:,} victims{flag}>")

    def table(self, name: str) -> Table:
        """One of the three tables by name."""
        if name not in TABLES:
            raise ValueError(f"unknown table {name!r}; expected one of {', '.join(TABLES)}")
        return getattr(self, name)

    def problems(self) -> Any:
        """Every problem found in the data, as a DataFrame (see :func:`validate`)."""
        return _check({t: self.table(t) for t in TABLES}, self._problems,
                      {"defendants": self._defendant_case, "victims": self._victim_case}, self._files)

    def _derived(self, key: Hashable, factory: Callable[[Dataset], _T]) -> _T:
        """Data derived from this dataset's tables, computed once and kept with it.

        ``factory(self)`` runs on the first call with ``key``; later calls return the
        same object.  Any layer above the model may keep derived arrays here (the
        statistics keep their masks and keys under ``"traffickstats.stats.populations"``)
        without the model knowing what they are: name ``key`` after the module that
        owns the data.  The tables never change, so what is derived from them stays
        valid; do not derive from ``sensitive``, ``name`` or ``notice``, which may.
        The memo goes when the dataset goes (it is an attribute of the instance).
        """
        memo = self._memo
        if key not in memo:
            memo[key] = factory(self)
        return memo[key]

    def date_range(self) -> tuple[np.datetime64, np.datetime64] | None:
        """The first and the last date anywhere in the data (filing, closing, charge and
        outcome dates), or None when there is no date at all."""
        lo, hi = None, None
        for t, c in (("cases", "filing_date"), ("cases", "closed_date"), ("defendants", "charge_date"),
                     ("defendants", "outcome_date")):
            col = self.table(t)[c]
            v = np.asarray(col.values)[np.asarray(col.valid)]
            if v.size:
                lo = int(v.min()) if lo is None else min(lo, int(v.min()))
                hi = int(v.max()) if hi is None else max(hi, int(v.max()))
        if lo is None or hi is None:
            return None
        return _EPOCH + np.timedelta64(lo, "D"), _EPOCH + np.timedelta64(hi, "D")

    @classmethod
    def sample(cls) -> "Dataset":
        """The bundled synthetic sample (calibrated to published FHTR 2020 figures).

        The same as :func:`traffickstats.datasets.load_sample`, which owns the sample.
        """
        return _bundled_sample().load_sample()


# --------------------------------------------------------------------------- the bundled sample


class _SampleOwner(Protocol):
    """What this module needs of the owner of the bundled sample (:mod:`traffickstats.datasets`)."""

    SAMPLE_NAME: str
    SYNTHETIC_NOTICE: str

    def sample_dir(self) -> Path: ...

    def load_sample(self) -> Dataset: ...


#: Returns the owner of the bundled sample, for :meth:`Dataset.sample` and for
#: :func:`read_dataset` to label the sample folder.  :mod:`traffickstats.datasets` owns
#: the sample (its files, name and notice, and the one function that loads it) and sits
#: a layer above this module (it builds Datasets), so this module never imports it: the
#: package front sets this hook on import, to a function that imports the datasets
#: layer on first use (it needs pandas, and ``import traffickstats`` stays NumPy-only).
_sample_owner: Callable[[], _SampleOwner] | None = None


def _bundled_sample() -> _SampleOwner:
    if _sample_owner is None:  # pragma: no cover - traffickstats/__init__.py sets it on import
        raise RuntimeError("the bundled sample's owner is not connected (traffickstats/__init__.py connects it)")
    return _sample_owner()


def validate(data: Any) -> Any:
    """Check a dataset and list every problem found (not only the first).

    Parameters
    ----------
    data : str, os.PathLike or Dataset
        A folder holding ``cases.csv``, ``defendants.csv``, ``victims.csv``, or a
        :class:`Dataset`.

    Returns
    -------
    pandas.DataFrame
        One row per problem with columns ``table``, ``file``, ``row`` (0-based data
        row), ``line`` (physical line in the CSV file, header = 1), ``column``,
        ``value``, ``problem`` and ``severity`` (``"error"`` or ``"warning"``).  Empty
        when the data is clean.  A cell has at most one problem: a value that does
        not parse is not also reported as missing.

        Errors: a file that cannot be read (not UTF-8, not ``,``-separated, ragged
        rows, ...), required columns and values, duplicate ids, a defendant or victim
        whose ``case_id`` is not in cases, ``closed_date`` before ``filing_date``,
        ``outcome_date`` before ``charge_date``, values that do not parse (dates,
        booleans, numbers), values outside a category's allowed set (list items
        included), patterns and ranges, and a ``minor`` flag that contradicts
        ``age``.  Warnings: missing optional columns, whitespace around values, empty
        or repeated list items, dates in the future, a decided outcome without a date.
    """
    if isinstance(data, Dataset):
        return data.problems()
    try:
        ds = _read(data)
    except DatasetError as exc:  # a file that cannot be parsed at all
        return exc.problems
    return ds.problems()


def _file_error(table: str, path: Path, message: str, line: int | None = None, column: str | None = None) -> DatasetError:
    p = _Problems()
    p.add(table, None if line is None or line < 2 else np.array([line - 2]), column, "", f"cannot be read: {message}",
          structural=True, line=line)
    problems = p.frame({table: str(path)})
    where = f"{path}" + (f", line {line}" if line else "") + (f", column {column!r}" if column else "")
    return DatasetError(f"{where}: cannot be read: {message}", problems)


def _read_csv(path: Path, table: str) -> Table:
    """One CSV file as a Table: every column as text categories (lists split on ';')."""
    from ..engine.csv import read_csv

    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _file_error(table, path, "the file is UTF-16 text; save it as UTF-8 (Excel: 'CSV UTF-8')", 1)
    text = head.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        header = next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error:   # the reader below says what is wrong, and where
        header = []
    schema_ = {f["name"]: ("list<category>" if f["ts:type"] == "list<category>" else "category") for f in _fields(table)}
    # only an empty field is unknown: "NA" is Namibia's citizenship code
    try:
        return read_csv(str(path), schema={k: v for k, v in schema_.items() if k in header}, list_sep=";",
                        na_values=("",))
    except ValueError as exc:   # ParseError is a ValueError; the message names the file
        msg = str(exc)
        msg = msg.split(": ", 1)[1] if msg.startswith(str(path)) and ": " in msg else msg
        if "invalid UTF-8" in msg:
            msg += " (the file is not UTF-8 text: save it as UTF-8, e.g. Excel's 'CSV UTF-8')"
        raise _file_error(table, path, msg, getattr(exc, "line", None), getattr(exc, "column", None)) from None


def _table_file(folder: Path, table: str) -> Path | None:
    """``folder/table.parquet`` when it exists, else ``folder/table.csv``, else None."""
    for ext in (".parquet", ".csv"):
        if (folder / (table + ext)).is_file():
            return folder / (table + ext)
    return None


def _read(folder: str | os.PathLike, *, sensitive: bool = False, name: str | None = None) -> Dataset:
    """Read a dataset folder into a Dataset without checking it (see :meth:`Dataset._enforce`)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no such folder: {folder}")
    files = {t: _table_file(folder, t) for t in TABLES}
    missing = [f"{t}.csv" for t, f in files.items() if f is None]
    if missing:
        raise FileNotFoundError(f"{folder}: missing {', '.join(missing)} (a dataset is cases, defendants and "
                                "victims, each as NAME.csv or NAME.parquet)")
    tables = {}
    for t in TABLES:
        path = files[t]
        assert path is not None
        if path.suffix == ".parquet":
            from ..engine.parquet import read_parquet

            tables[t] = read_parquet(path)
        else:
            tables[t] = _read_csv(path, t)
    ds = Dataset.__new__(Dataset)
    ds._setup(tables["cases"], tables["defendants"], tables["victims"], sensitive=sensitive, name=name or folder.name,
              notice=None, files={t: str(p) for t, p in files.items() if p is not None})
    ds.source = str(folder)
    sample = _bundled_sample()
    if folder.resolve() == sample.sample_dir().resolve():
        ds.notice = sample.SYNTHETIC_NOTICE
        ds.name = name or sample.SAMPLE_NAME
    return ds


def read_dataset(folder: str | os.PathLike, *, validate: bool = True, sensitive: bool = False,
                 name: str | None = None) -> Dataset:
    """Read ``cases``, ``defendants`` and ``victims`` from ``folder``.

    Each table is ``NAME.parquet`` when that file exists (read with
    :func:`traffickstats.read_parquet`; needs pyarrow), otherwise ``NAME.csv``.
    CSV conventions: UTF-8 text, ``,`` between fields, a header row, dates as
    ``YYYY-MM-DD``, booleans ``true``/``false``, list values joined by ``;``, an empty
    field for unknown.

    Parameters
    ----------
    folder : str or os.PathLike
    validate : bool, default True
        Raise :class:`DatasetError` with a summary when any error is found (the full
        list is its ``problems`` attribute) and warn with :class:`DatasetWarning`
        about the rest.  With ``False`` the data is read as well as it can be
        (unparseable values become unknown), but a file that cannot be read or a
        missing required column is still an error; see :func:`validate`.
    sensitive : bool, default False
        See :class:`Dataset`.
    name : str, optional
        A label for reports (defaults to the folder name).

    Returns
    -------
    Dataset
    """
    ds = _read(folder, sensitive=sensitive, name=name)
    ds._enforce(validate, stacklevel=2)
    return ds
