"""The data model: schema, Dataset construction, read_dataset and validation."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

import traffickstats as ts
from traffickstats.model.dataset import DatasetError
from traffickstats.datasets import sample_dir, synthetic_frames


def test_schema_is_a_table_schema_package_matching_the_design():
    pkg = ts.schema()
    assert [r["name"] for r in pkg["resources"]] == ["cases", "defendants", "victims"]
    cases = ts.schema("cases")
    names = [f["name"] for f in cases["fields"]]
    assert names == ["case_id", "proceeding", "case_type", "district", "state", "filing_date", "closed_date",
                     "identified_by", "agencies", "gang_led", "buyers_solicited_online"]
    assert cases["primaryKey"] == ["case_id"]
    by_name = {f["name"]: f for f in cases["fields"]}
    assert by_name["proceeding"]["constraints"]["enum"] == ["criminal", "civil"]
    assert by_name["agencies"]["type"] == "list" and by_name["agencies"]["delimiter"] == ";"
    v = {f["name"]: f for f in ts.schema("victims")["fields"]}
    assert v["recruitment_platforms"]["ts:items"][:4] == ["facebook", "instagram", "snapchat", "wechat"]
    assert ts.schema("defendants")["foreignKeys"][0]["reference"] == {"resource": "cases", "fields": ["case_id"]}
    json.dumps(pkg)  # plain JSON
    pkg["resources"].clear()
    assert len(ts.schema()["resources"]) == 3  # a fresh copy each time
    with pytest.raises(ValueError, match="unknown table"):
        ts.schema("people")


def test_schema_file_ships_in_the_package():
    from importlib import resources

    text = resources.files("traffickstats").joinpath("data/schema.json").read_text()
    assert json.loads(text)["profile"] == "tabular-data-package"


def test_read_sample_and_frames_give_the_same_tables():
    ds = ts.read_dataset(sample_dir())
    fr = ts.Dataset(**synthetic_frames(0, 1))
    for t in ("cases", "defendants", "victims"):
        a, b = ds.table(t), fr.table(t)
        assert a.schema == b.schema
        assert a.num_rows == b.num_rows
        for name in a.column_names:
            x, y = a[name].to_pylist(), b[name].to_pylist()
            if a[name].type == "list<category>":  # an empty field and an empty list both mean "none known"
                x, y = [v or [] for v in x], [v or [] for v in y]
            assert x == y, (t, name)
    assert ds.notice and "no real person" in ds.notice
    assert len(ts.validate(ds)) == 0
    assert len(ts.validate(sample_dir())) == 0


def test_dataset_accepts_text_columns_and_tables():
    cases = pd.DataFrame({"case_id": [1, 2], "proceeding": ["criminal", "criminal"], "case_type": ["sex", None],
                          "filing_date": ["2020-01-05", "2019-03-01"], "closed_date": [None, "2020-02-01"],
                          "agencies": ["fbi;hsi", ""], "gang_led": ["true", None]})
    victims = pd.DataFrame({"victim_id": ["v1"], "case_id": ["1"], "minor": [True], "age": [15],
                            "recruitment_platforms": [["facebook", "snapchat"]]})
    defendants = pd.DataFrame({"defendant_id": ["d1"], "case_id": [2], "outcome": ["plea"],
                               "charge_date": ["2019-03-01"], "outcome_date": ["2020-01-01"]})
    with pytest.warns(ts.DatasetWarning, match="column missing"):   # the optional columns left out
        ds = ts.Dataset(cases, defendants, victims)
    assert ds.cases["filing_date"].to_pylist()[0].isoformat() == "2020-01-05"
    assert ds.cases["gang_led"].to_pylist() == [True, None]
    assert ds.cases["agencies"].to_pylist() == [["fbi", "hsi"], []]
    assert ds.cases["case_id"].to_pylist() == ["1", "2"]
    assert list(ds._victim_case) == [0] and list(ds._defendant_case) == [1]
    probs = ts.validate(ds)
    # missing optional columns are warnings, not errors
    assert (probs["severity"] == "warning").all() and len(probs)
    ds2 = ts.Dataset(ds.cases, ds.defendants, ds.victims)
    assert ds2.cases.equals(ds.cases)


def _write_bad(tmp_path: Path) -> Path:
    folder = tmp_path / "bad"
    shutil.copytree(sample_dir(), folder)
    cases = pd.read_csv(folder / "cases.csv", dtype=str, keep_default_na=False)
    defs = pd.read_csv(folder / "defendants.csv", dtype=str, keep_default_na=False)
    vics = pd.read_csv(folder / "victims.csv", dtype=str, keep_default_na=False)
    cases.loc[1, "case_id"] = cases.loc[0, "case_id"]          # duplicate id (rows 0 and 1)
    cases.loc[2, "case_type"] = "sexx"                          # outside the allowed set
    cases.loc[3, "closed_date"] = "1990-01-01"                  # closed before filed
    cases.loc[4, "filing_date"] = "2020-02-30"                  # not a date
    cases.loc[5, "agencies"] = "fbi;cia"                        # bad list item
    defs.loc[0, "case_id"] = "99999999"                         # no such case
    defs.loc[1, "outcome_date"] = "1900-01-01"                  # outcome before charge
    vics.loc[0, "minor"] = "false"                              # age 15: contradicts
    vics.loc[1, "case_id"] = "nope"                             # no such case
    vics.loc[2, "recruited_online"] = "yes"                     # not a boolean
    cases.to_csv(folder / "cases.csv", index=False)
    defs.to_csv(folder / "defendants.csv", index=False)
    vics.to_csv(folder / "victims.csv", index=False)
    return folder


def test_validation_reports_every_problem_with_file_row_column_value(tmp_path):
    folder = _write_bad(tmp_path)
    probs = ts.validate(folder)
    got = {(r.table, r.row, r.column, r.problem.split(" (")[0]) for r in probs.itertuples()}
    expected = {
        ("cases", 0, "case_id", "duplicate id"),
        ("cases", 1, "case_id", "duplicate id"),
        ("cases", 2, "case_type", "value not allowed"),
        ("cases", 3, "closed_date", "closed_date before filing_date"),
        ("cases", 4, "filing_date", "not a YYYY-MM-DD date"),
        ("cases", 5, "agencies", "value not allowed"),
        ("defendants", 0, "case_id", "case_id not in cases"),
        ("defendants", 1, "outcome_date", "outcome_date before charge_date"),
        ("victims", 0, "minor", "minor flag contradicts age"),
        ("victims", 1, "case_id", "case_id not in cases"),
        ("victims", 2, "recruited_online", "not true/false"),
    }
    assert expected <= got, expected - got
    row = probs[(probs["table"] == "cases") & (probs["column"] == "case_type")].iloc[0]
    assert row["value"] == "sexx" and row["line"] == 4 and row["file"].endswith("cases.csv")
    row = probs[(probs["table"] == "cases") & (probs["column"] == "agencies")].iloc[0]
    assert row["value"] == "cia"
    with pytest.raises(DatasetError) as info:
        ts.read_dataset(folder)
    assert "duplicate id" in str(info.value) and len(info.value.problems) == len(probs)
    ds = ts.read_dataset(folder, validate=False)  # reads what it can
    assert ds.cases.num_rows == 2365


def test_read_dataset_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        ts.read_dataset(tmp_path / "nope")
    (tmp_path / "cases.csv").write_text("case_id\n")
    with pytest.raises(FileNotFoundError, match="defendants.csv"):
        ts.read_dataset(tmp_path)


def test_sensitive_flag_and_repr():
    ds = ts.Dataset(**synthetic_frames(0, 0.05), sensitive=True, name="x")
    assert ds.sensitive and "sensitive" in repr(ds) and "'x'" in repr(ds)


def test_na_is_a_citizenship_not_a_missing_value(tmp_path):
    folder = tmp_path / "na"
    shutil.copytree(sample_dir(), folder)
    vics = pd.read_csv(folder / "victims.csv", dtype=str, keep_default_na=False)
    vics.loc[0, "citizenship"] = "NA"
    vics.to_csv(folder / "victims.csv", index=False)
    ds = ts.read_dataset(folder)
    assert ds.victims["citizenship"].to_pylist()[0] == "NA"


def test_unparseable_file_is_a_problem_not_a_crash(tmp_path):
    folder = tmp_path / "ragged"
    shutil.copytree(sample_dir(), folder)
    with open(folder / "victims.csv", "a") as fh:
        fh.write("1,2,3\n")
    probs = ts.validate(folder)
    assert len(probs) == 1 and probs.iloc[0]["table"] == "victims" and "cannot be read" in probs.iloc[0]["problem"]
    assert probs.iloc[0]["line"] > 1
    with pytest.raises(DatasetError, match="victims.csv"):
        ts.read_dataset(folder)


def test_dataset_folder_may_hold_parquet_instead_of_csv(tmp_path):
    import pyarrow as pa  # the arrow extra (part of the test extra)
    import pyarrow.parquet as pq

    sample = ts.load_sample()
    # cases as Parquet (typed columns written from the Tables), the others stay CSV
    for name in ("cases", "defendants"):
        pq.write_table(pa.table(getattr(sample, name)), tmp_path / f"{name}.parquet")
    shutil.copy(ts.datasets.sample_dir() / "victims.csv", tmp_path / "victims.csv")
    ds = ts.read_dataset(tmp_path)
    assert ds.cases.equals(sample.cases) and ds.defendants.equals(sample.defendants)
    a = ts.report(ds, year=2020).to_frame()
    b = ts.report(sample, year=2020).to_frame()
    pd.testing.assert_frame_equal(a, b)


def test_dataset_folder_missing_tables_are_named(tmp_path):
    (tmp_path / "cases.parquet").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="missing defendants.csv, victims.csv"):
        ts.read_dataset(tmp_path)


# ----------------------------------------------------------------------------- list items

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_ITEMS = st.sampled_from(["facebook", "instagram", " facebook", "facebook ", "", "  ", "snapchat"])


def _clean_twin(v):
    """Plain-Python twin of the list rule: strip, drop empty items, keep each item once."""
    if v is None:
        return None
    out = []
    for item in (x.strip() for x in v):
        if item and item not in out:
            out.append(item)
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.lists(_ITEMS, max_size=5)), max_size=12), st.booleans())
def test_list_items_are_stripped_and_counted_once_like_the_python_twin(values, as_text):
    """The rule for list columns (platforms, agencies, coercion) against a Python twin,
    from a DataFrame of lists or of ';'-joined text, with a warning whenever it changes
    anything."""
    from traffickstats.model.coercion import _series_to_column
    from traffickstats.model.problems import _Problems

    field = {"name": "p", "ts:type": "list<category>"}
    s = pd.Series([None if v is None else (";".join(v) if as_text else v) for v in values], dtype=object)
    problems = _Problems()
    col = _series_to_column("victims", "p", field, s, problems)
    # what the input says: blank text is an empty list, as an empty field in a CSV file
    meant = [v if v is None or not as_text else (";".join(v).split(";") if ";".join(v).strip() else [])
             for v in values]
    expected = [_clean_twin(v) for v in meant]
    assert col.to_pylist() == expected
    changed = any(v is not None and _clean_twin(v) != list(v) for v in meant)
    assert bool(problems.parts) == changed
    assert all(p["severity"] == "warning" for p in problems.parts)
    if expected:   # and the statistics see one item per row: contains() agrees with the twin
        assert col.contains("facebook").tolist() == [e is not None and "facebook" in e for e in expected]
