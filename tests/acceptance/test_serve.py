"""``vidgate serve`` and ``vidgate keys`` as real processes, driven over HTTP.

* a gen4.5 text to video job end to end in emulator mode, the video fetched with a Range request;
* a 2 GB upload streamed at the server is refused at the cap while its memory barely moves;
* without keys the server refuses to listen beyond loopback; with one, auth is enforced.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import threading
import time
from pathlib import Path

import httpx
import psutil
from serving import Served, run_vidgate, vidgate_env

from vidgate.tenancy.keys import CACHE_SECONDS

MIB = 1024 * 1024


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_vidgate(*args, env=env, cwd=Path(env["VIDGATE_DATA_DIR"]), timeout=60)


def test_text_to_video_end_to_end_with_a_range_download(
    tmp_path: Path, serve: type[Served]
) -> None:
    server = serve(env=vidgate_env(tmp_path, task_seconds=0.5))
    assert "emulator mode" in server.output
    with httpx.Client(base_url=server.url, timeout=60) as client:
        health = client.get("/healthz").json()
        assert health["mode"] == "emulator" and health["auth"] == "off"
        body = {
            "endpoint": "text_to_video",
            "model": "gen4.5",
            "promptText": "a paper boat on a rainy street",
            "ratio": "1280:720",
            "duration": 2,
        }
        created = client.post("/v1/generations", json=body)
        assert created.status_code == 202, created.text
        job_id = created.json()["id"]
        deadline = time.monotonic() + 60
        job = created.json()
        while job["status"] not in ("succeeded", "failed", "cancelled"):
            assert time.monotonic() < deadline, job
            job = client.get(f"/v1/generations/{job_id}", params={"wait": 10}).json()
        assert job["status"] == "succeeded", job
        size = job["output"]["bytes"]
        part = client.get(job["links"]["video"], headers={"Range": "bytes=0-1023"})
        assert part.status_code == 206
        assert part.headers["content-type"] == "video/mp4"
        assert part.headers["content-range"] == f"bytes 0-1023/{size}"
        assert len(part.content) == 1024
        assert part.content[4:8] == b"ftyp"
        rest = client.get(job["links"]["video"], headers={"Range": "bytes=1024-"})
        assert rest.status_code == 206 and len(part.content) + len(rest.content) == size


async def test_two_gigabyte_upload_is_refused_at_the_cap_in_flat_memory(
    tmp_path: Path, serve: type[Served]
) -> None:
    """A client streams 2 GB (chunked, made lazily) and reads while it writes, as curl does."""
    cap = 200 * MIB  # the default: Runway's ephemeral upload limit
    server = serve("--no-worker", env=vidgate_env(tmp_path, task_seconds=0.5))
    process = psutil.Process(server.process.pid)
    async with httpx.AsyncClient(base_url=server.url) as client:
        assert (await client.get("/readyz")).status_code == 200
    baseline = process.memory_info().rss
    peak = baseline
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    sent = 0

    async def send_two_gigabytes() -> None:
        nonlocal sent
        writer.write(
            f"POST /v1/uploads HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n"
            "Content-Type: multipart/form-data; boundary=xx\r\n\r\n".encode()
        )
        head = b'--xx\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n\r\n'
        writer.write(b"%x\r\n%s\r\n" % (len(head), head))
        chunk = bytes(MIB)
        for _ in range(2048):
            writer.write(b"%x\r\n" % len(chunk))
            writer.write(chunk)
            writer.write(b"\r\n")
            await writer.drain()
            sent += len(chunk)
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    sending = asyncio.create_task(send_two_gigabytes())
    try:
        status_line = await asyncio.wait_for(reader.readline(), timeout=120)
        response = b""
        with contextlib.suppress(ConnectionError):
            while b"payload_too_large" not in response:
                more = await asyncio.wait_for(reader.read(65536), timeout=30)
                if not more:
                    break
                response += more
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await sending
        writer.close()
        stop.set()
        sampler.join()
    assert status_line.startswith(b"HTTP/1.1 413"), status_line
    assert b"payload_too_large" in response
    assert b"connection: close" in response.lower()
    assert sent < cap + 128 * MIB  # refused while the body was still coming, not after it
    assert peak - baseline <= 64 * MIB, f"RSS grew by {(peak - baseline) / MIB:.1f} MiB"
    assert list((tmp_path / "tmp").glob("*")) == []
    async with httpx.AsyncClient(base_url=server.url) as client:
        metrics = (await client.get("/metrics")).text
    print(f"refused after {sent / MIB:.0f} MiB sent; RSS grew {(peak - baseline) / MIB:.1f} MiB")
    assert 'route="/v1/uploads",status="413"} 1.0' in metrics


def test_refuses_a_public_address_without_keys_then_serves_with_one(
    tmp_path: Path, serve: type[Served]
) -> None:
    env = vidgate_env(tmp_path, task_seconds=0.5)
    refused = run_cli("serve", "--host", "0.0.0.0", "--port", "0", env=env)
    assert refused.returncode != 0
    said = " ".join((refused.stdout + refused.stderr).split())  # undo the console's wrapping
    assert "refusing to listen on 0.0.0.0" in said
    assert "vidgate keys create" in said

    created = run_cli("keys", "create", "--name", "ci", env=env)
    assert created.returncode == 0, created.stderr
    token = re.search(r"token: (vg_\S+)", created.stdout)
    assert token is not None, created.stdout
    key_id = re.search(r"(ak_[0-9a-f]+)", created.stdout)
    assert key_id is not None
    listed = run_cli("keys", "list", env=env)
    assert key_id.group(1) in listed.stdout and token.group(1) not in listed.stdout

    server = serve("--host", "0.0.0.0", "--no-worker", env=env)
    url = server.url.replace("0.0.0.0", "127.0.0.1")
    with httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("/v1/models").status_code == 401
        auth = {"Authorization": f"Bearer {token.group(1)}"}
        assert client.get("/v1/models", headers=auth).status_code == 200
        revoked = run_cli("keys", "revoke", key_id.group(1), env=env)
        assert revoked.returncode == 0, revoked.stderr
        # Revoked by another process: refused within the key cache's second.
        deadline = time.monotonic() + CACHE_SECONDS + 1
        while client.get("/v1/models", headers=auth).status_code != 401:
            assert time.monotonic() < deadline, "the revoked key is still accepted"
            time.sleep(0.1)
        assert client.get("/v1/models").status_code == 401  # still public: never auth off
