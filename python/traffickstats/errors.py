"""Exceptions and warnings raised by traffickstats."""
from __future__ import annotations

__all__ = ["ParseError", "ParseWarning", "DatasetError", "DatasetWarning", "DataWarning"]


class ParseError(ValueError):
    """A file could not be parsed.

    The message names the file, the 1-based physical line, the column and what was
    expected, e.g. ``cases.csv, line 7, column 'age': expected int64, got '12x'``.

    Attributes
    ----------
    path : str
        The file (or ``<stream>`` for a file object without a name).
    line : int or None
        1-based physical line (line breaks inside quoted fields count).
    column : str or None
        The column the problem is in, when there is one.
    """

    def __init__(self, message: str, path: str | None = None, line: int | None = None,
                 column: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.column = column

    def __reduce__(self):  # keep the attributes through pickling
        return (type(self), (self.args[0], self.path, self.line, self.column))


class ParseWarning(UserWarning):
    """A row was dropped by ``read_csv(..., on_bad_lines="warn")``."""


class DatasetError(ValueError):
    """A dataset failed validation.

    Attributes
    ----------
    problems : pandas.DataFrame or None
        Every problem found (see :func:`traffickstats.validate` for the columns), not
        only the ones the message names.
    """

    def __init__(self, message: str, problems: object = None) -> None:
        super().__init__(message)
        self.problems = problems

    def __reduce__(self):  # keep the problems through pickling
        return (type(self), (self.args[0], self.problems))


class DatasetWarning(UserWarning):
    """A dataset was read, but something in it deserves a look (e.g. an optional column
    is missing, or a list repeats an item).  ``problems`` holds the details."""

    def __init__(self, message: str, problems: object = None) -> None:
        super().__init__(message)
        self.problems = problems


class DataWarning(UserWarning):
    """The result may not say what you expect: a figure for a year after the last date
    in the data, or a pandas index or category order that a Table cannot hold."""
