"""Login on a real hub: the first-login password change, forged forms, and the loud
warning of a hub whose pupils are not isolated."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.hub


@pytest.fixture(scope="module")
def site(database_url, tmp_path_factory):
    from support.harness import Hub

    hub = Hub(tmp_path_factory.mktemp("login"), database_url=database_url,
              settings={"auth": {"local": {"force_password_change": True, "min_password_length": 8}},
                        "spawner": {"isolation": "none"}})
    accounts = hub.import_roster()
    # the demo set-up clears the flag: put every account back to a first login
    from cartable.core.db import Credential

    with hub.db().session() as s:
        for cred in s.query(Credential):
            cred.must_change = True
    hub.start()
    yield hub, accounts
    hub.stop()


def change_token(html: str) -> str | None:
    m = re.search(r'name="change_token" value="([^"]+)"', html)
    return m.group(1) if m else None


def test_first_login_asks_for_a_new_password(site):
    hub, accounts = site
    pupil = accounts.of("pupil")[0]
    br = hub.client()
    r = br.login(pupil["username"], pupil["password"])
    assert r.status_code == 200
    token = change_token(r.text)
    assert token
    assert "première connexion" in r.text
    assert "jupyterhub-hub-login" not in br.s.cookies.keys()

    r = br.login(pupil["username"], "", change_token=token, new_password="abcdefgh1", new_password_confirm="abcdefgh2")
    assert r.status_code == 200 and "différents" in r.text
    r = br.login(pupil["username"], "", change_token=token, new_password="short", new_password_confirm="short")
    assert r.status_code == 200 and "trop court" in r.text
    r = br.login(pupil["username"], "", change_token=token, new_password=pupil["password"],
                 new_password_confirm=pupil["password"])
    assert r.status_code == 200 and "doit être différent" in r.text

    r = br.login(pupil["username"], "", change_token=token, new_password="Mon-nouveau-2026",
                 new_password_confirm="Mon-nouveau-2026")
    assert r.status_code == 302
    assert br.s.get(f"{hub.url}/hub/api/user", headers=br.xsrf_headers()).json()["name"] == pupil["username"]

    # the old password is gone, the new one logs straight in, the used form is dead
    assert hub.client().login(pupil["username"], pupil["password"]).status_code == 403
    assert hub.client().login(pupil["username"], "Mon-nouveau-2026").status_code == 302
    r = hub.client().login(pupil["username"], "", change_token=token, new_password="Encore-autre-1",
                           new_password_confirm="Encore-autre-1")
    assert r.status_code != 302 and "expiré" in r.text


def test_forged_change_form_is_refused(site):
    hub, accounts = site
    victim = accounts.of("pupil")[1]
    br = hub.client()
    forged = "2|1:0|10:1700000000|24:cartable-password-change|" + "A" * 40 + "|" + "0" * 64
    r = br.login(victim["username"], "", change_token=forged, new_password="Pirate-2026!", new_password_confirm="Pirate-2026!")
    assert r.status_code == 403
    # a token issued to one pupil cannot change another's password
    attacker = accounts.of("pupil")[2]
    token = change_token(hub.client().login(attacker["username"], attacker["password"]).text)
    r = br.login(victim["username"], "", change_token=token, new_password="Pirate-2026!", new_password_confirm="Pirate-2026!")
    if r.status_code == 302:
        # the form logs in the account it was issued for, never the one typed
        me = br.s.get(f"{hub.url}/hub/api/user", headers=br.xsrf_headers()).json()["name"]
        assert me == attacker["username"]
    assert hub.client().login(victim["username"], "Pirate-2026!").status_code == 403


def test_non_isolated_hub_says_so_loudly(site):
    hub, _ = site
    log = hub.log_path.read_text(errors="replace")
    assert "NOT isolated" in log
    assert "ne sont PAS isolés" in log
