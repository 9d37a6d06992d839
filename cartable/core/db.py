"""Cartable's own tables: the school structure, people and their credentials.

This database is the source of truth for who exists, what role they have and
which classes they belong to; the Hub's users and groups are synchronised from it
(:mod:`cartable.hub.sync`). On SQLite it is ``cartable.sqlite`` in the state
directory; on PostgreSQL it shares the Hub's database, every table prefixed
``cartable_``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

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
        Base.metadata.create_all(self.engine)
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
