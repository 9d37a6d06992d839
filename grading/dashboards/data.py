"""The dashboards service's data: every course's gradebook in one tidy table (:class:`GradeStore`),
and, for one page view, what its viewer may see written into a private folder (:func:`write_bundle`)
that the page's kernel reads (:class:`cartable.grading.dashboards.views.Page`)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import pwd
import secrets
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cartable.core.i18n import normalize
from cartable.grading import analytics as an
from cartable.grading.dashboards.access import Viewer, visible_rows

log = logging.getLogger("cartable.dashboards")

#: The kernel's environment variable naming the folder of its page's bundle (set by the service).
VIEW_ENV = "CARTABLE_DASHBOARD_VIEW"

ROSTER_COLUMNS = ["school", "year", "class_code", "subject", "course", "pupil", "name", "name_ar"]


class GradeStore:
    """Every current course's gradebook as one tidy table, and the courses' pupils.

    A course's gradebook is the one its teacher's folder ``<homes>/<teacher>/cartable/<course>/``
    names (:func:`~cartable.grading.courses.course_gradebook_url`: its ``nbgrader_config.py`` is
    parsed, never run; SQLite ``gradebook.db`` there by default), of one of its teachers (the newest
    if several). Folders reached through a symbolic link are skipped; a SQLite gradebook must lie
    inside the folder (links resolved) and is opened read-only; a PostgreSQL one is read through a
    cached engine per URL, in read-only transactions. Only that course's rows are kept from a
    gradebook, so a teacher's gradebook cannot bring grades into another course; courses naming the
    same PostgreSQL database are read from it with one query.

    A SQLite file is read again when its size or time changes, a PostgreSQL database at most once
    per ``max_age`` seconds (:func:`analytics.source_state`, as :func:`analytics.load_tidy`). A
    gradebook that cannot be read keeps its last reading and is logged (password hidden); it is
    tried again under the same rule (its file changed, or ``max_age`` passed).
    """

    def __init__(self, db, homes_dir: Path, ttl: float = 5.0, max_age: float = 60.0):
        from cartable.grading.courses import CourseRegistry

        self.db = db
        self.registry = CourseRegistry(db, ttl=ttl)
        self.homes = Path(homes_dir)
        self.ttl = ttl
        self.max_age = max_age
        self._lock = threading.Lock()
        self._readings: dict[str, tuple[str, pd.DataFrame, pd.DataFrame]] = {}  # course id → (state, rows, comments)
        self._configs: dict[Path, tuple[tuple | None, str]] = {}  # course folder → (config's stat, gradebook URL)
        self._engines: dict[str, object] = {}  # PostgreSQL URL → engine
        self._failed: dict[str, str | None] = {}  # URL → state of its last failed reading (retried once it changes)
        self._built: tuple[float, pd.DataFrame, pd.DataFrame, pd.DataFrame] | None = None

    def gradebook_of(self, course) -> str | None:
        """The URL of ``course``'s gradebook (a SQLite file's with its links resolved), or None
        when none of its teachers' folders has one the service may read."""
        from cartable.grading.courses import gradebook_file

        found = []
        for teacher in course.teachers:
            folder = self.homes / teacher / "cartable" / course.id
            try:
                if folder.is_symlink() or folder.parent.is_symlink() or not folder.is_dir():
                    continue
                url = self._configured(folder)
                if url.startswith("sqlite:"):
                    path = gradebook_file(url, folder)
                    if path is None or not path.is_file():
                        continue
                    found.append((path.stat().st_mtime_ns, f"sqlite:///{path}"))
                else:  # PostgreSQL: the newest configuration
                    found.append(((folder / "nbgrader_config.py").lstat().st_mtime_ns, url))
            except OSError:
                continue
        return max(found)[1] if found else None

    def _configured(self, folder: Path) -> str:
        """The folder's gradebook URL, parsed again only when its config file changes (so that a
        refused config is logged once, not at every page)."""
        from cartable.grading.courses import course_gradebook_url

        try:
            st = (folder / "nbgrader_config.py").lstat()
            key = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        except FileNotFoundError:
            key = None
        hit = self._configs.get(folder)
        if hit is None or hit[0] != key:
            hit = self._configs[folder] = (key, course_gradebook_url(folder))
        return hit[1]

    def _engine(self, url: str):
        import sqlite3

        import sqlalchemy as sa

        if url.startswith("sqlite:"):
            path = Path(sa.make_url(url).database)
            return sa.create_engine("sqlite://", poolclass=sa.pool.NullPool, creator=lambda: sqlite3.connect(
                f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False))
        engine = self._engines.get(url)
        if engine is None:
            timeout = {} if "connect_timeout" in sa.make_url(url).query else {"connect_timeout": 10}
            engine = self._engines[url] = sa.create_engine(url, pool_size=1, max_overflow=1, pool_pre_ping=True,
                                                           pool_recycle=1800, connect_args=timeout)
        return engine.execution_options(postgresql_readonly=True)

    def _read(self, url: str, group: list) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
        """(rows, comments) of each course of ``group`` (courses whose gradebook is ``url``)."""
        from cartable.grading.courses import hide_password, shown_url

        last = [self._readings.get(c.id) for c in group]
        try:
            state = f"{url}\n{an.source_state(url, self.max_age)}"
        except OSError:
            state = None
        kept = [(hit[1], hit[2]) if hit else (an.empty_tidy(), _empty_categorical(an.COMMENT_COLUMNS))
                for hit in last]
        if state is not None and all(hit and hit[0] == state for hit in last):
            return kept
        if url in self._failed and self._failed[url] == state:
            return kept  # failed in this state already: tried again when the file changes or after max_age
        mapping = {c.id: c for c in group}
        engine = None
        try:
            if state is None:
                raise OSError("gradebook file vanished")
            engine = self._engine(url)
            rows = an.read_gradebook(engine, mapping)
            comments = an.read_comments(engine, mapping)
        except Exception as e:  # a locked, broken or unreachable gradebook keeps its last reading
            log.warning("gradebook %s of %s unreadable, last reading kept: %s", shown_url(url), ", ".join(mapping),
                        hide_password(f"{type(e).__name__}: {e}", url))
            self._failed[url] = state
            return kept
        finally:
            if engine is not None and url.startswith("sqlite:"):
                engine.dispose()
        self._failed.pop(url, None)
        out = []
        for c in group:
            mine = (rows, comments) if len(group) == 1 else (an.for_teacher(rows, {c.id}),
                                                              an.for_teacher(comments, {c.id}))
            self._readings[c.id] = (state, *mine)
            out.append(mine)
        return out

    def _forget(self, courses, urls) -> None:
        """Drop the readings of courses gone and the engines of databases no longer named."""
        for cid in set(self._readings) - set(courses):
            del self._readings[cid]
        for url in set(self._engines) - set(urls):
            self._engines.pop(url).dispose()
        for url in set(self._failed) - set(urls):
            del self._failed[url]

    def data(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """(tidy table, comments, roster) of every current course."""
        with self._lock:
            if self._built and time.monotonic() - self._built[0] < self.ttl:
                return self._built[1:]
            courses = self.registry.courses()
            groups: dict[str, list] = {}
            for course in courses.values():
                url = self.gradebook_of(course)
                if url is not None:
                    groups.setdefault(url, []).append(course)
            tables, notes = [], []
            for url, group in groups.items():
                for rows, comments in self._read(url, group):
                    tables.append(rows)
                    notes.append(comments)
            self._forget(courses, groups)
            table = an.concat_tidy(tables) if tables else an.empty_tidy()
            comments = _concat_categorical([n for n in notes if len(n)], an.COMMENT_COLUMNS)
            roster = self._roster(courses)
            self._built = (time.monotonic(), table, comments, roster)
            return table, comments, roster

    def _roster(self, courses) -> pd.DataFrame:
        from sqlalchemy import select

        from cartable.core.db import Person

        pupils = sorted({p for c in courses.values() for p in c.pupils})
        names = {}
        if pupils:
            with self.db.session() as s:
                for p in s.scalars(select(Person).where(Person.username.in_(pupils))):
                    names[p.username] = (p.display_name, p.display_name_ar or "")
        rows = [(c.school, c.year, c.class_code, c.subject, c.id, p, *names.get(p, (p, "")))
                for c in courses.values() for p in c.pupils]
        frame = pd.DataFrame(rows, columns=ROSTER_COLUMNS, dtype=object)
        return frame.astype("category") if len(frame) else _empty_categorical(ROSTER_COLUMNS)


def _empty_categorical(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Categorical(np.array([], dtype=object)) for c in columns})


