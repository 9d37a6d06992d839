"""Stored XSS from a pupil into what staff open (threat 26), in Chromium, on a real hub.

A pupil submits a notebook carrying classic payloads in a ``text/html`` output, an
``image/svg+xml`` output and a Markdown cell with raw HTML, and publishes it as an exposé (and
also posts the raw payloads straight to the exchange, as a pupil skipping the panel would). The
teacher collects, autogrades, opens the submission in nbgrader's formgrader in their own server,
generates the feedback, and opens the exposés. Every payload's script, if it ran, would leave a
trace: a line ``PWNED:<case>`` on the console, a marker in ``window``/``window.top``, a request
to a loopback HTTP listener this test runs, and a file ``pwned-<case>.txt`` created through the
teacher's own Jupyter contents API. The test asserts none of these happens.

The detector is shown to work first (so the test cannot pass vacuously): the same payloads in
pages with no protection (served by the listener, no CSP, not sanitized) do leave their traces,
and the same script run in the teacher's JupyterLab page does create its file. The feedback page
and the stored exposés are also opened from the listener, without any CSP: sanitization alone
holds. Screenshots in tests/artifacts/xss-*.png.
"""

from __future__ import annotations

import http.server
import json
import threading
from html.parser import HTMLParser

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output
from support.exchange import Tokens, kernel_json, source_notebook
from support.harness import wait_for
from support.lab_school import MINE, TEACHER, lab_page

pytestmark = pytest.mark.hub
NAME = "xss"

JS = ("var k='{case}';console.log('PWNED:'+k);(window.__pwned=window.__pwned||[]).push(k);"
      "try{{(top.__pwned=top.__pwned||[]).push(k)}}catch(e){{}}"
      "fetch('http://127.0.0.1:{port}/hit/'+k,{{mode:'no-cors'}}).catch(function(){{}});"
      "var x=(document.cookie.match(/_xsrf=([^;]+)/)||[])[1]||'';"
      "fetch('/user/{teacher}/api/contents/pwned-'+k+'.txt',{{method:'PUT',credentials:'include',"
      "headers:{{'X-XSRFToken':x,'Content-Type':'application/json'}},"
      "body:JSON.stringify({{type:'file',format:'text',content:k}})}}).catch(function(){{}})")

#: case -> HTML carrying the script (``{js}``); ``clic-<case>`` marks what needs a click
PAYLOADS = {
    "script": "<script>{js}</script>",
    "img-onerror": '<img src=x onerror="{js}">',
    "img-slash-onerror": '<img src="x"/onerror="{js}">',
    "svg-onload": '<svg onload="{js}"></svg>',
    "svg-script": "<svg><script>{js}</script></svg>",
    "iframe-srcdoc": '<iframe srcdoc="<script>{js}</script>"></iframe>',
    "object-data": '<object data="data:text/html,<script>{js}</script>"></object>',
    "details-ontoggle": '<details open ontoggle="{js}"><summary>d</summary></details>',
    "math-mtext-style": '<math><mtext><table><mglyph><style><img src=x onerror="{js}">',
    "select-iframe": '<select><iframe></select><img src=x onerror="{js}">',
    "a-javascript": '<a href="javascript:{js}">clic-a-javascript</a>',
    "a-javascript-mixed-case": '<a href="JaVaScRiPt:{js}">clic-a-javascript-mixed-case</a>',
    "a-javascript-entity": '<a href="jav&#x61;script:{js}">clic-a-javascript-entity</a>',
    "form-action": '<form action="javascript:{js}"><button>clic-form-action</button></form>',
    "base": '<base href="http://127.0.0.1:{port}/hit/base/"><img src="base.png" alt="b">',
    "meta-refresh": '<meta http-equiv="refresh" content="0;url=http://127.0.0.1:{port}/hit/meta-refresh">',
    "style-url": '<div style="background-image:url(http://127.0.0.1:{port}/hit/style-url)">s</div>',
}
#: what the payloads look like in an SVG output (image/svg+xml)
SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" onload="{js}">'
       '<script>{js2}</script><rect width="40" height="40" fill="teal"/></svg>')


