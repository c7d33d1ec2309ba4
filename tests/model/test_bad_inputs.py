"""The bad-inputs corpus (tests/bad_inputs/corpus.py): every mistake in it raises a
clear error, warns, or gives exactly the right figures."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import traffickstats as ts

from bad_inputs.corpus import CASES, Gives, Raises, Warns  # tests/ is on sys.path (conftest.py)

# traffickstats' own warnings (a third-party DeprecationWarning says nothing about the data)
OURS = (ts.DatasetWarning, ts.DataWarning, ts.ParseWarning)


def _checked(check, result) -> None:
    if check is None:
        return
    ok = check(result)
    assert ok is None or (isinstance(ok, (bool, np.bool_)) and ok), f"the check of the result returned {ok!r}"


def test_corpus_is_large_and_names_are_unique():
    names = [c.name for c in CASES]
    assert len(names) >= 60
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case, tmp_path):
    exp = case.expect
    if isinstance(exp, Raises):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # what matters here is the error
            with pytest.raises(exp.cls) as info:
                case.run(tmp_path)
        missing = [w for w in exp.words if w not in str(info.value)]
        assert not missing, f"{missing} not in the message:\n{info.value}"
    elif isinstance(exp, Warns):
        with pytest.warns(exp.cls) as record:
            result = case.run(tmp_path)
        messages = [str(w.message) for w in record if issubclass(w.category, exp.cls)]
        assert any(all(word in m for word in exp.words) for m in messages), (exp.words, messages)
        _checked(exp.check, result)
    else:
        assert isinstance(exp, Gives)
        with warnings.catch_warnings(record=True) as record:
            for cls in OURS:
                warnings.simplefilter("always", cls)
            result = case.run(tmp_path)
        said = [f"{w.category.__name__}: {w.message}" for w in record if issubclass(w.category, OURS)]
        assert not said, f"an exact result comes without a warning, got {said}"
        _checked(exp.check, result)
