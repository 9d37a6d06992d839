"""Lessons on a real hub: the cartable-lessons service behind the Hub's OAuth, as pupils and
teachers use it over HTTP and in Chromium.

One hub for the module (SQLite). The demo roster plus a class 2BSM2 with its own maths teacher
and pupil. ``suites`` has a pool of pre-started kernels from the start (the class-rush lesson).
"""

from __future__ import annotations

import html
import json
import os
import re
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
import requests
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from support.harness import DEMO_ROSTER, Browser, wait_for

pytestmark = pytest.mark.hub
SVC = "/services/cartable-lessons/"
WIDGET = "application/vnd.jupyter.widget-view+json"
MATHS_TEACHER, PHYS_TEACHER, OTHER_TEACHER = "be812345", "ee456789", "t0000999"
EXTRA_ROSTER = (
    "enseignant,T0000999,Alaoui,Karim,العلوي,كريم,2BSM2,maths,2026-2027,,,,,\n"
    "élève,J130099999,Idrissi,Nora,الإدريسي,نورة,2BSM2,,2026-2027,2e année Bac,Sciences Mathématiques B,2008-05-05,,\n"
)
RUSH = 40


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    from support.harness import Hub

    root = tmp_path_factory.mktemp("lessons")
    while True:  # the lessons service listens on public + 6, next to the harness's block
        hub = Hub(root, settings={"spawner": {"mem_limit": "600M", "unix_prefix": f"s{os.getpid() % 100:02d}-"},
                                  "lessons": {"preheat": ["suites"], "pool_size": 4}})
        if _free(hub.port + 4, hub.port + 7):
            break
    roster = root / "roster.csv"
    roster.write_text(DEMO_ROSTER.read_text(encoding="utf-8").rstrip("\n") + "\n" + EXTRA_ROSTER, encoding="utf-8")
    accounts = hub.import_roster(roster)
    hub.cli("lessons", "build")  # the low-bandwidth forms, ahead of time (cached across runs)
    hub.start()
    wait_for(lambda: requests.get(f"{hub.url}{SVC}", timeout=5, allow_redirects=False).status_code == 302, 60,
             what="lessons service")
    yield hub, accounts
    hub.stop()


def _free(lo, hi):
    import socket

    for p in range(lo, hi):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                return False
    return True


def login(hub, accounts, username) -> Browser:
    b = hub.client()
    assert b.login(username, accounts.password(username)).status_code == 302
    return b


def get(b: Browser, path: str, **kw) -> requests.Response:
    r = b.s.get(b.url + SVC + path.lstrip("/"), timeout=kw.pop("timeout", 120), **kw)
    r.encoding = "utf-8"
    return r


def svc_xsrf(b: Browser) -> dict:
    """The XSRF token the service's pages set (cookie scoped to the service's path)."""
    for c in b.s.cookies:
        if c.name == "_xsrf" and (c.path or "").startswith(SVC.rstrip("/")):
            return {"X-XSRFToken": c.value}
    return {}


def pupil(accounts, klass):
    return accounts.of("pupil", klass)[0]["username"]


@pytest.fixture(scope="module")
def tokens(school):
    from support.exchange import Tokens

    hub, accounts = school
    t = Tokens(hub, accounts)
    return lambda user: t(user, scopes=("access:services!service=cartable-lessons",))


def api(hub, token, method, path, **kw):
    return requests.request(method, f"{hub.url}{SVC}api/{path}", headers={"Authorization": f"token {token}"},
                            timeout=300, **kw)


# ----------------------------------------------------------------------------- access


def test_home_page_links_to_lessons_in_french(school):
    hub, accounts = school
    b = login(hub, accounts, pupil(accounts, "2BSM1"))
    home = b.s.get(f"{hub.url}/hub/home", timeout=60).content.decode("utf-8")
    assert 'id="cartable-lessons-link"' in home and 'href="/services/cartable-lessons/"' in home
    assert "Leçons et tableaux de bord" in home and "Leçons" in home
    assert 'id="cartable-dashboards-link"' in home  # pupils may open their own progress
    # the link leads, through the Hub's OAuth, to the pupil's lessons
    r = get(b, "")
    assert r.status_code == 200 and r.url == f"{hub.url}{SVC}"
    listed = re.findall(r'data-lesson="([^"]+)"', r.text)
    assert "library/suites.ipynb" in listed and "library/suites.ar.ipynb" in listed
    assert "version légère" in r.text and 'lang="fr"' in r.text


