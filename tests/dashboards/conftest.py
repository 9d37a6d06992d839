"""Fixtures of the dashboards tests (defined in tests/dashboards_helpers.py)."""

from dashboards_helpers import school, viewers  # noqa: F401 - pytest fixtures
