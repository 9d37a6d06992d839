"""Submissions: a pupil's upload and receipt, the list of them, one submission (never changed),
and what a teacher collects."""

from __future__ import annotations

import json

from sqlalchemy import select
from tornado import web

from cartable.core.db import Feedback, Submission, utcnow
from cartable.core.i18n import _
from cartable.grading.exchange.handlers.base import BaseHandler, SpooledBodyHandler, messages
from cartable.grading.exchange.protocol import RESERVED_NAMES, Refused, iso_utc, safe_id


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
