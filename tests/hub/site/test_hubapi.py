"""The one Hub API client (cartable.core.hubapi) against a real hub with more groups than one
page of JupyterHub's API (its default page limit is 200): every group is seen, by the blocking
calls, by the coroutines and by the lessons service's reader of groups."""

from __future__ import annotations

import asyncio
import concurrent.futures

import pytest

pytestmark = pytest.mark.hub
GROUPS = [f"pagetest-{i:03d}" for i in range(230)]


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    from support.harness import Hub

    h = Hub(tmp_path_factory.mktemp("hubapi"))
    h.start()
    r = h.api("POST", "/groups", json={"groups": GROUPS})
    assert r.status_code == 201, r.text
    r = h.api("PUT", f"/groups/{GROUPS[-1]}/properties", json={"kind": "test", "n": 229})
    assert r.status_code == 200, r.text
    yield h
    h.stop()


def api(hub, **kw):
    from cartable.core.hubapi import HubAPI

    token = (hub.state / "secrets" / "sync_token").read_text().strip()
    return HubAPI(f"{hub.url}/hub/api", token, **kw)


def test_a_bare_request_is_cut_at_one_page(hub):
    """What the lessons service read before: a list without the pagination header stops at 200."""
    r = hub.api("GET", "/groups?offset=0&limit=500")
    assert isinstance(r.json(), list) and len(r.json()) == 200


def run_loop(coroutine):
    """``coroutine`` run to its end in a thread of its own: this thread may hold Playwright's loop
    (the browser tests share one Playwright for the session)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.mark.parametrize("limit", [200, 70])
def test_every_group_page_after_page(hub, limit):
    groups = api(hub, page_limit=limit).groups()
    assert set(GROUPS) <= set(groups)
    assert groups[GROUPS[-1]]["properties"] == {"kind": "test", "n": 229}


def test_every_group_from_an_event_loop(hub):
    groups = run_loop(api(hub).agroups())
    assert set(GROUPS) <= set(groups)


def test_the_lessons_service_sees_every_group(hub):
    from cartable.extensions.lessons.service import HubGroups

    token = (hub.state / "secrets" / "sync_token").read_text().strip()

    async def read():
        return await HubGroups(f"{hub.url}/hub/api", token).groups()

    groups = run_loop(read())
    assert set(GROUPS) <= set(groups) and groups[GROUPS[-1]] == {"kind": "test", "n": 229}


def test_one_group_and_a_missing_one(hub):
    client = api(hub)
    assert client.group(GROUPS[5])["name"] == GROUPS[5]
    assert client.group("no-such-group") is None
