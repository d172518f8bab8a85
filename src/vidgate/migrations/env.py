"""Alembic environment: runs on the connection that ``upgrade_database`` passes in."""

from __future__ import annotations

from alembic import context

from vidgate.db.dialect import is_sqlite
from vidgate.migrations import include_name
from vidgate.migrations import target_metadata as _target_metadata

config = context.config
target_metadata = _target_metadata()

if context.is_offline_mode():
    # `alembic upgrade --sql`: print the SQL for a DBA instead of running it.
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations with `vidgate migrate` (vidgate.migrations)")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        # SQLite cannot ALTER most things: Alembic copies the table instead.
        render_as_batch=is_sqlite(connection),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
