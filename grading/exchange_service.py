"""The exchange service: a Hub-managed REST service (tornado) between pupils' servers and teachers.

Run by JupyterHub as ``python -m cartable.grading.exchange_service`` (the ``exchange``
layer of :mod:`cartable.hub.layers`). Every request carries a Hub token
(``Authorization: token …``: a pupil server's ``$JUPYTERHUB_API_TOKEN``); the service asks the
Hub who it belongs to and requires the scope ``access:services!service=cartable-exchange``.
Role and courses come from Cartable's roster tables (:mod:`cartable.grading.courses`),
never from the request. Time comes from the server clock. See ``docs/exchange.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import tempfile
import zoneinfo
from pathlib import Path

from sqlalchemy import func, select
from tornado import ioloop, web
from tornado.httpserver import HTTPServer

from cartable.core import sanitize
from cartable.grading.courses import CourseRegistry
from cartable.grading.exchange_store import (
    Announcement,
    AnnouncementRead,
    AuditEvent,
    Expose,
    Extension,
    Feedback,
    Quota,
    Refused,
    ReleasedAssignment,
    Store,
    Submission,
    iso_utc,
    plain_text,
    to_utc_naive,
    zlib_error,
)
from cartable.core.db import Database, utcnow
from cartable.core.i18n import _, gettext_for

log = logging.getLogger("cartable.exchange")
SERVICE_NAME = "cartable-exchange"
ID_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
RESERVED_NAMES = {"timestamp.txt", "submission_secret.txt", ".cartable-receipt.json"}
SANDBOX_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
MAX_TITLE, MAX_TEXT = 200, 10_000
FORBIDDEN_ARGS = ("student", "student_id", "user", "username", "timestamp", "received_at", "time")


def messages(msgid: str, **params) -> dict:
    return {lang: gettext_for(lang)(msgid).format(**params) for lang in ("fr", "ar", "en")}


def safe_id(value: str, what: str = "id") -> str:
    if not value or len(value) > 128 or not set(value) <= ID_CHARS or value.startswith("."):
        raise Refused(400, "bad-id", _("{what} {value!r} is not a valid identifier."), what=what, value=value[:80])
    return value


def parse_when(value: str | None, tz: zoneinfo.ZoneInfo) -> dt.datetime | None:
    """A deadline given by a teacher: ISO 8601; without an offset it is the school's local time."""
    if not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Refused(400, "bad-date", _("{value!r} is not a date and time such as 2026-11-20 18:00."),
                      value=value[:40]) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    return to_utc_naive(when)


class App:
    """What the handlers share."""

    def __init__(self, db: Database, root: Path, timezone: str = "UTC", quota: Quota | None = None, hub_auth=None,
                 practice_workers: int = 1, max_limits: dict | None = None, hidden: tuple[str, ...] = ()):
        from concurrent.futures import ThreadPoolExecutor

        from cartable.grading.practice import Practice

        self.db = db
        self.store = Store(root, db, quota)
        # what no submission's code may see (the store, the site's state and homes) and the most
        # a teacher's grading may ask (cartable.yaml: grading.max_limits)
        self.hidden = [str(self.store.root), *map(str, hidden), "/home", "/srv", "/root"]
        self.max_limits = max_limits
        self.practice = Practice(Path(root) / "practice", hidden=self.hidden, max_limits=max_limits)
        self.practice_pool = ThreadPoolExecutor(practice_workers, thread_name_prefix="practice")
        self.sandbox_pool = ThreadPoolExecutor(max(1, os.cpu_count() or 1), thread_name_prefix="sandbox")
        self.registry = CourseRegistry(db)
        self.tz = zoneinfo.ZoneInfo(timezone)
        self.hub_auth = hub_auth

    def local(self, when: dt.datetime | None) -> str | None:
        return None if when is None else when.replace(tzinfo=dt.UTC).astimezone(self.tz).isoformat()


