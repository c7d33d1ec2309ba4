"""Bundled data sets.

The only data set is a synthetic sample of federal human-trafficking case records
(cases, defendants, victims) calibrated so that its 2020 statistics reproduce the
aggregate figures published in the Human Trafficking Institute's Federal Human
Trafficking Report 2020.  It contains no real person or case; see
:data:`SYNTHETIC_NOTICE`.

This subpackage uses NumPy and pandas only and never imports the C extension.
"""
from ._synthetic import SYNTHETIC_NOTICE, sample_dir, synthetic_frames, write_sample

__all__ = ["SYNTHETIC_NOTICE", "sample_dir", "synthetic_frames", "write_sample"]
