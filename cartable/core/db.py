"""Cartable's own tables: the school structure, people and their credentials, and the exchange's
assignments, submissions, feedback, announcements, exposés and audit trail: one metadata, kept
by Alembic migrations (:mod:`cartable.core.migrate`).

This database is the source of truth for who exists, what role they have and
which classes they belong to; the Hub's users and groups are synchronised from it
(:mod:`cartable.hub.sync`). On SQLite it is ``cartable.sqlite`` in the state
directory; on PostgreSQL it shares the Hub's database, every table prefixed
``cartable_``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
from collections.abc import Iterator

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

from cartable.core import migrate

ROLES = ("pupil", "teacher", "director", "inspector", "admin")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Person(Base):
    """Anyone who may log in. ``username`` is the lower-cased national ID, never reused."""

    __tablename__ = "cartable_person"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    national_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    school: Mapped[str] = mapped_column(String(32), index=True)
    last_name: Mapped[str] = mapped_column(String(200))
    first_name: Mapped[str] = mapped_column(String(200))
    last_name_ar: Mapped[str | None] = mapped_column(String(200), default=None)
    first_name_ar: Mapped[str | None] = mapped_column(String(200), default=None)
    birth_date: Mapped[str | None] = mapped_column(String(10), default=None)
    email: Mapped[str | None] = mapped_column(String(200), default=None)
    language: Mapped[str | None] = mapped_column(String(5), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(16), default="roster")
    last_year: Mapped[str | None] = mapped_column(String(9), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    credential: Mapped[Credential | None] = relationship(back_populates="person", uselist=False, cascade="all, delete-orphan")

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def display_name_ar(self) -> str | None:
        if self.first_name_ar or self.last_name_ar:
            return f"{self.first_name_ar or ''} {self.last_name_ar or ''}".strip()
        return None


class Credential(Base):
    """A local account's password hash (argon2id) and lock-out state."""

    __tablename__ = "cartable_credential"

    username: Mapped[str] = mapped_column(ForeignKey("cartable_person.username", ondelete="CASCADE"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    must_change: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)
    password_set_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_login: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)

    person: Mapped[Person] = relationship(back_populates="credential")


