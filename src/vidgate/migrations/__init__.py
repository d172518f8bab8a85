"""The job store's schema migrations (Alembic), run from code: no ``alembic.ini`` needed.

``vidgate migrate`` calls :func:`upgrade_database`; it is idempotent (an up-to-date database is
left alone) and safe when several processes start at once (PostgreSQL: an advisory lock;
SQLite: ``BEGIN IMMEDIATE``). Migrations run in one transaction, so a failed one leaves the
schema as it was. On PostgreSQL the same transaction creates procrastinate's tables (the step
queue of :mod:`vidgate.jobs.step_queue`) when they are missing.

To write a new revision, add ``versions/NNNN_<what>.py`` by hand (``down_revision`` = the
previous one) and keep the models (:func:`target_metadata`) in step; a test compares the two.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import URL, Connection, MetaData, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from vidgate.db.dialect import advisory_lock, is_sqlite
from vidgate.db.engine import WRITE_OPTION, create_engine
from vidgate.errors import ConfigurationError
from vidgate.settings import Settings
from vidgate.storage.private import private_directory

__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "current_revision",
    "head_revision",
    "include_name",
    "open_migrated_engine",
    "target_metadata",
    "upgrade_database",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent
# Any constant works; it only has to be the same in every vidgate process.
_PG_MIGRATION_LOCK = 0x76_69_64_67_61_74_65  # "vidgate"


@contextlib.asynccontextmanager
async def open_migrated_engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """An engine on the database ``settings`` name, migrated first, disposed after (the CLI's
    stores: keys, budgets)."""
    private_directory(settings.data_dir)
    url = settings.resolved_database_url
    await upgrade_database(url)
    engine = create_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()


def alembic_config(**attributes: Any) -> Config:
    """Alembic configuration pointing at the migrations shipped inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.attributes.update(attributes)
    return config


def target_metadata() -> MetaData:
    """Every table the migrations manage, imported from the modules that declare them."""
    from vidgate.db.base import Base
    from vidgate.provider import health  # noqa: F401 (the provider_health table)
    from vidgate.tenancy import tables  # noqa: F401 (api_keys, uploads, budgets)
    from vidgate.webhooks import models as webhook_models  # noqa: F401 (the webhook tables)

    return Base.metadata


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Autogenerate's filter: procrastinate's tables are procrastinate's, not the models'."""
    return not (type_ == "table" and name is not None and name.startswith("procrastinate_"))


def head_revision() -> str:
    """The newest revision this code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships 0001
        raise RuntimeError("no migrations found")
    return head


async def upgrade_database(url: str | URL | AsyncEngine, revision: str = "head") -> None:
    """Bring the database at ``url`` (or behind an engine) up to ``revision``.

    A database at a revision this code does not know raises
    :class:`~vidgate.errors.ConfigurationError`.
    """
    engine = url if isinstance(url, AsyncEngine) else create_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execution_options(**{WRITE_OPTION: True})
            async with conn.begin():
                if not is_sqlite(conn):
                    # Two processes migrating at once: the second waits, then finds nothing to do.
                    await advisory_lock(conn, _PG_MIGRATION_LOCK)
                    await _create_step_queue_schema(conn)
                await conn.run_sync(_upgrade, revision)
    except CommandError as exc:
        # Typically a database migrated by a newer vidgate than this one.
        raise ConfigurationError(f"cannot migrate the job database: {exc}") from exc
    finally:
        if engine is not url:
            await engine.dispose()


async def current_revision(url: str | URL | AsyncEngine) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    engine = url if isinstance(url, AsyncEngine) else create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync_conn: MigrationContext.configure(sync_conn).get_current_revision()
            )
    finally:
        if engine is not url:
            await engine.dispose()


async def _create_step_queue_schema(conn: AsyncConnection) -> None:
    present = await conn.scalar(text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL"))
    if present:
        return
    from procrastinate.schema import SchemaManager

    # Several statements and $$-quoted functions: sent as one simple query, on this
    # connection so that it shares the migration's transaction and lock.
    raw = await conn.get_raw_connection()
    await raw.driver_connection.execute(SchemaManager.get_schema())  # type: ignore[union-attr]


def _upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection=connection), revision)
