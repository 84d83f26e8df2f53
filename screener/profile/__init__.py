"""What comes in: company profiles read safely, validated, and turned into derived values.

:mod:`~screener.profile.sources` reads YAML and JSON with a location for every value;
:mod:`~screener.profile.units` parses money and fractions; :mod:`~screener.profile.registry`
knows the well-known model families; :mod:`~screener.profile.model` is the pydantic profile and
:mod:`~screener.profile.validation` turns its errors into located messages;
:mod:`~screener.profile.loading` loads several files at once; :mod:`~screener.profile.derived`
computes the values rules read besides the profile's own. Imports nothing of the later stages.
"""
