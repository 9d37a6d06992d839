"""The class's shared space in the panel: announcements (a teacher posts, pupils read, unread
until opened) and exposés (a pupil publishes a notebook as a read-only page, the class reads
it, the teacher or its author withdraws it). Everything is stored by the exchange service,
which checks who may do what; this module only relays, with the server's own Hub token.

Everything here blocks (HTTP to the exchange, nbconvert): the handlers run it in a thread.
"""

from __future__ import annotations

from pathlib import Path

from cartable.core.i18n import _
from cartable.extensions.panel.pupil import call, client
from cartable.extensions.panel.refusal import Refusal

MAX_NOTEBOOK_BYTES = 20 * 2**20
SANDBOX_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


def space(ex, course: str) -> dict:
    """A course's announcements (with the caller's read state) and exposés."""
    return {"announcements": call(ex.announcements, course), "exposes": call(ex.exposes, course)}


def announce(course: str, title: str, body: str) -> dict:
    return call(client().announce, course, title, body)


def mark_read(course: str, announcement: str) -> dict:
    return call(client().mark_read, course, announcement)


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
    except Exception:  # any unreadable file gets the same answer
        raise Refusal.of(400, "bad-notebook", _("This file is not a readable notebook.")) from None
    exporter = HTMLExporter(template_name="lab", embed_images=True)
    html, _resources = exporter.from_notebook_node(nb, resources={"metadata": {"name": target.stem}})
    return html


def publish(course: str, path: str, title: str, root: Path) -> dict:
    ex = client()
    target = notebook_path(root, path)
    rel = target.relative_to(root).as_posix()
    html = to_html(target)
    return call(ex.publish_expose, course, (title or "").strip() or target.stem, rel, html)


def withdraw_expose(expose: str) -> dict:
    return call(client().withdraw_expose, expose)


def expose_html(expose: str) -> bytes:
    return call(client().expose_html, expose)
