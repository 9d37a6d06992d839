"""Helpers of the exchange tests: tokens, direct calls to the service, a source notebook."""

from __future__ import annotations

import io
import json
import tarfile

import nbformat
import requests
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HIDDEN_VALUE = "271828"


def source_notebook(name: str = "ps1") -> str:
    """An nbgrader source notebook: one solution, a visible and a hidden test, a manual answer."""
    def meta(**kw):
        return {"nbgrader": {"schema_version": 3, "locked": False, "solution": False, "grade": False, **kw}}

    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [
        new_markdown_cell("# Exercice", metadata=meta(locked=True, grade_id="intro")),
        new_code_cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
                      metadata=meta(solution=True, grade_id="double")),
        new_code_cell("assert double(2) == 4\n### BEGIN HIDDEN TESTS\n"
                      f"assert double({HIDDEN_VALUE}) == {2 * int(HIDDEN_VALUE)}, 'expected {2 * int(HIDDEN_VALUE)}'\n"
                      "### END HIDDEN TESTS",
                      metadata=meta(grade=True, locked=True, grade_id="test_double", points=2)),
        new_markdown_cell("Expliquez.", metadata=meta(locked=True, grade_id="q_text")),
        new_markdown_cell("YOUR ANSWER HERE", metadata=meta(solution=True, grade=True, grade_id="explain", points=1)),
    ]
    return nbformat.writes(nb)


def tgz(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def raw_tgz(members) -> bytes:
    """A tar.gz from (TarInfo, data or None) pairs: links, odd names …"""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for ti, data in members:
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def member(name, kind=tarfile.REGTYPE, linkname="", data=b""):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.linkname = linkname
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    return ti, (data if kind == tarfile.REGTYPE else None)


class Exchange:
    """Direct HTTP calls to the exchange service with one user's Hub token."""

    def __init__(self, hub, token: str):
        self.base = f"http://127.0.0.1:{hub.port + 3}/services/cartable-exchange/api/"
        self.token = token

    def __call__(self, method, path, **kw):
        headers = {"Authorization": f"token {self.token}", **kw.pop("headers", {})}
        return requests.request(method, self.base + path, headers=headers, timeout=120, **kw)


class Tokens:
    """Hub tokens for users, made by the admin account over the Hub's REST API."""

    def __init__(self, hub, accounts):
        from support.harness import Browser

        self.hub = hub
        self.admin = Browser(hub.url)
        assert self.admin.login("admin", accounts.password("admin")).status_code == 302
        self.cache = {}

    def __call__(self, username: str, scopes=("access:services!service=cartable-exchange",)) -> str:
        key = (username, tuple(scopes))
        if key not in self.cache:
            r = self.admin.s.post(f"{self.hub.url}/hub/api/users/{username}/tokens", headers=self.admin.xsrf_headers(),
                                  json={"scopes": list(scopes), "note": "test"}, timeout=30)
            assert r.status_code in (200, 201), r.text
            self.cache[key] = r.json()["token"]
        return self.cache[key]

    def exchange(self, username: str) -> Exchange:
        return Exchange(self.hub, self(username))


def kernel_json(browser, code: str, timeout: float = 300):
    """Run code in the user's kernel; it prints one JSON line last."""
    out = browser.run_code(code, timeout=timeout)
    lines = [ln for ln in out.strip().splitlines() if ln.startswith("{") or ln.startswith("[")]
    assert lines, out[-3000:]
    return json.loads(lines[-1])
