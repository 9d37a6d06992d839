"""The dashboards service on a real hub with real users (one hub for the module): the access matrix
(each role × each dashboard, own and other class and school, edited URLs and parameters), escaping
of pupils' names and graders' comments, notebooks and data not downloadable, kernels that refuse
to run code, and each dashboard in Chromium with a widget moved (screenshots in tests/artifacts)."""

from __future__ import annotations

import json
import os
import pwd
import re
import time
import uuid

import pytest
import requests
from support.dashboards import (
    DIRECTOR,
    INSPECTOR,
    MATHS_TEACHER,
    PHYS_TEACHER,
    PUPIL,
    SECOND_PUPILS,
    SERVICE,
    XSS_NAME,
    XSS_PUPIL,
    message,
    texts,
)

pytestmark = pytest.mark.hub
DASHBOARDS = ("progress", "class", "school", "inspection")
ALLOWED = {PUPIL: "progress", MATHS_TEACHER: "class", PHYS_TEACHER: "class", DIRECTOR: "school",
           INSPECTOR: "inspection", "admin": None}
LYC2_NAMES = [f"{first} {last}" for first, last in SECOND_PUPILS.values()]


def select(viewer, kernel, states, dropdown: int, label: str) -> dict:
    """Choose ``label`` in the page's ``dropdown``-th dropdown, as a browser does; the new states."""
    mid, state = viewer.dropdowns(states)[dropdown]
    return viewer.widget_states(kernel, updates={mid: {"index": state["_options_labels"].index(label)}})


def table_rows(text: str, heading_fragment: str) -> str:
    """The HTML that follows a heading (up to the next heading)."""
    i = text.find(heading_fragment)
    assert i >= 0, (heading_fragment, text[:2000])
    rest = text[i + len(heading_fragment):]
    j = rest.find("<h3>")
    return rest if j < 0 else rest[:j]


def test_index_lists_only_own_dashboards(school, viewers):
    for username, allowed in ALLOWED.items():
        r = viewers(username).get("")
        assert r.status_code == 200, (username, r.status_code)
        links = set(re.findall(r"href='/services/cartable-dashboards/(\w+)'", r.text))
        want = {allowed} if allowed else {"class", "school", "inspection"}
        assert links == want, (username, links)
        assert "lang='fr'" in r.text and "Mes tableaux de bord" in r.text
    ar = viewers(PUPIL).get("?lang=ar")
    assert "dir='rtl'" in ar.text and "لوحات المتابعة الخاصة بي" in ar.text and "تقدمي" in ar.text
    en = viewers(PUPIL).get("?lang=en")
    assert "dir='ltr'" in en.text and "My progress" in en.text


def test_refused_dashboards_and_edited_urls(school, viewers):
    for username, allowed in ALLOWED.items():
        v = viewers(username)
        for d in DASHBOARDS:
            if d == allowed or (allowed is None and d != "progress"):
                continue
            for suffix in ("", "?user=admin", "?role=director", "?school=DEMO&course=demo-2026-2bsm1-maths"):
                r = v.get(d + suffix)
                assert r.status_code == 403, (username, d + suffix, r.status_code)
                assert "kernelId" not in r.text
                assert "pas destiné à votre compte" in r.text
    # identity from a header or a forged token is not an identity: no cookie, no page
    anon = requests.Session()
    r = anon.get(f"{school[0].url}{SERVICE}school", headers={"X-Forwarded-User": DIRECTOR,
                                                           "Authorization": "token forged"}, timeout=60)
    assert r.url.startswith(f"{school[0].url}/hub/login"), r.url
    assert "kernelId" not in r.text


