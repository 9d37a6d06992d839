"""Fixtures of the dashboards tests (defined in tests/support/dashboards.py)."""

from support.dashboards import school, viewers  # noqa: F401 - pytest finds fixtures by the names imported here
