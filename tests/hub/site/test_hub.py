"""A real hub with real pupil servers, used over HTTP and websockets as a browser
would; every test runs on SQLite and on PostgreSQL (``database_url``)."""

from __future__ import annotations

import os

import pytest
from support.harness import wait_for

pytestmark = pytest.mark.hub
ROOT = os.geteuid() == 0


@pytest.fixture(scope="module")
def school(database_url, tmp_path_factory):
    from support.harness import Hub

    hub = Hub(tmp_path_factory.mktemp("school"), database_url=database_url,
              settings={"hub": {"cleanup_servers_on_stop": False},
                                                                     "spawner": {"mem_limit": "700M", "pids_limit": 300}})
    accounts = hub.import_roster()
    hub.start()
    yield hub, accounts
    if hub.proc:
        for a in accounts:
            hub.api("DELETE", f"/users/{a['username']}/server")
    hub.stop()


def pupils(accounts, n=2):
    classes = sorted({a["class"] for a in accounts.of("pupil")})
    first = accounts.of("pupil", classes[0])
    other = accounts.of("pupil", classes[1])
    return first[:n] + other[:1]


@pytest.fixture(scope="module")
def two_pupils(school):
    hub, accounts = school
    a, b, *_ = pupils(accounts)
    browsers = []
    for p in (a, b):
        br = hub.client()
        r = br.login(p["username"], p["password"])
        assert r.status_code == 302, r.text[:300]
        br.start_server()
        browsers.append(br)
    return browsers


def test_pupil_logs_in_with_the_form_and_runs_code(school, two_pupils):
    a, _b = two_pupils
    lab = a.open_lab()
    assert lab.status_code == 200
    assert lab.url.endswith(f"/user/{a.username}/lab")
    assert a.run_code("print(6 * 7)").strip() == "42"


def test_login_page_is_french(school):
    hub, _ = school
    r = hub.client().s.get(f"{hub.url}/hub/login")
    assert '<html lang="fr"' in r.text
    assert "Se connecter" in r.text or "Connexion" in r.text


def test_pupil_lab_is_french_and_lean(school, two_pupils):
    a, _ = two_pupils
    page = a.open_lab().text
    r = a.s.get(f"{a.url}/user/{a.username}/lab/api/settings/@jupyterlab/translation-extension:plugin",
                headers=a.server_xsrf())
    assert r.status_code == 200
    assert r.json()["settings"]["locale"] == "fr_FR"
    for plugin in ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                   "@jupyter/nbgrader:course-list", "@jupyterlab/apputils-extension:announcements"):
        assert plugin in page  # listed in disabledExtensions of the page config
    assert '"disabledExtensions"' in page
    # the server side of the teacher tools is not even loaded, nor a terminal
    assert a.s.get(f"{a.url}/user/{a.username}/formgrader").status_code == 404
    assert a.server_api("POST", "/terminals").status_code == 404
    # what pupils do need: the assignment list (backed by the exchange service)
    # (its handlers answer, where the formgrader's and the terminal's are not even routed)
    assert a.s.get(f"{a.url}/user/{a.username}/nbgrader_version?version=0.9.6",
                   headers=a.server_xsrf()).status_code != 404


def test_pupil_cannot_reach_another_pupils_server(school, two_pupils):
    a, b = two_pupils
    # the other's JupyterLab, files and API
    r = a.s.get(f"{a.url}/user/{b.username}/lab", allow_redirects=True)
    assert r.status_code in (403, 404) or f"/user/{b.username}/lab" not in r.url
    for path in ("/contents", "/kernels", "/sessions"):
        r = a.s.get(f"{a.url}/user/{b.username}/api{path}", headers=a.server_xsrf(b.username))
        assert r.status_code in (403, 404), (path, r.status_code)
    # the hub's API about the other pupil
    r = a.s.get(f"{a.url}/hub/api/users/{b.username}", headers=a.xsrf_headers())
    assert r.status_code in (403, 404)
    r = a.s.post(f"{a.url}/hub/api/users/{b.username}/server", headers=a.xsrf_headers())
    assert r.status_code in (403, 404)


def test_teacher_sees_classes_but_not_pupils_servers(school, two_pupils):
    hub, accounts = school
    a, _ = two_pupils
    teacher = accounts.of("teacher")[0]
    br = hub.client()
    assert br.login(teacher["username"], teacher["password"]).status_code == 302
    home = br.s.get(f"{hub.url}/hub/home").text
    for klass in teacher["class"].split(";"):
        assert f'<td dir="ltr">{klass}</td>' in home
    r = br.s.get(f"{hub.url}/user/{a.username}/api/contents", headers=br.server_xsrf(a.username))
    assert r.status_code in (403, 404)
    r = br.s.get(f"{hub.url}/user/{a.username}/lab")
    assert f"/user/{a.username}/lab" not in r.url or r.status_code in (403, 404)


