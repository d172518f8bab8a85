"""The operator's API (``/v1/admin``) fuzzed with an admin key, on a real uvicorn server: the
general fuzz pass (test_openapi_fuzz.py) holds a plain key, which these routes refuse at once.
Schema-valid and schema-breaking requests to every ``/v1/admin`` operation: no 5xx, a documented
status, content type and body. Made keys, budgets and roles are real rows in the test's database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from api_helpers import T2V, bearer, make_settings
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from test_openapi_fuzz import CHECKS, SCALE, ServerThread

from vidgate.api.app import create_app
from vidgate.runtime import open_key_store
from vidgate.settings import Settings
from vidgate.tenancy.tables import KeyRole


async def make_admin_key(settings: Settings) -> str:
    async with open_key_store(settings) as keys:
        return (await keys.create_key("fuzz admin", role=KeyRole.ADMIN)).token


@pytest.fixture(scope="module")
def served_admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    settings = make_settings(tmp_path_factory.mktemp("fuzz-admin"))
    headers = bearer(asyncio.run(make_admin_key(settings)))
    with ServerThread(create_app(settings)) as base_url:
        # Something to list: a job of the admin key's own.
        httpx.post(f"{base_url}/v1/generations", json=T2V, headers=headers).raise_for_status()
        yield base_url, headers


def test_fuzz_the_admin_routes_with_an_admin_key(served_admin: tuple[str, dict[str, str]]) -> None:
    base_url, headers = served_admin
    schema = schemathesis.openapi.from_dict(httpx.get(f"{base_url}/openapi.json").json())
    calls = 0
    failures: list[str] = []
    operations = [r.ok() for r in schema.get_all_operations()]
    admin = [o for o in operations if o.path.startswith("/v1/admin")]
    assert len(admin) == 9, [o.label for o in admin]
    for operation in admin:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=12 * SCALE,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: schemathesis.Case) -> None:
                nonlocal calls
                calls += 1
                response = case.call(base_url=base_url, headers=headers, timeout=30)
                case.validate_response(response, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:
                pass  # nothing to break (an operation without parameters)
            except Exception as exc:  # every operation's failure, then all of them
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)
    # The admin key still works: no case revoked or demoted it (its id is never guessed); and
    # the valid cases reached the handlers: they made keys.
    keys = httpx.get(f"{base_url}/v1/admin/keys", headers=headers)
    assert keys.status_code == 200 and len(keys.json()["data"]) > 1
    print(f"schemathesis on /v1/admin: {calls} requests")
    assert calls >= 100
