"""What every table shares: the declarative ``Base``, timezone-aware UTC datetimes, and ids.

Times are timezone-aware UTC in Python; SQLite keeps them as naive UTC text, which sorts
correctly because every value is written by :class:`UTCDateTime` in the same format.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Integer, MetaData, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

from vidgate.db.dialect import is_sqlite

__all__ = ["Base", "BigId", "Json", "UTCDateTime", "new_job_id"]

# Crockford's base32: no I, L, O, U; sorts in the same order as the numbers it encodes.
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_id_lock = threading.Lock()
_last_id: tuple[int, int] = (0, 0)


def new_job_id() -> str:
    """A 26-character, time-sortable id (ULID layout: 48-bit ms timestamp + 80 random bits).

    Ids made by one process are strictly increasing, even within a millisecond or if the clock
    steps back (the random part is incremented), so ordering by id is ordering by creation,
    which cursor pagination uses. Also used for other records' ids (uploads).
    """
    global _last_id
    ms = time.time_ns() // 1_000_000
    with _id_lock:
        last_ms, last_rand = _last_id
        if ms <= last_ms and last_rand < (1 << 80) - 1:
            ms, rand = last_ms, last_rand + 1
        else:
            rand = int.from_bytes(os.urandom(10), "big")
        _last_id = (ms, rand)
    value = (ms << 80) | rand
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite has no timezone type)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: vidgate stores aware UTC times only")
        value = value.astimezone(UTC)
        # SQLite compares these as text: keep one format, without an offset.
        return value.replace(tzinfo=None) if is_sqlite(dialect) else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# One JSON type: JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
Json = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    # Named constraints, so Alembic migrations can refer to them on every backend.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: Json,
    }
