"""Fixtures shared by every test tier.

- Every test starts with no ``VIDGATE_*`` / ``RUNWAYML_*`` variable set and a fresh settings cache.
- Databases are real: ``sqlite_url`` is a migrated SQLite file in ``tmp_path``; ``postgres_url``
  is a fresh PostgreSQL database cloned from a migrated template (``CREATE DATABASE ... TEMPLATE``)
  and dropped afterwards; ``database_url`` runs a test once on each.
- PostgreSQL comes from ``VIDGATE_TEST_POSTGRES_URL`` (CI always sets it); when it is unset the
  PostgreSQL tests are deselected and the run's header says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest
import schemathesis.reporting.html.writer
import schemathesis.reporting.junitxml
from psycopg import sql
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from vidgate.db.engine import create_engine
from vidgate.emulator.server import EmulatorServer
from vidgate.jobs.store import JobStore
from vidgate.migrations import MIGRATIONS_DIR, upgrade_database
from vidgate.settings import get_settings

# schemathesis' pytest plugin imports its report writers (above) at session end, where pytest
# rewrites them with ast.parse; on CPython 3.11.7 that often fails ("AST constructor recursion
# depth mismatch", fixed in 3.11.8) and fails a run whose every test passed. Imported now instead.
with contextlib.suppress(ImportError):
    import schemathesis.reporting.allure  # noqa: F401

# Read once, before the autouse fixture below clears every VIDGATE_* variable.
POSTGRES_URL = os.environ.get("VIDGATE_TEST_POSTGRES_URL") or None
_NO_POSTGRES = "VIDGATE_TEST_POSTGRES_URL is unset: PostgreSQL tests are deselected"
# Any constant: serialises template creation between xdist workers and concurrent runs.
_TEMPLATE_LOCK = 0x76_67_74_65_73_74  # "vgtest"
_deselected_key = pytest.StashKey[int]()

T = TypeVar("T")


def run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine from sync code in a thread of its own (never disturbs a test's loop)."""

    async def main() -> T:
        return await make()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


# -- environment ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(("VIDGATE_", "RUNWAYML_")):
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


# -- PostgreSQL deselection ----------------------------------------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if {"postgres_url", "postgres_server_url"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)
    if POSTGRES_URL:
        return
    kept = [item for item in items if item.get_closest_marker("postgres") is None]
    dropped = [item for item in items if item.get_closest_marker("postgres") is not None]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    config.stash[_deselected_key] = len(dropped)


def pytest_report_header(config: pytest.Config) -> str:
    if POSTGRES_URL:
        return f"postgres: {POSTGRES_URL}"
    return f"postgres: {_NO_POSTGRES}"


def pytest_sessionfinish(session: pytest.Session) -> None:
    # Under xdist the workers collect: each reports its count to the controller.
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["postgres_deselected"] = session.config.stash.get(_deselected_key, 0)


@pytest.hookimpl(optionalhook=True)  # an xdist hook: absent without xdist
def pytest_testnodedown(node: Any, error: object) -> None:
    count = getattr(node, "workeroutput", {}).get("postgres_deselected", 0)
    config = node.config
    config.stash[_deselected_key] = max(config.stash.get(_deselected_key, 0), count)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    dropped = config.stash.get(_deselected_key, 0)
    if not POSTGRES_URL:
        if dropped:
            terminalreporter.write_line(
                f"{dropped} PostgreSQL tests deselected: VIDGATE_TEST_POSTGRES_URL is unset",
                yellow=True,
            )
        else:
            terminalreporter.write_line(_NO_POSTGRES, yellow=True)


# -- SQLite -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "vidgate.db"
    run_sync(lambda: upgrade_database(f"sqlite:///{path}"))
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, _sqlite_template: Path) -> str:
    """URL of a migrated SQLite database of this test's own."""
    path = tmp_path / "vidgate.db"
    for suffix in ("", "-wal"):
        source = _sqlite_template.with_name(_sqlite_template.name + suffix)
        if source.exists():
            shutil.copyfile(source, path.with_name(path.name + suffix))
    return f"sqlite+aiosqlite:///{path}"


