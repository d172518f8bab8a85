"""Storing a 200 MB output: throughput against curl on loopback, and memory growth.

The goal (issue): a 200 MB output is stored at no less than 0.8x the speed of ``curl`` on
loopback, with RSS growth of at most 32 MB.

A plain HTTP server in its own process (``sendfile``, so the server is not what limits either
client) serves one 200 MB file of random bytes. Both clients fetch the same URL, alternating,
five times each: ``curl -s -o FILE URL``, and vidgate's download path in a fresh process,
``Storage.save_from(key, body)`` of the body ``RunwayProvider.open_output(url)`` opens, into a
``file://`` storage, as the worker stores an output (one worker thread reads 1 MiB into a buffer,
hashes it and writes it under a temporary name, again, then renames). The
pipeline's time is that call alone; curl's is its process, start to exit. RSS growth is the
process's peak RSS during the call (psutil, sampled every 10 ms) minus its RSS just before it,
measured after a 1 MiB warm-up download so one-off allocations (imports, connection pool) are in
the baseline.

One reference reader runs in the same child after vidgate's path (timing only, not vidgate's
code): ``httpx_discard`` streams the URL with httpx, the SDK's HTTP client, and throws the bytes
away: the ceiling of the path vidgate used before (docs/benchmarks.md explains the change).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

from bench.common import MIB, ROOT, RssSampler, median, run_child

__all__ = ["GOAL_RATIO", "GOAL_RSS_GROWTH_MIB", "SIZE", "run"]

GOAL_RATIO: Final = 0.8
GOAL_RSS_GROWTH_MIB: Final = 32
SIZE: Final = 200 * 1000 * 1000  # 200 MB
WARMUP_SIZE: Final = MIB
ROUNDS: Final = 5


# --- the server ------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    root: Path

    def do_GET(self) -> None:
        self._serve(body=True)

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def _serve(self, *, body: bool) -> None:
        path = self.root / self.path.lstrip("/").split("?", 1)[0]
        if not path.is_file():
            self.send_error(404)
            return
        size = path.stat().st_size
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        if body:
            with path.open("rb") as handle:
                offset = 0
                while offset < size:
                    sent = os.sendfile(self.wfile.fileno(), handle.fileno(), offset, size - offset)
                    if sent == 0:
                        break
                    offset += sent

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(directory: str) -> None:
    _Handler.root = Path(directory)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    sock: socket.socket = server.socket
    print(json.dumps({"port": sock.getsockname()[1]}), flush=True)
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # until the parent closes our stdin
    server.shutdown()


# --- vidgate's download path, in a fresh process ---------------------------------------------


async def _fetch(url: str, warmup_url: str, directory: str) -> dict[str, Any]:
    from vidgate.provider.runway import RunwayProvider
    from vidgate.runtime import EMULATOR_API_KEY
    from vidgate.storage import Storage

    storage = Storage.from_url(Path(directory).as_uri())
    provider = RunwayProvider(api_key=EMULATOR_API_KEY, base_url="http://127.0.0.1:9")
    async with provider.open_output(warmup_url) as body:
        await storage.save_from("warmup.mp4", body, length=body.length)
    gc.collect()
    with RssSampler(interval=0.01) as sampler:
        before = sampler.sample()
        start = time.perf_counter()
        async with provider.open_output(url) as body:
            stored = await storage.save_from("video.mp4", body, length=body.length)
        seconds = time.perf_counter() - start
        after = sampler.sample()
    await provider.aclose()
    references = {
        "httpx_discard_mb_per_s": await _timed(_httpx_discard(url)),
    }
    return references | {
        "bytes": stored.size,
        "seconds": round(seconds, 3),
        "mb_per_s": round(stored.size / seconds / 1e6, 1),
        "rss_before_mib": round(before / MIB, 1),
        "rss_peak_mib": round(sampler.peak / MIB, 1),
        "rss_growth_mib": round((sampler.peak - before) / MIB, 1),
        "rss_after_growth_mib": round((after - before) / MIB, 1),
        "rss_samples": sampler.samples,
    }


async def _timed(work: Any) -> float:
    start = time.perf_counter()
    size: int = await work
    return round(size / (time.perf_counter() - start) / 1e6, 1)


async def _httpx_discard(url: str) -> int:
    import httpx

    size = 0
    async with httpx.AsyncClient(timeout=60) as client, client.stream("GET", url) as response:
        async for chunk in response.aiter_raw(MIB):
            size += len(chunk)
    return size


def _curl(url: str, dest: Path) -> dict[str, Any]:
    start = time.perf_counter()
    subprocess.run(["curl", "-s", "-f", "-o", str(dest), url], check=True)
    seconds = time.perf_counter() - start
    size = dest.stat().st_size
    dest.unlink()
    return {"bytes": size, "seconds": round(seconds, 3), "mb_per_s": round(size / seconds / 1e6, 1)}


# --- the parent ------------------------------------------------------------------------------


def run(rounds: int = ROUNDS) -> dict[str, Any]:
    if shutil.which("curl") is None:
        return {"skipped": "curl is not installed (apt-get install -y curl)"}
    with tempfile.TemporaryDirectory(prefix="vidgate-bench-dl-") as tmp:
        served = Path(tmp) / "served"
        served.mkdir()
        with (served / "big.mp4").open("wb") as handle:
            for _ in range(SIZE // MIB):
                handle.write(os.urandom(MIB))
            handle.write(os.urandom(SIZE % MIB))
        (served / "warmup.mp4").write_bytes(os.urandom(WARMUP_SIZE))
        server = subprocess.Popen(
            [sys.executable, "-m", "bench.download", "serve", str(served)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            port = json.loads(server.stdout.readline())["port"]
            base = f"http://127.0.0.1:{port}"
            curl_runs, pipeline_runs = [], []
            for index in range(rounds):
                curl_runs.append(_curl(f"{base}/big.mp4", Path(tmp) / "curl.out"))
                target = Path(tmp) / f"store-{index}"
                pipeline_runs.append(
                    run_child(
                        "bench.download",
                        "fetch",
                        f"{base}/big.mp4",
                        f"{base}/warmup.mp4",
                        str(target),
                    )
                )
                shutil.rmtree(target, ignore_errors=True)
        finally:
            assert server.stdin is not None
            server.stdin.close()
            server.wait(timeout=10)
    curl_speed = median([r["mb_per_s"] for r in curl_runs])
    references = {
        name: median([r[f"{name}_mb_per_s"] for r in pipeline_runs]) for name in ("httpx_discard",)
    }
    pipeline_speed = median([r["mb_per_s"] for r in pipeline_runs])
    growth = median([r["rss_growth_mib"] for r in pipeline_runs])
    worst_growth = max(r["rss_growth_mib"] for r in pipeline_runs)
    ratio = pipeline_speed / curl_speed
    return {
        "size_bytes": SIZE,
        "rounds": rounds,
        "curl": curl_runs,
        "pipeline": pipeline_runs,
        "curl_mb_per_s": curl_speed,
        "pipeline_mb_per_s": pipeline_speed,
        "ratio": round(ratio, 3),
        "httpx_discard_mb_per_s": references["httpx_discard"],
        "rss_growth_mib": growth,
        "rss_growth_max_mib": worst_growth,
        "goal_ratio": GOAL_RATIO,
        "goal_rss_growth_mib": GOAL_RSS_GROWTH_MIB,
        "speed_met": ratio >= GOAL_RATIO,
        "memory_met": worst_growth <= GOAL_RSS_GROWTH_MIB,
        "met": ratio >= GOAL_RATIO and worst_growth <= GOAL_RSS_GROWTH_MIB,
    }


def main(argv: list[str]) -> None:
    if argv and argv[0] == "serve":
        _serve(argv[1])
    elif argv and argv[0] == "fetch":
        print(json.dumps(asyncio.run(_fetch(argv[1], argv[2], argv[3]))))
    else:
        print(json.dumps(run(), indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