def test_without_login_the_hub_is_asked(school):
    hub, _accounts = school
    r = requests.get(f"{hub.url}{SVC}voila/render/library/suites.ipynb", allow_redirects=False, timeout=30)
    assert r.status_code == 302 and "/hub/api/oauth2/authorize" in r.headers["Location"]
    r = requests.get(f"{hub.url}{SVC}api/lessons", timeout=30)
    assert r.status_code == 403
    r = requests.get(f"{hub.url}{SVC}api/lessons", headers={"Authorization": "token not-a-token"}, timeout=30)
    assert r.status_code == 403


def test_teacher_sees_own_subject_only_whatever_the_url(school):
    hub, accounts = school
    phys = login(hub, accounts, PHYS_TEACHER)
    listed = re.findall(r'data-lesson="([^"]+)"', get(phys, "").text)
    assert "library/radioactivite.ipynb" in listed and "library/suites.ipynb" not in listed
    for path in ("voila/render/library/suites.ipynb", "lite/library/suites.ipynb",
                 "voila/render/library/suites.ar.ipynb", "voila/render/library//suites.ipynb",
                 "voila/render/library/%2e%2e/library/suites.ipynb", "voila/render/../courses/lessons/suites.ipynb"):
        r = get(phys, path)
        assert r.status_code == 404, (path, r.status_code)
        assert "Suites numériques" not in r.text


def test_notebooks_are_not_downloadable(school):
    hub, accounts = school
    b = login(hub, accounts, pupil(accounts, "2BSM1"))
    assert get(b, "voila/render/library/suites.ipynb").status_code == 200
    for path in ("voila/files/library/suites.ipynb", "voila/files/library/", "voila/api/contents/library/suites.ipynb",
                 "voila/api/contents/library", "voila/tree", "voila/tree/library", "library/suites.ipynb",
                 "voila/render/library/suites.ipynb?download=1", "voila/files/../library/suites.ipynb",
                 "voila/templates/cartable/../../library/suites.ipynb"):
        r = get(b, path, allow_redirects=True)
        assert '"nbformat"' not in r.text and '"cell_type"' not in r.text, path
        if "render" not in path:
            assert r.status_code in (403, 404), (path, r.status_code)
    # the page itself holds no source code
    page = get(b, "voila/render/library/suites.ipynb").text
    assert "W.interact(" not in page and "def suite(" not in page


def test_lessons_pages_have_a_content_security_policy(school):
    """Voilà's pages of the lessons, and the list, under the service's CSP (self only, no plugin,
    no <base>, framed by the same origin); the low-bandwidth pages keep their stricter one."""
    from cartable.extensions.lessons import lite
    from cartable.extensions.lessons.service import CSP

    hub, accounts = school
    b = login(hub, accounts, pupil(accounts, "2BSM1"))
    for path in ("", "voila/render/library/suites.ipynb"):
        r = get(b, path)
        assert r.status_code == 200 and r.headers["Content-Security-Policy"] == CSP, path
    for directive in ("default-src 'self'", "connect-src 'self'", "object-src 'none'", "base-uri 'none'",
                      "frame-ancestors 'self'"):
        assert directive in CSP.split("; "), directive
    assert "*" not in CSP and "http" not in CSP and "ws:" not in CSP
    r = get(b, "lite/library/suites.ipynb")
    assert r.status_code == 200 and r.headers["Content-Security-Policy"] == lite.CSP


