"""The handlers' common ground: authentication by Hub token, refusals in three languages,
the views of assignments and submissions, streamed uploads, the class's space."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
import zoneinfo
from typing import TYPE_CHECKING

from tornado import web

from cartable.core.db import ReleasedAssignment, Submission
from cartable.core.i18n import _, gettext_for
from cartable.grading.exchange.protocol import FORBIDDEN_ARGS, Refused, iso_utc, safe_id, to_utc_naive

if TYPE_CHECKING:
    from cartable.grading.exchange.service import App

log = logging.getLogger("cartable.exchange")


def messages(msgid: str, **params) -> dict:
    return {lang: gettext_for(lang)(msgid).format(**params) for lang in ("fr", "ar", "en")}


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
        except Exception:  # the audit never hides the answer
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


class NotFoundHandler(BaseHandler):
    async def prepare(self):
        raise web.HTTPError(404)


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


class TeacherUploadHandler(SpooledBodyHandler):
    """An upload to one assignment of a course, by a teacher of that course."""

    def body_limit(self):
        return self.app.store.quota.max_release_bytes

    async def authorize_upload(self):
        course = safe_id(self.path_kwargs["course"], "course")
        safe_id(self.path_kwargs["assignment"], "assignment")
        self.require_teacher(course)


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
