"""Released assignments: listing, fetching, release by a teacher, withdrawal, per-pupil
extensions and the submission status of a course."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from tornado import web

from cartable.core.db import Extension, ReleasedAssignment, Submission, utcnow
from cartable.core.i18n import _
from cartable.grading.exchange.handlers.base import BaseHandler, TeacherUploadHandler, parse_when
from cartable.grading.exchange.protocol import Refused, iso_utc, safe_id


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
