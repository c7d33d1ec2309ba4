"""The bad-inputs corpus: mistakes that real files and real callers make, and what
traffickstats must do about each one.

Every case is a small function that does what a user would do -- usually reading a
copy of the hand-written dataset in ``base/`` after one edit (a renamed header, a
``;`` separator, a value in the wrong format, a BOM, latin-1 bytes, ...), sometimes a
call with a wrong argument -- and one expectation:

``Raises(cls, words)``
    the exception type, and words its message must contain: what went wrong and where
    (file, line, column, value);
``Warns(cls, words, check)``
    a warning of that type whose message holds the words, then ``check(result)``;
``Gives(check)``
    no exception *and no warning at all*, then ``check(result)``: an exact result,
    usually the same figure as the clean data gives.

A ``check`` either asserts (and returns None) or returns a bool that must be True.

Never a crash, never a different figure in silence.  ``tests/model/test_bad_inputs.py``
runs them all.  The records in ``base/`` are invented for these tests (six cases,
six defendants, eight victims); they describe no real person or case.

Figures of ``base/`` for 2020 (criminal cases only): new cases c2, c3 (c5 is civil);
active cases c1, c2, c3; 6 victims in active cases (v1-v6); minor share 2 of 5 known
(v6 unknown); online recruitment in active sex-trafficking cases: v1 (facebook,
instagram) and v2 (facebook), so Facebook 2 of 2; new cases investigated by two or
more agencies: c3 only, 1 of 2; convicted in 2020: d1 (plea), d2 (trial); decided:
those two and d4 (dismissed), so the conviction rate is 2 of 3.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

import traffickstats as ts
from traffickstats import stats as S

BASE = Path(__file__).parent / "base"
FILES = ("cases.csv", "defendants.csv", "victims.csv")


# ------------------------------------------------------------------ expectations


@dataclass
class Raises:
    cls: type[BaseException]
    words: list[str]


@dataclass
class Warns:
    cls: type[Warning]
    words: list[str]
    check: Callable[[Any], None] | None = None


@dataclass
class Gives:
    check: Callable[[Any], None]


@dataclass
class Case:
    name: str
    run: Callable[[Path], Any]
    expect: Raises | Warns | Gives
    note: str = field(default="")


CASES: list[Case] = []


def case(name: str, expect: Raises | Warns | Gives) -> Callable[[Callable[[Path], Any]], Callable[[Path], Any]]:
    def register(fn: Callable[[Path], Any]) -> Callable[[Path], Any]:
        CASES.append(Case(name, fn, expect, (fn.__doc__ or "").strip()))
        return fn
    return register


# ------------------------------------------------------------------ editing the base files


def text(name: str) -> str:
    return (BASE / name).read_text(encoding="utf-8")


def rows(t: str) -> list[list[str]]:
    """The base files hold no quotes: a line is its fields joined by ','."""
    return [line.split(",") for line in t.splitlines()]


def join(rs: list[list[str]]) -> str:
    return "\n".join(",".join(r) for r in rs) + "\n"


def set_cell(t: str, row: int, column: str, value: str) -> str:
    """``value`` in data row ``row`` (0-based, header excluded) of ``column``."""
    rs = rows(t)
    rs[row + 1][rs[0].index(column)] = value
    return join(rs)


def rename(t: str, old: str, new: str) -> str:
    rs = rows(t)
    rs[0][rs[0].index(old)] = new
    return join(rs)


def drop(t: str, column: str) -> str:
    rs = rows(t)
    j = rs[0].index(column)
    return join([r[:j] + r[j + 1:] for r in rs])


def folder(tmp: Path, **files: str | bytes) -> Path:
    """A copy of ``base/`` in ``tmp`` with some files replaced (``cases="..."``)."""
    out = tmp / "data"
    out.mkdir(exist_ok=True)
    for name in FILES:
        shutil.copy(BASE / name, out / name)
    for stem, content in files.items():
        path = out / f"{stem}.csv"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
    return out


def edit(tmp: Path, table: str, row: int, column: str, value: str) -> Path:
    return folder(tmp, **{table: set_cell(text(f"{table}.csv"), row, column, value)})


def frames() -> dict[str, pd.DataFrame]:
    """The base tables as a user's DataFrames (text columns, NaN for empty)."""
    return {name[:-4]: pd.read_csv(BASE / name, dtype=str, keep_default_na=False).replace("", None)
            for name in FILES}


def base() -> ts.Dataset:
    return ts.read_dataset(BASE)


def later(years: int) -> str:
    return dt.date(dt.date.today().year + years, 1, 1).isoformat()


def count(frame: pd.DataFrame, year: int = 2020) -> int:
    return int(frame.loc[frame["year"] == year, "count"].iloc[0])


