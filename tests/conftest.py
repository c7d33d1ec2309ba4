"""Shared test configuration.

Hypothesis profiles: ``default`` for developers, ``ci`` (fewer examples) selected with
``HYPOTHESIS_PROFILE=ci``, used by the sanitizer job where every call is slower.
"""
import os
import sys

# helper modules beside the tests (strategies, pandas_reference) import as top-level modules
sys.path.insert(0, os.path.dirname(__file__))

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