# -- PostgreSQL ---------------------------------------------------------------------------------


def _postgres_url(database: str) -> str:
    assert POSTGRES_URL is not None
    url = make_url(POSTGRES_URL).set(database=database)
    return url.render_as_string(hide_password=False)


def _admin() -> psycopg.Connection[Any]:
    assert POSTGRES_URL is not None
    return psycopg.connect(POSTGRES_URL, autocommit=True)


def _migrations_digest() -> str:
    # The template is named after the migrations that built it, so a changed migration
    # gets a new template while an unchanged one is reused by every worker and run.
    digest = hashlib.sha256()
    for path in sorted(MIGRATIONS_DIR.rglob("*.py")):
        digest.update(path.relative_to(MIGRATIONS_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _ensure_template(template: str) -> None:
    with _admin() as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_TEMPLATE_LOCK,))
        try:
            found = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (template,)
            ).fetchone()
            if found is not None:
                return
            # Build under another name and rename: a template is never seen half-made.
            building = f"{template}_build"
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(building)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(building)))
            run_sync(lambda: upgrade_database(_postgres_url(building)))
            conn.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(building), sql.Identifier(template)
                )
            )
            # Templates of older migrations are garbage; a run still using one rebuilds it.
            stale = conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE 'vidgate\\_tpl\\_%%' "
                "AND datname <> %s AND datname NOT LIKE '%%\\_build'",
                (template,),
            ).fetchall()
            for (name,) in stale:
                with contextlib.suppress(psycopg.Error):
                    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_TEMPLATE_LOCK,))


@pytest.fixture(scope="session")
def _postgres_template() -> str:
    if not POSTGRES_URL:
        pytest.skip(_NO_POSTGRES)
    template = f"vidgate_tpl_{_migrations_digest()}"
    _ensure_template(template)
    return template


def _create_database(template: str) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"vidgate_test_{worker}_{uuid.uuid4().hex[:12]}"
    statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(name), sql.Identifier(template)
    )
    with _admin() as conn:
        try:
            conn.execute(statement)
        except psycopg.errors.InvalidCatalogName:
            # Another run with other migrations dropped our template: make it again.
            _ensure_template(template)
            conn.execute(statement)
    return name


def _drop_database(name: str) -> None:
    with _admin() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def postgres_server_url() -> str:
    """VIDGATE_TEST_POSTGRES_URL itself, for tests that make databases of their own."""
    assert POSTGRES_URL is not None
    return POSTGRES_URL


@pytest.fixture
def postgres_url(_postgres_template: str) -> Iterator[str]:
    """URL (``postgresql://``) of a migrated PostgreSQL database of this test's own."""
    name = _create_database(_postgres_template)
    try:
        yield _postgres_url(name)
    finally:
        _drop_database(name)


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    """URL of a PostgreSQL database with no tables at all (for migration tests)."""
    if not POSTGRES_URL:
        pytest.skip(_NO_POSTGRES)
    name = _create_database("template0")
    try:
        yield _postgres_url(name)
    finally:
        _drop_database(name)


# -- both backends ------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """A migrated database URL, once on SQLite and once on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An unmigrated database URL, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    url: str = request.getfixturevalue("empty_postgres_url")
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on ``database_url``, disposed after the test."""
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def job_store(engine: AsyncEngine) -> JobStore:
    """A :class:`~vidgate.jobs.store.JobStore` on ``engine`` (both backends)."""
    return JobStore(engine)


# -- the emulator ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def emulator_server() -> Iterator[EmulatorServer]:
    """One emulator (a real HTTP server on 127.0.0.1) per test module; tests reset it."""
    with EmulatorServer() as server:
        yield server
