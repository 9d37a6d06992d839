"""Alembic's environment for Cartable's tables: run by :func:`cartable.core.migrate.upgrade` with
an engine, or by ``alembic -c cartable/core/migrations/alembic.ini`` to write a new revision."""

from alembic import context
from sqlalchemy import create_engine

from cartable.core.db import Base
from cartable.core.migrate import VERSION_TABLE

config = context.config
engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))


def only_cartable(name, type_, *_):
    # a PostgreSQL database shared with JupyterHub holds the Hub's tables too: never ours to touch
    return type_ != "table" or name.startswith("cartable_")


with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, version_table=VERSION_TABLE,
                      include_name=only_cartable, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
