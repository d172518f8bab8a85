"""How much CPU and memory the emulator's renderer needs for a 5 s 1280x720 output.

Run ``python -m bench.render_bench``. Each case runs in a fresh interpreter, so its peak RSS is
its own and not the high-water mark of an earlier case; the parent adds the children's CPU as
seen by ``getrusage(RUSAGE_CHILDREN)`` as a cross-check (that figure includes interpreter start
and imports). The goal: each output in at most 1 s of CPU time.
"""

from __future__ import annotations

import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

__all__ = ["CASES", "CPU_GOAL_SECONDS", "run"]

CPU_GOAL_SECONDS: Final = 1.0
WIDTH, HEIGHT, SECONDS = 1280, 720, 5.0
CASES: Final = ("text_to_video", "image_to_video")
PROMPT: Final = (
    "A lighthouse on a rocky cliff at dusk, waves crashing below while gulls circle the beam; "
    "slow dolly forward, cinematic lighting"
)


def _picture(seed: int) -> bytes:
    """A 1280x720 JPEG, as a client would upload, so decoding it is part of the cost."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 1, WIDTH, dtype=np.float32)[None, :, None]
    colours = rng.integers(0, 256, (2, 3)).astype(np.float32)
    row = (colours[0] * (1 - ramp) + colours[1] * ramp).astype(np.uint8)
    image = Image.fromarray(np.repeat(row, HEIGHT, axis=0))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = int(rng.integers(0, WIDTH - 200)), int(rng.integers(0, HEIGHT - 150))
        fill = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.ellipse((x, y, x + 200, y + 150), fill=fill)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def _measure(case: str) -> dict[str, Any]:
    """Render one case in this process and report its own cost."""
    from vidgate.emulator.render import render_video

    kwargs: dict[str, Any] = {"prompt_text": PROMPT}
    if case == "image_to_video":
        kwargs |= {"first_image": _picture(1), "last_image": _picture(2)}
    elif case != "text_to_video":
        raise ValueError(f"unknown case {case!r}")
    baseline_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryDirectory() as tmp:
        dest = Path(tmp) / f"{case}.mp4"
        wall, cpu = time.perf_counter(), time.process_time()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        result = render_video(
            dest, width=WIDTH, height=HEIGHT, duration_seconds=SECONDS, seed=7, **kwargs
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = time.process_time() - cpu + (after.ru_utime - children.ru_utime)
        cpu += after.ru_stime - children.ru_stime
        wall = time.perf_counter() - wall
        size = dest.stat().st_size
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "case": case,
        "frames": result.frames,
        "size": f"{result.width}x{result.height}",
        "cpu_seconds": round(cpu, 3),
        "wall_seconds": round(wall, 3),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "rss_delta_mib": round((peak_kib - baseline_kib) / 1024, 1),
        "output_bytes": size,
        "meets_cpu_goal": cpu <= CPU_GOAL_SECONDS,
    }


def run() -> dict[str, Any]:
    """Measure every case in its own interpreter; print a markdown table; return the figures."""
    root = Path(__file__).resolve().parents[1]
    results: dict[str, Any] = {}
    for case in CASES:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        completed = subprocess.run(
            [sys.executable, "-m", "bench.render_bench", "--case", case],
            cwd=root,
            check=True,
            capture_output=True,
            text=True,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        figures = json.loads(completed.stdout)
        figures["process_cpu_seconds"] = round(
            after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, 3
        )
        results[case] = figures
    results["cpu_goal_seconds"] = CPU_GOAL_SECONDS
    results["all_meet_cpu_goal"] = all(results[c]["meets_cpu_goal"] for c in CASES)
    print(_table(results))
    return results


def _table(results: dict[str, Any]) -> str:
    lines = [
        f"Renderer, {WIDTH}x{HEIGHT}, {SECONDS:g} s at 24 fps (libx264 ultrafast, 1 thread)",
        "",
        "| case | frames | CPU s (render) | CPU s (whole process) | wall s | peak RSS MiB "
        "| RSS delta MiB | output KiB | CPU <= 1 s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for case in CASES:
        r = results[case]
        lines.append(
            f"| {case} | {r['frames']} | {r['cpu_seconds']:.3f} | {r['process_cpu_seconds']:.3f} "
            f"| {r['wall_seconds']:.3f} | {r['peak_rss_mib']:.1f} | {r['rss_delta_mib']:.1f} "
            f"| {r['output_bytes'] / 1024:.0f} | {'yes' if r['meets_cpu_goal'] else 'NO'} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    if len(argv) == 2 and argv[0] == "--case":
        print(json.dumps(_measure(argv[1])))
    else:
        run()


if __name__ == "__main__":
    main(sys.argv[1:])
