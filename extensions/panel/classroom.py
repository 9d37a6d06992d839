"""The class's shared space in the panel: announcements (a teacher posts, pupils read, unread
until opened) and exposés (a pupil publishes a notebook as a read-only page, the class reads
it, the teacher or its author withdraws it). Everything is stored by the exchange service,
which checks who may do what; this module only relays, with the server's own Hub token.

Everything here blocks (HTTP to the exchange, nbconvert): the handlers run it in a thread.
"""

from __future__ import annotations

from pathlib import Path

from nbgrader.exchange.abc.exchange import ExchangeError

from cartable.extensions.panel.pupil import call, client, exchange_refusal
from cartable.extensions.panel.refusal import Refusal
from cartable.core.i18n import _

MAX_NOTEBOOK_BYTES = 20 * 2**20
SANDBOX_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


def space(ex, course: str) -> dict:
    """A course's announcements (with the caller's read state) and exposés."""
    return {"announcements": call(ex, "GET", f"courses/{course}/announcements"),
            "exposes": call(ex, "GET", f"courses/{course}/exposes")}


def announce(course: str, title: str, body: str) -> dict:
    return call(client(), "POST", f"courses/{course}/announcements", json={"title": title, "body": body})


def mark_read(course: str, announcement: str) -> dict:
    return call(client(), "POST", f"courses/{course}/announcements/{announcement}/read")


def notebook_path(root: Path, path: str) -> Path:
    """A notebook of the server's root, or a refusal (nothing outside the root, notebooks only)."""
    if not isinstance(path, str) or not path.strip() or "\x00" in path:
        raise Refusal.of(400, "bad-path", _("Give the path of one of your notebooks."))
    target = (root / path.strip().lstrip("/")).resolve()
    if not target.is_relative_to(root) or target.suffix != ".ipynb":
        raise Refusal.of(400, "bad-path", _("Only one of your notebooks (.ipynb) can be published."))
    if not target.is_file():
        raise Refusal.of(404, "no-notebook", _("There is no notebook {path} in your files."), path=path.strip()[:200])
    if target.stat().st_size > MAX_NOTEBOOK_BYTES:
        raise Refusal.of(413, "too-large", _("This notebook is too large to be published."))
    return target


def to_html(target: Path) -> str:
    """The notebook as one HTML page, with its outputs (as saved: nothing is run)."""
    import nbformat
    from nbconvert import HTMLExporter

    try:
        nb = nbformat.read(target, as_version=4)
    except Exception:  # noqa: BLE001 - any unreadable file gets the same answer
        raise Refusal.of(400, "bad-notebook", _("This file is not a readable notebook.")) from None
    exporter = HTMLExporter(template_name="lab", embed_images=True)
    html, _resources = exporter.from_notebook_node(nb, resources={"metadata": {"name": target.stem}})
    return html


def publish(course: str, path: str, title: str, root: Path) -> dict:
    ex = client()
    target = notebook_path(root, path)
    rel = target.relative_to(root).as_posix()
    html = to_html(target)
    try:
        r = ex.call("POST", f"courses/{course}/exposes", params={"title": (title or "").strip() or target.stem,
                                                                  "notebook": rel},
                    data=html.encode("utf-8"), headers={"Content-Type": "text/html; charset=UTF-8"})
    except ExchangeError as e:
        raise exchange_refusal(e) from None
    return r.json()


def withdraw_expose(expose: str) -> dict:
    return call(client(), "DELETE", f"exposes/{expose}")


def expose_html(expose: str) -> bytes:
    try:
        return client().call("GET", f"exposes/{expose}").content
    except ExchangeError as e:
        raise exchange_refusal(e) from None
