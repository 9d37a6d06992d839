"""Cartable's tables under Alembic (cartable.core.migrate): a new database, one made by the first
release, processes starting together, and a PostgreSQL database shared with JupyterHub."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from cartable.core import migrate
from cartable.core.db import Base, Database, Person, utcnow

FIRST_RELEASE_PEOPLE = ["cartable_person", "cartable_credential", "cartable_class", "cartable_enrollment",
                        "cartable_teaching", "cartable_inspection", "cartable_roster_import"]


def test_models_and_migrations_agree(tmp_path):
    """A change to a model without its migration fails here, naming what differs."""
    db = Database(f"sqlite:///{tmp_path / 'c.sqlite'}")
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "version_table": migrate.VERSION_TABLE})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models differ from the newest migration (write a revision): {diff}"
    assert migrate.current(db.engine) == migrate.head()
    db.dispose()


def test_a_first_release_database_gets_the_tables_it_lacks_and_keeps_its_rows(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = sa.create_engine(url)
    # as the first release left it: its people's tables made by create_all, no exchange yet
    Base.metadata.create_all(engine, tables=[Base.metadata.tables[t] for t in FIRST_RELEASE_PEOPLE])
    with engine.begin() as conn:
        conn.execute(sa.insert(Base.metadata.tables["cartable_person"]).values(
            username="p1", national_id="P1", role="pupil", school="S", last_name="A", first_name="B",
            active=True, source="roster", created_at=utcnow(), updated_at=utcnow()))
    engine.dispose()

    db = Database(url)
    tables = set(sa.inspect(db.engine).get_table_names())
    assert {"cartable_exchange_submission", "cartable_exchange_feedback", migrate.VERSION_TABLE} <= tables
    assert db.person("p1").first_name == "B"
    assert migrate.current(db.engine) == migrate.head()
    db.dispose()


OPEN = """
import sys
from cartable.core.db import Database
Database(sys.argv[1]).dispose()
"""


def open_together(url: str, n: int = 4):
    procs = [subprocess.Popen([sys.executable, "-c", OPEN, url], stderr=subprocess.PIPE, text=True)
             for _ in range(n)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * n, "\n".join(errors)


def test_processes_opening_a_new_sqlite_database_together(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.sqlite'}"
    open_together(url)
    engine = sa.create_engine(url)
    assert migrate.current(engine) == migrate.head()
    engine.dispose()


@pytest.mark.postgres
def test_postgresql_shared_with_jupyterhub(postgres):
    """Processes racing on a new PostgreSQL database; JupyterHub's own ``alembic_version`` and
    tables there are never touched."""
    url = postgres.new_database()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)"))
        conn.execute(sa.text("INSERT INTO alembic_version VALUES ('4621fec11365')"))
        conn.execute(sa.text("CREATE TABLE users (id serial PRIMARY KEY, name text)"))
    open_together(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "4621fec11365"
        assert migrate.current(engine) == migrate.head()
    assert {"users", "cartable_person", "cartable_exchange_submission"} <= set(sa.inspect(engine).get_table_names())
    db = Database(url)
    with db.session() as s:
        s.add(Person(username="t1", national_id="T1", role="teacher", school="S", last_name="A", first_name="B"))
    db.dispose()
    engine.dispose()
