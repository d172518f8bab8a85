"""One error tree: every class in the code registry, every code the API sends in docs/api.md,
and each code read back by the client as the class that sent it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from vidgate import errors
from vidgate.api.errors import vidgate_error_response
from vidgate.client import error_from_response
from vidgate.errors import ERRORS_BY_CODE, FieldProblem, VidgateError

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _tree() -> list[type[VidgateError]]:
    found = [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, VidgateError)
    ]
    return sorted(found, key=lambda cls: cls.__name__)


def test_every_class_but_the_root_is_in_the_registry_under_its_own_code() -> None:
    classes = [cls for cls in _tree() if cls is not VidgateError]
    for cls in classes:
        assert "code" in vars(cls), f"{cls.__name__} declares no code of its own"
        assert ERRORS_BY_CODE[cls.code] is cls
    assert len(ERRORS_BY_CODE) == len(classes)  # no two classes share a code


@pytest.mark.parametrize("code", sorted(c for c, cls in ERRORS_BY_CODE.items() if cls.exposed))
def test_every_code_the_api_sends_is_documented(code: str) -> None:
    assert f"`{code}`" in (DOCS / "api.md").read_text()


def _instance(cls: type[VidgateError]) -> VidgateError:
    return cls.from_answer(
        "something went wrong", problems=[FieldProblem("a.b", "bad")], retry_after=7, size=10
    )


@pytest.mark.parametrize("code", sorted(ERRORS_BY_CODE))
def test_the_client_reads_back_the_class_the_renderer_sent(code: str) -> None:
    sent = _instance(ERRORS_BY_CODE[code])
    response = vidgate_error_response(sent, "req1")
    answer = httpx.Response(
        response.status_code, headers=dict(response.headers), content=bytes(response.body)
    )
    read = error_from_response(answer)
    expected = type(sent) if sent.exposed else errors.InternalError
    assert type(read) is expected
    assert answer.status_code == (sent.status_code if sent.exposed else 500)
    if sent.exposed:
        assert str(read) == str(sent)
    if isinstance(sent, errors.ValidationFailed):
        assert isinstance(read, errors.ValidationFailed) and read.problems == sent.problems
    if isinstance(sent, errors.TransientFault):
        assert isinstance(read, errors.TransientFault) and read.retry_after == 7
    if isinstance(sent, errors.RangeNotSatisfiable):
        assert isinstance(read, errors.RangeNotSatisfiable) and read.size == 10


def test_an_unknown_code_falls_back_by_status() -> None:
    def read(status: int) -> VidgateError:
        body = {"error": {"code": "from_the_future", "message": "new"}}
        return error_from_response(httpx.Response(status, json=body))

    assert type(read(418)) is errors.RequestError
    assert type(read(503)) is errors.TransientFault
    assert type(read(500)) is errors.InternalError
    assert type(read(422)) is errors.ValidationFailed
