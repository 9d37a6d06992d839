"""What both sides of the exchange agree on, without a database: the manifest and its digest
(the receipt a pupil can recompute), the refusal, identifiers and texts the service accepts,
quotas, reserved file names and the timestamps' forms.

Imported by the service (:mod:`.store`, :mod:`.handlers`) and by the client side
(:mod:`.client`, :mod:`.nbgrader`), so it imports neither SQLAlchemy nor tornado.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import json
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from cartable.core.i18n import _

SERVICE_NAME = "cartable-exchange"
# the JSON file ``collect`` writes next to each collected submission (its receipt as the service sent it)
SUBMISSION_INFO = ".cartable-submission.json"
# file names the exchange writes itself: refused in a submission
RESERVED_NAMES = {"timestamp.txt", "submission_secret.txt", ".cartable-receipt.json"}
ID_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
MAX_TITLE, MAX_TEXT = 200, 10_000
# what a caller may never say about itself: the service takes identity and time from the Hub and its clock
FORBIDDEN_ARGS = ("student", "student_id", "user", "username", "timestamp", "received_at", "time")
# the policy under which pupils' HTML (feedback, exposés) is served
SANDBOX_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
# nbgrader's timestamp form (``timestamp.txt``, feedback folders)
TS_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"


@dataclass(frozen=True)
class Quota:
    max_bytes: int = 20 * 2**20  # total uncompressed size of one submission
    max_files: int = 200
    max_notebooks: int = 20
    max_release_bytes: int = 200 * 2**20
    max_feedback_bytes: int = 20 * 2**20


class Refused(Exception):
    """An upload or request the service refuses; ``msgid`` is English, formatted with ``params``."""

    def __init__(self, status: int, code: str, msgid: str, **params):
        self.status = status
        self.code = code
        self.msgid = msgid
        self.params = params
        super().__init__(msgid.format(**params))


def safe_id(value: str, what: str = "id") -> str:
    """An identifier of a course, assignment or notebook as the service accepts it, or :class:`Refused`."""
    if not value or len(value) > 128 or not set(value) <= ID_CHARS or value.startswith("."):
        raise Refused(400, "bad-id", _("{what} {value!r} is not a valid identifier."), what=what, value=value[:80])
    return value


def plain_text(value, *, multiline: bool) -> str:
    """A title or a text as typed: a string without control characters (but line breaks and tabs
    in a text), stripped. It is stored and served as text only, never as HTML."""
    if not isinstance(value, str):
        return ""
    keep = "\n\t" if multiline else ""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in value if ch in keep or unicodedata.category(ch) not in ("Cc", "Cs")).strip()


# --------------------------------------------------------------------------- manifests


def manifest_digest(entries: list[dict]) -> str:
    """SHA-256 of the canonical manifest: the receipt a pupil can recompute."""
    canon = json.dumps(sorted(({"path": e["path"], "sha256": e["sha256"], "size": e["size"]} for e in entries),
                              key=lambda e: e["path"]), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()


def directory_manifest(root: Path, ignore=()) -> list[dict]:
    """The manifest of a local folder (the client side of the receipt)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not any(fnmatch.fnmatch(d, p) for p in ignore))
        for fname in sorted(filenames):
            if any(fnmatch.fnmatch(fname, p) for p in ignore):
                continue
            p = Path(dirpath) / fname
            rel = p.relative_to(root).as_posix()
            data = p.read_bytes()
            out.append({"path": rel, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
    return out


# --------------------------------------------------------------------------- time


def to_utc_naive(value: dt.datetime | None) -> dt.datetime | None:
    """A time as the store keeps it: UTC, without a time zone."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def iso_utc(value: dt.datetime | None) -> str | None:
    """A stored (naive UTC) time as the service sends it: ISO 8601 with its offset."""
    return None if value is None else value.replace(tzinfo=dt.UTC).isoformat()


def to_nbgrader_ts(iso: str | None) -> str | None:
    """A time sent by the service (ISO 8601) in nbgrader's timestamp form."""
    if not iso:
        return None
    return dt.datetime.fromisoformat(iso).astimezone(dt.UTC).strftime(TS_FORMAT)
