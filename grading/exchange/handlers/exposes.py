"""Exposés: a pupil's notebook published to the class as a read-only page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from tornado import web

from cartable.core import sanitize
from cartable.core.db import Expose, utcnow
from cartable.core.i18n import _
from cartable.grading.exchange.handlers.base import ClassSpaceHandler, SpooledBodyHandler
from cartable.grading.exchange.protocol import MAX_TITLE, SANDBOX_CSP, Refused, iso_utc, plain_text

if TYPE_CHECKING:
    from cartable.grading.exchange.service import App


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
