"""Yearly statistics with honest denominators (``traffickstats.stats``).

Every function takes a :class:`~traffickstats.Dataset` and a reference year (a whole
number or its text, a ``(first, last)`` span, ``"first-last"`` or a list of years; a
year outside the data's dates gives a :class:`~traffickstats.DataWarning`) and
returns one tidy pandas DataFrame; most accept ``by="case_type" | "district" |
"state"``.

Counts have the columns ``statistic``, ``year``, [``by``], ``count``,
``suppressed``.  Shares have ``statistic``, ``value`` (the category a
distribution row is about, else None), ``year``, [``by``], ``numerator``,
``denominator``, ``estimate``, ``ci_low``, ``ci_high``, ``unknown`` (rows of the
population left out of the denominator because the value is unknown) and
``suppressed``.  Intervals are Wilson by default (``method="clopper-pearson"`` or
``"jeffreys"`` on request).  The definitions are in ``docs/methodology.md``.

The counting runs on the group-by engine (C kernels); nothing loops over records
in Python.
"""
from .metrics import (
    active_cases,
    active_defendants,
    active_sex_share,
    coercion_share,
    conviction_rate,
    convicted,
    cumulative,
    cumulative_sex_online_share,
    female_share,
    gang_led_share,
    identified_by_share,
    life_sentences,
    minor_share,
    multi_agency_share,
    new_cases,
    new_defendants,
    platform_share,
    plea_share,
    recruited_online_share,
    relationship_share,
    restitution_share,
    sentences,
    us_citizen_share,
    victims_in_active_cases,
    year_over_year,
)
from .disclosure import apply_min_cell, suppress
from .intervals import METHODS, proportion_ci
from .populations import BY

__all__ = [
    "BY", "METHODS", "proportion_ci", "suppress", "apply_min_cell",
    "new_cases", "active_cases", "new_defendants", "active_defendants", "convicted", "conviction_rate",
    "plea_share", "sentences", "life_sentences", "restitution_share", "victims_in_active_cases",
    "minor_share", "female_share", "us_citizen_share", "recruited_online_share", "platform_share",
    "relationship_share", "coercion_share", "gang_led_share", "multi_agency_share", "identified_by_share",
    "active_sex_share", "year_over_year", "cumulative", "cumulative_sex_online_share",
]
