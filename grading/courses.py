"""The course registry: one nbgrader course per class × subject of the current school year.

Courses are not stored anywhere of their own: they are read from the roster tables
(:class:`~cartable.core.db.Teaching` rows, each a teacher of a subject in a class), so a
class or a course added by a roster import exists at once, with no restart. The course
id is :func:`cartable.core.roles.course_id` (``<school>-<year>-<class>-<subject>``) and
the Hub group ``course:<id>`` holds its teachers.

Who may do what in a course (:meth:`CourseRegistry.access`):

- a pupil *learns* in every course of the classes they are enrolled in (current year);
- a teacher *teaches* the courses of their Teaching rows;
- an inspector *inspects* the courses of their school and subject(s);
- an administrator may do everything.

Each course has a gradebook: SQLite in the course folder by default, or PostgreSQL when
the teacher gave a URL at ``cartable course init --gradebook`` (written as a literal
``c.CourseDirectory.db_url = '…'`` in the folder's ``nbgrader_config.py``). Everything that
needs it (the ``cartable course`` commands, the autograder, the dashboards service, which runs
as root) reads it with :func:`course_gradebook_url`, which parses that file and never runs it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from cartable.core import roles
from cartable.core.db import Database, Enrollment, Inspection, Person, SchoolClass, Teaching

log = logging.getLogger("cartable.courses")


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

#: The course folder's nbgrader configuration, and the largest one the reader parses.
CONFIG_NAME = "nbgrader_config.py"
CONFIG_MAX_BYTES = 256 * 1024
#: The PostgreSQL URLs a course may name, and the only query parameters they may carry (the
#: others name files, sockets or services that the dashboards service, running as root, would read).
POSTGRES_DRIVERS = ("postgresql", "postgresql+psycopg", "postgresql+psycopg2")
POSTGRES_PARAMETERS = frozenset({"sslmode", "connect_timeout", "application_name"})


def gradebook_url(course_dir: Path, configured: str | None = None) -> str:
    """The gradebook of a course: ``configured`` (PostgreSQL) or SQLite in its folder."""
    if configured:
        return configured
    return f"sqlite:///{Path(course_dir).resolve() / 'gradebook.db'}"


def shown_url(url: str) -> str:
    """A gradebook URL as logs and pages may show it: the password hidden (``***``)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL may hold a password anywhere
        return "<not a database URL>"


def hide_password(text: str, url: str) -> str:
    """``text`` (an error message) with ``url``'s password, as written and URL-encoded, replaced by ``***``."""
    from urllib.parse import quote

    from sqlalchemy.engine import make_url

    try:
        password = make_url(url).password
    except Exception:
        return text
    if password:
        for form in {str(password), quote(str(password), safe=""), quote(str(password))}:
            text = text.replace(form, "***")
    return text


def gradebook_file(url: str, course_dir: Path) -> Path | None:
    """The file of a SQLite gradebook URL, symbolic links resolved, when it lies inside
    ``course_dir`` (itself resolved); None for any other URL, a file elsewhere, or a name holding
    ``?``, ``#``, ``%`` or a control character (a URL made from it would name another file)."""
    from sqlalchemy.engine import make_url

    try:
        u = make_url(url)
        if u.drivername != "sqlite" or u.query or u.host or not u.database or not os.path.isabs(u.database):
            return None
        path = Path(u.database).resolve()
        if any(ch in str(path) for ch in "?#%") or not str(path).isprintable():
            return None  # such a name would not come back as the same file from a URL
        return path if path.is_relative_to(Path(course_dir).resolve()) else None
    except Exception:  # not a URL, a NUL byte, a loop of links: refused
        return None


def gradebook_refusal(url: str, course_dir: Path) -> str | None:
    """Why the course folder ``course_dir`` may not name ``url`` as its gradebook; None when it may.

    Allowed: ``sqlite:///<absolute path>`` (no query) of a file inside the folder once symbolic
    links are resolved, and ``postgresql://`` / ``postgresql+psycopg2://`` with no query parameter
    but :data:`POSTGRES_PARAMETERS`.
    """
    from sqlalchemy.engine import make_url

    try:
        u = make_url(url)
    except Exception:
        return "not a database URL"
    if u.drivername == "sqlite":
        if gradebook_file(url, course_dir) is None:
            return "SQLite gradebook outside the course folder (or not an absolute path without parameters)"
        return None
    if u.drivername in POSTGRES_DRIVERS:
        extra = sorted(set(u.query) - POSTGRES_PARAMETERS)
        return f"PostgreSQL parameters not allowed: {', '.join(extra)}" if extra else None
    return f"database driver {u.drivername!r} not allowed (sqlite:///, postgresql:// only)"


