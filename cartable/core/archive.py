"""Tar archives received from elsewhere (the exchange service, the lessons' library): every
member's name is checked before anything is written, and only regular files are extracted,
inside the destination folder.
"""

from __future__ import annotations

import io
import posixpath
import shutil
import tarfile
import unicodedata
from pathlib import Path

from cartable.core.i18n import _


class UnsafeMember(Exception):
    """An archive member refused by :func:`check_member_name`; ``msgid`` is English, formatted with ``params``."""

    def __init__(self, code: str, msgid: str, **params):
        self.code = code
        self.msgid = msgid
        self.params = params
        super().__init__(msgid.format(**params))


def check_member_name(name: str) -> str:
    """The normalised relative path of an archive member, or :class:`UnsafeMember`."""
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        raise UnsafeMember("control-character", _("The file name {name!r} contains control characters; rename it."),
                           name=name[:80])
    if "\\" in name:
        raise UnsafeMember("bad-name", _("The file name {name!r} contains a backslash; rename it."), name=name[:80])
    if name.startswith("/") or posixpath.isabs(name):
        raise UnsafeMember("path-traversal", _("The path {name!r} leaves the assignment folder; it is refused."),
                           name=name[:80])
    norm = posixpath.normpath(name)
    parts = name.split("/")
    if ".." in parts or norm.startswith("..") or norm in ("", "."):
        raise UnsafeMember("path-traversal", _("The path {name!r} leaves the assignment folder; it is refused."),
                           name=name[:80])
    if len(name.encode()) > 400 or any(len(p.encode()) > 200 for p in parts):
        raise UnsafeMember("bad-name", _("The file name {name!r} is too long."), name=name[:80])
    return norm


def safe_extract(data: bytes, dest: Path, only_missing: bool = False) -> list[str]:
    """Extract a tar(.gz) into ``dest``: regular files only, inside ``dest``; the names written."""
    written = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        for m in tar:
            name = check_member_name(m.name)
            if not m.isfile():
                continue
            target = dest / name
            if only_missing and target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(m) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
            written.append(name)
    return written
