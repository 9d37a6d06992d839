"""The audit log, read by a course's teachers and inspectors."""

from __future__ import annotations

from sqlalchemy import select

from cartable.core.db import AuditEvent
from cartable.grading.exchange.handlers.base import BaseHandler
from cartable.grading.exchange.protocol import iso_utc


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
