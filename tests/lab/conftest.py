"""One real hub for the « Mon cartable » tests: the demo roster, a maths teacher who has
released three assignments (one open, one closed, one in another class), pupils' servers
on demand. Browser fixtures as in tests/browser (Debian's Chromium, headless)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from exchange_helpers import kernel_json, source_notebook  # noqa: E402
from lab_school import CLOSED, MINE, OPEN, OTHER, TEACHER, TEACHER_SETUP, THEIRS, School  # noqa: E402


@pytest.fixture(scope="session")
def school(tmp_path_factory):
    from harness import Hub

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




def pytest_collection_modifyitems(session, config, items):
    """The panel's tests run first, as one block (their hub is up once), and inside it the
    server-extension tests, which expect nothing collected yet, before the browser tests (which
    collect). First, too, because Playwright's sync API refuses to run once another test left an
    asyncio loop running in this thread."""
    lab = [i for i in items if "tests/lab/" in str(i.fspath)]
    # (one Playwright for the whole session: the `browser` fixture of tests/conftest.py)
    others = [i for i in items if "tests/lab/" not in str(i.fspath)]
    lab.sort(key=lambda item: Path(str(item.fspath)).name.startswith("test_browser"))
    items[:] = lab + others
