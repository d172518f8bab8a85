"""Making the job store's engine: SQLite (the embedded default) or PostgreSQL, from one URL.

SQLite is tuned for one machine with several writers: WAL (readers never block the writer),
``synchronous=NORMAL`` (a commit survives a process crash; only a power cut can lose the last
ones), a busy timeout, foreign keys on. Write transactions start with ``BEGIN IMMEDIATE``, so a
transaction that reads then writes takes the write lock up front instead of failing with
"database is locked" half-way; writers of one process also queue on an asyncio lock, so they wait
in the event loop rather than in SQLite's busy handler.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import URL, event, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

from vidgate.db.dialect import SQLITE_LOWER, lower_text, write_lock
from vidgate.errors import ConfigurationError
from vidgate.storage.private import private_file

__all__ = [
    "SQLITE_BUSY_TIMEOUT_MS",
    "WRITE_OPTION",
    "Transactions",
    "create_engine",
    "normalize_url",
    "pool_limits",
]

#: How long a SQLite writer waits for another process's write lock before giving up.
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Execution option marking a transaction that will write (``BEGIN IMMEDIATE`` on SQLite).
WRITE_OPTION = "vidgate_write"

_DRIVERS = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+psycopg": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}


def normalize_url(url: str | URL) -> URL:
    """The async-driver form of a database URL (``postgresql://`` -> ``postgresql+asyncpg://``).

    libpq's ``sslmode`` query parameter is renamed to asyncpg's ``ssl``.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(f"invalid database URL: {exc}") from exc
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ConfigurationError(
            f"unsupported database URL scheme {parsed.drivername!r}: use sqlite:// or postgresql://"
        )
    parsed = parsed.set(drivername=driver)
    if driver.startswith("postgresql") and "sslmode" in parsed.query:
        query = dict(parsed.query)
        query["ssl"] = query.pop("sslmode")
        parsed = parsed.set(query=query)
    return parsed


def create_engine(url: str | URL, **kwargs: Any) -> AsyncEngine:
    """An :class:`AsyncEngine` for ``url``, configured for the job store.

    A SQLite file is made 0600 (its directory 0700) before SQLite opens it, so it and its
    ``-wal`` and ``-shm`` files are private whatever the umask. Extra ``kwargs`` go to
    :func:`sqlalchemy.ext.asyncio.create_async_engine`.
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_async_engine(parsed, **kwargs)

    database = parsed.database
    if not database or database == ":memory:":
        # One connection, or every connection would see its own empty database.
        kwargs.setdefault("poolclass", StaticPool)
    else:
        private_file(Path(database))
    engine = create_async_engine(parsed, **kwargs)
    event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
    event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
    return engine


def pool_limits(url: str | URL, connections: int) -> dict[str, Any]:
    """Engine arguments holding a PostgreSQL pool to ``connections`` (SQLite: nothing to hold).

    Many processes share one server's ``max_connections``; a step that finds the pool busy waits
    for a connection instead of opening one more.
    """
    if normalize_url(url).get_backend_name() == "sqlite":
        return {}
    return {"pool_size": connections, "max_overflow": 0, "pool_timeout": 60}


class Transactions:
    """Read and write transactions on one engine: what every table's store opens its work with.

    A write transaction starts with ``BEGIN IMMEDIATE`` on SQLite and is taken under the
    process's write lock (:func:`~vidgate.db.dialect.write_lock`); both commit on success and
    roll back on error.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._read_sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._write_sessions = async_sessionmaker(
            engine, expire_on_commit=False, execution_options={WRITE_OPTION: True}
        )
        self._write_lock = write_lock(engine)

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        async with self._read_sessions() as session, session.begin():
            yield session

    @contextlib.asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncSession]:
        async with self._write_lock, self._write_sessions() as session, session.begin():
            yield session


def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself, so it can choose IMMEDIATE.
    dbapi_connection.isolation_level = None
    dbapi_connection.create_function(SQLITE_LOWER, 1, lower_text, deterministic=True)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Any) -> None:
    immediate = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