class Listener:
    """A loopback HTTP server: records every request; serves the unprotected control pages."""

    def __init__(self):
        self.hits: list[str] = []
        self.pages: dict[str, str] = {}
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits.append(self.path)
                body = outer.pages.get(self.path, "").encode()
                self.send_response(200 if body else 204)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_PUT = do_POST = do_GET

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def fired(self, since: int = 0) -> set[str]:
        """Cases whose script or request reached the listener (directly, or through relative URLs)."""
        out = set()
        for path in self.hits[since:]:
            if path.startswith("/hit/"):
                out.add(path.split("/")[2])
            if "/pwned-" in path:
                out.add(path.split("/pwned-", 1)[1].removesuffix(".txt"))
        return out

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def js(case: str, port: int) -> str:
    return JS.format(case=case, port=port, teacher=TEACHER)


def payload(case: str, port: int, where: str = "") -> str:
    """The payload of ``case``; its script reports ``<where>-<case>``."""
    return PAYLOADS[case].format(js=js(f"{where}-{case}" if where else case, port), port=port)


def all_payloads(port: int, where: str) -> str:
    return "\n".join(f"<div>{where}: {payload(case, port, where)}</div>" for case in PAYLOADS)


def svg(port: int, where: str) -> str:
    return SVG.format(js=js(f"{where}-svg-onload", port), js2=js(f"{where}-svg-script", port))


@pytest.fixture(scope="module")
def listener():
    lis = Listener()
    yield lis
    lis.stop()


class Watch:
    """What pupil script would leave in a page: console lines, window markers (every frame)."""

    def __init__(self, page):
        self.page, self.console = page, []
        page.on("console", lambda m: self.console.append(m.text))

    def markers(self) -> set[str]:
        found = set()
        for frame in self.page.frames:
            try:
                found |= set(frame.evaluate("() => window.__pwned || []"))
            except Exception:  # a frame gone or not scriptable by us: nothing to read
                pass
        return found

    def fired(self) -> set[str]:
        return {line.split(":", 1)[1] for line in self.console if line.startswith("PWNED:")} | self.markers()

    def settle(self):
        """Wait until the page is loaded and its network quiet (images errored, frames loaded)."""
        self.page.wait_for_load_state("load")
        self.page.wait_for_load_state("networkidle")

    def click_all(self, prefix: str = "clic-"):
        """Click what a curious teacher would: every element whose text starts with ``clic-``."""
        for frame in list(self.page.frames):
            try:
                n = frame.locator(f"text=/^{prefix}/").count()
            except Exception:
                continue
            for i in range(n):
                try:
                    frame.locator(f"text=/^{prefix}/").nth(i).click(timeout=5_000, no_wait_after=True)
                except Exception:  # not clickable (hidden, or no longer there)
                    pass
        self.settle()


