"""Feedback: a teacher returns one notebook's HTML, pupils list and read theirs."""

from __future__ import annotations

from sqlalchemy import select
from tornado import web

from cartable.core.db import Feedback, Submission, utcnow
from cartable.grading.exchange.handlers.base import BaseHandler, SpooledBodyHandler
from cartable.grading.exchange.protocol import SANDBOX_CSP, iso_utc, safe_id


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