class SchoolClass(Base):
    """A class of one school for one school year, e.g. 2BSM1 in 2026-2027."""

    __tablename__ = "cartable_class"
    __table_args__ = (UniqueConstraint("school", "year", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school: Mapped[str] = mapped_column(String(32))
    year: Mapped[str] = mapped_column(String(9))
    code: Mapped[str] = mapped_column(String(32))
    level: Mapped[str | None] = mapped_column(String(100), default=None)
    stream: Mapped[str | None] = mapped_column(String(100), default=None)

    enrollments: Mapped[list[Enrollment]] = relationship(back_populates="school_class", cascade="all, delete-orphan")
    teachings: Mapped[list[Teaching]] = relationship(back_populates="school_class", cascade="all, delete-orphan")


class Enrollment(Base):
    """A pupil in a class."""

    __tablename__ = "cartable_enrollment"
    __table_args__ = (UniqueConstraint("username", "class_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("cartable_person.username", ondelete="CASCADE"))
    class_id: Mapped[int] = mapped_column(ForeignKey("cartable_class.id", ondelete="CASCADE"))

    school_class: Mapped[SchoolClass] = relationship(back_populates="enrollments")


class Teaching(Base):
    """A teacher teaching one subject to one class: one nbgrader course."""

    __tablename__ = "cartable_teaching"
    __table_args__ = (UniqueConstraint("username", "class_id", "subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("cartable_person.username", ondelete="CASCADE"))
    class_id: Mapped[int] = mapped_column(ForeignKey("cartable_class.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(64))

    school_class: Mapped[SchoolClass] = relationship(back_populates="teachings")


class Inspection(Base):
    """An inspector's assignment: one subject in one school ('*' for every subject)."""

    __tablename__ = "cartable_inspection"
    __table_args__ = (UniqueConstraint("username", "school", "year", "subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("cartable_person.username", ondelete="CASCADE"))
    school: Mapped[str] = mapped_column(String(32))
    year: Mapped[str] = mapped_column(String(9))
    subject: Mapped[str] = mapped_column(String(64))


class RosterImport(Base):
    """One applied roster file: the history a director can look back on."""

    __tablename__ = "cartable_roster_import"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school: Mapped[str] = mapped_column(String(32))
    year: Mapped[str] = mapped_column(String(9))
    filename: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(String(2000))
    applied_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# -- the exchange (cartable.grading.exchange): assignments, submissions, feedback, ----------
# -- announcements, exposés and the audit trail --------------------------------------------

def new_id() -> str:
    """An unguessable identifier (128 random bits), hexadecimal so that it never starts with ``-`` or
    ``_`` and fits every id pattern of the service, the panel and the command line."""
    return secrets.token_hex(16)


class ReleasedAssignment(Base):
    """An assignment released to one course; re-releasing replaces its files (the old ones are kept)."""

    __tablename__ = "cartable_exchange_assignment"
    __table_args__ = (UniqueConstraint("course_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    course_id: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(128))
    manifest: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)  # soft deadline, UTC
    hard_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)  # hard deadline, UTC
    penalty_per_day: Mapped[float] = mapped_column(Float, default=0.0)  # percent of the grade per started late day
    released_by: Mapped[str] = mapped_column(String(64))
    released_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Extension(Base):
    """A teacher's per-pupil change of an assignment's deadlines."""

    __tablename__ = "cartable_exchange_extension"
    __table_args__ = (UniqueConstraint("course_id", "assignment", "student"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[str] = mapped_column(String(128))
    assignment: Mapped[str] = mapped_column(String(128))
    student: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)
    hard_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Submission(Base):
    """One submission as received: never changed after the receipt."""

    __tablename__ = "cartable_exchange_submission"
    __table_args__ = (Index("ix_cartable_exchange_submission_cas", "course_id", "assignment", "student"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    course_id: Mapped[str] = mapped_column(String(128))
    assignment: Mapped[str] = mapped_column(String(128))
    student: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime)  # server time, UTC
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the manifest
    manifest: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    files: Mapped[int] = mapped_column(Integer)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    late_seconds: Mapped[int] = mapped_column(Integer, default=0)
    penalty_percent: Mapped[float] = mapped_column(Float, default=0.0)
    due_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)  # the deadline that applied


class Feedback(Base):
    """Feedback (HTML) on one notebook of one submission."""

    __tablename__ = "cartable_exchange_feedback"
    __table_args__ = (UniqueConstraint("submission_id", "notebook"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    submission_id: Mapped[str] = mapped_column(String(32), index=True)
    course_id: Mapped[str] = mapped_column(String(128))
    assignment: Mapped[str] = mapped_column(String(128))
    student: Mapped[str] = mapped_column(String(64), index=True)
    notebook: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    released_by: Mapped[str] = mapped_column(String(64))
    released_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AuditEvent(Base):
    """Who did what, when, on what, with which hash; read by inspectors."""

    __tablename__ = "cartable_exchange_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    course_id: Mapped[str | None] = mapped_column(String(128), default=None, index=True)
    assignment: Mapped[str | None] = mapped_column(String(128), default=None)
    target: Mapped[str | None] = mapped_column(String(64), default=None)
    digest: Mapped[str | None] = mapped_column(String(64), default=None)
    outcome: Mapped[str] = mapped_column(String(16), default="ok")
    detail: Mapped[str | None] = mapped_column(String(1000), default=None)


class Announcement(Base):
    """A teacher's announcement to one course: plain text (title and body), never HTML."""

    __tablename__ = "cartable_exchange_announcement"
    __table_args__ = (Index("ix_cartable_exchange_announcement_course", "course_id", "posted_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    course_id: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(64))
    posted_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class AnnouncementRead(Base):
    """That one pupil has opened one announcement (no row: unread)."""

    __tablename__ = "cartable_exchange_announcement_read"
    __table_args__ = (UniqueConstraint("announcement_id", "reader"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    announcement_id: Mapped[str] = mapped_column(String(32), index=True)
    reader: Mapped[str] = mapped_column(String(64), index=True)
    read_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Expose(Base):
    """A pupil's notebook published to their class as a read-only HTML page (an exposé)."""

    __tablename__ = "cartable_exchange_expose"
    __table_args__ = (Index("ix_cartable_exchange_expose_course", "course_id", "published_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    course_id: Mapped[str] = mapped_column(String(128))
    author: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    notebook: Mapped[str] = mapped_column(String(400))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    withdrawn_by: Mapped[str | None] = mapped_column(String(64), default=None)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)


def make_engine(url: str) -> Engine:
    kwargs = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30}
    engine = create_engine(url, future=True, pool_pre_ping=True, **kwargs)
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn, _record):
            cur = conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

    return engine


class Database:
    """The one entry point to Cartable's tables: ``with db.session() as s: ...``."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        migrate.upgrade(self.engine)  # the newest revision of every table (cartable.core.migrate)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as s:
            with s.begin():
                yield s

    def person(self, username: str) -> Person | None:
        with self.session() as s:
            return s.get(Person, username)

    def current_year(self, school: str) -> str | None:
        """The most recent school year imported for ``school``."""
        with self.session() as s:
            years = s.scalars(select(SchoolClass.year).where(SchoolClass.school == school)).all()
        return max(years) if years else None

    def dispose(self):
        self.engine.dispose()


def for_config(cfg) -> Database:
    """The database of a :class:`~cartable.core.config.SiteConfig`."""
    cfg.state_dir.mkdir(parents=True, exist_ok=True)
    return Database(cfg.database_url("cartable"))
