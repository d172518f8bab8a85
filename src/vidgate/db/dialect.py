"""The one place that knows SQLite from PostgreSQL: row locks, advisory locks, upserts, claims.

vidgate runs the same SQL on both, except where they really differ:

- **Row locks.** PostgreSQL takes them with ``SELECT ... FOR UPDATE`` (:func:`for_update`);
  SQLite has none, and needs none: every write transaction starts with ``BEGIN IMMEDIATE`` and holds
  the database's one write lock (:mod:`vidgate.db.engine`), and writers of one process queue on
  an asyncio lock first (:func:`write_lock`).
- **Advisory locks** (:func:`advisory_lock`): PostgreSQL serialises writers of one concern (event
  ids, a model's submission slots) on a transaction lock; on SQLite the write lock already does.
- **Upserts** (:func:`insert_or_ignore`): each dialect's ``INSERT ... ON CONFLICT DO NOTHING``.
- **Claims** (:func:`claim_due`): leasing due rows to one worker. PostgreSQL skips rows another
  claimer has locked (``FOR UPDATE SKIP LOCKED``); SQLite updates the rows chosen by a subquery,
  nobody else writing in between.
- **Days** (:func:`utc_day`): the UTC calendar day of a stored time, as ``YYYY-MM-DD`` text.
- **Lower case** (:func:`lowered`): SQLite's ``lower()`` folds ASCII letters only, so vidgate's
  SQLite connections carry a function that folds every letter as Python does.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import weakref
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Dialect,
    Engine,
    Select,
    String,
    Table,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

__all__ = [
    "SQLITE_LOWER",
    "Bind",
    "Lease",
    "advisory_key",
    "advisory_lock",
    "claim_due",
    "for_update",
    "insert_or_ignore",
    "is_sqlite",
    "lower_text",
    "lowered",
    "utc_day",
    "write_lock",
]

#: The SQL function :func:`lowered` calls on SQLite (:mod:`vidgate.db.engine` registers it).
SQLITE_LOWER = "vidgate_lower"

#: Anything that tells which database it talks to.
Bind = AsyncEngine | AsyncConnection | AsyncSession | Engine | Connection | Dialect

_T = TypeVar("_T")
_S = TypeVar("_S", bound=Select[Any])
_ORM_UPDATE = {"synchronize_session": False, "populate_existing": True}
_write_locks: weakref.WeakKeyDictionary[Engine, asyncio.Lock] = weakref.WeakKeyDictionary()


def _dialect(bind: Bind) -> Dialect:
    if isinstance(bind, Dialect):
        return bind
    if isinstance(bind, AsyncSession):
        return bind.get_bind().dialect
    return bind.dialect


def is_sqlite(bind: Bind) -> bool:
    """True on SQLite, False on PostgreSQL (the two backends vidgate runs on)."""
    return _dialect(bind).name == "sqlite"


def write_lock(engine: AsyncEngine) -> contextlib.AbstractAsyncContextManager[Any]:
    """What a writer of this process holds around a write transaction.

    SQLite: one asyncio lock per engine (SQLite has one writer at a time anyway).
    PostgreSQL: nothing; row locks do the work.
    """
    if not is_sqlite(engine):
        return contextlib.nullcontext()
    lock = _write_locks.get(engine.sync_engine)
    if lock is None:
        lock = _write_locks[engine.sync_engine] = asyncio.Lock()
    return lock


def for_update(stmt: _S, bind: Bind, *, skip_locked: bool = False, key_share: bool = False) -> _S:
    """``stmt`` locking the rows it reads until commit (PostgreSQL); unchanged on SQLite.

    ``skip_locked``: rows another transaction holds are left out instead of waited for.
    ``key_share``: ``FOR NO KEY UPDATE``, which lets inserts referencing the rows go on.
    """
    if is_sqlite(bind):
        return stmt  # BEGIN IMMEDIATE already excludes every other writer
    return stmt.with_for_update(skip_locked=skip_locked, key_share=key_share)


def advisory_key(name: str) -> int:
    """A PostgreSQL advisory lock key (signed 64 bits) for ``name``, the same in every process."""
    digest = hashlib.sha256(name.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def advisory_lock(session: AsyncSession | AsyncConnection, key: int) -> None:
    """Hold the advisory lock ``key`` until the transaction ends (PostgreSQL; SQLite: nothing,
    the write lock is already held)."""
    if not is_sqlite(session):
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def insert_or_ignore(table: type[Any] | Table, bind: Bind, *, index_elements: Sequence[str]) -> Any:
    """``INSERT ... ON CONFLICT (index_elements) DO NOTHING`` in the bind's dialect; add
    ``.values(...)``."""
    insert = sqlite.insert if is_sqlite(bind) else postgresql.insert
    return insert(table).on_conflict_do_nothing(index_elements=list(index_elements))


class Lease(NamedTuple):
    """What a claimer asks :func:`claim_due` for."""

    worker_id: str
    now: datetime
    seconds: float
    #: The most rows to claim.
    limit: int


async def claim_due(
    session: AsyncSession,
    table: type[_T],
    due_at: InstrumentedAttribute[datetime],
    lease: Lease,
    *,
    where: Sequence[ColumnElement[bool]] = (),
    values: Mapping[str, Any] | None = None,
) -> list[_T]:
    """Lease up to ``lease.limit`` due rows of ``table`` to ``lease.worker_id``, oldest due first.

    Due: ``due_at <= now``, every condition in ``where``, and no lease or an expired one
    (``table`` has ``id``, ``lease_owner``, ``lease_expires_at`` and ``updated_at``). Each claimed
    row gets ``lease_owner=worker_id``, ``lease_expires_at=now + seconds``, ``updated_at=now``
    and ``values``. Two concurrent claimers never receive the same row while its lease lasts.
    Run it in a write transaction.
    """
    worker_id, now, lease_seconds, limit = lease
    leased: Any = table  # the lease columns every claimable table has
    due = (
        select(leased.id)
        .where(
            due_at <= now,
            *where,
            or_(leased.lease_expires_at.is_(None), leased.lease_expires_at <= now),
        )
        .order_by(due_at, leased.id)
        .limit(limit)
    )
    chosen: ColumnElement[bool]
    if is_sqlite(session):
        # The write lock is taken at BEGIN IMMEDIATE: nobody else can claim in between.
        chosen = leased.id.in_(due.scalar_subquery())
    else:
        # Rows another claimer has locked are skipped, not waited for; NO KEY UPDATE lets rows
        # referencing the claimed ones (attempts, events) be inserted meanwhile.
        locked = due.with_for_update(skip_locked=True, key_share=True).cte("due")
        chosen = leased.id == locked.c.id
    stmt = (
        update(leased)
        .where(chosen)
        .values(
            lease_owner=worker_id,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            updated_at=now,
            **(values or {}),
        )
        .returning(leased)
        .execution_options(**_ORM_UPDATE)
    )
    claimed: list[_T] = list(await session.scalars(stmt))
    claimed.sort(key=lambda row: (getattr(row, due_at.key), getattr(row, leased.id.key)))
    return claimed


def utc_day(
    column: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None], bind: Bind
) -> ColumnElement[str]:
    """SQL: the UTC day of a stored time, as ``YYYY-MM-DD`` text."""
    if is_sqlite(bind):
        # Stored as naive UTC text, 'YYYY-MM-DD HH:MM:SS...' (see vidgate.db.base.UTCDateTime).
        return func.substr(column, 1, 10, type_=String)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD", type_=String)


def lower_text(value: object) -> object:
    """What :data:`SQLITE_LOWER` computes: the text in lower case (as PostgreSQL's ``lower()``
    in a UTF-8 database), anything else as it is."""
    return value.lower() if isinstance(value, str) else value


def lowered(
    expr: ColumnElement[Any] | InstrumentedAttribute[Any], bind: Bind
) -> ColumnElement[str]:
    """SQL: ``expr`` in lower case, every letter (compare it with Python's ``str.lower()``)."""
    if is_sqlite(bind):
        return getattr(func, SQLITE_LOWER)(expr, type_=String)  # type: ignore[no-any-return]
    return func.lower(expr, type_=String)