def _concat_categorical(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    if not frames:
        return _empty_categorical(columns)
    return an.concat_tidy(frames)[columns]


def write_bundle(root: Path, viewer: Viewer, dashboard: str, store: GradeStore, lang: str,
                 school_name: str = "", owner: str | None = None) -> Path:
    """Write what ``viewer`` may see on ``dashboard`` into a new private folder under ``root``:
    ``viewer.json``, and ``.npz`` tables (no pickle). Pupils' names are included only where the
    viewer may see pupils (their own classes, their school); inspectors get classes, not names.

    ``owner``: the account the page's kernel runs as (the service being root): the folder (0700)
    and its files become that account's, and ``root`` lets it through without listing (0711), so
    that the kernel finds its folder by the random name it is given and no other."""
    root = Path(root)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(root, 0o711 if owner else 0o700)
    folder = root / secrets.token_hex(16)
    folder.mkdir(mode=0o700)
    table, comments, roster = store.data()
    rows = visible_rows(table, viewer, dashboard)
    an.write_table(rows, folder / "rows.npz")
    if dashboard in ("progress", "class", "school"):
        an.write_table(visible_rows(comments, viewer, dashboard), folder / "comments.npz")
    if dashboard in ("class", "school"):
        an.write_table(visible_rows(roster, viewer, dashboard), folder / "roster.npz")
    meta = {"username": viewer.username, "role": viewer.role, "dashboard": dashboard, "lang": normalize(lang),
            "school_name": school_name, "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    (folder / "viewer.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    if owner:
        entry = pwd.getpwnam(owner)
        for path in (*folder.iterdir(), folder):
            os.lchown(path, entry.pw_uid, entry.pw_gid)
    return folder


def remove_bundle(folder: str | Path | None) -> None:
    if folder:
        shutil.rmtree(folder, ignore_errors=True)