def test_kernels_take_no_code_from_the_page(school):
    """Voilà lets a page's websocket send only widget (comm) messages to its kernel."""
    from websockets.sync.client import connect

    hub, accounts = school
    b = login(hub, accounts, pupil(accounts, "2BSM1"))
    page = get(b, "voila/render/library/derivation.ipynb").text
    kernel = re.search(r'"kernelId": "([0-9a-f-]{36})"', page).group(1)
    marker = f"/tmp/cartable-pwned-{uuid.uuid4().hex}"
    cookie = "; ".join(f"{c.name}={c.value}" for c in b.s.cookies)
    url = hub.url.replace("http", "ws", 1) + f"{SVC}api/kernels/{kernel}/channels"
    msg_id = uuid.uuid4().hex
    replies = []
    with connect(url, additional_headers={"Cookie": cookie}, open_timeout=30) as ws:
        ws.send(json.dumps({
            "header": {"msg_id": msg_id, "username": "x", "session": uuid.uuid4().hex, "msg_type": "execute_request",
                       "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": f"open({marker!r}, 'w').write('x'); print('RAN')", "silent": False,
                        "store_history": False, "user_expressions": {}, "allow_stdin": False}}))
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            try:
                m = json.loads(ws.recv(timeout=1))
            except TimeoutError:
                continue
            if m.get("parent_header", {}).get("msg_id") == msg_id:
                replies.append(m["msg_type"])
    assert replies == [] and not Path(marker).exists()
    # the page's own shutdown call frees its kernel
    r = b.s.post(f"{hub.url}{SVC}voila/api/shutdown/{kernel}", headers=svc_xsrf(b), timeout=30)
    assert r.status_code in (200, 204), r.status_code


def test_arabic_lessons_use_the_right_to_left_template(school):
    hub, accounts = school
    b = login(hub, accounts, pupil(accounts, "2BPC1"))
    ar = get(b, "voila/render/library/radioactivite.ar.ipynb")
    fr = get(b, "voila/render/library/radioactivite.ipynb")
    assert ar.status_code == fr.status_code == 200
    body_ar = re.search(r"<body[^>]*>", ar.text).group(0)
    body_fr = re.search(r"<body[^>]*>", fr.text).group(0)
    assert 'dir="rtl"' in body_ar and 'lang="ar"' in body_ar and 'data-cartable-template="cartable-rtl"' in body_ar
    assert 'dir="ltr"' in body_fr and 'lang="fr"' in body_fr and 'data-cartable-template="cartable"' in body_fr
    assert '<html lang="ar">' in ar.text
    # code, formulas and widgets' numbers stay left to right
    assert re.search(r"mjx-container.*?direction: ltr", ar.text, re.S)
    assert "cdn.jsdelivr.net" not in ar.text and "cdn.jsdelivr.net" not in fr.text
    assert re.search(re.escape(f'"{WIDGET}": {{"model_id": "'), ar.text)


