"""Announcements: a teacher posts to the class, pupils read (unread until opened)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from cartable.core.db import Announcement, AnnouncementRead
from cartable.core.i18n import _
from cartable.grading.exchange.handlers.base import ClassSpaceHandler
from cartable.grading.exchange.protocol import MAX_TEXT, MAX_TITLE, Refused, iso_utc, plain_text

if TYPE_CHECKING:
    from cartable.grading.exchange.service import App


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