class BaseHandler(web.RequestHandler):
    app: App

    def initialize(self, app: App):
        self.app = app
        self.username = None
        self.acc = None

    def set_default_headers(self):
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")

    def check_xsrf_cookie(self):
        pass  # token authentication only, no cookies

    async def authenticate(self):
        header = self.request.headers.get("Authorization", "")
        m = self.app.hub_auth.auth_header_pat.match(header) if header else None
        if not m:
            raise Refused(401, "no-token", _("Sign in first: this request carries no Hub token."))
        model = await self.app.hub_auth.user_for_token(m.group(1), sync=False)
        if not model or model.get("kind", "user") != "user":
            raise Refused(403, "bad-token", _("This Hub token is not valid for the exchange."))
        if not self.app.hub_auth.check_scopes(self.app.hub_auth.access_scopes, model):
            raise Refused(403, "no-scope", _("This Hub token is not allowed to use the exchange."))
        self.username = model["name"]
        self.acc = self.app.registry.access(self.username)
        if self.acc.role is None:
            raise Refused(403, "unknown-user", _("Your account is not in the school's roster."))
        for arg in FORBIDDEN_ARGS:
            if arg in self.request.arguments or f"x-cartable-{arg}" in {k.lower() for k in self.request.headers}:
                self.audit("forged-parameter", course_id=(self.path_kwargs or {}).get("course"),
                           assignment=(self.path_kwargs or {}).get("assignment"), outcome="refused",
                           detail=f"{arg}={self.get_argument(arg, '')[:64]}")
                raise Refused(400, "forged", _("The exchange takes your identity and the time itself; "
                                               "the parameter {name!r} is refused."), name=arg)

    async def prepare(self):
        try:
            await self.authenticate()
        except Refused as e:
            self.refuse(e)

    def audit(self, action, **kw):
        try:
            self.app.store.audit_now(self.username or "?", self.acc.role if self.acc and self.acc.role else "?",
                                     action, **kw)
        except Exception:  # noqa: BLE001 - the audit never hides the answer
            log.exception("audit failed")

    def refuse(self, e: Refused):
        if self._finished:
            return
        self.set_status(e.status)
        msgs = messages(e.msgid, **e.params)
        self.finish(json.dumps({"error": e.code, "message": f"{msgs['fr']}\n{msgs['ar']}\n{msgs['en']}",
                                "messages": msgs}, ensure_ascii=False))

    def write_error(self, status_code, **kwargs):
        exc = kwargs.get("exc_info", (None, None))[1]
        if isinstance(exc, Refused):
            return self.refuse(exc)
        code = {404: "not-found", 405: "method", 413: "too-large"}.get(status_code, "error")
        msgid = {404: _("Not found."), 413: _("The submission is too large.")}.get(
            status_code, _("The exchange could not handle this request."))
        msgs = messages(msgid)
        self.finish(json.dumps({"error": code, "message": f"{msgs['fr']}\n{msgs['ar']}\n{msgs['en']}",
                                "messages": msgs}, ensure_ascii=False))

    def _handle_request_exception(self, e):
        if isinstance(e, Refused):
            self.refuse(e)
            return
        super()._handle_request_exception(e)

    def send_json(self, data, status=200):
        self.set_status(status)
        self.finish(json.dumps(data, ensure_ascii=False, default=str))

    # -- authorisation helpers ---------------------------------------------------------
    def not_found(self):
        return Refused(404, "not-found", _("Not found."))

    def require_teacher(self, course: str):
        if not self.acc.can_teach(course):
            self.audit("denied", course_id=course, outcome="refused", detail=self.request.path[:200])
            raise self.not_found()

    def require_member(self, course: str):
        if not (self.acc.can_learn(course) or self.acc.can_teach(course)):
            raise self.not_found()

    def assignment_view(self, s, a: ReleasedAssignment, student: str | None) -> dict:
        due, hard = (self.app.store.deadlines(s, a, student) if student else (a.due_at, a.hard_at))
        return {"course_id": a.course_id, "assignment_id": a.name, "released_at": iso_utc(a.released_at),
                "due_at": iso_utc(due), "hard_deadline": iso_utc(hard), "due_local": self.app.local(due),
                "hard_deadline_local": self.app.local(hard), "penalty_per_day": a.penalty_per_day,
                "timezone": str(self.app.tz), "sha256": a.digest,
                "notebooks": [e["path"][:-6] for e in json.loads(a.manifest)
                              if e["path"].endswith(".ipynb") and "/" not in e["path"]],
                "files": json.loads(a.manifest)}

    def submission_view(self, sub: Submission, with_files: bool = True) -> dict:
        out = {"submission_id": sub.id, "course_id": sub.course_id, "assignment_id": sub.assignment,
               "student": sub.student, "received_at": iso_utc(sub.received_at),
               "received_at_local": self.app.local(sub.received_at), "sha256": sub.digest, "size": sub.size,
               "file_count": sub.files, "late": sub.late, "late_seconds": sub.late_seconds,
               "penalty_percent": sub.penalty_percent, "due_at": iso_utc(sub.due_at)}
        files = json.loads(sub.manifest)
        out["notebooks"] = [e["path"][:-6] for e in files if e["path"].endswith(".ipynb") and "/" not in e["path"]]
        if with_files:
            out["files"] = json.loads(sub.manifest)
        return out


class HealthHandler(BaseHandler):
    async def prepare(self):
        pass

    def get(self):
        self.send_json({"ok": True, "pid": os.getpid()})


class WhoAmIHandler(BaseHandler):
    def get(self):
        self.send_json({"name": self.username, "role": self.acc.role, "learns": sorted(self.acc.learns),
                        "teaches": sorted(self.acc.teaches), "inspects": sorted(self.acc.inspects)})


class CoursesHandler(BaseHandler):
    def get(self):
        courses = self.app.registry.courses()
        out = []
        for cid in sorted(self.acc.learns | self.acc.teaches | (set(courses) if self.acc.is_admin else set())):
            c = courses.get(cid)
            if c is None:
                continue
            item = {"course_id": c.id, "class": c.class_code, "subject": c.subject, "year": c.year,
                    "role": "teacher" if self.acc.can_teach(cid) else "pupil"}
            if self.acc.can_teach(cid):
                item["pupils"] = list(c.pupils)
                item["teachers"] = list(c.teachers)
            out.append(item)
        self.send_json(out)


class AssignmentsHandler(BaseHandler):
    """Released assignments the caller may see."""

    def get(self):
        course = self.get_argument("course_id", None)
        visible = self.acc.learns | self.acc.teaches
        if self.acc.is_admin:
            visible = set(self.app.registry.courses())
        if course:
            visible = visible & {course}
        with self.app.db.session() as s:
            rows = s.scalars(select(ReleasedAssignment).where(ReleasedAssignment.course_id.in_(sorted(visible)),
                                                              ReleasedAssignment.active.is_(True))
                             .order_by(ReleasedAssignment.course_id, ReleasedAssignment.name)).all()
            out = [self.assignment_view(s, a, None if self.acc.can_teach(a.course_id) else self.username)
                   for a in rows]
        self.send_json(out)


class SpooledBodyHandler(BaseHandler):
    """A handler whose body is streamed to a temporary file, refused as soon as it passes ``limit``."""

    limit = 0

    def body_limit(self) -> int:
        raise NotImplementedError

    async def prepare(self):
        self._spool = None
        self._received = 0
        await super().prepare()
        if self._finished:
            return
        try:
            await self.authorize_upload()
            self.limit = self.body_limit()
            length = self.request.headers.get("Content-Length")
            if length is not None and int(length) > self.limit:
                raise self.too_large()
        except Refused as e:
            self.refuse(e)
            return
        self._spool = tempfile.SpooledTemporaryFile(max_size=2**20, dir=self.app.store.root / "tmp")

    def too_large(self):
        q = self.app.store.quota
        self.audit("upload-too-large", course_id=self.path_kwargs.get("course"),
                   assignment=self.path_kwargs.get("assignment"), outcome="refused")
        return Refused(413, "too-large", _("The submission is too large: at most {limit} MB may be submitted."),
                       limit=round(q.max_bytes / 2**20, 1))

    async def authorize_upload(self):
        pass

    def data_received(self, chunk: bytes):
        if self._finished or self._spool is None:
            return
        self._received += len(chunk)
        if self._received > self.limit:
            self._spool.close()
            self._spool = None
            self.refuse(self.too_large())
            return
        self._spool.write(chunk)

    def on_finish(self):
        if getattr(self, "_spool", None) is not None:
            self._spool.close()
            self._spool = None

    def on_connection_close(self):
        self.on_finish()

    def body(self):
        self._spool.seek(0)
        return self._spool


