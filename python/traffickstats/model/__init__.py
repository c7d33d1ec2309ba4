"""The trafficking data model: cases, defendants and victims linked by ``case_id``.

:mod:`.schema` (the published Table Schema), :mod:`.problems` (what is wrong, as
column arrays), :mod:`.coercion` (any input to the schema's column types),
:mod:`.links` (the case of each defendant and victim), :mod:`.checks` (validation)
and :mod:`.dataset` (:class:`~traffickstats.Dataset`, :func:`~traffickstats.read_dataset`,
:func:`~traffickstats.validate`).  Built on the engine; knows nothing of the statistics.
"""
