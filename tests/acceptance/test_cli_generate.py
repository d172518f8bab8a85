"""``vidgate generate`` and ``vidgate jobs`` as real processes, in emulator mode.

* embedded (no --url): the recommender picks the model, the progress is printed line by line,
  the MP4 is saved and probes as the 2 s 1280x720 video asked for;
* against a running ``vidgate serve`` with API keys: a local image is uploaded first, the live
  Rich progress bar is drawn on a terminal, and jobs list / show / download find the job;
* errors: a 422 names its field, a missing key is a 401, both with exit code 2;
* Ctrl-C without a terminal on stdin cancels the job upstream without asking.
"""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from serving import VIDGATE, Served, run_vidgate, vidgate_env

from vidgate.media.probe import probe_media

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def assert_video(path: Path, *, seconds: float, width: int, height: int) -> None:
    info = probe_media(path)
    assert info.kind == "video" and info.mime_type == "video/mp4"
    assert info.duration_seconds is not None and abs(info.duration_seconds - seconds) < 0.2
    assert (info.width, info.height) == (width, height)
    assert info.video_codec == "h264"


def test_generate_embedded_recommends_shows_progress_and_saves(tmp_path: Path) -> None:
    env = vidgate_env(tmp_path / "var")
    result = run_vidgate(
        "generate", "a paper boat on a pond", "--duration", "2", "-o", "boat.mp4",
        env=env, cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    err = result.stderr
    assert "running vidgate in this process" in err
    assert "emulator mode" in err and "synthetic" in err
    assert re.search(r"model gen4\.5 \(recommended\): .*balance", err), err
    assert "using ratio 1280:720" in err
    job_id = re.search(
        r"job (\w{26}): gen4\.5, text_to_video, 1280:720, 2 s, est\. 24 credits", err
    )
    assert job_id, err
    # One line per change: state, percent, elapsed seconds, credits.
    lines = re.findall(r"^\s+(\w+)\s+(\d+)%\s+([\d.]+) s\s+(.*credits)$", err, re.MULTILINE)
    states = [state for state, *_ in lines]
    assert states[0] == "queued" and states[-1] == "succeeded", err
    assert "running" in states and "downloading" in states
    percents = [int(p) for state, p, *_ in lines if state == "running"]
    assert any(0 < p < 100 for p in percents), err
    assert lines[-1][3] == "24 credits"
    assert f"job {job_id.group(1)} succeeded (24 credits)" in err
    assert re.fullmatch(r"saved boat\.mp4 \(\d+ kB, 2 s, 1280x720, h264\)\n", result.stdout)
    assert_video(tmp_path / "boat.mp4", seconds=2, width=1280, height=720)
    assert not list(tmp_path.glob(".*.part"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, str, Path]]:
    """``vidgate serve`` with one API key (so auth is on); yields it, the token, a work dir."""
    work = tmp_path_factory.mktemp("cli-serve")
    env = vidgate_env(work / "var")
    created = run_vidgate("keys", "create", "--name", "cli", env=env, cwd=work)
    assert created.returncode == 0, created.stderr
    token = re.search(r"token: (vg_\S+)", created.stdout)
    assert token, created.stdout
    served = Served(env=env, cwd=work)
    try:
        yield served, token.group(1), work
    finally:
        served.stop()


def test_generate_against_a_server_uploads_the_image_and_draws_a_live_bar(
    server: tuple[Served, str, Path],
) -> None:
    served, token, work = server
    Image.new("RGB", (1280, 720), (40, 90, 160)).save(work / "still.png")
    # A terminal for Rich (the live bar), through the documented environment variables.
    env = vidgate_env(
        work / "unused",
        VIDGATE_URL=served.url,
        VIDGATE_API_KEY=token,
        TTY_COMPATIBLE="1",
        TTY_INTERACTIVE="1",
    )
    result = run_vidgate(
        "generate", "the still comes alive", "--model", "gen4.5", "--image", "still.png",
        "--ratio", "1280:720", "--duration", "2", "-o", "alive.mp4",
        env=env, cwd=work,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "running vidgate in this process" not in result.stderr
    assert not (work / "unused").exists()  # nothing embedded was started
    plain = ANSI.sub("", result.stderr)
    assert re.search(r"uploaded still\.png: image, 1280x720 -> runway://\S+", plain), plain
    job_id = re.search(r"job (\w{26}): gen4\.5, image_to_video, 1280:720, 2 s", plain)
    assert job_id, plain
    assert result.stderr.count("\x1b[2K") >= 3  # the bar is redrawn in place
    frames = re.findall(r"(queued|submitting|running|downloading|succeeded)\s.*?(\d+)%", plain)
    assert ("succeeded", "100") in frames, plain
    assert "24 credits" in plain and re.search(r"\d:\d\d:\d\d", plain)  # credits, elapsed
    assert_video(work / "alive.mp4", seconds=2, width=1280, height=720)

    found = job_id.group(1)
    listed = run_vidgate("jobs", "list", "--limit", "5", env=env, cwd=work)
    assert listed.returncode == 0, listed.stderr
    assert found in listed.stdout and "succeeded" in listed.stdout
    # At 80 columns the id and the model stay whole; columns are left out instead.
    narrow = run_vidgate("jobs", "list", env={**env, "COLUMNS": "80"}, cwd=work)
    assert found in narrow.stdout and " gen4.5 " in narrow.stdout, narrow.stdout
    table = [line for line in ANSI.sub("", narrow.stdout).splitlines() if "more:" not in line]
    assert max(len(line) for line in table) <= 80, narrow.stdout
    assert "left out" in narrow.stderr
    page = json.loads(run_vidgate("jobs", "list", "--json", env=env, cwd=work).stdout)
    assert found in [j["id"] for j in page["data"]]
    admin = vidgate_env(work / "var", COLUMNS="80")  # the server's own data directory
    keys = run_vidgate("keys", "list", env=admin, cwd=work)
    listed_keys = json.loads(run_vidgate("keys", "list", "--json", env=admin, cwd=work).stdout)
    assert listed_keys and all(key["id"] in keys.stdout for key in listed_keys), keys.stdout
    shown = run_vidgate("jobs", "show", found, "--json", env=env, cwd=work)
    assert shown.returncode == 0, shown.stderr
    job = json.loads(shown.stdout)
    assert job["status"] == "succeeded" and job["request"]["promptImage"].startswith("runway://")
    copied = run_vidgate("jobs", "download", found, "-o", "copy.mp4", env=env, cwd=work)
    assert copied.returncode == 0, copied.stderr
    assert (work / "copy.mp4").read_bytes() == (work / "alive.mp4").read_bytes()


def test_errors_name_the_field_or_ask_for_the_key(server: tuple[Served, str, Path]) -> None:
    served, token, work = server
    args = ("generate", "a storm", "--model", "gen4.5", "--url", served.url)
    env = vidgate_env(work / "unused")
    # (20 s is no longer an error: beyond the model's longest, generate chains; 2.5 s is.)
    invalid = run_vidgate(*args, "--duration", "2.5", "--api-key", token, env=env, cwd=work)
    assert invalid.returncode == 2, invalid.stderr
    assert "validation_failed" in invalid.stderr
    assert re.search(r"^  duration: .*gen4\.5", invalid.stderr, re.MULTILINE), invalid.stderr

    no_key = run_vidgate(*args, env=env, cwd=work)
    assert no_key.returncode == 2
    assert "API key is required" in no_key.stderr

    missing = run_vidgate("jobs", "show", "01ABCDEFGHJKMNPQRSTVWXYZ00", "--url", served.url,
                          "--api-key", token, env=env, cwd=work)  # fmt: skip
    assert missing.returncode == 2 and "no job" in missing.stderr


class Interruptible:
    """``vidgate generate`` of a long job (embedded), its stderr read as it comes."""

    def __init__(self, tmp_path: Path, stdin: int) -> None:
        self.env = vidgate_env(tmp_path / "var", task_seconds=60)
        self.process = subprocess.Popen(
            [VIDGATE, "generate", "a very long take", "--model", "gen4.5", "--duration", "2"],
            env=self.env,
            cwd=tmp_path,
            stdin=stdin,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.err = b""
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        while chunk := self.process.stderr.read1(4096):
            self.err += chunk

    @property
    def text(self) -> str:
        return self.err.decode()

    def wait_for(self, pattern: str) -> re.Match[str]:
        deadline = time.monotonic() + 60
        while not (found := re.search(pattern, self.text, re.MULTILINE)):
            assert time.monotonic() < deadline and self.process.poll() is None, self.text
            time.sleep(0.05)
        return found

    def finish(self) -> int:
        try:
            return self.process.wait(timeout=60)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self.reader.join(timeout=10)


def test_ctrl_c_without_a_terminal_cancels_the_job_upstream(tmp_path: Path) -> None:
    run = Interruptible(tmp_path, subprocess.DEVNULL)
    job_id = run.wait_for(r"job (\w{26}):").group(1)
    run.wait_for(r"^\s+running\s")
    run.process.send_signal(signal.SIGINT)
    assert run.finish() == 130, run.text
    assert f"stdin is not a terminal, so cancelling job {job_id} without asking" in run.text
    assert f"job {job_id} cancelled" in run.text
    assert not list(tmp_path.glob("*.mp4"))

    shown = run_vidgate("jobs", "show", job_id, "--json", env=run.env, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["status"] == "cancelled"


def test_ctrl_c_on_a_terminal_asks_before_cancelling(tmp_path: Path) -> None:
    terminal, stdin = pty.openpty()
    try:
        run = Interruptible(tmp_path, stdin)
        os.close(stdin)
        job_id = run.wait_for(r"job (\w{26}):").group(1)
        run.wait_for(r"^\s+running\s")
        run.process.send_signal(signal.SIGINT)
        run.wait_for(rf"cancel job {job_id} upstream\? \[Y/n\]:")  # click echoes to stderr
        os.write(terminal, b"n\n")
        assert run.finish() == 130, run.text
    finally:
        os.close(terminal)
    assert f"job {job_id} is left running; `vidgate jobs show {job_id}` follows it" in run.text
    assert "cancelled" not in run.text


def test_beside_a_running_server_the_cli_uses_it(tmp_path: Path, serve: type[Served]) -> None:
    """No --url, same data directory as a running `vidgate serve`: the job is made through that
    server (its worker runs it, its log shows it), not in a second vidgate in the CLI's process."""
    data = tmp_path / "shared"
    env = vidgate_env(data)
    server = serve(env=env)
    record = json.loads((data / "server.json").read_text())
    assert record["url"] == server.url
    assert (data / "server.json").stat().st_mode & 0o077 == 0
    result = run_vidgate(
        "generate", "a lighthouse at dusk", "--model", "gen4.5", "--ratio", "1280:720",
        "--duration", "2", "-o", "near.mp4",
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"using the vidgate server at {server.url}" in result.stderr
    assert "running vidgate in this process" not in result.stderr
    job_id = re.search(r"job (\w{26}):", ANSI.sub("", result.stderr))
    assert job_id, result.stderr
    assert any(job_id.group(1) in line for line in server.lines), server.output
    assert_video(tmp_path / "near.mp4", seconds=2, width=1280, height=720)
    server.stop()
    assert not (data / "server.json").exists()  # withdrawn when it stopped
