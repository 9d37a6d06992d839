"""The course registry: one nbgrader course per class × subject of the current school year.

Courses are not stored anywhere of their own: they are read from the roster tables
(:class:`~cartable.hub.db.Teaching` rows, each a teacher of a subject in a class), so a
class or a course added by a roster import exists at once, with no restart. The course
id is :func:`cartable.hub.roles.course_id` (``<school>-<year>-<class>-<subject>``) and
the Hub group ``course:<id>`` holds its teachers.

Who may do what in a course (:meth:`CourseRegistry.access`):

- a pupil *learns* in every course of the classes they are enrolled in (current year);
- a teacher *teaches* the courses of their Teaching rows;
- an inspector *inspects* the courses of their school and subject(s);
- an administrator may do everything.

Each course has a gradebook: SQLite in the course folder by default, or PostgreSQL when
a gradebook URL is configured (all courses share that database; nbgrader keeps them
apart by course id).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from cartable.hub import roles
from cartable.hub.db import Database, Enrollment, Inspection, Person, SchoolClass, Teaching


@dataclass(frozen=True)
class Course:
    id: str
    school: str
    year: str
    class_code: str
    subject: str
    teachers: tuple[str, ...] = ()
    pupils: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        return roles.course_group(self.id)


@dataclass
class Access:
    """What one user may do: their role and course ids per kind of access."""

    username: str
    role: str | None
    learns: set[str] = field(default_factory=set)
    teaches: set[str] = field(default_factory=set)
    inspects: set[str] = field(default_factory=set)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def can_learn(self, course: str) -> bool:
        return course in self.learns

    def can_teach(self, course: str) -> bool:
        return self.is_admin or course in self.teaches

    def can_read_audit(self, course: str) -> bool:
        return self.is_admin or course in self.teaches or course in self.inspects


class CourseRegistry:
    """Courses and access read from Cartable's database, cached for a few seconds."""

    def __init__(self, db: Database, ttl: float = 5.0):
        self.db = db
        self.ttl = ttl
        self._lock = threading.Lock()
        self._cache: tuple[float, dict[str, Course]] | None = None
        self._access: dict[str, tuple[float, Access]] = {}

    def _current_years(self, s) -> dict[str, str]:
        years: dict[str, str] = {}
        for school, year in s.execute(select(SchoolClass.school, SchoolClass.year)).all():
            years[school] = max(year, years.get(school, year))
        return years

    def courses(self) -> dict[str, Course]:
        """Every course of the current school year of every school, by id."""
        with self._lock:
            if self._cache and time.monotonic() - self._cache[0] < self.ttl:
                return self._cache[1]
        out: dict[str, dict] = {}
        with self.db.session() as s:
            current = self._current_years(s)
            active = set(s.scalars(select(Person.username).where(Person.active.is_(True))))
            pupils_of: dict[int, list[str]] = {}
            for e in s.scalars(select(Enrollment)).all():
                if e.username in active:
                    pupils_of.setdefault(e.class_id, []).append(e.username)
            for t, k in s.execute(select(Teaching, SchoolClass).join(SchoolClass)).all():
                if current.get(k.school) != k.year:
                    continue
                cid = roles.course_id(k.school, k.year, k.code, t.subject)
                c = out.setdefault(cid, {"id": cid, "school": k.school, "year": k.year, "class_code": k.code,
                                         "subject": t.subject, "teachers": set(),
                                         "pupils": tuple(sorted(pupils_of.get(k.id, [])))})
                if t.username in active:
                    c["teachers"].add(t.username)
        courses = {cid: Course(**{**c, "teachers": tuple(sorted(c["teachers"]))}) for cid, c in out.items()}
        with self._lock:
            self._cache = (time.monotonic(), courses)
        return courses

    def course(self, course_id: str) -> Course | None:
        return self.courses().get(course_id)

    def access(self, username: str) -> Access:
        with self._lock:
            hit = self._access.get(username)
            if hit and time.monotonic() - hit[0] < self.ttl:
                return hit[1]
        with self.db.session() as s:
            person = s.get(Person, username)
            role = person.role if person is not None and person.active else None
            inspections = s.scalars(select(Inspection).where(Inspection.username == username)).all() if role else []
        acc = Access(username, role)
        if role is not None:
            for c in self.courses().values():
                if role == "pupil" and username in c.pupils:
                    acc.learns.add(c.id)
                if role in ("teacher", "admin") and username in c.teachers:
                    acc.teaches.add(c.id)
                for i in inspections:
                    if i.school == c.school and i.year == c.year and i.subject in ("*", c.subject):
                        acc.inspects.add(c.id)
        with self._lock:
            self._access[username] = (time.monotonic(), acc)
        return acc


# --------------------------------------------------------------------------- gradebooks


def gradebook_url(course_dir: Path, configured: str | None = None) -> str:
    """The gradebook of a course: ``configured`` (PostgreSQL) or SQLite in its folder."""
    if configured:
        return configured
    return f"sqlite:///{Path(course_dir).resolve() / 'gradebook.db'}"


def course_gradebook_url(course_dir: Path) -> str:
    """The gradebook a course folder's ``nbgrader_config.py`` names, else SQLite in the folder."""
    from traitlets.config import Config

    c = Config()
    cfg = Path(course_dir) / "nbgrader_config.py"
    if cfg.exists():
        try:
            exec(compile(cfg.read_text(encoding="utf-8"), str(cfg), "exec"), {"get_config": lambda: c, "c": c})
        except Exception:  # noqa: BLE001 - a broken config is reported by nbgrader when it reads it
            pass
    url = c.CourseDirectory.get("db_url") if "CourseDirectory" in c else None
    return url if isinstance(url, str) and url else gradebook_url(course_dir, None)


def venv_on_path() -> None:
    """nbgrader runs ``alembic`` by name: find it beside this Python first."""
    import os
    import sys

    bindir = os.path.dirname(sys.executable)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bindir:
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def ensure_gradebook(url: str, course: str, students: list[str] | tuple[str, ...] = ()) -> None:
    """Create the gradebook tables if needed and register the course and its pupils."""
    from nbgrader.api import Gradebook

    venv_on_path()
    with Gradebook(url, course) as gb:
        for username in students:
            gb.update_or_create_student(username)


def write_course_config(course_dir: Path, course: str, gradebook: str | None = None) -> Path:
    """``nbgrader_config.py`` of a course folder: nbgrader commands run there use this course."""
    course_dir = Path(course_dir)
    (course_dir / "source").mkdir(parents=True, exist_ok=True)
    path = course_dir / "nbgrader_config.py"
    path.write_text(
        "# Written by Cartable: one nbgrader course per class and subject.\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {course!r}\n"
        f"c.CourseDirectory.root = {str(course_dir.resolve())!r}\n"
        f"c.CourseDirectory.db_url = {gradebook_url(course_dir, gradebook)!r}\n"
        "c.Exchange.path_includes_course = True\n"
        "from cartable.grading.exchange_client import configure\n"
        "configure(c)\n", encoding="utf-8")
    return path