@pytest.mark.skipif(not ROOT, reason="per-pupil Unix accounts need root; the non-root fallback is not isolated")
def test_pupil_kernel_cannot_read_another_pupils_home(school, two_pupils):
    hub, _ = school
    a, b = two_pupils
    other_home = hub.cfg.homes_dir / b.username
    a_home = hub.cfg.homes_dir / a.username
    out = a.run_code(
        "import os\n"
        f"print(os.path.expanduser('~'))\n"
        f"open({str(a_home / 'secret.txt')!r}, 'w').write('mine')\n"
        "try:\n"
        f"    print(os.listdir({str(other_home)!r}))\n"
        "except PermissionError as e:\n"
        "    print('refused', e.errno)\n")
    assert str(a_home) in out
    assert "refused 13" in out
    out = b.run_code(f"print(open({str(a_home / 'secret.txt')!r}).read())")
    assert "PermissionError" in out
    assert oct((a_home).stat().st_mode & 0o777) == "0o700"


@pytest.mark.skipif(not ROOT, reason="control groups can only be set up by root")
def test_server_and_kernels_run_inside_their_limits(school, two_pupils):
    from cartable.hub.limits import Cgroups, parse_bytes

    a, _ = two_pupils
    out = a.run_code("print(open('/proc/self/cgroup').read())")
    limits = Cgroups().limits_of(out)
    memory = limits.get("memory.limit_in_bytes") or limits.get("memory.max")
    assert int(memory) == parse_bytes("700M")
    assert limits.get("pids.max") == "300"
    # a memory bomb takes down its own kernel, not the server nor the machine
    out = a.run_code("x = b\"x\" * (1200 * 2**20)\nprint('allocated')", timeout=120)
    assert "allocated" not in out
    assert a.run_code("print('server alive')").strip() == "server alive"


def test_unknown_locked_and_removed_accounts_cannot_log_in(school):
    hub, accounts = school
    br = hub.client()
    assert br.login("nobody", "whatever").status_code == 403
    victim = accounts.of("pupil")[-1]
    for _ in range(hub.cfg["auth"]["local"]["max_failures"]):
        assert br.login(victim["username"], "wrong password").status_code == 403
    r = br.login(victim["username"], victim["password"])
    assert r.status_code == 403
    assert "verrouill" in r.text or "locked" in r.text
    from cartable.hub import accounts as acc

    assert acc.unlock(hub.db(), victim["username"])
    assert hub.client().login(victim["username"], victim["password"]).status_code == 302


def test_hub_restart_finds_pupil_servers_running(school, two_pupils):
    hub, _ = school
    a, _b = two_pupils
    before = a.run_code("import os; print(os.getpid())")
    hub.kill_hub_only()
    hub.start()
    wait_for(a.server_ready, 60, what="server seen as running after restart")
    assert a.open_lab().status_code == 200
    assert a.run_code("print('still here')").strip() == "still here"
    assert before


def test_pupil_removed_from_the_roster_cannot_log_in(school, tmp_path):
    from support.harness import DEMO_ROSTER

    hub, accounts = school
    leaver = accounts.of("pupil")[0]
    group = f"class:DEMO:{leaver['class']}"
    lines = DEMO_ROSTER.read_text(encoding="utf-8").splitlines()
    trimmed = tmp_path / "roster.csv"
    trimmed.write_text("\n".join(l for l in lines if leaver["username"].upper() not in l.upper()) + "\n",
                       encoding="utf-8")
    assert hub.client().login(leaver["username"], leaver["password"]).status_code == 302
    out = hub.cli("roster", "import", trimmed).stdout
    assert "1" in out
    try:
        assert hub.client().login(leaver["username"], leaver["password"]).status_code == 403
        hub.wait_synced(leaver["username"], group, present=False)
        assert hub.api("GET", f"/users/{leaver['username']}").json()["server"] is None
    finally:
        hub.cli("roster", "import", DEMO_ROSTER)
        hub.wait_synced(leaver["username"], group, present=True)
    # back on the roster, with the same account and password
    assert hub.client().login(leaver["username"], leaver["password"]).status_code == 302