def test_teacher_sees_own_classes_only(school, viewers):
    v = viewers(MATHS_TEACHER)
    # the query parameters are ignored: the data comes from the Hub identity
    page, kernel, states = v.page("class?course=lyc2-2026-2bsm1-maths&user=a345678&school=LYC2")
    course_box, assignment_box = v.dropdowns(states)
    # the page carries neither the notebook's source nor where it lives
    assert "show(" not in page.text and "from cartable" not in page.text
    assert "dashboard_notebooks" not in page.text and str(school[0].state) not in page.text
    assert course_box[1]["_options_labels"] == ["2BPC1 — maths", "2BSM1 — maths"]
    assert assignment_box[1]["_options_labels"] == ["dm1", "dm2"]
    text = texts(states)
    for name in LYC2_NAMES:
        assert name not in text
    assert "physique" not in text
    # move to 2BSM1, dm2: the pupil who did not submit is listed as such
    states = select(v, kernel, states, 0, "2BSM1 — maths")
    text = texts(states)
    assert "Rendus : 6 sur 7" in text, text[:3000]
    who = table_rows(text, "Rendus : 6 sur 7")
    assert who.count("non rendu") == 1 and "Youssef Ouazzani</td><td>non rendu" in who
    assert "Amine El Amrani" in who and "Anas Bouzidi" not in who  # 2BPC1's pupil is not in 2BSM1
    failed = table_rows(text, "Questions échouées par la classe")
    assert "<td>q2</td>" in failed
    assert "Élèves en difficulté" in text
    # a forged widget update (other course in the options, value, out-of-range index) changes nothing:
    # the kernel only holds this teacher's rows
    forged = {"_options_labels": ["lyc2-2026-2bsm1-maths"], "value": "lyc2-2026-2bsm1-maths", "index": 0}
    states = v.widget_states(kernel, updates={v.dropdowns(states)[0][0]: forged})
    states = v.widget_states(kernel, updates={v.dropdowns(states)[0][0]: {"index": 7}})
    text = texts(states)
    assert "Rendus :" in text and not any(name in text for name in LYC2_NAMES), text[:2000]
    # the physics teacher: physics only (2BPC1 has no gradebook yet: its pupils, nothing graded)
    states = viewers(PHYS_TEACHER).page("class")[2]
    assert viewers(PHYS_TEACHER).dropdowns(states)[0][1]["_options_labels"] == ["2BPC1 — physique-chimie",
                                                                                 "2BSM1 — physique-chimie"]
    text = texts(states)
    assert "Aucun travail corrigé pour l&#x27;instant." in text and "maths" not in text


def test_pupil_sees_own_progress_only(school, viewers):
    v = viewers(PUPIL)
    page, kernel, states = v.page(f"progress?pupil={XSS_PUPIL}&user={XSS_PUPIL}")
    text = texts(states)
    assert f"Bien, {PUPIL}" in text
    assert "Bien, j1300" not in text.replace(f"Bien, {PUPIL}", "")
    assert XSS_NAME not in text and "alert" not in text
    assert v.dropdowns(states)[0][1]["_options_labels"] == ["maths", "physique-chimie"]
    states = select(v, kernel, states, 0, "physique-chimie")
    assert "Moyenne dans cette matière" in texts(states)


def test_director_sees_own_school_only(school, viewers):
    v = viewers(DIRECTOR)
    page, kernel, states = v.page("school?school=LYC2")
    text = texts(states)
    for name in LYC2_NAMES:
        assert name not in text
    assert "LYC2" not in text
    classes = table_rows(text, "Moyennes /20 par classe")
    assert "2BSM1" in classes and "2BPC1" in classes
    # the administrator's view of the same dashboard has LYC2: the data is there, filtered away above
    admin_classes = table_rows(texts(viewers("admin").page("school")[2]), "Moyennes /20 par classe")
    assert "<td>LYC2</td><td>2BSM1</td>" in admin_classes and "<td>DEMO</td><td>2BSM1</td>" in admin_classes
    assert "<td>DEMO</td><td>2BSM1</td>" in classes


def test_inspector_sees_assigned_schools_and_subjects(school, viewers):
    v = viewers(INSPECTOR)
    page, kernel, states = v.page("inspection?school=LYC2&subject=maths")
    assert v.dropdowns(states)[0][1]["_options_labels"] == ["maths", "physique-chimie"]
    compared = table_rows(texts(states), "Comparaison des classes")
    assert "<td>DEMO</td>" in compared and "LYC2" not in compared  # maths: DEMO only
    states = select(v, kernel, states, 0, "physique-chimie")
    compared = table_rows(texts(states), "Comparaison des classes")
    assert "<td>LYC2</td>" in compared and "DEMO" not in compared  # physics: LYC2 only
    for name in LYC2_NAMES + ["Amine El Amrani"]:
        assert name not in texts(states)  # classes, not pupils