def test_low_bandwidth_forms_are_small_and_keep_widget_state(school):
    hub, accounts = school
    b = login(hub, accounts, pupil(accounts, "2BSM1"))
    assert get(b, "").status_code == 200  # through the Hub's OAuth (an API call does not redirect)
    r = get(b, "api/lessons")
    lessons = r.json()
    assert isinstance(lessons, list), (r.status_code, r.text[:300])
    assert lessons and all(lesson["lite_url"].endswith(lesson["path"]) for lesson in lessons)
    sizes = {}
    for lesson in lessons:
        r = wait_for(lambda: (x := b.s.get(hub.url + lesson["lite_url"], timeout=60)).status_code == 200 and x, 120,
                     interval=2, what=f"low-bandwidth {lesson['path']}")
        r.encoding = "utf-8"
        sizes[lesson["path"]] = len(r.content)
        assert "script-src" not in r.headers["Content-Security-Policy"] and "default-src 'none'" in r.headers[
            "Content-Security-Policy"]
        state = re.search(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', r.text, re.S)
        models = json.loads(state.group(1).replace("<\\/", "</"))["state"]
        assert any(m["model_name"].endswith("SliderModel") for m in models.values()), lesson["path"]
        assert 'type="range" disabled' in r.text and "<img" in r.text
        want = 'dir="rtl" lang="ar"' if lesson["lang"] == "ar" else 'dir="ltr" lang="fr"'
        assert f"<body {want}>" in r.text
    print("low-bandwidth sizes (KB):", {k: round(v / 1024) for k, v in sizes.items()})
    assert max(sizes.values()) < 100 * 1024


# ----------------------------------------------------------------------------- teachers' lessons


def teacher_notebook(title: str, marker: str, fail: bool = False) -> str:
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [
        new_markdown_cell(f"# {title}\n\nOndes le long d'une corde. <script>alert('x')</script>"),
        new_code_cell("import os, pwd, ipywidgets as W\n"
                      f"print('{marker}', pwd.getpwuid(os.getuid()).pw_name, os.environ.get('JUPYTERHUB_API_TOKEN'))\n"
                      + ("1/0\n" if fail else "")
                      + "W.interact(lambda f=2.0: print('f =', f), f=(1.0, 5.0, 0.5))"),
    ]
    return nbformat.writes(nb)


@pytest.fixture(scope="module")
def teacher_server(school):
    hub, accounts = school
    b = login(hub, accounts, MATHS_TEACHER)
    b.start_server()
    return b


def publish_from_server(b: Browser, text: str, *args) -> dict:
    code = (f"import json, pathlib, subprocess, sys, os\npathlib.Path('ondes.ipynb').write_text({text!r})\n"
            f"r = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'cartable'), 'lessons', 'publish', "
            f"'ondes.ipynb', *{list(args)!r}], capture_output=True, text=True)\n"
            "print(json.dumps({'rc': r.returncode, 'out': r.stdout, 'err': r.stderr}))")
    from support.exchange import kernel_json

    return kernel_json(b, code, timeout=300)


def test_teacher_publishes_replaces_and_withdraws(school, teacher_server, tokens):
    hub, accounts = school
    sm1, pc1, sm2 = pupil(accounts, "2BSM1"), pupil(accounts, "2BPC1"), pupil(accounts, "2BSM2")
    # published from the teacher's own server with its Hub token, to one of their classes
    out = publish_from_server(teacher_server, teacher_notebook("Ondes mécaniques", "MARK-V1"), "--class", "2BSM1")
    assert out["rc"] == 0, out
    assert "publiée (version 1)" in out["out"]
    info = json.loads(out["out"].strip().splitlines()[-1])
    path = info["url"].split("/voila/render/", 1)[1]
    assert info["id"] == f"{MATHS_TEACHER}--ondes" and path == f"published/{MATHS_TEACHER}--ondes.ipynb"

    b_sm1, b_pc1, b_sm2 = (login(hub, accounts, u) for u in (sm1, pc1, sm2))
    listed = re.findall(r'data-lesson="([^"]+)"', get(b_sm1, "").text)
    assert path in listed and "library/suites.ipynb" in listed  # next to the library's
    page = get(b_sm1, f"voila/render/{path}")
    assert page.status_code == 200 and "Ondes mécaniques" in html.unescape(page.text)
    # run as the lessons' unprivileged account, without the service's Hub token
    who = "cartable-lesson" if os.geteuid() == 0 else os.environ.get("USER", "")
    assert f"MARK-V1 {who} None" in page.text
    assert "alert('x')" not in page.text
    lite_page = get(b_sm1, f"lite/{path}")
    assert lite_page.status_code == 200 and "Ondes mécaniques" in html.unescape(lite_page.text) and "f = 2.0" in lite_page.text
    # pupils of other classes, whatever the URL
    for b in (b_pc1, b_sm2):
        assert path not in re.findall(r'data-lesson="([^"]+)"', get(b, "").text)
        for url in (f"voila/render/{path}", f"lite/{path}", f"voila/render/{path.replace('.ipynb', '')}"):
            r = get(b, url)
            assert r.status_code == 404 and "MARK-V1" not in r.text, url

    # refused: a pupil, a teacher not teaching the class, a teacher of another subject, a stranger's lesson
    body = {"name": "ondes", "classes": ["2BSM1"], "notebook": teacher_notebook("Pirate", "MARK-X")}
    assert api(hub, tokens(sm1), "POST", "published", json=body).status_code == 403
    assert api(hub, tokens(OTHER_TEACHER), "POST", "published", json=body).status_code == 403
    r = api(hub, tokens(PHYS_TEACHER), "POST", "published", json={**body, "subject": "maths"})
    assert r.status_code == 403 and "physique" not in r.json()["messages"]["fr"]
    assert api(hub, tokens(PHYS_TEACHER), "DELETE", f"published/{info['id']}").status_code == 403
    assert api(hub, tokens(sm1), "DELETE", f"published/{info['id']}").status_code == 403
    assert "MARK-V1" in get(b_sm1, f"voila/render/{path}").text

    # a lesson that fails is refused with its cell, and the published one stays
    out = publish_from_server(teacher_server, teacher_notebook("Ondes", "MARK-BAD", fail=True), "--class", "2BSM1")
    assert out["rc"] != 0 and "ZeroDivisionError" in out["err"]
    # publishing again replaces it; the previous version is kept
    out = publish_from_server(teacher_server, teacher_notebook("Ondes mécaniques (2)", "MARK-V2"),
                              "--class", "2BSM1", "--class", "2BPC1")
    assert out["rc"] == 0 and "version 2" in out["out"], out
    page = get(b_sm1, f"voila/render/{path}").text
    assert "MARK-V2" in page and "MARK-V1" not in page
    assert "MARK-V2" in get(b_pc1, f"voila/render/{path}").text  # now for 2BPC1 too
    mine = api(hub, tokens(MATHS_TEACHER), "GET", "published").json()
    assert [v["version"] for v in mine[0]["versions"]] == [1, 2]
    assert (hub.state / "lessons" / "published" / info["id"] / "v1.ipynb").is_file()
    assert api(hub, tokens(PHYS_TEACHER), "GET", "published").json() == []

    # withdrawn by its author
    r = api(hub, tokens(MATHS_TEACHER), "DELETE", f"published/{info['id']}")
    assert r.status_code == 200 and r.json()["withdrawn_by"] == MATHS_TEACHER
    assert get(b_sm1, f"voila/render/{path}").status_code == 404
    assert path not in re.findall(r'data-lesson="([^"]+)"', get(b_sm1, "").text)
    assert (hub.state / "lessons" / "published" / info["id"] / "v2.ipynb").is_file()


def library_from_server(b: Browser, *args) -> dict:
    """``cartable library …`` in a user's own server, as a teacher types it in a terminal."""
    from support.exchange import kernel_json

    code = ("import json, subprocess, sys, os, pathlib\n"
            f"r = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'cartable'), 'library', *{list(args)!r}], "
            "capture_output=True, text=True)\n"
            "files = sorted(str(p) for p in pathlib.Path('.').rglob('*') if p.is_file() and 'lib-copy' in str(p))\n"
            "print(json.dumps({'rc': r.returncode, 'out': r.stdout, 'err': r.stderr, 'files': files}))")
    return kernel_json(b, code, timeout=300)


def test_teacher_copies_from_the_private_library_and_pupils_cannot(school, teacher_server, tokens):
    hub, accounts = school
    listed = library_from_server(teacher_server, "list")
    assert listed["rc"] == 0, listed
    assert "ex-suites\texercise" in listed["out"] and "bac-blanc-maths\texam" in listed["out"]
    out = library_from_server(teacher_server, "copy", "ex-suites", "--to", "lib-copy/ex-suites")
    assert out["rc"] == 0, out
    assert "ex-suites" in out["out"] and "lib-copy/ex-suites/ex-suites.ipynb" in out["files"]
    copied = hub.cfg.homes_dir / MATHS_TEACHER / "lib-copy" / "ex-suites" / "ex-suites.ipynb"
    original = Path(__file__).resolve().parents[3] / "courses" / "exercises" / "ex-suites" / "ex-suites.ipynb"
    assert copied.read_bytes() == original.read_bytes() and "BEGIN HIDDEN TESTS" in copied.read_text()
    # copying again into the same folder changes nothing and says why
    again = library_from_server(teacher_server, "copy", "ex-suites", "--to", "lib-copy/ex-suites")
    assert again["rc"] == 2 and "existe déjà" in again["err"]
    assert library_from_server(teacher_server, "copy", "nothing-here", "--to", "lib-copy/x")["rc"] == 1
    # pupils, directors and inspectors get a translated refusal, whatever the id
    director = accounts.of("director")[0]["username"]
    for who in (pupil(accounts, "2BSM1"), director):
        for path in ("library", "library/ex-suites", "library/bac-blanc-maths"):
            r = api(hub, tokens(who), "GET", path)
            assert r.status_code == 403, (who, path, r.status_code)
            assert "enseignants" in r.json()["messages"]["fr"] and "BEGIN" not in r.text
    assert api(hub, tokens(MATHS_TEACHER), "GET", "library/..%2Fcatalogue").status_code == 404


# ----------------------------------------------------------------------------- a class opens a lesson at once


def test_class_rush_on_one_lesson(school):
    hub, accounts = school
    users = [a["username"] for a in accounts.of("pupil") if "2BSM" in a["class"] or "2BPC" in a["class"]]
    with ThreadPoolExecutor(8) as pool:
        browsers = list(pool.map(lambda i: login(hub, accounts, users[i % len(users)]), range(RUSH)))
        list(pool.map(lambda b: get(b, ""), browsers))  # each browser through the Hub's OAuth first

    def open_lesson(b):
        start = time.monotonic()
        try:
            r = get(b, "voila/render/library/suites.ipynb", timeout=180)
            return r.status_code, r.text, time.monotonic() - start, r.headers.get("X-Cartable-Kernel")
        except requests.RequestException as e:
            return -1, repr(e), time.monotonic() - start, None

    with ThreadPoolExecutor(RUSH) as pool:
        results = list(pool.map(open_lesson, browsers))
    statuses = [r[0] for r in results]
    times = sorted(r[2] for r in results)
    kinds = [r[3] for r in results]
    print(f"class rush: {RUSH} opens, statuses {set(statuses)}, pre-started {kinds.count('pre-started')}, "
          f"p50 {statistics.median(times):.1f} s, p95 {times[int(0.95 * len(times)) - 1]:.1f} s, max {times[-1]:.1f} s")
    assert statuses == [200] * RUSH, [r[1][:300] for r in results if r[0] != 200][:3]
    for _status, text, _t, _k in results:
        assert "Suites numériques" in html.unescape(text) and re.search(re.escape(f'"{WIDGET}": {{"model_id": "'), text)
        assert "Traceback" not in text and "application/vnd.jupyter.stderr" not in text
    assert kinds.count("pre-started") >= 4
    # free the kernels, as the pages do when closed
    for b, (_s, text, _t, _k) in zip(browsers, results):
        kernel = re.search(r'"kernelId": "([0-9a-f-]{36})"', text).group(1)
        r = b.s.post(f"{hub.url}{SVC}voila/api/shutdown/{kernel}", headers=svc_xsrf(b), timeout=30)
        assert r.status_code in (200, 204), r.status_code


# ----------------------------------------------------------------------------- in Chromium


def test_browser_moves_a_slider_in_french_and_arabic(school, browser, shot):
    from cartable.extensions.lessons.service import CSP

    hub, accounts = school
    user = pupil(accounts, "2BSM1")
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{hub.url}/hub/login", timeout=60_000)
        page.fill("#username_input", user)
        page.fill("#password_input", accounts.password(user))
        page.click("#login_submit")
        page.wait_for_url(re.compile(r".*/(hub/home|hub/spawn.*|user/.*)$"), timeout=60_000)
        page.goto(f"{hub.url}{SVC}", timeout=60_000)
        page.wait_for_selector("#cartable-lessons-library", timeout=60_000)
        shot(page, "lessons-index")
        for name, lesson in (("fr", "library/suites.ipynb"), ("ar", "library/suites.ar.ipynb")):
            response = page.goto(f"{hub.url}{SVC}voila/render/{lesson}", timeout=120_000)
            assert response.headers["content-security-policy"] == CSP  # the widgets work under it
            page.wait_for_selector(".widget-slider .noUi-handle, .widget-slider input", timeout=120_000)
            page.wait_for_selector(".jp-OutputArea-output img, .widget-output img", timeout=120_000)
            assert page.evaluate("document.body.dir") == ("rtl" if name == "ar" else "ltr")
            before = page.evaluate("[...document.querySelectorAll('.widget-output img')].map(i => i.src).join()")
            readout = page.locator(".widget-readout").first.inner_text()
            handle = page.locator(".widget-slider .noUi-handle").first
            handle.focus()
            for _ in range(3):
                page.keyboard.press("ArrowRight")
            page.wait_for_function(
                "(b) => [...document.querySelectorAll('.widget-output img')].map(i => i.src).join() !== b",
                arg=before, timeout=60_000)
            assert page.locator(".widget-readout").first.inner_text() != readout
            shot(page, f"lessons-{name}")
        page.goto(f"{hub.url}{SVC}lite/library/suites.ar.ipynb", timeout=60_000)
        shot(page, "lessons-lite-ar")
    finally:
        context.close()
