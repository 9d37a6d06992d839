"""Logging in through a real OpenID Connect provider.

A real provider (panva's ``oidc-provider``, ``tests/oidc/provider.mjs``) runs on
loopback with a file of test accounts; a real JupyterHub is configured for
``auth.method: oidc`` through Cartable's layers, discovering the provider's
endpoints at start-up. Each login goes the way a browser goes: the hub's
``/hub/oauth_login``, the provider's login and consent forms, and back to the hub's
callback, which exchanges the code (PKCE, client secret) and reads the userinfo.

Needs ``npm ci --prefix tests/oidc`` (done by ``make install``); no internet.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path
from urllib.parse import quote, urljoin, urlparse

import pytest
import requests
import yaml
from support.harness import REPO, Browser, Hub, free_port_block, wait_for

pytestmark = pytest.mark.hub

OIDC_DIR = REPO / "tests" / "oidc"
SCHOOL = "LYC1"
CLIENT_ID = "cartable-test"
CLIENT_SECRET = "test-secret-0123456789abcdef"

# What the ministry's provider knows about people: account id (the "sub") → claims.
ACCOUNTS = {
    "J130045789": {"name": "Yasmine Alaoui — ياسمين العلوي", "cartable_role": "élève", "school": SCHOOL,
                   "classes": ["2BSM1"]},
    "k220011": {"name": "Karim Benali", "cartable_role": "enseignant", "school": SCHOOL,
                "classes": ["2BSM1", "1BSE2"]},
    "adm-1": {"name": "Site Admin", "cartable_role": "admin"},
    "insp-7": {"name": "Nadia Inspectrice", "cartable_role": "inspecteur"},
    "dir-3": {"name": "Directeur", "cartable_role": "Directeur", "school": SCHOOL},
    "parent-9": {"name": "Un Parent", "cartable_role": "parent", "school": SCHOOL},
    "norole-4": {"name": "Sans Rôle", "school": SCHOOL, "classes": ["2BSM1"]},
    "élève.ø5": {"name": "Non ASCII", "cartable_role": "eleve", "school": SCHOOL, "classes": ["2BSM1"]},
    "p-other": {"name": "Autre Lycée", "cartable_role": "eleve", "school": "LYC2", "classes": ["2BSM1"]},
}


class Provider:
    """``tests/oidc/provider.mjs`` as a child process."""

    def __init__(self, root: Path, redirect_uri: str):
        node = shutil.which("node")
        if node is None:
            pytest.fail("node is not installed (Debian's nodejs, Node 20 or newer)")
        if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
            pytest.fail("oidc-provider is not installed: run `make install` or `npm ci --prefix tests/oidc`")
        self.port = free_port_block(1)
        self.issuer = f"http://127.0.0.1:{self.port}"
        accounts = root / "accounts.json"
        accounts.write_text(json.dumps(ACCOUNTS, ensure_ascii=False), encoding="utf-8")
        self.log_path = root / "provider.log"
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [node, str(OIDC_DIR / "provider.mjs"), "--port", str(self.port), "--accounts", str(accounts),
             "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET, "--redirect-uri", redirect_uri],
            cwd=OIDC_DIR, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for(self._up, 30, what=f"oidc-provider on {self.issuer} (log: {self.log_path})")
        except BaseException:
            self.stop()
            raise

    def _up(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"provider exited with {self.proc.returncode}: {self.log_path.read_text()[-2000:]}")
        r = requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=2)
        return r.status_code == 200 and r.json()["issuer"] == self.issuer

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("oidc")
    hub = Hub(root / "hub", school_code=SCHOOL, settings={"spawner": {"isolation": "none"}})
    callback = f"{hub.url}/hub/oauth_callback"
    provider = Provider(root, callback)
    try:
        data = yaml.safe_load(hub.config_path.read_text())
        data["auth"] = {"method": "oidc", "oidc": {
            "issuer": provider.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "callback_url": callback}}
        hub.config_path.write_text(yaml.safe_dump(data, allow_unicode=True))
        hub.start()
        yield hub, provider
    finally:
        hub.stop()
        provider.stop()
        assert provider.proc.poll() is not None, "the provider is still running"


def _form(page: requests.Response) -> tuple[str, dict]:
    """The action and the fields of the (only) form of a provider page."""
    m = re.search(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', page.text, re.S)
    assert m, f"no form on {page.url}: {page.text[:500]}"
    fields = {}
    for tag in re.findall(r"<input[^>]*>", m.group(2)):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            fields[html.unescape(name.group(1))] = html.unescape(value.group(1)) if value else ""
    return urljoin(page.url, html.unescape(m.group(1))), fields


def _walk(s: requests.Session, r: requests.Response, stop_prefix: str) -> requests.Response | str:
    """Follow redirects by hand; return the first URL under ``stop_prefix``, or the page reached."""
    while r.is_redirect:
        url = urljoin(r.url, r.headers["Location"])
        if url.startswith(stop_prefix):
            return url
        r = s.get(url, allow_redirects=False, timeout=30)
    return r


def oidc_login(hub: Hub, account: str) -> tuple[Browser, requests.Response]:
    """Log in as ``account`` the way a browser does; the hub's answer to the callback."""
    br = Browser(hub.url)
    s = br.s
    callback = f"{hub.url}/hub/oauth_callback"
    r = s.get(f"{hub.url}/hub/oauth_login", allow_redirects=False, timeout=30)
    assert r.status_code == 302, r.text[:300]
    page = _walk(s, r, callback)
    for _ in range(3):  # login form, then consent form
        if isinstance(page, str):
            break
        assert page.status_code == 200, (page.url, page.status_code, page.text[:500])
        action, fields = _form(page)
        if fields.get("prompt") == "login":
            fields.update(login=account, password="any")
        r = s.post(action, data=fields, allow_redirects=False, timeout=30)
        page = _walk(s, r, callback)
    assert isinstance(page, str), f"never came back to the hub: {page.url} {page.text[:500]}"
    q = dict(p.split("=", 1) for p in urlparse(page).query.split("&") if "=" in p)
    assert "code" in q, f"the provider returned no code: {page}"
    answer = s.get(page, allow_redirects=False, timeout=60)
    if answer.status_code == 302:
        br.username = account.lower()
    return br, answer