@web.stream_request_body
class SubmitHandler(SpooledBodyHandler):
    """POST a tar(.gz) of the assignment folder; answer with the receipt."""

    def body_limit(self):
        q = self.app.store.quota
        return q.max_bytes + q.max_files * 1024 + 2**20

    async def authorize_upload(self):
        course = safe_id(self.path_kwargs["course"], "course")
        name = safe_id(self.path_kwargs["assignment"], "assignment")
        if not self.acc.can_learn(course):
            self.audit("submit", course_id=course, assignment=name, outcome="refused", detail="not a pupil of course")
            raise self.not_found()
        with self.app.db.session() as s:
            a = self.app.store.assignment(s, course, name)
            if a is None:
                raise self.not_found()
            self.check_deadline(s, a, utcnow())

    def check_deadline(self, s, a, now):
        due, hard = self.app.store.deadlines(s, a, self.username)
        if hard is not None and now > hard:
            self.audit("submit", course_id=a.course_id, assignment=a.name, outcome="refused", detail="after hard deadline")
            raise Refused(403, "hard-deadline", _("The deadline ({when}) has passed: submissions are closed."),
                          when=self.app.local(hard)[:16].replace("T", " "))
        return due

    def post(self, course, assignment):
        q = self.app.store.quota
        staged = self.app.store.stage(self.body(), max_bytes=q.max_bytes, max_files=q.max_files,
                                      max_notebooks=q.max_notebooks)
        try:
            for e in staged.entries:
                if e["path"].split("/")[-1] in RESERVED_NAMES:
                    raise Refused(400, "reserved-name", _("{name!r} is set by the exchange itself; remove it from "
                                                          "your folder."), name=e["path"])
            if not any(e["path"].endswith(".ipynb") for e in staged.entries):
                raise Refused(400, "no-notebook", _("The submission holds no notebook."))
            with self.app.db.session() as s:
                a = self.app.store.assignment(s, course, assignment)
                if a is None:
                    raise self.not_found()
                now = utcnow()  # the receipt time: after the whole upload has arrived and been checked
                due = self.check_deadline(s, a, now)
                manifest = self.app.store.commit_staged(staged)
                late_seconds = int((now - due).total_seconds()) if due is not None and now > due else 0
                days = -(-late_seconds // 86400)
                sub = Submission(course_id=course, assignment=assignment, student=self.username, received_at=now,
                                 digest=staged.digest, manifest=json.dumps(manifest), size=staged.size,
                                 files=len(manifest), late=late_seconds > 0, late_seconds=late_seconds,
                                 penalty_percent=min(100.0, days * (a.penalty_per_day or 0.0)), due_at=due)
                s.add(sub)
                s.flush()
                self.app.store.audit(s, self.username, self.acc.role, "submit", course_id=course,
                                     assignment=assignment, target=sub.id, digest=sub.digest,
                                     detail="late" if sub.late else None)
                view = self.submission_view(sub)
        except BaseException:
            self.app.store.discard(staged)
            raise
        msgid = (_("Submission received at {when} (late). Receipt: SHA-256 {sha}") if view["late"]
                 else _("Submission received at {when}. Receipt: SHA-256 {sha}"))
        msgs = messages(msgid, when=view["received_at_local"][:19].replace("T", " "), sha=view["sha256"])
        view["message"] = f"{msgs['fr']}\n{msgs['ar']}\n{msgs['en']}"
        view["messages"] = msgs
        view["practice"] = self.app.practice.enabled(course, assignment)
        if view["practice"]:
            self.schedule_practice(view["submission_id"], course, assignment, manifest, now)
        self.send_json(view, 201)

    def schedule_practice(self, sub_id, course, assignment, manifest, received_at):
        """Grade a practice submission in the background; its feedback is stored like a teacher's."""
        app, student = self.app, self.username
        archive = app.store.archive(manifest, prefix=assignment)

        def store_feedback(notebook, html):
            sha = app.store.put_bytes(html.encode("utf-8"))
            with app.db.session() as s:
                fb = s.scalars(select(Feedback).where(Feedback.submission_id == sub_id,
                                                      Feedback.notebook == notebook)).first()
                if fb is None:
                    fb = Feedback(submission_id=sub_id, course_id=course, assignment=assignment, student=student,
                                  notebook=notebook, sha256=sha, released_by="cartable-practice")
                    s.add(fb)
                fb.sha256, fb.released_at = sha, utcnow()
                s.flush()
                app.store.audit(s, "cartable-practice", "service", "practice-feedback", course_id=course,
                                assignment=assignment, target=student, digest=sha)
                return fb.id

        app.practice.result_path(course, assignment, sub_id).parent.mkdir(parents=True, exist_ok=True)
        app.practice.result_path(course, assignment, sub_id).write_text(json.dumps({"status": "queued"}))
        app.practice_pool.submit(app.practice.grade, course, assignment, sub_id, student, archive,
                                 iso_utc(received_at), store_feedback)


class TeacherUploadHandler(SpooledBodyHandler):
    """An upload to one assignment of a course, by a teacher of that course."""

    def body_limit(self):
        return self.app.store.quota.max_release_bytes

    async def authorize_upload(self):
        course = safe_id(self.path_kwargs["course"], "course")
        safe_id(self.path_kwargs["assignment"], "assignment")
        self.require_teacher(course)


@web.stream_request_body
class ReleaseHandler(TeacherUploadHandler):
    """Teacher: POST the release folder as a tar(.gz), with the deadlines as query arguments."""

    def post(self, course, assignment):
        q = self.app.store.quota
        due = parse_when(self.get_argument("due", None), self.app.tz)
        hard = parse_when(self.get_argument("hard_deadline", None), self.app.tz)
        if due and hard and hard < due:
            raise Refused(400, "bad-date", _("The hard deadline must not come before the due date."))
        try:
            penalty = float(self.get_argument("penalty_per_day", "0") or 0)
        except ValueError:
            raise Refused(400, "bad-penalty", _("The late penalty must be a number of percent per day.")) from None
        staged = self.app.store.stage(self.body(), max_bytes=q.max_release_bytes, max_files=q.max_files * 5,
                                      max_notebooks=None)
        if not any(e["path"].endswith(".ipynb") for e in staged.entries):
            self.app.store.discard(staged)
            raise Refused(400, "no-notebook", _("The submission holds no notebook."))
        manifest = self.app.store.commit_staged(staged)
        with self.app.db.session() as s:
            a = s.scalars(select(ReleasedAssignment).where(ReleasedAssignment.course_id == course,
                                                           ReleasedAssignment.name == assignment)).first()
            if a is None:
                a = ReleasedAssignment(course_id=course, name=assignment, released_by=self.username)
                s.add(a)
            a.manifest, a.digest = json.dumps(manifest), staged.digest
            a.due_at, a.hard_at, a.penalty_per_day = due, hard, max(0.0, min(100.0, penalty))
            a.released_by, a.released_at, a.active = self.username, utcnow(), True
            s.flush()
            self.app.store.audit(s, self.username, self.acc.role, "release", course_id=course, assignment=assignment,
                                 digest=a.digest, detail=f"due={due} hard={hard} penalty={penalty}")
            self.send_json(self.assignment_view(s, a, None), 201)


@web.stream_request_body
class PracticeHandler(TeacherUploadHandler):
    """Teacher: PUT the source folder (tar.gz, with solutions and hidden tests) to grade on submit; DELETE to stop."""

    async def put(self, course, assignment):
        import tarfile

        files = {}
        try:
            with tarfile.open(fileobj=self.body(), mode="r:*") as tar:
                for m in tar.getmembers():
                    if m.isfile() and m.size < 50 * 2**20 and not m.name.startswith(("/", "..")) \
                            and "/../" not in m.name and ".ipynb_checkpoints" not in m.name:
                        files[m.name] = tar.extractfile(m).read()
        except (tarfile.TarError, EOFError, OSError, zlib_error()):
            raise Refused(400, "bad-archive", _("The upload is not a readable tar.gz archive.")) from None
        if not any(name.endswith(".ipynb") for name in files):
            raise Refused(400, "no-notebook", _("The submission holds no notebook."))
        loop = ioloop.IOLoop.current()
        try:
            await loop.run_in_executor(None, self.app.practice.setup, course, assignment, files)
        except RuntimeError as e:
            raise Refused(400, "practice-failed", _("The practice version could not be prepared: {error}"),
                          error=str(e)[-500:]) from None
        self.app.store.audit_now(self.username, self.acc.role, "practice-on", course_id=course, assignment=assignment)
        self.send_json({"course_id": course, "assignment_id": assignment, "practice": True}, 201)

    def delete(self, course, assignment):
        self.app.practice.withdraw(course, assignment)
        self.app.store.audit_now(self.username, self.acc.role, "practice-off", course_id=course, assignment=assignment)
        self.send_json({"course_id": course, "assignment_id": assignment, "practice": False})



class SandboxHandler(BaseHandler):
    """Teacher: run one (sanitized) notebook of a course in the service's sandbox.

    A teacher's server is not root, so its own fork server cannot give a submission an account
    or a network namespace of its own: ``cartable course autograde`` sends the execution phase
    here instead (:class:`cartable.grading.autograde.RemoteSandbox`). The request holds only
    cells, limits and the assignment's support files; the service adds the hidden paths.
    """

    async def post(self):
        import base64
        from dataclasses import asdict

        from cartable.grading.autograde import clamp_limits
        from cartable.grading.sandbox import Limits

        try:
            req = json.loads(self.request.body)
            course = safe_id(str(req.get("course_id", "")), "course")
            cells = [{"index": int(c["index"]), "kind": str(c["kind"]), "source": str(c["source"])}
                     for c in req["cells"]]
            files = {str(k): base64.b64decode(v) for k, v in (req.get("files") or {}).items()}
            kinds = {k: type(v) for k, v in asdict(Limits()).items()}  # int or float
            limits = {k: kinds[k](v) for k, v in (req.get("limits") or {}).items()
                      if k in kinds and isinstance(v, (int, float))}
        except (ValueError, KeyError, TypeError, OverflowError):
            raise Refused(400, "bad-request", _("The grading request is not valid JSON with cells.")) from None
        self.require_teacher(course)
        if any(c["kind"] not in ("pupil", "trusted", "test") for c in cells):
            raise Refused(400, "bad-request", _("The grading request is not valid JSON with cells."))
        lim, lowered = clamp_limits(Limits(**limits), self.app.max_limits)
        fs = self.app.practice.forkserver
        loop = ioloop.IOLoop.current()
        ex = await loop.run_in_executor(self.app.sandbox_pool,
                                        lambda: fs().run(cells, lim.as_dict(), files, self.app.hidden))
        out = asdict(ex)
        out["sandbox"]["clamped"] = lowered
        out["cells"] = {str(k): v for k, v in ex.cells.items()}
        self.send_json(out)


class PracticeResultHandler(BaseHandler):
    """The practice grading of one submission: its pupil or a teacher of the course."""

    def get(self, sub_id):
        with self.app.db.session() as s:
            sub = s.get(Submission, sub_id)
        if sub is None or not (sub.student == self.username or self.acc.can_teach(sub.course_id)):
            raise self.not_found()
        if not self.app.practice.enabled(sub.course_id, sub.assignment):
            self.send_json({"status": "off"})
            return
        self.send_json(self.app.practice.result(sub.course_id, sub.assignment, sub_id) or {"status": "unknown"})


class AssignmentHandler(BaseHandler):
    def get(self, course, assignment):
        """The released files (tar.gz) for a pupil of the course or its teacher."""
        safe_id(course, "course")
        self.require_member(course)
        with self.app.db.session() as s:
            a = self.app.store.assignment(s, course, assignment)
            if a is None:
                raise self.not_found()
            manifest, digest = json.loads(a.manifest), a.digest
        self.audit("fetch", course_id=course, assignment=assignment, digest=digest)
        self.set_header("Content-Type", "application/gzip")
        self.finish(self.app.store.archive(manifest))

    def delete(self, course, assignment):
        """Teacher: withdraw a released assignment (its submissions are kept)."""
        self.require_teacher(course)
        with self.app.db.session() as s:
            a = self.app.store.assignment(s, course, assignment)
            if a is None:
                raise self.not_found()
            a.active = False
            self.app.store.audit(s, self.username, self.acc.role, "unrelease", course_id=course, assignment=assignment)
        self.send_json({"ok": True})


class ExtensionHandler(BaseHandler):
    def put(self, course, assignment, student):
        """Teacher: set a pupil's own deadlines (JSON ``{"due": …, "hard_deadline": …}``)."""
        self.require_teacher(course)
        c = self.app.registry.course(course)
        if c is None or student not in c.pupils:
            raise self.not_found()
        data = json.loads(self.request.body or b"{}")
        due = parse_when(data.get("due"), self.app.tz)
        hard = parse_when(data.get("hard_deadline"), self.app.tz)
        with self.app.db.session() as s:
            if self.app.store.assignment(s, course, assignment) is None:
                raise self.not_found()
            ext = s.scalars(select(Extension).where(Extension.course_id == course, Extension.assignment == assignment,
                                                    Extension.student == student)).first()
            if ext is None:
                ext = Extension(course_id=course, assignment=assignment, student=student, set_by=self.username)
                s.add(ext)
            ext.due_at, ext.hard_at, ext.set_by, ext.set_at = due, hard, self.username, utcnow()
            self.app.store.audit(s, self.username, self.acc.role, "extension", course_id=course,
                                 assignment=assignment, target=student, detail=f"due={due} hard={hard}")
            a = self.app.store.assignment(s, course, assignment)
            self.send_json(self.assignment_view(s, a, student))


class SubmissionsHandler(BaseHandler):
    """A pupil's own submissions; a teacher's view of their course's submissions."""

    def get(self):
        course = self.get_argument("course_id", None)
        assignment = self.get_argument("assignment_id", None)
        q = select(Submission)
        if course:
            q = q.where(Submission.course_id == course)
        if assignment:
            q = q.where(Submission.assignment == assignment)
        teacher = course is not None and self.acc.can_teach(course)
        if not teacher:
            q = q.where(Submission.student == self.username)
        with self.app.db.session() as s:
            rows = s.scalars(q.order_by(Submission.received_at)).all()
        self.send_json([self.submission_view(r, with_files=False) for r in rows])


class SubmissionHandler(BaseHandler):
    def _get(self, sub_id) -> Submission:
        with self.app.db.session() as s:
            sub = s.get(Submission, sub_id)
        if sub is None or not (sub.student == self.username or self.acc.can_teach(sub.course_id)):
            self.audit("denied", target=sub_id[:32], outcome="refused", detail="submission of someone else")
            raise self.not_found()
        return sub

    def get(self, sub_id, what=None):
        sub = self._get(sub_id)
        if what == "archive":
            self.audit("download", course_id=sub.course_id, assignment=sub.assignment, target=sub.id,
                       digest=sub.digest)
            self.set_header("Content-Type", "application/gzip")
            return self.finish(self.app.store.archive(json.loads(sub.manifest)))
        self.send_json(self.submission_view(sub))

    def put(self, sub_id, what=None):
        self._get(sub_id)
        raise Refused(405, "immutable", _("A submission cannot be changed after its receipt; submit again instead."))

    delete = post = patch = put


class CollectHandler(BaseHandler):
    """Teacher: which submission of each pupil to grade (latest on time by default)."""

    def get(self, course, assignment):
        self.require_teacher(course)
        mode = self.get_argument("mode", "on_time")
        student = self.get_argument("pupil", None)
        with self.app.db.session() as s:
            q = select(Submission).where(Submission.course_id == course, Submission.assignment == assignment)
            if student:
                q = q.where(Submission.student == student)
            rows = s.scalars(q.order_by(Submission.received_at)).all()
        chosen: dict[str, Submission] = {}
        for sub in rows:  # oldest first: later ones replace earlier ones
            prev = chosen.get(sub.student)
            if mode == "latest" or prev is None or not sub.late or prev.late:
                chosen[sub.student] = sub
        self.audit("collect", course_id=course, assignment=assignment, detail=f"{len(chosen)} submissions, {mode}")
        self.send_json([self.submission_view(chosen[k]) for k in sorted(chosen)])


@web.stream_request_body
class FeedbackUploadHandler(SpooledBodyHandler):
    """Teacher: PUT the feedback HTML of one notebook of one submission."""

    def body_limit(self):
        return self.app.store.quota.max_feedback_bytes

    async def authorize_upload(self):
        with self.app.db.session() as s:
            sub = s.get(Submission, self.path_kwargs["sub_id"])
        if sub is None or not self.acc.can_teach(sub.course_id):
            raise self.not_found()
        self.sub = sub

    def put(self, sub_id, notebook):
        safe_id(notebook, "notebook")
        data = self.body().read()
        sha = self.app.store.put_bytes(data)
        with self.app.db.session() as s:
            fb = s.scalars(select(Feedback).where(Feedback.submission_id == sub_id,
                                                  Feedback.notebook == notebook)).first()
            if fb is None:
                fb = Feedback(submission_id=sub_id, course_id=self.sub.course_id, assignment=self.sub.assignment,
                              student=self.sub.student, notebook=notebook, sha256=sha, released_by=self.username)
                s.add(fb)
            fb.sha256, fb.released_by, fb.released_at = sha, self.username, utcnow()
            s.flush()
            self.app.store.audit(s, self.username, self.acc.role, "release-feedback", course_id=self.sub.course_id,
                                 assignment=self.sub.assignment, target=self.sub.student, digest=sha)
            self.send_json({"feedback_id": fb.id, "sha256": sha}, 201)

    post = put


class FeedbackListHandler(BaseHandler):
    def get(self):
        course = self.get_argument("course_id", None)
        assignment = self.get_argument("assignment_id", None)
        q = select(Feedback, Submission).join(Submission, Submission.id == Feedback.submission_id)
        if course:
            q = q.where(Feedback.course_id == course)
        if assignment:
            q = q.where(Feedback.assignment == assignment)
        if not (course and self.acc.can_teach(course)):
            q = q.where(Feedback.student == self.username)
        with self.app.db.session() as s:
            rows = s.execute(q.order_by(Feedback.released_at)).all()
        self.send_json([{"feedback_id": fb.id, "submission_id": fb.submission_id, "course_id": fb.course_id,
                         "assignment_id": fb.assignment, "student": fb.student, "notebook_id": fb.notebook,
                         "sha256": fb.sha256, "released_at": iso_utc(fb.released_at),
                         "submitted_at": iso_utc(sub.received_at), "submission_sha256": sub.digest}
                        for fb, sub in rows])


class FeedbackHandler(BaseHandler):
    def get(self, fb_id):
        with self.app.db.session() as s:
            fb = s.get(Feedback, fb_id)
        if fb is None or not (fb.student == self.username or self.acc.can_teach(fb.course_id)):
            self.audit("denied", target=fb_id[:32], outcome="refused", detail="feedback of someone else")
            raise self.not_found()
        self.audit("fetch-feedback", course_id=fb.course_id, assignment=fb.assignment, target=fb.id, digest=fb.sha256)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Content-Security-Policy", SANDBOX_CSP)
        self.finish(self.app.store.read_object(fb.sha256))


class AuditHandler(BaseHandler):
    """The audit log of the courses one teaches or inspects (administrators: all)."""

    def get(self):
        course = self.get_argument("course_id", None)
        limit = min(int(self.get_argument("limit", "1000")), 10000)
        q = select(AuditEvent)
        if course:
            if not self.acc.can_read_audit(course):
                raise self.not_found()
            q = q.where(AuditEvent.course_id == course)
        elif not self.acc.is_admin:
            allowed = sorted(self.acc.teaches | self.acc.inspects)
            if not allowed:
                raise self.not_found()
            q = q.where(AuditEvent.course_id.in_(allowed))
        with self.app.db.session() as s:
            rows = s.scalars(q.order_by(AuditEvent.id.desc()).limit(limit)).all()
        self.send_json([{"at": iso_utc(r.at), "actor": r.actor, "role": r.role, "action": r.action,
                         "course_id": r.course_id, "assignment_id": r.assignment, "target": r.target,
                         "sha256": r.digest, "outcome": r.outcome, "detail": r.detail} for r in rows])


class StatusHandler(BaseHandler):
    """Teacher: who submitted, when, late or not (every pupil of the course listed)."""

    def get(self, course, assignment):
        self.require_teacher(course)
        c = self.app.registry.course(course)
        with self.app.db.session() as s:
            a = self.app.store.assignment(s, course, assignment)
            if a is None:
                raise self.not_found()
            rows = s.execute(select(Submission.student, func.count(Submission.id), func.max(Submission.received_at))
                             .where(Submission.course_id == course, Submission.assignment == assignment)
                             .group_by(Submission.student)).all()
            latest = {st: (n, at) for st, n, at in rows}
            extended = {e.student: e for e in s.scalars(select(Extension).where(
                Extension.course_id == course, Extension.assignment == assignment))}
            out = []
            for pupil in (c.pupils if c else sorted(latest)):
                n, at = latest.get(pupil, (0, None))
                due, hard = self.app.store.deadlines(s, a, pupil)
                ext = extended.get(pupil)
                out.append({"student": pupil, "submissions": n, "last_received_at": iso_utc(at),
                            "last_received_local": self.app.local(at),
                            "late": bool(at and due and at > due), "due_at": iso_utc(due),
                            "hard_deadline": iso_utc(hard),
                            "extension": None if ext is None else {
                                "due_at": iso_utc(ext.due_at), "hard_deadline": iso_utc(ext.hard_at),
                                "set_by": ext.set_by, "set_at": iso_utc(ext.set_at)}})
        self.send_json(out)


# --------------------------------------------------------------------------- the class's space


class ClassSpaceHandler(BaseHandler):
    """What announcements and exposés share: the course must be one of the caller's (else 404)."""

    def member_course(self, course: str) -> str:
        safe_id(course, "course")
        if not (self.acc.can_learn(course) or self.acc.can_teach(course)):
            self.audit("denied", course_id=course, outcome="refused", detail=self.request.path[:200])
            raise self.not_found()
        return course

    def json_body(self) -> dict:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise Refused(400, "bad-request", _("The request is not valid JSON."))
        return data


def announcement_view(app: App, a: Announcement, read: bool | None) -> dict:
    return {"announcement_id": a.id, "course_id": a.course_id, "title": a.title, "body": a.body,
            "author": a.author, "posted_at": iso_utc(a.posted_at), "posted_at_local": app.local(a.posted_at),
            "read": read}


class AnnouncementsHandler(ClassSpaceHandler):
    """``GET``: the course's announcements, newest first, each with the caller's read state (pupils);
    ``POST {"title", "body"}``: a teacher of the course posts one (plain text)."""

    def get(self, course):
        self.member_course(course)
        with self.app.db.session() as s:
            rows = s.scalars(select(Announcement).where(Announcement.course_id == course,
                                                        Announcement.active.is_(True))
                             .order_by(Announcement.posted_at.desc(), Announcement.id)).all()
            read = set(s.scalars(select(AnnouncementRead.announcement_id).where(
                AnnouncementRead.reader == self.username,
                AnnouncementRead.announcement_id.in_([a.id for a in rows])))) if rows else set()
            pupil = self.acc.can_learn(course) and not self.acc.can_teach(course)
            self.send_json([announcement_view(self.app, a, (a.id in read) if pupil else None) for a in rows])

    def post(self, course):
        self.member_course(course)
        if not self.acc.can_teach(course):
            self.audit("announce", course_id=course, outcome="refused", detail="not a teacher of the course")
            raise Refused(403, "teachers-only", _("Only the class's teachers may post announcements."))
        data = self.json_body()
        title = plain_text(data.get("title"), multiline=False)
        body = plain_text(data.get("body"), multiline=True)
        if not title or not body:
            raise Refused(400, "empty", _("An announcement needs a title and a text."))
        if len(title) > MAX_TITLE or len(body) > MAX_TEXT:
            raise Refused(400, "too-long", _("An announcement is limited to {title} characters of title and "
                                             "{text} characters of text."), title=MAX_TITLE, text=MAX_TEXT)
        with self.app.db.session() as s:
            a = Announcement(course_id=course, title=title, body=body, author=self.username)
            s.add(a)
            s.flush()
            self.app.store.audit(s, self.username, self.acc.role, "announce", course_id=course, target=a.id)
            self.send_json(announcement_view(self.app, a, None), 201)


class AnnouncementHandler(ClassSpaceHandler):
    """``POST …/read``: a pupil has opened it; ``DELETE``: a teacher of the course withdraws it."""

    def find(self, s, course, ann_id) -> Announcement:
        a = s.get(Announcement, ann_id)
        if a is None or a.course_id != course or not a.active:
            raise self.not_found()
        return a

    def post(self, course, ann_id, what=None):
        self.member_course(course)
        if what != "read":
            raise self.not_found()
        with self.app.db.session() as s:
            self.find(s, course, ann_id)
            done = s.scalars(select(AnnouncementRead).where(AnnouncementRead.announcement_id == ann_id,
                                                            AnnouncementRead.reader == self.username)).first()
            if done is None:
                s.add(AnnouncementRead(announcement_id=ann_id, reader=self.username))
        self.send_json({"announcement_id": ann_id, "read": True})

    def delete(self, course, ann_id, what=None):
        self.member_course(course)
        if what is not None:
            raise self.not_found()
        if not self.acc.can_teach(course):
            raise Refused(403, "teachers-only", _("Only the class's teachers may withdraw announcements."))
        with self.app.db.session() as s:
            self.find(s, course, ann_id).active = False
            self.app.store.audit(s, self.username, self.acc.role, "unannounce", course_id=course, target=ann_id)
        self.send_json({"announcement_id": ann_id, "withdrawn": True})


def expose_view(app: App, e: Expose, username: str) -> dict:
    return {"expose_id": e.id, "course_id": e.course_id, "title": e.title, "notebook": e.notebook,
            "author": e.author, "mine": e.author == username, "size": e.size, "sha256": e.sha256,
            "published_at": iso_utc(e.published_at), "published_at_local": app.local(e.published_at)}


@web.stream_request_body
class ExposesHandler(SpooledBodyHandler, ClassSpaceHandler):
    """``GET``: the course's exposés (not withdrawn), newest first, for its pupils and teachers;
    ``POST`` (``?title=&notebook=``, body HTML): a pupil of the course publishes one of their notebooks."""

    def body_limit(self):
        return self.app.store.quota.max_feedback_bytes

    def too_large(self):
        limit = round(self.body_limit() / 2**20, 1)
        self.audit("upload-too-large", course_id=self.path_kwargs.get("course"), outcome="refused")
        return Refused(413, "too-large", _("The exposé is too large: at most {limit} MB may be published."),
                       limit=limit)

    async def authorize_upload(self):
        course = self.member_course(self.path_kwargs["course"])
        if self.request.method == "POST" and not self.acc.can_learn(course):
            raise Refused(403, "pupils-only", _("Exposés are published by the class's pupils."))

    def post(self, course):
        title = plain_text(self.get_argument("title", ""), multiline=False)
        notebook = plain_text(self.get_argument("notebook", ""), multiline=False)
        if not title or len(title) > MAX_TITLE or len(notebook) > 400:
            raise Refused(400, "bad-title", _("An exposé needs a title of at most {limit} characters."),
                          limit=MAX_TITLE)
        data = self.body().read()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(400, "not-html", _("An exposé is a notebook converted to HTML (UTF-8).")) from None
        if not data.strip():
            raise Refused(400, "not-html", _("An exposé is a notebook converted to HTML (UTF-8)."))
        # classmates and teachers open it: what is kept is the page cleaned (no script, frame,
        # form, event handler, outside image), then served under the sandbox CSP all the same
        data = sanitize.page(data, title=title).encode("utf-8")
        sha = self.app.store.put_bytes(data)
        with self.app.db.session() as s:
            e = Expose(course_id=course, author=self.username, title=title, notebook=notebook or title,
                       sha256=sha, size=len(data))
            s.add(e)
            s.flush()
            self.app.store.audit(s, self.username, self.acc.role, "publish", course_id=course, target=e.id,
                                 digest=sha)
            self.send_json(expose_view(self.app, e, self.username), 201)

    def get(self, course):
        self.member_course(course)
        with self.app.db.session() as s:
            rows = s.scalars(select(Expose).where(Expose.course_id == course, Expose.active.is_(True))
                             .order_by(Expose.published_at.desc(), Expose.id)).all()
            self.send_json([expose_view(self.app, e, self.username) for e in rows])


class ExposeHandler(ClassSpaceHandler):
    """``GET``: the page, for members of its course, in a sandbox (no script runs);
    ``DELETE``: withdrawn by a teacher of the course or by its author."""

    def find(self, s, expose_id) -> Expose:
        e = s.get(Expose, expose_id)
        if e is None or not e.active or not (self.acc.can_learn(e.course_id) or self.acc.can_teach(e.course_id)):
            self.audit("denied", target=expose_id[:32], outcome="refused", detail="exposé of another class")
            raise self.not_found()
        return e

    def get(self, expose_id):
        with self.app.db.session() as s:
            e = self.find(s, expose_id)
            sha, course = e.sha256, e.course_id
        self.audit("read-expose", course_id=course, target=expose_id, digest=sha)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Content-Security-Policy", SANDBOX_CSP)
        self.finish(self.app.store.read_object(sha))

    def delete(self, expose_id):
        with self.app.db.session() as s:
            e = self.find(s, expose_id)
            if not (self.acc.can_teach(e.course_id) or e.author == self.username):
                self.app.store.audit(s, self.username, self.acc.role, "withdraw-expose", course_id=e.course_id,
                                     target=e.id, outcome="refused", detail="not the author nor a teacher")
                raise Refused(403, "not-yours", _("Only its author or the class's teacher may withdraw this exposé."))
            e.active, e.withdrawn_by, e.withdrawn_at = False, self.username, utcnow()
            self.app.store.audit(s, self.username, self.acc.role, "withdraw-expose", course_id=e.course_id,
                                 target=e.id, digest=e.sha256)
        self.send_json({"expose_id": expose_id, "withdrawn": True})


def make_app(app: App, prefix: str = "/services/cartable-exchange/") -> web.Application:
    p = prefix.rstrip("/")
    ident = r"([^/]+)"
    kw = {"app": app}
    return web.Application([
        (rf"{p}/api/health", HealthHandler, kw),
        (rf"{p}/api/whoami", WhoAmIHandler, kw),
        (rf"{p}/api/courses", CoursesHandler, kw),
        (rf"{p}/api/assignments", AssignmentsHandler, kw),
        (rf"{p}/api/courses/(?P<course>[^/]+)/assignments/(?P<assignment>[^/]+)/submissions", SubmitHandler, kw),
        (rf"{p}/api/courses/(?P<course>[^/]+)/assignments/(?P<assignment>[^/]+)/release", ReleaseHandler, kw),
        (rf"{p}/api/courses/(?P<course>[^/]+)/assignments/(?P<assignment>[^/]+)/practice", PracticeHandler, kw),
        (rf"{p}/api/courses/{ident}/assignments/{ident}/collect", CollectHandler, kw),
        (rf"{p}/api/courses/{ident}/assignments/{ident}/status", StatusHandler, kw),
        (rf"{p}/api/courses/{ident}/assignments/{ident}/extensions/{ident}", ExtensionHandler, kw),
        (rf"{p}/api/courses/{ident}/assignments/{ident}", AssignmentHandler, kw),
        (rf"{p}/api/submissions", SubmissionsHandler, kw),
        (rf"{p}/api/submissions/(?P<sub_id>[^/]+)/feedback/(?P<notebook>[^/]+)", FeedbackUploadHandler, kw),
        (rf"{p}/api/submissions/{ident}/practice", PracticeResultHandler, kw),
        (rf"{p}/api/sandbox", SandboxHandler, kw),
        (rf"{p}/api/submissions/{ident}(?:/(archive))?", SubmissionHandler, kw),
        (rf"{p}/api/feedback", FeedbackListHandler, kw),
        (rf"{p}/api/feedback/{ident}", FeedbackHandler, kw),
        (rf"{p}/api/audit", AuditHandler, kw),
        (rf"{p}/api/courses/(?P<course>[^/]+)/announcements", AnnouncementsHandler, kw),
        (rf"{p}/api/courses/{ident}/announcements/{ident}(?:/(read))?", AnnouncementHandler, kw),
        (rf"{p}/api/courses/(?P<course>[^/]+)/exposes", ExposesHandler, kw),
        (rf"{p}/api/exposes/{ident}", ExposeHandler, kw),
    ], default_handler_class=NotFoundHandler, default_handler_args=kw)


class NotFoundHandler(BaseHandler):
    async def prepare(self):
        raise web.HTTPError(404)


def main(argv=None):
    from jupyterhub.services.auth import HubAuth

    from cartable.core import config, service

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    service.setup_logging()
    cfg = config.load()
    ex = cfg["exchange"]
    quota = Quota(max_bytes=int(ex["max_mb"] * 2**20), max_files=ex["max_files"], max_notebooks=ex["max_notebooks"])
    db = Database(cfg.database_url("cartable"))
    hub_auth = HubAuth(cache_max_age=120)
    app = App(db, cfg.state_dir / "exchange", cfg["school"]["timezone"], quota, hub_auth,
              max_limits=cfg["grading"]["max_limits"], hidden=(str(cfg.state_dir), str(cfg.homes_dir)))
    env = service.from_env("cartable-exchange", 8003, args.port)
    server = HTTPServer(make_app(app, env.prefix), max_body_size=10 * 2**30, max_buffer_size=64 * 2**20,
                        idle_connection_timeout=120, body_timeout=300)
    server.listen(env.port, env.ip)
    (app.store.root / "service.pid").write_text(str(os.getpid()))
    log.info("cartable-exchange on %s%s, files in %s", env.url, env.prefix, app.store.root)
    loop = ioloop.IOLoop.current()
    service.on_stop(service.stop_loop(loop))
    try:
        loop.start()
    finally:
        app.practice.close()


if __name__ == "__main__":
    main()
