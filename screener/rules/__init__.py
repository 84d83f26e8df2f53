"""The thesis as data, and its evaluation by durable-rules.

:mod:`~screener.rules.schema` is the fact schema (what a condition may read, and how each value
reaches the engine); :mod:`~screener.rules.conditions` the condition language (parsed, never
eval'd); :mod:`~screener.rules.rulebook` loads a pack file; :mod:`~screener.rules.lint` checks
it statically; :mod:`~screener.rules.engine` is the only module that imports durable-rules.
"""