class Markup(HTMLParser):
    """Where the pupil's script would be live in a page: an attribute or a ``<script>`` holding
    it (shown as text, in the code of a cell, it is harmless)."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.live, self.in_script = [], False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.in_script = tag == "script"
        self.live += [f"<{tag} {k}>" for k, v in attrs if "PWNED" in (v or "") or "/hit/" in (v or "")]

    def handle_endtag(self, tag):
        self.in_script = False

    def handle_data(self, data):
        if self.in_script and "PWNED" in data:
            self.live.append("<script>")


def live_script(html: str) -> list[str]:
    return Markup(html).live


def pwned_files(br) -> list[str]:
    r = br.server_api("GET", "/contents/")
    assert r.status_code == 200, r.text[:300]
    return [c["name"] for c in r.json()["content"] if c["name"].startswith("pwned-")]


def pupil_notebook(released: str, port: int) -> dict:
    """The released notebook with the pupil's answer, and their payloads: a Markdown cell of raw
    HTML, a code cell whose run displays them (autograde reruns it) with the same outputs saved."""
    nb = nbformat.reads(released, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid == "double":
            cell.source = "def double(x):\n    return 2 * x"
        if gid == "explain":
            cell.source = "Parce que.\n\n" + all_payloads(port, "answer")
    html_out, svg_out = all_payloads(port, "html"), svg(port, "svg")
    code = ("from IPython.display import display\n"
            f"display({{'text/html': {html_out!r}}}, raw=True)\n"
            f"display({{'image/svg+xml': {svg_out!r}}}, raw=True)\n")
    nb.cells += [
        new_markdown_cell("## Mes remarques\n\n" + all_payloads(port, "md")),
        new_code_cell(code, execution_count=1, outputs=[
            new_output("display_data", data={"text/html": html_out}),
            new_output("display_data", data={"image/svg+xml": svg_out})]),
    ]
    return json.loads(nbformat.writes(nb))


#: run in the teacher's kernel: ``cc(...)`` is the `cartable course ...` command, its output returned
TEACHER_CC = """
import contextlib, io, json, pathlib
from cartable.cli import main
def cc(*args):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        main(["course", *args], standalone_mode=False)
    return buf.getvalue()
"""


@pytest.fixture(scope="module")
def cycle(school, listener):
    """The whole cycle with the payloads: release, pupil's submission and exposés, collect,
    autograde, feedback; the teacher's server restarted to show this course in the formgrader."""
    port, pupil = listener.port, school.pupils()[6]
    teacher = school.login(TEACHER)
    out = kernel_json(teacher, TEACHER_CC + (
        f"pathlib.Path('src').mkdir(exist_ok=True)\n"
        f"pathlib.Path('src', {NAME + '.ipynb'!r}).write_text({source_notebook(NAME)!r})\n"
        f"out = {{'create': cc('create-assignment', {MINE!r}, {NAME!r}, 'src/{NAME}.ipynb'),\n"
        f"       'release': cc('release', {MINE!r}, {NAME!r}, '--due', '2099-06-01 18:00')}}\n"
        "print(json.dumps(out))"), timeout=600)
    assert NAME in out["release"], out

    br = school.login(pupil)
    r = school.panel(pupil, "POST", "fetch", json={"course_id": MINE, "assignment_id": NAME})
    assert r.status_code == 200, r.text[:300]
    path = f"/contents/{MINE}/{NAME}/{NAME}.ipynb"
    released = br.server_api("GET", path, params={"content": 1, "format": "text", "type": "file"}).json()["content"]
    nb = pupil_notebook(released, port)
    r = br.server_api("PUT", path, json={"type": "notebook", "format": "json", "content": nb})
    assert r.status_code in (200, 201), r.text[:300]
    r = school.panel(pupil, "POST", "submit", json={"course_id": MINE, "assignment_id": NAME})
    assert r.status_code == 200, r.text[:300]
    # the exposé: published through the panel (nbconvert in the pupil's server), and raw
    r = school.panel(pupil, "POST", "publish", json={"course_id": MINE, "path": path.removeprefix("/contents/"),
                                                     "title": "Mon exposé <script>alert(1)</script>"})
    assert r.status_code == 200, r.text[:1000]
    exposes = {"panel": r.json()["expose_id"]}
    raw = ("<!DOCTYPE html><html><head>" + payload("meta-refresh", port) + payload("base", port) +
           "</head><body><h1>Exposé brut</h1>" + all_payloads(port, "raw") + "</body></html>")
    r = Tokens(school.hub, school.accounts).exchange(pupil)(
        "POST", f"courses/{MINE}/exposes", params={"title": "Brut", "notebook": "brut.ipynb"},
        data=raw.encode(), headers={"Content-Type": "text/html; charset=UTF-8"})
    assert r.status_code == 201, r.text[:500]
    exposes["raw"] = r.json()["expose_id"]

    out = kernel_json(teacher, TEACHER_CC + (
        f"out = {{'collect': cc('collect', {MINE!r}, {NAME!r}), 'autograde': cc('autograde', {MINE!r}, {NAME!r}),\n"
        f"       'feedback': cc('feedback', {MINE!r}, {NAME!r}), 'formgrader': cc('formgrader', {MINE!r})}}\n"
        "print(json.dumps(out))"), timeout=600)
    assert pupil in out["autograde"], out
    feedback = teacher.server_api("GET", f"/contents/cartable/{MINE}/feedback/{pupil}/{NAME}/{NAME}.html",
                                  params={"content": 1, "format": "text", "type": "file"})
    assert feedback.status_code == 200, feedback.text[:300]
    # the formgrader reads its course when the server starts
    assert school.hub.api("DELETE", f"/users/{TEACHER}/server").status_code in (202, 204)
    wait_for(lambda: not teacher.server_ready(), 60, what=f"{TEACHER}'s server stopped")
    teacher.start_server()
    teacher.open_lab()
    subs = teacher.s.get(f"{school.hub.url}/user/{TEACHER}/formgrader/api/submitted_notebooks/{NAME}/{NAME}",
                         headers=teacher.server_xsrf(), timeout=60)
    assert subs.status_code == 200, subs.text[:300]
    (submission,) = [s["id"] for s in subs.json() if s["student"] == pupil]
    assert pwned_files(teacher) == []
    return {"pupil": pupil, "submission": submission, "feedback": feedback.json()["content"], "exposes": exposes,
            "teacher": teacher}


