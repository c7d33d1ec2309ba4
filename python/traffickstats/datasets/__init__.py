"""Bundled data sets: the one owner of the bundled sample.

The only data set is a synthetic sample of federal human-trafficking case records
(cases, defendants, victims) calibrated so that its 2020 statistics reproduce the
aggregate figures published in the Human Trafficking Institute's Federal Human
Trafficking Report 2020.  It contains no real person or case; see
:data:`SYNTHETIC_NOTICE`.

:func:`synthetic_frames` and :func:`write_sample` use NumPy and pandas only;
:func:`synthetic` and :func:`load_sample` wrap them in a
:class:`~traffickstats.Dataset` (and so import the C extension, lazily).

Every way to the sample leads here: ``traffickstats.load_sample()`` and
``Dataset.sample()`` call :func:`load_sample`, and :func:`~traffickstats.read_dataset`
gives the folder :func:`sample_dir` the sample's name (:data:`SAMPLE_NAME`) and
:data:`SYNTHETIC_NOTICE` (the data model, the layer below, reaches this package
through a hook that the package front sets).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ._synthetic import SYNTHETIC_NOTICE, sample_dir, synthetic_frames, write_sample

if TYPE_CHECKING:  # pragma: no cover
    from ..model.dataset import Dataset

__all__ = ["SYNTHETIC_NOTICE", "sample_dir", "synthetic_frames", "write_sample", "synthetic", "load_sample"]

#: The name of the bundled sample (and of ``synthetic(0, 1)``), shown in its reports.
SAMPLE_NAME = "traffickstats synthetic sample"


def synthetic(seed: int = 0, scale: float = 1) -> "Dataset":
    """Generate a synthetic Dataset (deterministic: same seed and scale, same data).

    Parameters
    ----------
    seed : int, default 0
        Seed of ``numpy.random.default_rng``; it moves dates, districts, ages,
        sentences, ... but not the calibrated counts.
    scale : float, default 1
        About ``scale`` times as many cases, defendants and victims, in the same
        proportions (for benchmarks).  At ``scale=1`` the 2020 report reproduces the
        figures published in the HTI Federal Human Trafficking Report 2020, for every
        seed.

    Returns
    -------
    Dataset
        Filings from 1997 to mid-2021 (the report's cumulative figures start in 2000),
        with ``notice`` set to :data:`SYNTHETIC_NOTICE`: the data is synthetic and
        contains no real person or case.  ``synthetic(0, 1)`` holds the same records
        as :func:`load_sample`.

    Examples
    --------
    >>> import traffickstats as ts
    >>> ds = ts.datasets.synthetic(seed=0)
    >>> int(ts.stats.new_cases(ds, 2020)["count"].iloc[0])
    165
    """
    from ..model.dataset import Dataset

    frames = synthetic_frames(seed=seed, scale=scale)
    label = SAMPLE_NAME if (seed, scale) == (0, 1) else f"traffickstats synthetic data (seed={seed}, scale={scale})"
    return Dataset(frames["cases"], frames["defendants"], frames["victims"], name=label, notice=SYNTHETIC_NOTICE)


def load_sample() -> "Dataset":
    """Read the bundled synthetic sample (``sample_dir()``) with :func:`~traffickstats.read_dataset`.

    Returns
    -------
    Dataset
        The records of ``synthetic(seed=0, scale=1)`` as shipped in ``cases.csv``,
        ``defendants.csv`` and ``victims.csv``, named ``"traffickstats synthetic
        sample"`` and carrying :data:`SYNTHETIC_NOTICE` (every report of it says that
        the data is synthetic).

    Examples
    --------
    >>> import traffickstats as ts
    >>> ds = ts.load_sample()
    >>> ds.notice == ts.datasets.SYNTHETIC_NOTICE
    True
    """
    from ..model.dataset import read_dataset

    # read_dataset names the sample folder SAMPLE_NAME and sets its notice (see above)
    return read_dataset(sample_dir(), validate=False)