def test_pupil_written_text_is_escaped(school, viewers):
    """A pupil's name with markup and a comment with script, in the teacher's and the director's pages."""
    v = viewers(MATHS_TEACHER)
    page, kernel, states = v.page("class")
    states = select(v, kernel, states, 0, "2BSM1 — maths")
    raw = json.dumps(states, ensure_ascii=False)
    text = texts(states)
    assert "&lt;img src=x onerror=alert(&#x27;name&#x27;)&gt;" in text
    assert "&lt;script&gt;alert(&#x27;comment&#x27;)&lt;/script&gt;" in text
    for payload in ("<img src=x", "<script>alert", "<img src=y"):
        assert payload not in raw and payload not in page.text
    director_states = viewers(DIRECTOR).page("school")[2]
    risk = table_rows(texts(director_states), "Élèves en difficulté")
    assert "&lt;img src=x onerror" in risk and "<img src=x" not in json.dumps(director_states)


@pytest.mark.parametrize("path", [
    "class.ipynb", "progress.ipynb", "voila/files/class.ipynb", "voila/files/dashboard_notebooks/class.ipynb",
    "voila/render/class.ipynb", "voila/tree", "voila/tree/", "tree", "files/class.ipynb", "api/contents",
    "api/contents/class.ipynb", "voila/api/contents", "voila/api/contents/class.ipynb", "api/kernels",
    "api/sessions", "voila/static/../../class.ipynb", "voila/templates/../class.ipynb",
    "voila/static/%2e%2e/%2e%2e/dashboard_notebooks/class.ipynb", "class/../class.ipynb", "login", "logout",
])
def test_notebooks_and_data_are_not_downloadable(school, viewers, path):
    r = viewers(MATHS_TEACHER).get(path, allow_redirects=False)
    assert r.status_code in (403, 404), (path, r.status_code, r.text[:300])
    assert '"nbformat"' not in r.text and "show(" not in r.text and "gradebook" not in r.text


def kernel_process(kernel_id: str):
    """The process of the service's kernel ``kernel_id``, found by its connection file (the service's
    ``kernel-<id>.json``, or the launcher's copy of it ``kernel-<id>-….json``)."""
    import psutil

    for proc in psutil.process_iter(["cmdline"]):
        if any(f"kernel-{kernel_id}" in arg for arg in proc.info["cmdline"] or ()):
            return proc
    raise AssertionError(f"no process for kernel {kernel_id}")


def test_kernel_refuses_code_and_strangers(school, viewers):
    hub = school[0]
    teacher, pupil = viewers(MATHS_TEACHER), viewers(PUPIL)
    page, kernel, states = teacher.page("class")
    # the hub being root, the page's kernel runs as the dashboards' account, and its bundle is that account's only
    process = kernel_process(kernel)
    bundle = process.environ()["CARTABLE_DASHBOARD_VIEW"]
    if os.geteuid() == 0:
        account = pwd.getpwnam("cartable-dashboard").pw_uid
        assert process.uids().real == process.uids().effective == account
        assert (os.stat(bundle).st_uid, os.stat(bundle).st_mode & 0o777) == (account, 0o700)
    marker = f"/tmp/cartable-dashboard-exec-{uuid.uuid4().hex}"
    sent = message("execute_request", {"code": f"open({marker!r}, 'w').write('ran')\nprint('RAN-' + 'CODE')",
                                        "silent": False, "store_history": False, "user_expressions": {},
                                        "allow_stdin": False, "stop_on_error": True})
    info = message("kernel_info_request", {})
    seen = []
    with teacher.ws(kernel) as ws:
        ws.send(json.dumps(sent))
        ws.send(json.dumps(info))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            raw = ws.recv(timeout=20)
            if isinstance(raw, bytes):
                continue
            msg = json.loads(raw)
            seen.append((msg["msg_type"], msg.get("parent_header", {}).get("msg_id")))
            if msg["msg_type"] == "kernel_info_reply":
                break
        time.sleep(2)  # what an execution would have done by now
    assert ("kernel_info_reply", info["header"]["msg_id"]) in seen  # the kernel is alive and answers
    assert not [m for m in seen if m[1] == sent["header"]["msg_id"]], seen  # nothing in reply to the code
    assert "RAN-CODE" not in json.dumps(seen)
    assert not os.path.exists(marker)
    # another viewer cannot reach this kernel: websocket, model, shut-down
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as refused:
        with pupil.ws(kernel):
            pass
    assert refused.value.response.status_code == 403
    assert pupil.get(f"api/kernels/{kernel}").status_code == 403
    r = pupil.br.s.delete(f"{hub.url}{SERVICE}api/kernels/{kernel}", headers=pupil_xsrf(pupil), timeout=30)
    assert r.status_code == 403
    pupil.get("")  # the pupil's own session with the service, with its XSRF cookie
    assert pupil_xsrf(pupil)
    r = pupil.br.s.post(f"{hub.url}{SERVICE}voila/api/shutdown/{kernel}", headers=pupil_xsrf(pupil), timeout=30)
    assert r.status_code == 403
    assert teacher.get(f"api/kernels/{kernel}").status_code == 200  # alive, and its viewer may see it
    # the service stays small after binary widget messages over the legacy protocol (Voilà 0.5.13's bug)
    assert teacher.widget_states(kernel)
    assert teacher.get("").status_code == 200
    # the viewer's own page closing shuts its kernel down
    r = teacher.br.s.post(f"{hub.url}{SERVICE}voila/api/shutdown/{kernel}", headers=pupil_xsrf(teacher), timeout=30)
    assert r.status_code == 204, (r.status_code, r.text[:300])
    assert teacher.get(f"api/kernels/{kernel}").status_code in (403, 404)
    assert not os.path.exists(bundle)  # its rows went with it


