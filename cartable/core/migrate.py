"""Cartable's tables follow Alembic migrations (``cartable/core/migrations``).

Every process that opens the database (the hub, its services, the ``cartable`` command) brings it
to the newest revision first; the first one to do it holds a lock (an advisory lock on PostgreSQL,
a file lock beside an SQLite file) so that processes starting together do not race. Revisions are
kept in ``cartable_alembic_version``: JupyterHub keeps its own ``alembic_version`` in the same
PostgreSQL database.

A database made by the first release (tables created without Alembic, perhaps without the
exchange's) needs nothing special: the first revision creates each of its tables only where it is
missing.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Engine

VERSION_TABLE = "cartable_alembic_version"
SCRIPTS = Path(__file__).with_name("migrations")
# a lock of Cartable's own among PostgreSQL's advisory locks (any fixed 64-bit number)
PG_LOCK = 0x4361727461626C65


def alembic_config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.attributes["engine"] = engine
    return cfg


@functools.cache
def head() -> str:
    """The newest revision (read once per process)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


@contextlib.contextmanager
def _lock(engine: Engine):
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": PG_LOCK})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_LOCK})
                conn.commit()
    elif engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        with open(f"{engine.url.database}.migrate-lock", "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            yield
    else:
        yield


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest revision (nothing to do, and no lock, when it is there)."""
    target = head()
    if current(engine) == target:
        return
    with _lock(engine):
        now = current(engine)
        if now == target:
            return
        command.upgrade(alembic_config(engine), "head")