@pytest.fixture(scope="module")
def admin(site):
    """The site administrator, logged in through the provider (claim cartable_role: admin)."""
    hub, _provider = site
    br, r = oidc_login(hub, "adm-1")
    assert r.status_code == 302, (r.status_code, r.text[:500], hub.log_tail())
    home = br.s.get(f"{hub.url}/hub/home", timeout=30)  # sets the _xsrf cookie for API calls
    assert home.status_code == 200, home.text[:300]
    return br


def api(admin: Browser, path: str) -> requests.Response:
    return admin.s.get(f"{admin.url}/hub/api{path}", headers=admin.xsrf_headers(), timeout=30)


def hub_user(admin: Browser, name: str) -> dict | None:
    r = api(admin, f"/users/{quote(name, safe='')}")
    if r.status_code == 404:
        return None
    assert r.status_code == 200, (r.status_code, r.text[:300])
    return r.json()


def test_admin_claim_makes_a_hub_admin_without_role_group(site, admin):
    me = admin.s.get(f"{admin.url}/hub/api/user", headers=admin.xsrf_headers(), timeout=30).json()
    assert me["name"] == "adm-1"
    assert me["admin"] is True
    assert not [g for g in me["groups"] if g.startswith("role:")]
    # Only an admin can list users: the claim really gave admin rights.
    assert api(admin, "/users").status_code == 200


def test_pupil_lands_logged_in_with_role_school_and_class_groups(site, admin):
    hub, _ = site
    br, r = oidc_login(hub, "J130045789")
    assert r.status_code == 302, (r.status_code, r.text[:500])
    assert urlparse(r.headers["Location"]).path.startswith("/hub/")
    me = br.s.get(f"{hub.url}/hub/api/user", headers=br.xsrf_headers(), timeout=30)
    assert me.status_code == 200, me.text[:300]
    assert me.json()["name"] == "j130045789"  # the national ID, lower-cased
    user = hub_user(admin, "j130045789")
    assert sorted(user["groups"]) == ["class:LYC1:2BSM1", "role:pupil", "school:LYC1"]
    assert user["admin"] is False
    assert user["user_info"]["name"] == ACCOUNTS["J130045789"]["name"]  # any script kept
    assert user["user_info"]["role"] == "pupil"
    # The pupil cannot use the admin API.
    assert br.s.get(f"{hub.url}/hub/api/users", headers=br.xsrf_headers(), timeout=30).status_code == 403


def test_teacher_gets_role_teacher_and_no_class_groups_from_claims(site, admin):
    hub, _ = site
    _br, r = oidc_login(hub, "k220011")
    assert r.status_code == 302, (r.status_code, r.text[:500])
    user = hub_user(admin, "k220011")
    assert sorted(user["groups"]) == ["role:teacher", "school:LYC1"]
    assert user["admin"] is False


@pytest.mark.parametrize("account,groups", [
    ("dir-3", ["role:director", "school:LYC1"]),  # role compared case-insensitively
    ("insp-7", ["role:inspector"]),  # inspectors need no school
])
def test_other_roles(site, admin, account, groups):
    hub, _ = site
    _br, r = oidc_login(hub, account)
    assert r.status_code == 302, (r.status_code, r.text[:500])
    assert sorted(hub_user(admin, account)["groups"]) == groups


@pytest.mark.parametrize("account,why", [
    ("parent-9", "role 'parent'"),
    ("norole-4", "'cartable_role' claim is missing"),
    ("élève.ø5", "is not ASCII"),
    ("p-other", "school 'LYC2' is not admitted"),
])
def test_refused_accounts_get_403_and_no_hub_user(site, admin, account, why):
    hub, _ = site
    br, r = oidc_login(hub, account)
    assert r.status_code == 403, (r.status_code, r.text[:500])
    page = r.content.decode("utf-8")
    assert "Votre compte ne peut pas utiliser Cartable" in page, page  # in the site's language (fr)
    assert br.s.get(f"{hub.url}/hub/api/user", timeout=30).status_code == 403
    assert hub_user(admin, account.lower()) is None
    names = [u["name"] for u in api(admin, "/users").json()]
    assert account.lower() not in names
    assert why in hub.log_tail(400)


def test_logout_ends_the_provider_session_too(site):
    hub, provider = site
    br, r = oidc_login(hub, "k220011")
    assert r.status_code == 302
    out = br.s.get(f"{hub.url}/hub/logout", allow_redirects=False, timeout=30)
    assert out.status_code == 302
    assert out.headers["Location"].startswith(f"{provider.issuer}/session/end?client_id={CLIENT_ID}")
    assert br.s.get(f"{hub.url}/hub/api/user", timeout=30).status_code == 403
