"""A log an operator can share (docs/settings.md, ``VIDGATE_LOG_FORMAT``): ``vidgate serve``'s
lines hold no working signed link, each refused request's line says why (its error code, a 422's
fields), and a body or an upload refused for a limit is one line naming the limit's setting.

(Every server the ``serve`` fixture starts is also checked for ``signature=`` when it stops.)
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import runwayml
from serving import T2V, Served, vidgate_env

from vidgate.emulator.testing import still_image


@pytest.mark.parametrize("log_format", ["human", "json"])
def test_no_signed_link_and_every_refusal_says_why(
    tmp_path: Path, serve: type[Served], log_format: str
) -> None:
    env = vidgate_env(
        tmp_path / "var",
        VIDGATE_LOG_FORMAT=log_format,
        VIDGATE_JSON_BODY_MAX_BYTES="4096",
        VIDGATE_UPLOAD_MAX_BYTES="1024",
    )
    server = serve(env=env)
    runway = runwayml.RunwayML(api_key="anything", base_url=f"{server.url}/runway")
    body = {k: v for k, v in T2V.items() if k != "endpoint"}
    task = runway.text_to_video.create(
        model=body["model"],
        prompt_text=body["promptText"],
        ratio=body["ratio"],
        duration=body["duration"],
    ).wait_for_task_output()
    assert task.status == "SUCCEEDED" and task.output
    link = task.output[0]
    signature = httpx.URL(link).params["signature"]
    assert "signature=" in link and len(signature) > 20
    with httpx.Client(base_url=server.url, timeout=60) as client:
        assert client.get(link).status_code == 200
        forged = link.replace("signature=", "signature=x")
        assert client.get(forged).status_code == 403
        nul = client.post(
            "/v1/generations",
            content=json.dumps({**T2V, "promptText": "a\x00b"}),
            headers={"Content-Type": "application/json"},
        )
        assert nul.status_code == 422
        large = client.post("/v1/generations", json={**T2V, "promptText": "a" * 5000})
        assert large.status_code == 413
        upload = client.post(
            "/v1/uploads", files={"file": ("a.png", still_image(8, 8) + bytes(4096))}
        )
        assert upload.status_code == 413
    server.stop()

    lines = server.output.splitlines()
    assert not [line for line in lines if "signature=" in line]
    assert signature not in server.output
    downloads = [line for line in lines if "/files/" in line]
    assert len(downloads) == 2, downloads
    assert all("signature[redacted]" in line for line in downloads)
    assert "link_invalid" in downloads[1]

    def only(*words: str) -> str:
        [found] = [line for line in lines if all(word in line for word in words)]
        return found

    refused = only("POST /v1/generations", "422")
    assert "validation_failed" in refused and "promptText" in refused
    assert "413" in only("POST /v1/generations", "413", "payload_too_large")
    assert "4096" in only("refused the body of POST /v1/generations", "VIDGATE_JSON_BODY_MAX_BYTES")
    assert "1024" in only("refused the upload of POST /v1/uploads", "VIDGATE_UPLOAD_MAX_BYTES")
    if log_format == "json":
        access = [json.loads(line) for line in lines if '"event": "access"' in line]
        [record] = [r for r in access if r["status"] == 422]
        assert (record["error_code"], record["error_fields"]) == (
            "validation_failed",
            ["promptText"],
        )
        assert all("error_code" not in r for r in access if r["status"] < 400)