def share(frame: pd.DataFrame, value: Any = None, year: int = 2020) -> tuple[int, int, int]:
    f = frame[frame["year"] == year]
    if value is not None:
        f = f[f["value"] == value]
    r = f.iloc[0]
    return int(r["numerator"]), int(r["denominator"]), int(r["unknown"])


def same_figures(ds: ts.Dataset) -> None:
    """The 2020 figures of ``base/``, unchanged by a harmless quirk."""
    assert count(S.new_cases(ds, 2020)) == 2
    assert count(S.active_cases(ds, 2020)) == 3
    assert count(S.victims_in_active_cases(ds, 2020)) == 6
    assert share(S.minor_share(ds, 2020)) == (2, 5, 1)
    assert share(S.platform_share(ds, 2020), "facebook") == (2, 2, 0)
    assert share(S.multi_agency_share(ds, 2020)) == (1, 2, 0)
    assert share(S.conviction_rate(ds, 2020)) == (2, 3, 0)


def one_problem(problems: pd.DataFrame, column: str, starts: str) -> None:
    assert len(problems) == 1, problems.to_dict("records")
    assert problems.iloc[0]["column"] == column and problems.iloc[0]["problem"].startswith(starts), \
        problems.to_dict("records")


def cli(*argv: str) -> tuple[int, str, str]:
    from traffickstats.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(list(argv))
        except SystemExit as exc:   # argparse's --version and usage errors
            status = int(exc.code or 0)
    return status, out.getvalue(), err.getvalue()


# ================================================================== files: shape of the file


def _clean(ds: ts.Dataset) -> None:
    same_figures(ds)
    assert len(ts.validate(ds)) == 0


@case("clean base folder", Gives(_clean))
def _(tmp):
    """The base data itself: no problem, the documented figures."""
    return ts.read_dataset(folder(tmp))


@case("id column misnamed CaseID", Raises(ts.DatasetError, ["cases.csv", "line 1", "'case_id'", "column missing",
                                                             "'CaseID'"]))
def _(tmp):
    return ts.read_dataset(folder(tmp, cases=rename(text("cases.csv"), "case_id", "CaseID")))


@case("id column misnamed, validate=False still raises",
      Raises(ts.DatasetError, ["cases.csv", "'case_id'", "column missing", "'CaseID'"]))
def _(tmp):
    return ts.read_dataset(folder(tmp, cases=rename(text("cases.csv"), "case_id", "CaseID")), validate=False)


@case("id column misnamed: validate lists one problem, no crash",
      Gives(lambda p: one_problem(p, "case_id", "column missing")))
def _(tmp):
    return ts.validate(folder(tmp, cases=rename(text("cases.csv"), "case_id", "CaseID")))


@case("header in title case", Raises(ts.DatasetError, ["cases.csv", "'proceeding'", "'Proceeding'"]))
def _(tmp):
    return ts.read_dataset(folder(tmp, cases=rename(text("cases.csv"), "proceeding", "Proceeding")))


@case("required column dropped", Raises(ts.DatasetError, ["defendants.csv", "line 1", "'defendant_id'",
                                                          "column missing"]))
def _(tmp):
    return ts.read_dataset(folder(tmp, defendants=drop(text("defendants.csv"), "defendant_id")))


@case("optional column dropped", Warns(ts.DatasetWarning, ["'coercion'", "column missing", "read as all unknown"],
                                      lambda ds: ds.victims["coercion"].null_count == 8))
def _(tmp):
    return ts.read_dataset(folder(tmp, victims=drop(text("victims.csv"), "coercion")))


@case("one-column file", Raises(ts.DatasetError, ["cases.csv", "'proceeding'", "'filing_date'", "column missing"]))
def _(tmp):
    return ts.read_dataset(folder(tmp, cases="case_id\nc1\nc2\nc3\nc4\nc5\nc6\n"))


@case("Excel export with ';' separators", Raises(ts.DatasetError, ["cases.csv", "line 1", "';'-separated"]))
def _(tmp):
    return ts.read_dataset(folder(tmp, **{n[:-4]: text(n).replace(",", ";") for n in FILES}))


@case("';' separators: validate names each file", Gives(
    lambda p: (len(p) == 3 and p["problem"].str.contains("';'-separated").all() and set(p["table"]) ==
               {"cases", "defendants", "victims"})))
def _(tmp):
    return ts.validate(folder(tmp, **{n[:-4]: text(n).replace(",", ";") for n in FILES}))


@case("tab-separated file", Raises(ts.DatasetError, ["victims.csv", "tab-separated"]))
def _(tmp):
    return ts.read_dataset(folder(tmp, victims=text("victims.csv").replace(",", "\t")))


@case("UTF-8 byte-order mark (Excel's 'CSV UTF-8')", Gives(same_figures))
def _(tmp):
    return ts.read_dataset(folder(tmp, **{n[:-4]: b"\xef\xbb\xbf" + text(n).encode() for n in FILES}))


