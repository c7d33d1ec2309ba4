"""The package's type hints hold: mypy passes over the source with the project's settings.

mypy reads ``[tool.mypy]`` of ``pyproject.toml`` (files, Python version, the few
libraries without type information) and checks ``python/traffickstats`` against the
C core's stubs (``_core.pyi``), NumPy's own types and pandas-stubs.  The tests import
the installed package, but mypy needs the source tree, so the repository root is found
by walking up from this file to the folder holding ``pyproject.toml``.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

# Sanitizer settings of scripts/check-sanitizers.sh: mypy never loads the C core, so
# running it under the ASan runtime would only slow it down and check mypy's own
# compiled code instead of ours.
_SANITIZER_ENV = ("LD_PRELOAD", "PYTHONMALLOC", "ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS")


def _repo_root() -> Path:
    for folder in Path(__file__).resolve().parents:
        if (folder / "pyproject.toml").is_file():
            return folder
    raise AssertionError(f"no pyproject.toml above {__file__}: the typing test runs from a source checkout")


def test_mypy_passes(tmp_path: Path) -> None:
    root = _repo_root()
    config = root / "pyproject.toml"
    assert "[tool.mypy]" in config.read_text(encoding="utf-8"), f"{config} has no [tool.mypy] section"
    env = {k: v for k, v in os.environ.items() if k not in _SANITIZER_ENV}
    package = root / "python" / "traffickstats"
    sources = [p for p in package.rglob("*") if p.suffix in (".py", ".pyi")]
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config),
         # a fresh cache: no stale results, nothing written into the checkout
         "--cache-dir", str(tmp_path / "mypy_cache"), "--no-color-output"],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )
    report = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 0, f"mypy found problems (exit {proc.returncode}):\n{report}"
    # the configured files are the whole package: every module and the C core's stubs
    found = re.search(r"Success: no issues found in (\d+) source files?", report)
    assert found is not None, f"unexpected mypy output:\n{report}"
    assert int(found.group(1)) == len(sources), (
        f"mypy checked {found.group(1)} files, the package has {len(sources)}:\n{report}")
