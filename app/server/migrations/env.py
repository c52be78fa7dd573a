"""Alembic environment for the server's tables (``app/server/tables.py``).

Run through ``app.server.database.run_migrations``, which hands over an open
connection; the Alembic command line works too with ``-x url=...``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from app.server import tables
from app.server.database import make_engine

config = context.config
target_metadata = tables.Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_offline() -> None:
    url = config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
    context.configure(url=str(url), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("Pass the database URL: alembic -x url=postgresql+psycopg://... upgrade head")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
