"""What the « Mon cartable » tests share: the demo school's names, a logged-in user's calls."""

from __future__ import annotations

import json

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
    from exchange_helpers import source_notebook

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
