"""One real hub for the « Mon cartable » tests: the demo roster, a maths teacher who has
released three assignments (one open, one closed, one in another class), pupils' servers
on demand (the ``school`` fixture of tests/hub/panel and of the panel's browser tests, registered
by tests/conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from support.exchange import kernel_json, source_notebook
from support.lab_school import CLOSED, MINE, OPEN, OTHER, TEACHER, TEACHER_SETUP, THEIRS, School


@pytest.fixture(scope="session")
def school(tmp_path_factory):
    from support.harness import Hub

    hub = Hub(tmp_path_factory.mktemp("lab"),
              settings={"exchange": {"max_mb": 1, "max_files": 50, "max_notebooks": 5},
                        "spawner": {"mem_limit": "600M", "unix_prefix": f"l{os.getpid() % 100:02d}-"}})
    accounts = hub.import_roster()
    try:  # a hub that fails to start is stopped too (its proxy and services would outlive the run)
        hub.start()
        s = School(hub, accounts)
        out = kernel_json(s.login(TEACHER), TEACHER_SETUP % {
            "mine": MINE, "theirs": THEIRS, "open": OPEN, "closed": CLOSED, "other": OTHER,
            "nb": source_notebook("ps1")}, timeout=600)
        assert set(out) == {f"{MINE}/{OPEN}", f"{MINE}/{CLOSED}", f"{THEIRS}/{OTHER}"}, out
        yield s
    finally:
        hub.stop()


def panel_block(item) -> int | None:
    """0 for the panel's hub tests, 1 for its browser tests, None for any other test."""
    path = Path(str(item.fspath))
    if "panel" in path.parts and "hub" in path.parts:
        return 0
    if path.parent.name == "browser" and path.name.startswith("test_browser"):
        return 1
    return None


def pytest_collection_modifyitems(session, config, items):
    """The panel's tests run first, as one block (their hub is up once), and inside it the
    server-extension tests, which expect nothing collected yet, before the browser tests (which
    collect). First, too, because Playwright's sync API refuses to run once another test left an
    asyncio loop running in this thread (one Playwright for the whole session: the `browser`
    fixture of tests/conftest.py)."""
    panel = sorted((i for i in items if panel_block(i) is not None), key=panel_block)
    items[:] = panel + [i for i in items if panel_block(i) is None]
