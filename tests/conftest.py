import os
from pathlib import Path

import pytest
from support.harness import Hub, Postgres
from support.site import site_config as _site_config

# the « Mon cartable » hub (fixture ``school``) and the order of the panel's tests
pytest_plugins = ["support.panel_school"]

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(autouse=True)
def _keep_umask():
    """The ``cartable`` command sets a private umask (cartable.hub.privacy); run in-process by a
    test, it must not change what later tests create."""
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright, headless; one for the whole session (Playwright's
    sync API allows only one running instance per thread)."""
    import shutil

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.fail("Debian's chromium is missing: run `make install` (deploy/ensure_system.sh installs it)")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def shot():
    """``shot(page, name)``: a full-page screenshot kept in tests/artifacts/."""
    def save(page, name: str):
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    """$CARTABLE_TEST_POSTGRES_URL, or a throwaway server from Debian's packages."""
    pg = Postgres(tmp_path_factory.mktemp("postgres"))
    yield pg
    pg.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(request):
    """Each hub test module runs once on SQLite files and once on PostgreSQL."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture
def make_hub(tmp_path_factory):
    """Start real hubs; every one started is stopped at the end of the test."""
    hubs = []

    def factory(**kw) -> Hub:
        hub = Hub(tmp_path_factory.mktemp("hub"), **kw)
        hubs.append(hub)
        return hub

    yield factory
    for hub in hubs:
        hub.stop()


@pytest.fixture
def site_config(tmp_path):
    """``site_config(**sections)``: a validated ``cartable.yaml`` of school TST, its state in
    ``tmp_path`` (tests/support/site.py)."""
    def make(**sections):
        return _site_config(tmp_path, **sections)

    return make