@case("Windows line endings (CRLF)", Gives(same_figures))
def _(tmp):
    return ts.read_dataset(folder(tmp, **{n[:-4]: text(n).replace("\n", "\r\n") for n in FILES}))


@case("old Mac line endings (CR)", Gives(same_figures))
def _(tmp):
    return ts.read_dataset(folder(tmp, **{n[:-4]: text(n).replace("\n", "\r") for n in FILES}))


@case("trailing separator on every line", Warns(ts.DatasetWarning, ["victims", "column without a name ignored",
                                                                    "ends with a separator"], same_figures))
def _(tmp):
    return ts.read_dataset(folder(tmp, victims=text("victims.csv").replace("\n", ",\n")))


@case("latin-1 bytes", Raises(ts.DatasetError, ["cases.csv", "line 3", "'district'", "not UTF-8"]))
def _(tmp):
    t = set_cell(text("cases.csv"), 1, "district", "D. San Jos\u00e9")
    return ts.read_dataset(folder(tmp, cases=t.encode("latin-1")))


@case("UTF-16 file", Raises(ts.DatasetError, ["victims.csv", "UTF-16", "UTF-8"]))
def _(tmp):
    return ts.read_dataset(folder(tmp, victims=text("victims.csv").encode("utf-16")))


@case("empty file", Raises(ts.DatasetError, ["defendants.csv", "empty file"]))
def _(tmp):
    return ts.read_dataset(folder(tmp, defendants=b""))


@case("header-only victims file", Gives(
    lambda ds: (count(S.victims_in_active_cases(ds, 2020)) == 0 and share(S.minor_share(ds, 2020)) == (0, 0, 0)
                and math.isnan(S.minor_share(ds, 2020)["estimate"].iloc[0]))))
def _(tmp):
    return ts.read_dataset(folder(tmp, victims=text("victims.csv").splitlines()[0] + "\n"))


@case("duplicate header", Raises(ts.DatasetError, ["cases.csv", "line 1", "'case_type'", "duplicate column name"]))
def _(tmp):
    return ts.read_dataset(folder(tmp, cases=rename(text("cases.csv"), "district", "case_type")))


@case("row with a field too many", Raises(ts.DatasetError, ["victims.csv", "line 4", "expected 10 fields, saw 11"]))
def _(tmp):
    lines = text("victims.csv").splitlines()
    lines[3] += ",extra"
    return ts.read_dataset(folder(tmp, victims="\n".join(lines) + "\n"))


@case("unterminated quote", Raises(ts.DatasetError, ["cases.csv", "line 4", "'district'", "unterminated"]))
def _(tmp):
    return ts.read_dataset(folder(tmp, cases=set_cell(text("cases.csv"), 2, "district", '"N.D. Ga.')))


@case("blank lines between rows: lines still right",
      Raises(ts.DatasetError, ["cases.csv", "line 6", "'case_type'", "'sexx'"]))
def _(tmp):
    t = set_cell(text("cases.csv"), 2, "case_type", "sexx").replace("\nc2,", "\n\n\nc2,")
    return ts.read_dataset(folder(tmp, cases=t))


@case("quoted line break: lines still right", Raises(ts.DatasetError, ["cases.csv", "line 5", "'sexx'"]))
def _(tmp):
    t = set_cell(text("cases.csv"), 2, "case_type", "sexx")   # row 2 (c3), then the line break in row 0
    return ts.read_dataset(folder(tmp, cases=set_cell(t, 0, "district", '"D.\nMass."')))


@case("extra column kept", Gives(lambda ds: (ds.cases["notes"].to_pylist()[0] == "see file" and
                                             same_figures(ds) is None)))
def _(tmp):
    rs = rows(text("cases.csv"))
    rs = [r + [v] for r, v in zip(rs, ["notes", "see file", "", "", "", "", ""])]
    return ts.read_dataset(folder(tmp, cases=join(rs)))


@case("no such folder", Raises(FileNotFoundError, ["no such folder", "nowhere"]))
def _(tmp):
    return ts.read_dataset(tmp / "nowhere")


@case("a table file missing", Raises(FileNotFoundError, ["missing victims.csv"]))
def _(tmp):
    d = folder(tmp)
    (d / "victims.csv").unlink()
    return ts.read_dataset(d)


# ================================================================== files: ids and links


@case("duplicate case rows", Raises(ts.DatasetError, ["cases.csv", "line 3", "line 8", "'case_id'", "duplicate id",
                                                      "'c2'"]))
def _(tmp):
    lines = text("cases.csv").splitlines()
    return ts.read_dataset(folder(tmp, cases="\n".join(lines + [lines[2]]) + "\n"))


