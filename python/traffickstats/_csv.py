"""CSV input and output: :func:`read_csv` and :func:`to_csv` (``Table.to_csv``).

The parsing itself is done by the C kernel ``_core._csv_read``; this module opens the
source, checks the options, drives the progress bar, re-reads the file in the rare
case that type inference needs a second pass, and turns dropped rows into warnings.
"""
from __future__ import annotations

import codecs
import io
import os
import re
import tempfile
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, BinaryIO, Union

from traffickstats import _core
from traffickstats.errors import ParseError, ParseWarning

__all__ = ["read_csv", "to_csv"]

PathOrFile = Union[str, "os.PathLike[str]", BinaryIO]

DEFAULT_NA_VALUES = ("", "NA", "N/A", "NULL", "null")
DEFAULT_TRUE_VALUES = ("true", "True", "TRUE")
DEFAULT_FALSE_VALUES = ("false", "False", "FALSE")
MiB = 1 << 20
_CHUNK = 4 * MiB
_TYPES = (*_core.TYPES, "list")  # "list": read_csv's alias of list<category>
_ON_BAD = {"error": 0, "skip": 1, "warn": 2}
_DATE_DIRECTIVE = re.compile(r"%(.)")


class _Source:
    """Binary input with ``readinto`` and ``rewind`` (a second pass of inference)."""

    def __init__(self, source: PathOrFile, encoding: str) -> None:
        self._own = False
        self._spool = None    # unseekable input: everything read so far, for a re-read
        self._spooled = 0     # bytes in the spool
        self._replay_at = 0   # next spool byte to hand out again after a rewind
        self.total = None
        if isinstance(source, (str, os.PathLike)):
            self.path = os.fspath(source)
            self._f: BinaryIO = open(self.path, "rb", buffering=0)
            self._own = True
        elif hasattr(source, "read"):
            if isinstance(source, io.TextIOBase):
                raise TypeError("read_csv needs a binary file object (open the file with 'rb')")
            self._f = source
            name = getattr(source, "name", None)
            self.path = name if isinstance(name, str) else "<stream>"
        else:
            raise TypeError(f"read_csv source must be a path or a binary file object, "
                            f"got {type(source).__name__}")
        try:
            self._seekable = bool(self._f.seekable()) if hasattr(self._f, "seekable") else False
            self._start = self._f.tell() if self._seekable else 0
            if self._seekable:
                end = self._f.seek(0, os.SEEK_END)
                self._f.seek(self._start)
                self.total = end - self._start
        except (OSError, ValueError):
            self._seekable = False
        if not self._seekable:
            self._spool = tempfile.TemporaryFile()
        enc = codecs.lookup(encoding).name
        self._decoder = None if enc in ("utf-8", "utf-8-sig") else encoding
        self._reset_decoder()

    def _reset_decoder(self) -> None:
        if self._decoder is not None:
            self._dec = codecs.getincrementaldecoder(self._decoder)("strict")
            self._pending = b""

    def _raw_read(self, n: int) -> bytes:
        if self._spool is not None and self._replay_at < self._spooled:
            self._spool.seek(self._replay_at)
            b = self._spool.read(min(n, self._spooled - self._replay_at))
            self._replay_at += len(b)
            return b
        if hasattr(self._f, "read1"):
            b = self._f.read1(n)
        else:
            b = self._f.read(n)
        if b is None:
            b = b""
        if not isinstance(b, (bytes, bytearray, memoryview)):
            raise TypeError("read_csv needs a binary file object (read() returned str)")
        b = bytes(b)
        if self._spool is not None and b:
            self._spool.seek(self._spooled)
            self._spool.write(b)
            self._spooled += len(b)
            self._replay_at = self._spooled
        return b

    def readinto(self, mv: memoryview) -> int:
        n = len(mv)
        if self._decoder is None and self._spool is None and hasattr(self._f, "readinto"):
            got = self._f.readinto(mv)  # no copy
            return 0 if got is None else got
        if self._decoder is None:
            b = self._raw_read(n)
        else:
            while len(self._pending) == 0:
                raw = self._raw_read(max(n // 2, 1))
                try:
                    self._pending = self._dec.decode(raw, final=not raw).encode("utf-8")
                except UnicodeDecodeError as exc:
                    raise ParseError(f"{self.path}: cannot decode as {self._decoder}: {exc}",
                                     self.path, None, None) from None
                if not raw:
                    break
            b, self._pending = self._pending[:n], self._pending[n:]
        mv[: len(b)] = b
        return len(b)

    def rewind(self) -> None:
        if self._seekable:
            self._f.seek(self._start)
        else:
            self._replay_at = 0  # hand out the spooled bytes again, then the stream
        self._reset_decoder()

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
        if self._own:
            self._f.close()


class _Progress:
    """readinto wrapper advancing a tqdm bar by bytes read."""

    def __init__(self, src: _Source, enabled: bool) -> None:
        self.src = src
        self.bar = None
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError as exc:  # optional dependency
                raise ImportError("progress=True needs tqdm (pip install tqdm)") from exc
            self.bar = tqdm(total=src.total, unit="B", unit_scale=True, unit_divisor=1024,
                            desc=os.path.basename(src.path))

    def readinto(self, mv: memoryview) -> int:
        n = self.src.readinto(mv)
        if self.bar is not None and n:
            self.bar.update(n)
        return n

    def reset(self) -> None:
        if self.bar is not None:
            self.bar.reset(total=self.src.total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _one_byte(value: Any, what: str, allow_empty: bool = False) -> bytes:
    if value is None and allow_empty:
        return b""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a one-character str, got {type(value).__name__}")
    b = value.encode("utf-8")
    if allow_empty and b == b"":
        return b
    if len(b) != 1 or b in (b"\r", b"\n"):
        raise ValueError(f"{what} must be one ASCII character other than CR and LF, got {value!r}")
    return b


def _byte_strings(values: Iterable[str] | None, what: str) -> tuple[bytes, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = (values,)
    out = []
    for v in values:
        if not isinstance(v, str):
            raise TypeError(f"{what} must be strings, got {type(v).__name__} {v!r}")
        out.append(v.encode("utf-8"))
    return tuple(out)


def _default_threads() -> int:
    """2 on a machine with two or more cores that are not already busy, else 1.

    A second thread only pays when it gets a core of its own: handing work to a
    thread that is not scheduled makes the reader wait."""
    cores = os.cpu_count() or 1
    if cores < 2:
        return 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not on every platform
        return 2
    return 2 if load <= cores - 1 else 1


def read_csv(
    source: PathOrFile,
    *,
    schema: Mapping[str, str] | None = None,
    delimiter: str = ",",
    quotechar: str | None = '"',
    header: bool = True,
    usecols: Sequence[str] | None = None,
    na_values: Iterable[str] | None = DEFAULT_NA_VALUES,
    true_values: Iterable[str] | None = DEFAULT_TRUE_VALUES,
    false_values: Iterable[str] | None = DEFAULT_FALSE_VALUES,
    date_format: str | None = None,
    list_sep: str | None = None,
    encoding: str = "utf-8",
    on_bad_lines: str = "error",
    max_field_size: int = 16 * MiB,
    progress: bool = False,
    chunk_size: int = _CHUNK,
    threads: int | None = None,
):
    """Read a CSV file into a :class:`Table`, strictly and fast.

    Parameters
    ----------
    source : str, path-like or binary file object
        The file.  A file object is read from its current position.
    schema : mapping of str to str, optional
        Column types by name: ``bool``, ``int32``, ``int64``, ``float64``, ``date``,
        ``category``, ``string`` or ``list<category>``.  Columns not named are
        inferred (see Notes).  Every name must be in the header.
    delimiter : str
        One ASCII character.
    quotechar : str or None
        One ASCII character, or None for no quoting.
    header : bool
        Whether the first row holds the column names.  Without a header the names
        are the schema's keys (in order) or ``column_0``, ``column_1``, ...
    usecols : sequence of str, optional
        Only these columns (kept in file order).  Every name must be in the header.
    na_values : iterable of str
        Field texts that mean null.
    true_values, false_values : iterable of str
        Field texts of a bool column.
    date_format : str, optional
        A second date format besides ISO ``YYYY-MM-DD``, made of ``%Y``, ``%y``,
        ``%m``, ``%d``, ``%%`` and literal characters (e.g. ``"%m/%d/%y"`` reads
        ``7/1/15``; ``%y`` maps 69-99 to 19xx and 00-68 to 20xx, as Python does).
    list_sep : str, optional
        The separator of items in ``list<category>`` columns (``";"`` when not
        given).  When given, an inferred text column in which some value holds it
        becomes ``list<category>`` (``facebook;instagram`` -> two items).
    encoding : str
        ``"utf-8"`` (a byte-order mark is skipped) or any Python codec, which is
        transcoded to UTF-8 while streaming (byte offsets in errors then refer to the
        UTF-8 text).
    on_bad_lines : {"error", "skip", "warn"}
        ``"error"`` raises :class:`ParseError` at the first bad row; ``"skip"`` drops
        bad rows; ``"warn"`` drops them and issues one :class:`ParseWarning` per row
        naming its line.  Rows with the wrong number of fields, a value that does not
        fit its column's type, invalid UTF-8 or a field longer than
        `max_field_size` can be dropped; an unterminated quote or text after a
        closing quote always raises (the rest of the file cannot be resynchronised).
    max_field_size : int
        Longest field in bytes (default 16 MiB).
    progress : bool
        Show a ``tqdm.auto`` progress bar advancing by bytes read (needs tqdm).
    chunk_size : int
        Bytes read per chunk (default 4 MiB).
    threads : int, optional
        1 or 2 threads.  With 2, each chunk is tokenized in two halves (the second
        starting at a line break preceded by an even number of quotes, kept only
        when the first half ends exactly there) and the columns are converted by
        both threads.  Default: 2 when the machine has two or more cores and the
        1-minute load average leaves one free, else 1 (a busy second core makes
        the hand-offs wait).  The worker starts with the first chunk of 64 KiB or
        more.  The result never depends on it.

    Returns
    -------
    Table

    Raises
    ------
    ParseError
        A ``ValueError`` naming the file, the 1-based physical line, the column and
        what was expected: wrong field count (``expected 12 fields, saw 13``),
        unterminated quote (the line where it opened), a value of the wrong type or
        an integer out of range, invalid UTF-8 (with the byte offset), an over-long
        field, an empty file, duplicate column names, or a `usecols`/`schema` name
        not in the header.

    Notes
    -----
    Dialect: RFC 4180 quoting (delimiters, quotes and line breaks inside quoted
    fields, ``""`` for a quote), LF, CRLF and bare CR line endings, a UTF-8 BOM.
    Blank lines are skipped, except in a one-column file where a blank line is a
    null (so that ``to_csv`` output reads back).  A quote inside an unquoted field
    is kept literally.  No whitespace is stripped: ``" 12"`` is not an integer.

    Nulls: a field whose text is in `na_values` is null.  In string, category and
    list columns only *unquoted* fields can be null, so ``""`` is the empty string
    and ``"NA"`` the text NA (this is how ``to_csv`` writes them); in other columns
    quoting does not matter.  A quoted empty field in a list column is the empty
    list.

    Type inference, per column without a schema type, over all non-null values of
    the whole file: ``bool`` if every value is in `true_values`/`false_values`;
    else ``int64`` if every value is a decimal integer ``[+-]digits`` within int64;
    else ``float64`` if every value is an integer or a decimal float (``1.5``,
    ``.5``, ``1e-3``; integers beyond int64 count as floats; ``nan``/``inf`` words
    are not inferred, but are read in a float64 schema column); else ``date`` if
    every value is an ISO date (or matches `date_format`); otherwise ``category``,
    or ``list<category>`` when `list_sep` is given and some value contains it.
    A column with no non-null value is a ``category`` column of nulls.  The types
    are widened chunk by chunk; when a later chunk turns a bool, int64, float64 or
    date column into category (or a category column into a list), the file is read
    again from the start with that column's wider type (for an unseekable stream the bytes read so far are replayed
    from a temporary file).  Category dictionaries are sorted, holding only values
    that occur.

    Numbers use ASCII digits only (no underscores, no other Unicode digits, no
    surrounding spaces, which Python's ``int()``/``float()`` would accept) and are
    parsed without the C locale: integers exactly, floats identical to
    Python's ``float()`` of the same text (an exact fast path; the rare hard cases
    use ``PyOS_string_to_double`` with the GIL held briefly).  Parsing runs without
    the GIL, in chunks, so the file is never held in memory twice; the column
    buffers are presized from the file size to avoid copies as they grow.
    """
    if on_bad_lines not in _ON_BAD:
        raise ValueError(f"on_bad_lines must be 'error', 'skip' or 'warn', got {on_bad_lines!r}")
    delim_b = _one_byte(delimiter, "delimiter")
    quote_b = _one_byte(quotechar, "quotechar", allow_empty=True)  # equal to delimiter: _core says so
    sep_b = _one_byte(";" if list_sep is None else list_sep, "list_sep")
    if schema is not None:
        if not isinstance(schema, Mapping):
            raise TypeError(f"schema must be a mapping of column name to type, got {type(schema).__name__}")
        for name, typ in schema.items():
            if not isinstance(name, str) or not isinstance(typ, str):
                raise TypeError(f"schema must map str to str, got {name!r}: {typ!r}")
            if typ not in _TYPES:
                raise ValueError(f"schema: unknown type {typ!r} for column {name!r}; expected one of "
                                 + ", ".join(_TYPES[:-1]))
    if usecols is not None:
        if isinstance(usecols, str) or not all(isinstance(u, str) for u in usecols):
            raise TypeError("usecols must be a sequence of column names")
        usecols = tuple(usecols)
    if date_format is not None:
        if not isinstance(date_format, str):
            raise TypeError("date_format must be a str")
        bad = [d for d in _DATE_DIRECTIVE.findall(date_format) if d not in "Yymd%"]
        if bad or not {"m", "d"} <= set(_DATE_DIRECTIVE.findall(date_format)):
            raise ValueError(f"date_format {date_format!r}: supported are %Y, %y, %m, %d and %%, "
                             "and it needs a year, a month and a day")
        if not ({"Y", "y"} & set(_DATE_DIRECTIVE.findall(date_format))):
            raise ValueError(f"date_format {date_format!r} has no year (%Y or %y)")
    if not isinstance(max_field_size, int) or not 1 <= max_field_size < (1 << 30):
        raise ValueError("max_field_size must be an int in [1, 2**30)")
    if threads is None:
        nthreads = _default_threads()  # the worker starts only for big chunks
    elif not isinstance(threads, int) or threads < 1:
        raise ValueError("threads must be a positive int")
    else:
        nthreads = 1 if threads == 1 else 3  # 3: use the worker from the first chunk

    if not isinstance(chunk_size, int):  # the range (>= 16) is checked by _core, with this message
        raise ValueError("chunk_size must be an int >= 16")
    names = None
    if not header and schema is not None:
        names = tuple(schema)

    na_b = _byte_strings(na_values, "na_values")
    tru_b = _byte_strings(true_values, "true_values")
    fal_b = _byte_strings(false_values, "false_values")
    hints: dict[str, str] = {}
    src = _Source(source, encoding)
    bar = None
    try:
        bar = _Progress(src, progress)
        while True:
            sch = dict(schema) if schema is not None else None
            table, bad_rows, restart = _core._csv_read(
                bar.readinto, src.path, ParseError, delim_b, quote_b, bool(header), names,
                usecols, sch, na_b, tru_b, fal_b, date_format, sep_b,
                max_field_size, _ON_BAD[on_bad_lines], chunk_size,
                -1 if src.total is None or src._decoder is not None else src.total, nthreads,
                list_sep is not None, hints)
            if restart is None:
                break
            for name, typ in restart:
                hints[name] = typ
            src.rewind()
            bar.reset()
    finally:
        if bar is not None:
            bar.close()
        src.close()
    if bad_rows:
        for line, message in bad_rows:
            warnings.warn(ParseWarning(f"dropped row: {message}"), stacklevel=2)
    return table


def to_csv(table, path_or_file: PathOrFile, *, delimiter: str = ",", quotechar: str = '"',
           list_sep: str = ";") -> None:
    """Write a Table as CSV that :func:`read_csv` reads back to an equal Table.

    Parameters
    ----------
    table : Table
    path_or_file : str, path-like or binary file object
    delimiter, quotechar, list_sep : str
        One ASCII character each.

    Notes
    -----
    The project's conventions: a header row, dates ``YYYY-MM-DD``, booleans
    ``true``/``false``, floats as ``repr`` (so they read back exactly; NaN as
    ``nan``), list items joined by `list_sep`, an empty field for null.  Text is
    quoted when it holds the delimiter, the quote, CR or LF, or when it is empty or
    one of the default `na_values` (so ``""`` is the empty string and the text
    ``NA`` stays text).  Read back with ``schema=table.schema`` to get the same
    types (inference cannot tell int32 from int64 or string from category).

    Rows are formatted in blocks of 8,192 without the GIL (only the floats that are
    not whole numbers below 1e15 are formatted with it, by Python's own ``repr``), so
    other Python threads keep running; writes to the file are made with the GIL,
    every 1 MiB.  On an error the rows before the offending block may already have
    been written.

    Raises
    ------
    ValueError
        A list item contains `list_sep`, a list holds exactly one empty string
        (indistinguishable from the empty list), or a date's year is outside
        1-9999 (the years Python dates and ISO YYYY-MM-DD share).
    """
    delim_b = _one_byte(delimiter, "delimiter")
    quote_b = _one_byte(quotechar, "quotechar")
    sep_b = _one_byte(list_sep, "list_sep")
    if quote_b == delim_b:
        raise ValueError("delimiter and quotechar must differ")
    na_b = _byte_strings(DEFAULT_NA_VALUES, "na_values")
    if isinstance(path_or_file, (str, os.PathLike)):
        with open(path_or_file, "wb") as f:
            _core._csv_write(table, f.write, delim_b, quote_b, sep_b, na_b)
    elif hasattr(path_or_file, "write"):
        if isinstance(path_or_file, io.TextIOBase):
            raise TypeError("to_csv needs a binary file object (open the file with 'wb')")
        _core._csv_write(table, path_or_file.write, delim_b, quote_b, sep_b, na_b)
    else:
        raise TypeError(f"to_csv target must be a path or a binary file object, got {type(path_or_file).__name__}")