def test_detector_fires_on_unprotected_pages(school, browser, listener, shot):
    """Positive control: each payload, in a page with no sanitizer and no CSP, leaves its trace;
    the script, run in the teacher's own JupyterLab page, creates its file through the API."""
    missed = []
    for case in PAYLOADS:
        before = len(listener.hits)
        listener.pages[f"/control/{case}"] = f"<!DOCTYPE html><html><body>{payload(case, listener.port)}</body></html>"
        page = browser.new_page()
        w = Watch(page)
        page.goto(f"http://127.0.0.1:{listener.port}/control/{case}")
        w.settle()
        w.click_all()
        try:  # a click's navigation to javascript: runs a moment later: wait for the trace
            wait_for(lambda: case in w.fired() | listener.fired(before), 10, what=case)
        except Exception:  # wait_for's timeout: this payload left no trace
            missed.append(case)
        if case == "script":
            shot(page, "xss-control-page")
        page.close()
    # the mXSS forms run only once a sanitizer has rewritten them; every other payload runs as is
    assert set(missed) <= {"math-mtext-style", "select-iframe"}, missed
    before = len(listener.hits)
    listener.pages["/control/svg"] = f"<!DOCTYPE html><html><body>{svg(listener.port, 'control')}</body></html>"
    page = browser.new_page()
    w = Watch(page)
    page.goto(f"http://127.0.0.1:{listener.port}/control/svg")
    w.settle()
    wait_for(lambda: {"control-svg-onload", "control-svg-script"} <= w.fired() | listener.fired(before), 10,
             what="the SVG's scripts")
    page.close()

    # in the teacher's origin the same script creates a file in the teacher's home
    teacher = school.login(TEACHER)
    page = lab_page(browser, school, TEACHER, "fr-FR")
    page.wait_for_load_state("load")
    page.evaluate(js("control", listener.port))
    wait_for(lambda: "pwned-control.txt" in pwned_files(teacher), 30, what="the control's file")
    assert teacher.server_api("DELETE", "/contents/pwned-control.txt").status_code == 204
    page.close()


def assert_nothing_ran(w: Watch, listener, before: int, cycle: dict, what: str, served: bool = False):
    """No console line, marker, listener request nor file of the pupil's. A page the listener
    ``served`` asks it for its relative images too (allowed): then only the payloads' own URLs count."""
    new_hits = sorted(listener.fired(before)) if served else listener.hits[before:]
    assert not w.fired() and not new_hits, (what, w.fired(), new_hits, w.console[-20:])
    assert live_script(w.page.content()) == [], what  # nor any left in the page, to run later
    assert pwned_files(cycle["teacher"]) == [], what