def configured_db_url(source: str, filename: str = CONFIG_NAME) -> tuple[str | None, str | None]:
    """The gradebook URL an ``nbgrader_config.py``'s text sets, read with :mod:`ast`, never run.

    Returns ``(url, None)`` for a literal ``c.CourseDirectory.db_url = '<url>'`` at the top level
    (the form :func:`write_course_config` writes; the last one counts); ``(None, None)`` when the
    file does not set it; ``(None, why)`` when it is set any other way (computed, inside a block,
    through another name …) or the file does not parse. The rest of the file is ignored.
    """
    import ast

    try:
        tree = ast.parse(source, filename)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        return None, f"not valid Python ({type(e).__name__})"

    def is_target(node) -> bool:
        return (isinstance(node, ast.Attribute) and node.attr == "db_url"
                and isinstance(node.value, ast.Attribute) and node.value.attr == "CourseDirectory"
                and isinstance(node.value.value, ast.Name) and node.value.value.id == "c")

    assignments = [stmt for stmt in tree.body
                   if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and is_target(stmt.targets[0])]
    mentions = sum(1 for node in ast.walk(tree)
                   if (isinstance(node, ast.Attribute) and node.attr == "db_url")
                   or (isinstance(node, ast.Name) and node.id == "db_url")
                   or (isinstance(node, ast.keyword) and node.arg == "db_url")
                   or (isinstance(node, ast.Constant) and node.value == "db_url"))
    if mentions > len(assignments):
        return None, "db_url is set otherwise than by `c.CourseDirectory.db_url = '<url>'` at the top level"
    if not assignments:
        return None, None
    value = assignments[-1].value
    if not (isinstance(value, ast.Constant) and isinstance(value.value, str)) or not value.value:
        return None, "c.CourseDirectory.db_url is not a literal string"
    return value.value, None


def _read_config(path: Path) -> str:
    """The text of a course folder's config: a regular file, not a symbolic link, not too large."""
    import stat

    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"{path} is not a regular file")
        data = f.read(CONFIG_MAX_BYTES + 1)
    if len(data) > CONFIG_MAX_BYTES:
        raise OSError(f"{path} is larger than {CONFIG_MAX_BYTES} bytes")
    return data.decode("utf-8")


def course_gradebook_url(course_dir: Path) -> str:
    """The gradebook a course folder's ``nbgrader_config.py`` names, else SQLite in the folder.

    The file belongs to a teacher and this runs in services running as root (the dashboards):
    it is **never executed**. It is parsed (:func:`configured_db_url`): only a literal
    ``c.CourseDirectory.db_url = '<url>'`` counts, and only a URL :func:`gradebook_refusal`
    accepts (SQLite inside the folder, PostgreSQL). Anything else (no such line, code computing
    the URL, a symbolic link, a file that does not parse, a refused URL) gives SQLite in the
    folder, logged with the reason (the password of a URL hidden).
    """
    course_dir = Path(course_dir)
    default = gradebook_url(course_dir, None)
    cfg = course_dir / CONFIG_NAME
    try:
        text = _read_config(cfg)
    except FileNotFoundError:
        return default
    except (OSError, UnicodeDecodeError) as e:
        log.warning("%s not read (%s): gradebook in the course folder", cfg, e)
        return default
    url, why = configured_db_url(text, str(cfg))
    if why:
        log.warning("%s: %s: gradebook in the course folder", cfg, why)
    if url is None:
        return default
    refused = gradebook_refusal(url, course_dir)
    if refused:
        log.warning("%s: gradebook %s refused (%s): gradebook in the course folder", cfg, shown_url(url), refused)
        return default
    return url


def venv_on_path() -> None:
    """nbgrader runs ``alembic`` by name: find it beside this Python first."""
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
    """``nbgrader_config.py`` of a course folder: nbgrader commands run there use this course.

    The gradebook URL is written as a literal, the one form :func:`course_gradebook_url` reads;
    a URL it would refuse (:func:`gradebook_refusal`) raises ``ValueError`` (its password hidden).
    """
    course_dir = Path(course_dir)
    refused = gradebook_refusal(gradebook, course_dir) if gradebook else None
    if refused:
        raise ValueError(f"gradebook {shown_url(gradebook)}: {refused}")
    (course_dir / "source").mkdir(parents=True, exist_ok=True)
    path = course_dir / "nbgrader_config.py"
    path.write_text(
        "# Written by Cartable: one nbgrader course per class and subject.\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {course!r}\n"
        f"c.CourseDirectory.root = {str(course_dir.resolve())!r}\n"
        f"c.CourseDirectory.db_url = {gradebook_url(course_dir, gradebook)!r}\n"
        "c.Exchange.path_includes_course = True\n"
        "from cartable.grading.exchange.nbgrader import configure\n"
        "configure(c)\n", encoding="utf-8")
    return path