@case("duplicate victim id", Raises(ts.DatasetError, ["victims.csv", "line 3", "duplicate id", "'v1'"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "victims", 1, "victim_id", "v1"))


@case("victim of a case not in cases", Raises(ts.DatasetError, ["victims.csv", "line 9", "case_id not in cases",
                                                                "'c9'"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "victims", 7, "case_id", "c9"))


@case("whitespace around an id", Warns(ts.DatasetWarning, ["victims.csv", "line 2", "'case_id'", "whitespace"],
                                       same_figures))
def _(tmp):
    return ts.read_dataset(edit(tmp, "victims", 0, "case_id", " c1"))


@case("required value missing", Raises(ts.DatasetError, ["cases.csv", "line 4", "'filing_date'",
                                                         "required value missing"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "cases", 2, "filing_date", ""))


# ================================================================== files: codes


@case("code in title case", Raises(ts.DatasetError, ["cases.csv", "line 2", "'proceeding'", "'Criminal'",
                                                     "did you mean 'criminal'"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "cases", 0, "proceeding", "Criminal"))


@case("code with a space instead of '_'", Raises(ts.DatasetError, ["'relationship'", "'intimate partner'",
                                                                   "did you mean 'intimate_partner'"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "victims", 0, "relationship", "intimate partner"))


@case("whitespace around a code", Warns(ts.DatasetWarning, ["cases.csv", "line 3", "'case_type'", "whitespace"],
                                        lambda ds: ds.cases["case_type"].to_pylist()[1] == "sex"))
def _(tmp):
    return ts.read_dataset(edit(tmp, "cases", 1, "case_type", " sex "))


@case("NA written for an unknown gender", Raises(ts.DatasetError, ["victims.csv", "line 7", "'gender'", "'NA'",
                                                                   "leave the field empty for unknown"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "victims", 5, "gender", "NA"))


@case("NA as a citizenship is Namibia", Gives(
    lambda ds: (ds.victims["citizenship"].to_pylist()[3] == "NA" and share(S.us_citizen_share(ds, 2020)) ==
                (2, 5, 1))))
def _(tmp):
    return ts.read_dataset(folder(tmp))


@case("citizenship in lower case", Raises(ts.DatasetError, ["victims.csv", "'citizenship'", "'us'",
                                                            "did you mean 'US'"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "victims", 0, "citizenship", "us"))


@case("citizenship as ISO alpha-3", Raises(ts.DatasetError, ["'citizenship'", "'USA'", "two capital letters"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "victims", 0, "citizenship", "USA"))


@case("state in lower case", Raises(ts.DatasetError, ["cases.csv", "'state'", "'ma'", "did you mean 'MA'"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "cases", 0, "state", "ma"))


@case("platform not in the list", Raises(ts.DatasetError, ["victims.csv", "line 2", "'recruitment_platforms'",
                                                           "value not allowed", "'fb'"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "victims", 0, "recruitment_platforms", "fb;instagram"))


@case("outcome in title case: one problem, not also a missing date", Gives(
    lambda p: one_problem(p, "outcome", "value not allowed")))
def _(tmp):
    return ts.validate(edit(tmp, "defendants", 2, "outcome", "Pending"))


# ================================================================== files: lists


@case("platform listed twice counts once", Warns(
    ts.DatasetWarning, ["victims.csv", "line 2", "'recruitment_platforms'", "listed twice"],
    lambda ds: (share(S.platform_share(ds, 2020), "facebook") == (2, 2, 0) and
                share(S.platform_share(ds, 2020, by="state").query("state == 'MA'"), "facebook") == (2, 2, 0))))
def _(tmp):
    return ts.read_dataset(edit(tmp, "victims", 0, "recruitment_platforms", "facebook;facebook"))


@case("agency listed twice is one agency", Warns(
    ts.DatasetWarning, ["cases.csv", "line 3", "'agencies'", "listed twice"],
    lambda ds: share(S.multi_agency_share(ds, 2020)) == (1, 2, 0)))
def _(tmp):
    return ts.read_dataset(edit(tmp, "cases", 1, "agencies", "fbi;fbi"))


@case("coercion listed twice", Warns(ts.DatasetWarning, ["'coercion'", "listed twice"], lambda ds: (
    share(S.coercion_share(ds, 2020), "threats") == (2, 5, 1))))
def _(tmp):
    return ts.read_dataset(edit(tmp, "victims", 0, "coercion", "threats;drugs;threats"))


@case("empty item in a list", Warns(ts.DatasetWarning, ["cases.csv", "line 4", "empty item"],
                                    lambda ds: ds.cases["agencies"].to_pylist()[2] == ["dol", "hsi"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "cases", 2, "agencies", "dol;;hsi"))


@case("list ending in ';'", Warns(ts.DatasetWarning, ["cases.csv", "line 2", "empty item"], same_figures))
def _(tmp):
    return ts.read_dataset(edit(tmp, "cases", 0, "agencies", "fbi;hsi;"))


@case("whitespace after ';' in a list", Warns(ts.DatasetWarning, ["'agencies'", "whitespace"],
                                              lambda ds: ds.cases["agencies"].to_pylist()[0] == ["fbi", "hsi"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "cases", 0, "agencies", "fbi; hsi"))


# ================================================================== files: numbers, booleans, dates


@case("-99 for an unknown age", Raises(ts.DatasetError, ["victims.csv", "line 6", "'age'", "'-99'", "out of range",
                                                         "leave the field empty for unknown"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "victims", 4, "age", "-99"))


@case("-99 age: one problem, not also 'minor contradicts age'",
      Gives(lambda p: one_problem(p, "age", "value out of range")))
def _(tmp):
    return ts.validate(edit(tmp, "victims", 1, "age", "-99"))


@case("age written as a float", Gives(lambda ds: ds.victims["age"].to_pylist()[0] == 15))
def _(tmp):
    return ts.read_dataset(edit(tmp, "victims", 0, "age", "15.0"))


@case("age with a fraction", Raises(ts.DatasetError, ["victims.csv", "'age'", "not a whole number", "'15.5'"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "victims", 0, "age", "15.5"))


@case("sentence in words", Raises(ts.DatasetError, ["defendants.csv", "line 2", "'sentence_months'",
                                                    "not a whole number", "'ten years'"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "defendants", 0, "sentence_months", "ten years"))


@case("thousands separator in an amount", Raises(ts.DatasetError, ["defendants.csv", "line 2", "'restitution_amount'",
                                                                   "not a number", "'15,000'", "thousands"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "defendants", 0, "restitution_amount", '"15,000"'))


@case("decimal comma in an amount", Raises(ts.DatasetError, ["'restitution_amount'", "'2500,5'", "decimal mark"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "defendants", 4, "restitution_amount", '"2500,5"'))


@case("NaN written as an amount", Raises(ts.DatasetError, ["'restitution_amount'", "'nan'", "not a number"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "defendants", 0, "restitution_amount", "nan"))


@case("negative sentence", Raises(ts.DatasetError, ["'sentence_months'", "'-12'", "out of range"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "defendants", 0, "sentence_months", "-12"))


@case("boolean in upper case", Raises(ts.DatasetError, ["cases.csv", "line 3", "'gang_led'", "'TRUE'",
                                                        "not true/false", "lower case"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "cases", 1, "gang_led", "TRUE"))


@case("boolean as yes/no", Raises(ts.DatasetError, ["victims.csv", "'recruited_online'", "'yes'", "not true/false"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "victims", 0, "recruited_online", "yes"))


@case("year written as a float in a date", Raises(ts.DatasetError, ["cases.csv", "line 3", "'filing_date'",
                                                                    "'2020.0'", "a year alone is not a date"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "cases", 1, "filing_date", "2020.0"))


@case("US date format", Raises(ts.DatasetError, ["'filing_date'", "'02/11/2020'", "write dates as YYYY-MM-DD"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "cases", 1, "filing_date", "02/11/2020"))


@case("no such day", Raises(ts.DatasetError, ["'closed_date'", "'2020-02-30'", "no such day"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "cases", 0, "closed_date", "2020-02-30"))


@case("date with a time of day", Raises(ts.DatasetError, ["'filing_date'", "'2020-02-11 10:00'", "time of day"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "cases", 1, "filing_date", "2020-02-11 10:00"))


@case("bad required date: one problem, not also 'required value missing'",
      Gives(lambda p: one_problem(p, "filing_date", "not a YYYY-MM-DD date")))
def _(tmp):
    return ts.validate(edit(tmp, "cases", 1, "filing_date", "2020-13-01"))


@case("whitespace around a date", Warns(ts.DatasetWarning, ["'filing_date'", "whitespace"], same_figures))
def _(tmp):
    return ts.read_dataset(edit(tmp, "cases", 1, "filing_date", "2020-02-11 "))


@case("closed before filed", Raises(ts.DatasetError, ["cases.csv", "line 2", "'closed_date'",
                                                      "closed_date before filing_date"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "cases", 0, "closed_date", "2018-01-01"))


@case("minor flag contradicts age", Raises(ts.DatasetError, ["victims.csv", "line 2", "'minor'",
                                                             "minor flag contradicts age"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "victims", 0, "minor", "false"))


@case("pending outcome without a date is fine", Gives(lambda p: len(p) == 0))
def _(tmp):
    return ts.validate(folder(tmp))


@case("decided outcome without a date", Warns(ts.DatasetWarning, ["defendants.csv", "line 5", "'outcome_date'",
                                                                  "outcome decided but outcome_date missing"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "defendants", 3, "outcome_date", ""))


@case("filing date in the future", Warns(ts.DatasetWarning, ["cases.csv", "line 7", "'filing_date'",
                                                             "date in the future"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "cases", 5, "filing_date", later(5)))


@case("closing date in the future", Warns(ts.DatasetWarning, ["cases.csv", "line 2", "'closed_date'",
                                                              "date in the future", later(70)]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "cases", 0, "closed_date", later(70)))


@case("outcome date in the future", Warns(ts.DatasetWarning, ["defendants.csv", "line 2", "'outcome_date'",
                                                              "date in the future"]))
def _(tmp):
    return ts.read_dataset(edit(tmp, "defendants", 0, "outcome_date", later(14)))


# ================================================================== DataFrames: ts.Dataset(...)


def _dup_cases() -> dict[str, pd.DataFrame]:
    f = frames()
    f["cases"] = pd.concat([f["cases"], f["cases"].iloc[[1]]], ignore_index=True)
    return f


@case("Dataset of DataFrames: base figures", Gives(same_figures))
def _(tmp):
    return ts.Dataset(**frames())


@case("Dataset with duplicated cases raises", Raises(ts.DatasetError, ["cases", "row 6", "duplicate id", "'c2'"]))
def _(tmp):
    return ts.Dataset(**_dup_cases())


@case("Dataset(validate=False) is the explicit opt-out", Gives(
    lambda ds: count(S.new_cases(ds, 2020)) == 3))
def _(tmp):
    return ts.Dataset(**_dup_cases(), validate=False)


@case("Dataset with an unknown code raises", Raises(ts.DatasetError, ["cases", "'case_type'", "'Sex'",
                                                                      "did you mean 'sex'"]))
def _(tmp):
    f = frames()
    f["cases"].loc[1, "case_type"] = "Sex"
    return ts.Dataset(**f)


@case("Dataset(validate=False) without a required column raises",
      Raises(ts.DatasetError, ["victims", "'case_id'", "column missing"]))
def _(tmp):
    f = frames()
    return ts.Dataset(f["cases"], f["defendants"], f["victims"].drop(columns="case_id"), validate=False)


@case("Dataset with the id in the index", Raises(ts.DatasetError, ["cases", "'case_id'", "reset_index"]))
def _(tmp):
    f = frames()
    return ts.Dataset(f["cases"].set_index("case_id"), f["defendants"], f["victims"])


@case("Dataset with an optional column missing warns", Warns(ts.DatasetWarning, ["defendants", "'gender'",
                                                                                 "column missing"]))
def _(tmp):
    f = frames()
    return ts.Dataset(f["cases"], f["defendants"].drop(columns="gender"), f["victims"])


@case("empty strings in DataFrames are unknown, as in a CSV file", Gives(same_figures))
def _(tmp):
    f = {k: v.fillna("") for k, v in frames().items()}
    return ts.Dataset(**f)


@case("list column holding a number", Raises(ts.DatasetError, ["cases", "row 1", "'agencies'", "not a list"]))
def _(tmp):
    f = frames()
    f["cases"]["agencies"] = f["cases"]["agencies"].astype(object)
    f["cases"].loc[1, "agencies"] = 5
    return ts.Dataset(**f)


@case("time-zone aware filing dates keep their local day", Gives(
    lambda ds: count(S.new_cases(ds, 2020)) == 3))
def _(tmp):
    f = frames()
    c = f["cases"]
    stamps = pd.to_datetime(c["filing_date"]).dt.tz_localize("America/New_York")
    stamps[5] = pd.Timestamp("2020-12-31 23:30", tz="America/New_York")   # 2021-01-01 in UTC
    c["filing_date"] = stamps
    return ts.Dataset(**f)


@case("Dataset from lists of items with a repeat", Warns(
    ts.DatasetWarning, ["victims", "row 0", "listed twice"],
    lambda ds: share(S.platform_share(ds, 2020), "facebook") == (2, 2, 0)))
def _(tmp):
    f = frames()
    v = f["victims"]
    v["recruitment_platforms"] = v["recruitment_platforms"].astype(object)
    v.at[0, "recruitment_platforms"] = ["facebook", "instagram", "facebook"]
    return ts.Dataset(**f)


# ================================================================== statistics and report arguments


@case("year as text", Gives(lambda f: f.equals(S.new_cases(base(), 2020))))
def _(tmp):
    return S.new_cases(base(), "2020")


@case("year as a whole float", Gives(lambda f: f.equals(S.new_cases(base(), 2020))))
def _(tmp):
    return S.new_cases(base(), 2020.0)


@case("year as True", Raises(TypeError, ["year must be a year", "True"]))
def _(tmp):
    return S.new_cases(base(), True)


@case("year with a fraction", Raises(ValueError, ["whole year", "2020.5"]))
def _(tmp):
    return S.new_cases(base(), 2020.5)


@case("span given backwards", Raises(ValueError, ["(2020, 2018)", "first year is after its last", "[2020, 2018]"]))
def _(tmp):
    return S.new_cases(base(), (2020, 2018))


@case("span as text", Gives(lambda f: list(f["year"]) == [2019, 2020] and list(f["count"]) == [1, 2]))
def _(tmp):
    return S.new_cases(base(), "2019-2020")


@case("year that is not a year", Raises(ValueError, ["year must be a year", "'20x'"]))
def _(tmp):
    return S.new_cases(base(), "20x")


@case("no year at all", Raises(ValueError, ["no year given"]))
def _(tmp):
    return S.minor_share(base(), [])


@case("same year twice", Raises(ValueError, ["year 2020 given twice"]))
def _(tmp):
    return S.new_cases(base(), [2020, 2020])


@case("year outside what a date holds", Raises(ValueError, ["year must be a year from 1 to 9999", "20200"]))
def _(tmp):
    return ts.report(base(), 20200)


@case("report of a year before the data", Warns(ts.DataWarning, ["1989, 1990 are before the first date", "2018-05-01"],
                                                lambda r: (r.since == 1990 and r.to_frame()["estimate"].iloc[0] == 0)
                                               ))
def _(tmp):
    return ts.report(base(), 1990)


@case("report of a year after the data", Warns(ts.DataWarning, ["2034, 2035 are after the last date", "2021-01-08"]))
def _(tmp):
    return ts.report(base(), 2035)


@case("statistic of a year after the data", Warns(ts.DataWarning, ["year 2035", "after the last date"],
                                                  lambda f: count(f, 2035) == 3))
def _(tmp):
    return S.active_cases(base(), 2035)


@case("comparison year after the year", Raises(ValueError, ["compare_to (2035) is after year (2020)"]))
def _(tmp):
    return ts.report(base(), 2020, compare_to=2035)


@case("since after the year", Raises(ValueError, ["since (2030) is after year (2020)"]))
def _(tmp):
    return ts.report(base(), 2020, since=2030)


@case("min_cell with a fraction", Raises(ValueError, ["min_cell must be a whole number", "11.5"]))
def _(tmp):
    return ts.report(base(), 2020, min_cell=11.5)


@case("negative min_cell", Raises(ValueError, ["min_cell must be 0 (off) or more", "-1"]))
def _(tmp):
    return S.new_cases(base(), 2020, min_cell=-1)


@case("min_cell=True", Raises(TypeError, ["min_cell must be a whole number", "True"]))
def _(tmp):
    return ts.report(base(), 2020, min_cell=True)


@case("level as a percentage", Raises(ValueError, ["level must be between 0 and 1", "95", "0.95"]))
def _(tmp):
    return S.minor_share(base(), 2020, level=95)


@case("unknown interval method", Raises(ValueError, ["unknown interval method", "'wald'"]))
def _(tmp):
    return ts.report(base(), 2020, method="wald")


@case("grouping by a column that is not a case attribute", Raises(ValueError, ["by must be one of", "'county'"]))
def _(tmp):
    return S.new_cases(base(), 2020, by="county")


@case("a Table where a Dataset is needed", Raises(TypeError, ["expected a traffickstats Dataset", "Table"]))
def _(tmp):
    return S.new_cases(base().cases, 2020)


@case("cumulative with its defaults", Gives(
    lambda f: (isinstance(f, pd.DataFrame) and list(f["since"].unique()) == [2000] and
               int(f.loc[f["statistic"] == "cumulative_cases", "count"].iloc[0]) == 4)))
def _(tmp):
    return S.cumulative(base(), year=2020)


@case("apply_min_cell on a frame without counts", Raises(ValueError, ["frame 0", "neither a 'count' column",
                                                                      "['statistic', 'year', 'n']"]))
def _(tmp):
    return S.apply_min_cell([pd.DataFrame({"statistic": ["x"], "year": [2020], "n": [3]})], 11)


@case("apply_min_cell on an already suppressed frame", Raises(ValueError, ["frame 0, row 0", "count", "not a count"]))
def _(tmp):
    f = S.new_cases(base(), 2020, min_cell=11)
    return S.apply_min_cell([f], 11)


@case("apply_min_cell on one DataFrame", Gives(
    lambda f: (isinstance(f, pd.DataFrame) and bool(f["suppressed"].all()) and f["count"].isna().all())))
def _(tmp):
    return S.apply_min_cell(S.new_cases(base(), 2020), 11)


@case("suppress() given a DataFrame", Raises(TypeError, ["suppress() takes a System", "DataFrame", "apply_min_cell"]))
def _(tmp):
    return S.suppress(S.new_cases(base(), 2020), 11)


# ================================================================== the engine


def _t() -> ts.Table:
    return ts.Table({"gender": ["female", "male", None, "female"], "age": [15, None, 40, 17],
                     "platforms": [["facebook"], [], None, ["instagram", "facebook"]],
                     "filed": np.array(["2020-01-05", "2019-03-01", "NaT", "2020-12-31"], dtype="datetime64[D]")},
                    schema={"gender": "category"})


@case("column == label gives a mask", Gives(lambda m: m.tolist() == [True, False, False, True]))
def _(tmp):
    t = _t()
    assert t.filter(t["gender"] == "female").num_rows == 2
    return t["gender"] == "female"


@case("column == label that does not occur", Gives(lambda m: (m.dtype == bool and m.tolist() == [False] * 4)
                                                  ))
def _(tmp):
    return _t()["gender"] == "other"


@case("column != label: nulls are false", Gives(lambda m: m.tolist() == [False, True, False, False]))
def _(tmp):
    return _t()["gender"] != "female"


@case("numeric and date comparisons", Gives(lambda ms: ms == [[False, False, True, False],
                                                              [True, False, False, True]]))
def _(tmp):
    t = _t()
    return [(t["age"] >= 18).tolist(), (t["filed"] >= "2020-01-01").tolist()]


@case("isin, isnull, contains", Gives(lambda ms: ms == [[True, True, False, True], [False, True, False, False],
                                                          [True, False, False, True]]))
def _(tmp):
    t = _t()
    return [t["gender"].isin(["female", "male"]).tolist(), t["age"].isnull().tolist(),
            t["platforms"].contains("facebook").tolist()]


@case("ordering a category column", Raises(TypeError, ["category column has no order"]))
def _(tmp):
    return _t()["gender"] < "male"


@case("== on a list column", Raises(TypeError, ["list<category>", "contains(item)"]))
def _(tmp):
    return _t()["platforms"] == "facebook"


@case("== None", Raises(TypeError, ["null", "isnull()"]))
def _(tmp):
    return _t()["age"] == None  # noqa: E711


@case("comparing numbers with text", Raises(TypeError, ["cannot compare a int64 column", "'15'"]))
def _(tmp):
    return _t()["age"] > "15"


@case("group_by on a DataFrame", Gives(lambda r: (list(r["g"]) == ["a", "b"] and list(r["size"]) == [2, 1])
                                      ))
def _(tmp):
    return ts.group_by(pd.DataFrame({"g": ["a", "b", "a"]}), "g").size()


@case("group_by on a polars DataFrame", Gives(lambda r: (list(r["g"]) == ["a", "b"] and list(r["size"]) == [2, 1])))
def _(tmp):
    import polars as pl

    return ts.group_by(pl.DataFrame({"g": ["a", "b", "a"]}), "g").size()


@case("from_pandas of an ordered categorical", Warns(ts.DataWarning, ["'band'", "ordered=True is not kept"],
                                                     lambda t: t["band"].categories.tolist() == ["lo", "hi"]))
def _(tmp):
    df = pd.DataFrame({"band": pd.Categorical(["lo", "hi"], categories=["lo", "hi"], ordered=True)})
    return ts.Table.from_pandas(df)


@case("from_pandas of a named index", Warns(ts.DataWarning, ["index 'case_id' is not stored", "reset_index"],
                                            lambda t: t.column_names == ["n"]))
def _(tmp):
    return ts.Table.from_pandas(pd.DataFrame({"n": [1, 2]}, index=pd.Index(["c1", "c2"], name="case_id")))


# ================================================================== the command line


@case("traffickstats --version", Gives(lambda r: (r[0] == 0 and r[1].strip() == f"traffickstats {ts.__version__}")
                                      ))
def _(tmp):
    return cli("--version")


@case("traffickstats validate --sample", Gives(lambda r: (r[0] == 0 and "no problems found" in r[1])))
def _(tmp):
    return cli("validate", "--sample")


@case("report --format csv is plain CSV", Gives(
    lambda r: (r[0] == 0 and list(pd.read_csv(io.StringIO(r[1]))["notice"].unique()) ==
               [ts.datasets.SYNTHETIC_NOTICE] and pd.read_csv(io.StringIO(r[1]))["estimate"].iloc[0] == 165)))
def _(tmp):
    return cli("report", "--sample", "--format", "csv")


@case("validate lists a repeated list item", Gives(
    lambda r: (r[0] == 0 and "warning: item listed twice" in r[1] and "0 error(s), 1 warning(s)" in r[1])))
def _(tmp):
    return cli("validate", str(edit(tmp, "victims", 0, "recruitment_platforms", "facebook;facebook")))


@case("report warns on stderr about a year after the data", Gives(
    lambda r: (r[0] == 0 and "traffickstats: warning: years 2034, 2035 are after the last date" in r[2])))
def _(tmp):
    return cli("report", "--data", str(folder(tmp)), "--year", "2035")


@case("report of a folder with errors", Gives(
    lambda r: (r[0] == 1 and "'CaseID'" in r[2] and "Traceback" not in r[2])))
def _(tmp):
    return cli("report", "--data", str(folder(tmp, cases=rename(text("cases.csv"), "case_id", "CaseID"))))