def test_formgrader_runs_no_pupil_script(school, browser, listener, cycle, shot):
    """The submission in the formgrader, in the teacher's own server: HTML and SVG outputs and
    Markdown rendered, no script of the pupil run, no request sent, no file created."""
    before = len(listener.hits)
    page = lab_page(browser, school, TEACHER, "fr-FR")
    w = Watch(page)
    page.goto(f"{school.hub.url}/user/{TEACHER}/formgrader/submissions/{cycle['submission']}/?index=0")
    w.settle()
    w.click_all()
    assert_nothing_ran(w, listener, before, cycle, "formgrader")
    page.get_by_text("Mes remarques").wait_for(timeout=60_000)
    html = page.content()
    assert "Parce que." in html and "md: " in html and "html: " in html  # the pupil's text is shown
    assert "data:image/svg+xml;base64," in html  # the SVG output, as an image
    shot(page, "xss-formgrader")
    assert_nothing_ran(w, listener, before, cycle, "formgrader")  # nor after the clicks and the screenshot
    page.close()


def test_feedback_runs_no_pupil_script(school, browser, listener, cycle, shot):
    """The feedback made by `cartable course feedback`: opened by the teacher from their course
    folder (``/files/``, in their server), and from the listener with no CSP at all."""
    html = cycle["feedback"]
    assert "Parce que." in html and live_script(html) == []
    before = len(listener.hits)
    page = lab_page(browser, school, TEACHER, "fr-FR")
    w = Watch(page)
    page.goto(f"{school.hub.url}/user/{TEACHER}/files/cartable/{MINE}/feedback/{cycle['pupil']}/{NAME}/{NAME}.html")
    w.settle()
    w.click_all()
    assert_nothing_ran(w, listener, before, cycle, "feedback in the teacher's server")
    page.get_by_text("Mes remarques").wait_for(timeout=60_000)
    shot(page, "xss-feedback")
    page.close()

    listener.pages["/feedback"] = html
    before = len(listener.hits)
    page = browser.new_page()
    w = Watch(page)
    page.goto(f"http://127.0.0.1:{listener.port}/feedback")
    w.settle()
    w.click_all()
    assert_nothing_ran(w, listener, before, cycle, "feedback without CSP", served=True)
    page.close()


@pytest.mark.parametrize("which", ["panel", "raw"])
def test_expose_runs_no_pupil_script(school, browser, listener, cycle, shot, which):
    """The exposé opened by the teacher in their own server (sandbox CSP), and its stored page
    opened from the listener with no CSP: cleaned when published, nothing of the pupil's runs."""
    expose = cycle["exposes"][which]
    before = len(listener.hits)
    page = lab_page(browser, school, TEACHER, "fr-FR")
    w = Watch(page)
    page.goto(f"{school.hub.url}/user/{TEACHER}/api/cartable/exposes/{expose}")
    w.settle()
    w.click_all()
    stored = page.content()
    assert ("Mes remarques" if which == "panel" else "Exposé brut") in stored
    shot(page, f"xss-expose-{which}")
    assert_nothing_ran(w, listener, before, cycle, f"exposé ({which})")
    page.close()

    r = cycle["teacher"].s.get(f"{school.hub.url}/user/{TEACHER}/api/cartable/exposes/{expose}", timeout=60)
    assert r.status_code == 200 and r.headers["Content-Security-Policy"].startswith("sandbox;")
    assert live_script(r.text) == []
    listener.pages[f"/expose/{which}"] = r.text
    before = len(listener.hits)
    page = browser.new_page()
    w = Watch(page)
    page.goto(f"http://127.0.0.1:{listener.port}/expose/{which}")
    w.settle()
    w.click_all()
    assert_nothing_ran(w, listener, before, cycle, f"exposé ({which}) without CSP", served=True)
    page.close()
