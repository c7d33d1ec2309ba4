"""The traffickstats console script and python -m traffickstats."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from traffickstats.cli import main
from traffickstats.datasets import SYNTHETIC_NOTICE, sample_dir


def test_report_sample_formats(capsys, tmp_path):
    for fmt in ("text", "markdown", "html", "json", "csv"):
        assert main(["report", "--sample", "--format", fmt]) == 0
        out = " ".join(capsys.readouterr().out.split())  # text wraps its notes to the terminal width
        assert "165" in out
        assert SYNTHETIC_NOTICE in out or SYNTHETIC_NOTICE.replace("'", "&#x27;") in out
    out_file = tmp_path / "r.json"
    assert main(["report", "--data", str(sample_dir()), "--format", "json", "--min-cell", "11",
                 "--output", str(out_file)]) == 0
    d = json.loads(out_file.read_text())
    assert d["min_cell"] == 11 and d["notice"] == SYNTHETIC_NOTICE


def test_user_errors_go_to_stderr_without_traceback(capsys, tmp_path):
    assert main(["report", "--data", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err
    assert "no such folder" in err and "Traceback" not in err
    assert main(["report", "--sample", "--year", "2020", "--since", "2030"]) == 1
    assert "since" in capsys.readouterr().err
    assert main(["report", "--sample", "--output", str(tmp_path / "no" / "dir" / "x.txt")]) == 1
    assert "cannot write" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["report", "--format", "pdf"])
    assert e.value.code == 2
    assert main([]) == 2


def test_validate(capsys, tmp_path):
    assert main(["validate", str(sample_dir())]) == 0
    assert "no problems" in capsys.readouterr().out
    bad = tmp_path / "bad"
    shutil.copytree(sample_dir(), bad)
    lines = (bad / "cases.csv").read_text().splitlines()
    lines[2] = lines[2].replace(",sex,", ",sexx,", 1)
    (bad / "cases.csv").write_text("\n".join(lines) + "\n")
    assert main(["validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "cases.csv:3 [case_type]" in out and "'sexx'" in out
    assert main(["report", "--data", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "sexx" in err and "Traceback" not in err
    assert main(["validate", str(bad), "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)[0]["value"] == "sexx"


def _script() -> str | None:
    path = Path(sysconfig.get_path("scripts")) / "traffickstats"
    return str(path) if path.exists() else shutil.which("traffickstats")


def test_console_script_and_module_run_as_processes(tmp_path):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    r = subprocess.run([sys.executable, "-m", "traffickstats", "report", "--format", "markdown"],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert r.returncode == 0 and "| New criminal cases" in r.stdout
    script = _script()
    assert script, "the traffickstats console script is not installed"
    r = subprocess.run([script, "validate", str(tmp_path)], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 1 and "missing" in r.stderr and "Traceback" not in r.stderr


def test_unparseable_file_exits_cleanly(capsys, tmp_path):
    folder = tmp_path / "ragged"
    shutil.copytree(sample_dir(), folder)
    with open(folder / "cases.csv", "a") as fh:
        fh.write('1,"unterminated\n')
    assert main(["validate", str(folder)]) == 1
    assert "cannot be read" in capsys.readouterr().out
    assert main(["report", "--data", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "cannot be read" in err and "Traceback" not in err
