"""What an emulated task will render: the output's size and length and the inputs that drive it.

Size: a pixel ratio (``1280:720``) is the size itself. An aspect (``16:9``, aleph2's
``targetAspectRatio``), ``auto_720p``-style ratios, ``adaptive`` and absent ratios follow the
input picture (first image, input video or character) where there is one, else 1280x720; a
``resolution`` field (``480p``, ``2k``) sets the short side.

Length: the request's duration; for ``"auto"`` or none, the input video's length (video to video,
the reference clip of act_two), else the model's default (5 s when it has none), clamped to what
the model allows.

Sound: the request's ``audio``, else the model's default (see
:attr:`~vidgate.requests.generation.GenerationRequest.with_audio`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from vidgate.catalog import Endpoint
from vidgate.catalog.catalog import DEFAULT_SECONDS
from vidgate.emulator.inputs import ResolvedMedia
from vidgate.requests.generation import GenerationRequest

__all__ = ["RenderPlan", "plan_output"]

DEFAULT_SIZE = (1280, 720)
MAX_FOLLOWED = (1920, 1080)  # an input picture larger than this is followed at this bound
_PIXELS = re.compile(r"^(\d+):(\d+)$")
_AUTO = re.compile(r"^auto_(\d+)p$")
_RESOLUTION = {"480p": 480, "720p": 720, "768p": 768, "1080p": 1080, "2k": 1440, "4k": 2160}


@dataclass(frozen=True)
class RenderPlan:
    """Everything :func:`vidgate.emulator.render.render_video` needs for one task."""

    width: int
    height: int
    duration_seconds: float
    fps: int
    seed: int
    model: str = ""  # named in the output's content credentials
    prompt_text: str | None = None
    audio: bool = False  # a sound track, as the real model would give one
    first_image: bytes | None = None
    last_image: bytes | None = None
    source_video: bytes | None = None
    driving_video: bytes | None = None

    def without_inputs(self) -> RenderPlan:
        """The same plan with the input bytes dropped (kept only until the render is done)."""
        return replace(
            self, first_image=None, last_image=None, source_video=None, driving_video=None
        )


@dataclass
class _Roles:
    first_image: ResolvedMedia | None = None
    last_image: ResolvedMedia | None = None
    source_video: ResolvedMedia | None = None
    driving_video: ResolvedMedia | None = None

    @property
    def picture(self) -> ResolvedMedia | None:
        """The input whose size the output follows when no ratio decides it."""
        return self.first_image or self.source_video or self.last_image


def plan_output(
    request: GenerationRequest,
    media: Mapping[str, ResolvedMedia],
    *,
    fps: int,
    seed: int,
) -> RenderPlan:
    roles = _roles(request, media)
    width, height = _size(request, roles)
    duration = _duration(request, roles, fps)
    body_seed = request.body.get("seed")
    return RenderPlan(
        width=width,
        height=height,
        duration_seconds=duration,
        fps=fps,
        seed=body_seed if isinstance(body_seed, int) else seed,
        model=request.model,
        prompt_text=request.prompt_text,
        audio=request.with_audio,
        first_image=roles.first_image.data if roles.first_image else None,
        last_image=roles.last_image.data if roles.last_image else None,
        source_video=roles.source_video.data if roles.source_video else None,
        driving_video=roles.driving_video.data if roles.driving_video else None,
    )


def _roles(request: GenerationRequest, media: Mapping[str, ResolvedMedia]) -> _Roles:
    body: dict[str, Any] = request.body
    roles = _Roles()
    frames = body.get("promptImage")
    if isinstance(frames, str):
        roles.first_image = media.get("promptImage")
    elif isinstance(frames, list):
        for index, item in enumerate(frames):
            found = media.get(f"promptImage[{index}].uri")
            position = item.get("position") if isinstance(item, Mapping) else None
            if position == "last":
                roles.last_image = roles.last_image or found
            elif position in ("first", None):
                roles.first_image = roles.first_image or found  # a first frame or reference
    for name in ("videoUri", "promptVideo"):
        roles.source_video = roles.source_video or media.get(name)
    character = body.get("character")
    if isinstance(character, Mapping):
        found = media.get("character.uri")
        if character.get("type") == "video":
            roles.source_video = found
        else:
            roles.first_image = found
    roles.driving_video = media.get("reference.uri")
    return roles


def _even(value: float) -> int:
    """Up to even, as the renderer does (H.264 4:2:0 needs even sizes)."""
    whole = max(2, math.ceil(round(value, 6)))
    return whole + (whole & 1)


def _size(request: GenerationRequest, roles: _Roles) -> tuple[int, int]:
    ratio = request.ratio
    spec = request.spec
    ratio_spec = spec.fields.get("ratio") if spec else None
    if ratio_spec is not None and ratio_spec.deprecated:
        ratio = None  # gen4_aleph: ratio is ignored, the output follows the input video
    target = request.body.get("targetAspectRatio")
    if isinstance(target, str):
        ratio = target
    picture = roles.picture
    source = None
    if picture is not None and picture.info.width and picture.info.height:
        source = (picture.info.width, picture.info.height)
    followed = _follow(source)
    resolution = request.body.get("resolution")
    short = min(followed)
    if isinstance(resolution, str) and resolution.lower() in _RESOLUTION:
        short = _RESOLUTION[resolution.lower()]
        followed = _aspect(followed[0] / followed[1], short)
    if ratio:
        pixels = _PIXELS.match(ratio)
        if pixels:
            w, h = int(pixels.group(1)), int(pixels.group(2))
            if max(w, h) >= 100:
                return _even(w), _even(h)  # a pixel size, e.g. 1280:720
            return _aspect(w / h, short)  # an aspect, e.g. 16:9
        auto = _AUTO.match(ratio)
        if auto:
            return _aspect(followed[0] / followed[1], int(auto.group(1)))
    return followed  # "adaptive", other named choices and no ratio follow the input


def _follow(source: tuple[int, int] | None) -> tuple[int, int]:
    if source is None:
        return DEFAULT_SIZE
    w, h = source
    scale = min(1.0, MAX_FOLLOWED[0] / max(w, h), MAX_FOLLOWED[1] / min(w, h))
    return _even(w * scale), _even(h * scale)


def _aspect(ratio: float, short: int) -> tuple[int, int]:
    if ratio >= 1:
        return _even(short * ratio), _even(short)
    return _even(short), _even(short / ratio)


def _duration(request: GenerationRequest, roles: _Roles, fps: int) -> float:
    value = request.body.get("duration")
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    clip = roles.driving_video or roles.source_video
    clip_seconds = clip.info.duration_seconds if clip else None
    if request.endpoint is Endpoint.TEXT_TO_VIDEO or request.endpoint is Endpoint.IMAGE_TO_VIDEO:
        clip_seconds = None  # reference clips do not set the length of a generated video
    default = request.duration_seconds
    wanted = clip_seconds if clip_seconds else float(default or DEFAULT_SECONDS)
    spec = request.spec.duration if request.spec else None
    if spec is not None:
        allowed = request.spec.allowed_durations if request.spec else ()
        if spec.values is not None and allowed:
            wanted = float(min(allowed, key=lambda d: (abs(d - wanted), -d)))
        elif spec.min is not None and spec.max is not None:
            wanted = min(max(wanted, spec.min), spec.max)
    frames = max(1, round(wanted * fps))
    return frames / fps
