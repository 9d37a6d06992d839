"""Storage of the exchange service: immutable, content-addressed files and their metadata.

Files live under ``<state_dir>/exchange`` (mode 0700, owned by the hub's account):
``objects/<aa>/<sha256>`` holds each distinct file once (read-only), ``tmp/`` holds uploads
being checked. Nothing reaches ``objects/`` and no row is written before an upload has
passed every check, so a refused upload leaves nothing behind.

Metadata lives in Cartable's database, in tables prefixed ``cartable_exchange_``:
released assignments, per-pupil extensions, submissions (never updated nor deleted),
feedback, and the audit log an inspector can read.

An upload is a tar archive (optionally gzip-compressed). It is read as a stream; each
member is checked (:func:`check_member_name`, no links or devices) and counted against
the quota while it is written, so an archive that expands beyond the quota is stopped at
the quota, whatever its compressed size.

The models share Cartable's declarative base (:mod:`cartable.core.db`); what both sides of the
exchange agree on (manifests, refusals, quotas) is in :mod:`.protocol`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import posixpath
import shutil
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import (
    select,
)

from cartable.core.archive import UnsafeMember, check_member_name
from cartable.core.db import AuditEvent, Database, Extension, ReleasedAssignment
from cartable.core.i18n import _
from cartable.grading.exchange.protocol import Quota, Refused, manifest_digest


@dataclass
class Staged:
    """An upload checked and written to ``tmp/``, not yet stored."""

    tmpdir: Path
    entries: list[dict] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(e["size"] for e in self.entries)

    @property
    def digest(self) -> str:
        return manifest_digest(self.entries)


class _CountingReader(io.RawIOBase):
    def __init__(self, f, limit: int):
        self.f = f
        self.limit = limit
        self.count = 0

    def readable(self):
        return True

    def readinto(self, b):
        n = self.f.readinto(b)
        self.count += n or 0
        return n


class Store:
    """The exchange's files and tables."""

    def __init__(self, root: Path, db: Database, quota: Quota | None = None):
        self.root = Path(root)
        self.db = db
        self.quota = quota or Quota()
        for d in (self.root, self.root / "objects", self.root / "tmp"):
            d.mkdir(parents=True, exist_ok=True)
            os.chmod(d, 0o700)
        # Uploads interrupted by a crash are never half-stored: clear their staging areas.
        for leftover in (self.root / "tmp").iterdir():
            shutil.rmtree(leftover, ignore_errors=True)

    # -- objects -----------------------------------------------------------------------
    def object_path(self, sha: str) -> Path:
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise ValueError("bad hash")
        return self.root / "objects" / sha[:2] / sha

    def read_object(self, sha: str) -> bytes:
        return self.object_path(sha).read_bytes()

    def _put_file(self, src: Path, sha: str) -> None:
        dest = self.object_path(sha)
        if dest.exists():
            src.unlink()
            return
        dest.parent.mkdir(exist_ok=True, mode=0o700)
        os.chmod(src, 0o400)
        os.replace(src, dest)

    def put_bytes(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        dest = self.object_path(sha)
        if not dest.exists():
            dest.parent.mkdir(exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=self.root / "tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o400)
            os.replace(tmp, dest)
        return sha

    # -- uploads -----------------------------------------------------------------------
    def stage(self, fileobj, *, max_bytes: int, max_files: int, max_notebooks: int | None) -> Staged:
        """Read a tar stream from ``fileobj`` into a staging folder, checking every member.

        Raises :class:`Refused` (and removes the staging folder) at the first problem.
        """
        tmpdir = Path(tempfile.mkdtemp(dir=self.root / "tmp"))
        staged = Staged(tmpdir)
        total = 0
        notebooks = 0
        seen = set()
        try:
            try:
                tar = tarfile.open(fileobj=fileobj, mode="r|*")
            except tarfile.TarError:
                raise Refused(400, "bad-archive", _("The upload is not a valid tar archive.")) from None
            with tar:
                try:
                    for member in tar:
                        try:
                            name = check_member_name(member.name)
                        except UnsafeMember as e:
                            raise Refused(400, e.code, e.msgid, **e.params) from None
                        if member.issym() or member.islnk():
                            raise Refused(400, "link", _("{name!r} is a link; links are refused, submit real files."),
                                          name=name)
                        if member.isdir():
                            continue
                        if not member.isfile():
                            raise Refused(400, "special-file",
                                          _("{name!r} is not a regular file; it is refused."), name=name)
                        if name in seen:
                            raise Refused(400, "duplicate", _("{name!r} appears twice in the upload."), name=name)
                        seen.add(name)
                        if len(seen) > max_files:
                            raise Refused(413, "too-many-files",
                                          _("Too many files: at most {limit} files may be submitted."), limit=max_files)
                        if name.endswith(".ipynb"):
                            notebooks += 1
                            if max_notebooks is not None and notebooks > max_notebooks:
                                raise Refused(413, "too-many-notebooks",
                                              _("Too many notebooks: at most {limit} notebooks may be submitted."),
                                              limit=max_notebooks)
                        if total + member.size > max_bytes:
                            raise Refused(413, "too-large",
                                          _("The submission is too large: at most {limit} MB may be submitted."),
                                          limit=round(max_bytes / 2**20, 1))
                        src = tar.extractfile(member)
                        h = hashlib.sha256()
                        fd, tmpname = tempfile.mkstemp(dir=tmpdir)
                        size = 0
                        with os.fdopen(fd, "wb") as out:
                            while True:
                                chunk = src.read(1 << 16)
                                if not chunk:
                                    break
                                size += len(chunk)
                                if total + size > max_bytes:
                                    raise Refused(413, "too-large",
                                                  _("The submission is too large: at most {limit} MB may be submitted."),
                                                  limit=round(max_bytes / 2**20, 1))
                                h.update(chunk)
                                out.write(chunk)
                            out.flush()
                            os.fsync(out.fileno())
                        total += size
                        staged.entries.append({"path": name, "sha256": h.hexdigest(), "size": size, "tmp": tmpname})
                except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
                    raise Refused(400, "bad-archive", _("The upload is not a valid tar archive.")) from e
            # a file and a folder of the same name, or a file inside a 'file'
            paths = {e["path"] for e in staged.entries}
            for p in paths:
                parent = posixpath.dirname(p)
                while parent:
                    if parent in paths:
                        raise Refused(400, "bad-name", _("{name!r} is both a file and a folder."), name=parent)
                    parent = posixpath.dirname(parent)
            return staged
        except BaseException:
            shutil.rmtree(tmpdir, ignore_errors=True)
            raise

    def commit_staged(self, staged: Staged) -> list[dict]:
        """Move a checked upload's files into ``objects/``; return its manifest."""
        manifest = []
        for e in staged.entries:
            self._put_file(Path(e["tmp"]), e["sha256"])
            manifest.append({"path": e["path"], "sha256": e["sha256"], "size": e["size"]})
        shutil.rmtree(staged.tmpdir, ignore_errors=True)
        manifest.sort(key=lambda e: e["path"])
        return manifest

    def discard(self, staged: Staged) -> None:
        shutil.rmtree(staged.tmpdir, ignore_errors=True)

    def archive(self, manifest: list[dict], prefix: str = "") -> bytes:
        """A tar.gz of the files of a manifest."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=5) as tar:
            for e in manifest:
                data = self.read_object(e["sha256"])
                info = tarfile.TarInfo(posixpath.join(prefix, e["path"]) if prefix else e["path"])
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
        return buf.getvalue()

    def verify(self, manifest: list[dict]) -> bool:
        """Whether every stored file still has the hash of the manifest."""
        for e in manifest:
            try:
                if hashlib.sha256(self.read_object(e["sha256"])).hexdigest() != e["sha256"]:
                    return False
            except (OSError, ValueError):
                return False
        return True

    # -- audit ---------------------------------------------------------------------------
    def audit(self, s, actor: str, role: str, action: str, *, course_id=None, assignment=None, target=None,
              digest=None, outcome="ok", detail=None) -> None:
        s.add(AuditEvent(actor=actor, role=role, action=action, course_id=course_id, assignment=assignment,
                         target=target, digest=digest, outcome=outcome, detail=(detail or "")[:1000] or None))

    def audit_now(self, *args, **kw) -> None:
        with self.db.session() as s:
            self.audit(s, *args, **kw)

    # -- queries -----------------------------------------------------------------------
    def assignment(self, s, course_id: str, name: str) -> ReleasedAssignment | None:
        return s.scalars(select(ReleasedAssignment).where(ReleasedAssignment.course_id == course_id,
                                                          ReleasedAssignment.name == name,
                                                          ReleasedAssignment.active.is_(True))).first()

    def deadlines(self, s, a: ReleasedAssignment, student: str) -> tuple[dt.datetime | None, dt.datetime | None]:
        ext = s.scalars(select(Extension).where(Extension.course_id == a.course_id, Extension.assignment == a.name,
                                                Extension.student == student)).first()
        if ext is None:
            return a.due_at, a.hard_at
        return ext.due_at or a.due_at, ext.hard_at if ext.hard_at is not None else (
            a.hard_at if a.hard_at is None or ext.due_at is None else max(a.hard_at, ext.due_at))