def pupil_xsrf(viewer) -> dict:
    for c in viewer.br.s.cookies:
        if c.name == "_xsrf" and (c.path or "").startswith("/services/cartable-dashboards"):
            return {"X-XSRFToken": c.value}
    return {}


def test_browser_each_dashboard(school, browser, shot):
    """Chromium opens each dashboard after the Hub's login, moves the first dropdown, keeps a
    screenshot; no script from a name or comment runs (no dialog)."""
    hub, accounts = school
    cases = [(PUPIL, "progress", "physique-chimie", "fr"), (MATHS_TEACHER, "class", "2BSM1 — maths", "fr"),
             (DIRECTOR, "school", "physique-chimie", "fr"), (INSPECTOR, "inspection", "physique-chimie", "fr"),
             (MATHS_TEACHER, "class", "2BSM1 — maths", "ar")]
    for username, dashboard, choice, lang in cases:
        context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="fr-FR")
        page = context.new_page()
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"{hub.url}/hub/login")
        page.fill("#username_input", username)
        page.fill("#password_input", accounts.password(username))
        page.click("#login_submit")
        page.wait_for_load_state()
        page.goto(f"{hub.url}{SERVICE}{dashboard}?lang={lang}", timeout=120_000)
        select_box = page.locator(".widget-dropdown select").first
        select_box.wait_for(timeout=120_000)
        page.locator(".cartable-dash h2").first.wait_for(timeout=60_000)
        page.locator("img.widget-image").first.wait_for(timeout=60_000)
        before = page.locator("img.widget-image").first.get_attribute("src")
        select_box.select_option(label=choice.replace(" ", "\u00a0"))  # ipywidgets shows spaces as no-break spaces
        # the kernel re-draws: a new plot replaces the first one
        page.wait_for_function("(before) => { const i = document.querySelector('img.widget-image');"
                               " return i && i.src !== before; }", arg=before, timeout=60_000)
        page.wait_for_timeout(1000)
        if lang == "ar":
            assert page.locator(".cartable-dash[dir=rtl]").count() > 0
            assert "أقسامي" in page.locator(".cartable-dash h2").first.inner_text()
        if dashboard == "class":
            body = page.locator("body").inner_text()
            if lang == "fr":  # in Arabic, names are shown in Arabic script
                assert "<img src=x onerror=alert('name')>" in body  # shown as text
            assert "<script>alert('comment')</script>" in body
        shot(page, f"dashboards-{dashboard}" + ("-ar" if lang == "ar" else ""))
        assert dialogs == [], (dashboard, dialogs)
        context.close()
