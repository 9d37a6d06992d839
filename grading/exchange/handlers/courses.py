"""Who the caller is and which courses they learn or teach."""

from __future__ import annotations

from cartable.grading.exchange.handlers.base import BaseHandler


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
