"""What the « Mon cartable » tests share: the demo school's names, a logged-in user's calls."""

from __future__ import annotations

import json

from playwright.sync_api import TimeoutError as PlaywrightTimeout

TEACHER = "be812345"
OPEN, CLOSED, OTHER = "ps1", "ferme", "autre"


def course(klass: str) -> str:
    return f"demo-2026-{klass.lower()}-maths"


MINE, THEIRS = course("2BSM1"), course("2BPC1")


class School:
    def __init__(self, hub, accounts):
        self.hub, self.accounts = hub, accounts
        self.browsers = {}

    def login(self, username: str, start: bool = True):
        if username not in self.browsers:
            br = self.hub.client()
            assert br.login(username, self.accounts.password(username)).status_code == 302
            if start:
                br.start_server()
                br.open_lab()  # the server's own cookies (XSRF), as a browser gets them
            self.browsers[username] = br
        return self.browsers[username]

    def pupils(self, klass: str = "2BSM1") -> list[str]:
        return [a["username"] for a in self.accounts.of("pupil", klass)]

    def panel(self, username: str, method: str, path: str, **kw):
        return self.login(username).server_api(method, f"/cartable/{path}", **kw)


def put_source(school, name: str, course: str = MINE) -> None:
    """What a teacher does in the file browser: a notebook in ``cartable/<course>/source/<name>/``."""
    from support.exchange import source_notebook

    br = school.login(TEACHER)
    for d in (f"cartable/{course}/source", f"cartable/{course}/source/{name}"):
        r = br.server_api("PUT", f"/contents/{d}", json={"type": "directory"})
        assert r.status_code in (200, 201), r.text[:300]
    r = br.server_api("PUT", f"/contents/cartable/{course}/source/{name}/{name}.ipynb",
                      json={"type": "notebook", "format": "json", "content": json.loads(source_notebook(name))})
    assert r.status_code in (200, 201), r.text[:300]


TEACHER_SETUP = """
import contextlib, io, json, pathlib
from cartable.cli import main
def cc(*args):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        main(["course", *args], standalone_mode=False)
    return buf.getvalue()
pathlib.Path('src').mkdir(exist_ok=True)
out = {}
for c, names in ((%(mine)r, [(%(open)r, '2099-06-01 18:00', '2099-06-02 18:00'), (%(closed)r, '2020-01-01 08:00', '2020-01-02 08:00')]),
                 (%(theirs)r, [(%(other)r, '2099-06-01 18:00', None)])):
    cc('init', c)
    for name, due, hard in names:
        pathlib.Path('src', name + '.ipynb').write_text(%(nb)r)
        cc('create-assignment', c, name, 'src/' + name + '.ipynb')
        args = ['release', c, name, '--due', due] + (['--hard', hard] if hard else [])
        out[c + '/' + name] = cc(*args)
print(json.dumps(out))
"""


# -- the panel in Chromium ------------------------------------------------------------------

ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789")
LOCALE_SETTINGS = "lab/api/settings/@jupyterlab/translation-extension:plugin"


def set_language(school, username: str, locale: str) -> None:
    """What JupyterLab's language menu does: the user's own translation setting."""
    br = school.login(username)
    r = br.s.put(f"{school.hub.url}/user/{username}/{LOCALE_SETTINGS}", headers=br.server_xsrf(),
                 data=json.dumps({"raw": json.dumps({"locale": locale})}), timeout=30)
    assert r.status_code == 204, (r.status_code, r.text[:300])


def lab_page(browser, school, username: str, locale: str):
    page = browser.new_page(locale=locale, viewport={"width": 1400, "height": 900})
    page.goto(f"{school.hub.url}/hub/login")
    page.fill("#username_input", username)
    page.fill("#password_input", school.accounts.password(username))
    page.click("#login_submit")
    page.wait_for_url(f"**/user/{username}/lab**", timeout=120_000, wait_until="commit")
    return page


def open_panel(browser, school, username: str, locale: str):
    page = lab_page(browser, school, username, locale)
    panel = show_panel(page)
    panel.locator(f'article[data-assignment="{OPEN}"]').first.wait_for(timeout=60_000)
    return page, panel


def show_panel(page):
    """The « Mon cartable » side panel of a lab page, visible."""
    tab = page.locator('.jp-SideBar.jp-mod-left li[data-id="cartable-panel"]')
    tab.wait_for(timeout=90_000)
    panel = page.locator("#cartable-panel")
    # the lab may reopen the panel itself (its layout is restored): clicking the tab then would close it
    for _ in range(3):
        page.wait_for_timeout(1500)
        if panel.is_visible():
            break
        tab.click()
        try:
            panel.wait_for(state="visible", timeout=5_000)
            break
        except PlaywrightTimeout:
            continue
    return panel
