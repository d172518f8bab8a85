"""The cross-field rules named in models.toml (``rules = [...]``), one function each.

A rule reads the raw body and adds problems to the :class:`~vidgate.requests.fields.FieldChecker`
that walked it; :func:`apply_rules` runs an endpoint's rules and never blames a field twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from vidgate.requests.fields import FieldChecker

__all__ = ["RULES", "apply_rules"]


def _positions(raw: Mapping[str, Any]) -> list[object]:
    frames = raw.get("promptImage")
    if not isinstance(frames, list):
        return []
    return [item.get("position") for item in frames if isinstance(item, Mapping)]


def _rule_frames_keyframe_xor_reference(check: FieldChecker, raw: Mapping[str, Any]) -> None:
    positions = _positions(raw)
    if any(p is None for p in positions) and any(p is not None for p in positions):
        check.problem(
            "promptImage",
            "keyframe items (with position first/last) and reference items (without position) "
            "cannot be mixed",
        )


def _rule_last_frame_needs_first(check: FieldChecker, raw: Mapping[str, Any]) -> None:
    positions = _positions(raw)
    if "last" in positions and "first" not in positions:
        check.problem("promptImage", f"{check.model.id} needs a first frame with a last frame")


def _rule_keyframes_need_auto_ratio(check: FieldChecker, raw: Mapping[str, Any]) -> None:
    positions = _positions(raw)
    ratio = raw.get("ratio")
    keyframe_mode = bool(positions) and all(p is not None for p in positions)
    if keyframe_mode and ratio is not None and not str(ratio).startswith("auto_"):
        check.problem("ratio", f"keyframe mode of {check.model.id} needs an auto_* ratio")


def _rule_prores_profile_needs_prores(check: FieldChecker, raw: Mapping[str, Any]) -> None:
    profile, fmt = raw.get("proresProfile"), raw.get("outputFormat")
    if profile is None:
        return
    if fmt not in ("prores", "hdr_prores"):
        check.problem("proresProfile", "only with outputFormat prores or hdr_prores")
    elif fmt == "hdr_prores" and profile not in ("422", "422 HQ", "4444"):
        check.problem(
            "proresProfile", f"hdr_prores accepts '422', '422 HQ' or '4444', got {profile!r}"
        )


def _rule_adaptive_ratio_needs_references(check: FieldChecker, raw: Mapping[str, Any]) -> None:
    if raw.get("ratio") == "adaptive" and not (raw.get("references") or raw.get("referenceVideos")):
        check.problem(
            "ratio", "'adaptive' needs image or video references; a text-only request needs a ratio"
        )


def _rule_reference_audio_needs_image_reference(
    check: FieldChecker, raw: Mapping[str, Any]
) -> None:
    if raw.get("referenceAudio") and not raw.get("references"):
        check.problem("referenceAudio", f"{check.model.id} needs at least one image in references")


def _rule_frames_need_first(check: FieldChecker, raw: Mapping[str, Any]) -> None:
    positions = [p for p in _positions(raw) if p is not None]
    if positions and "first" not in positions:
        check.problem("promptImage", f"{check.model.id} needs a first frame in the array")


def _rule_references_include_frames(check: FieldChecker, raw: Mapping[str, Any]) -> None:
    frames, references = raw.get("promptImage"), raw.get("references")
    spec = check.spec.fields.get("references")
    if spec is None or spec.max_items is None or not isinstance(references, list):
        return
    count = len(references) + (1 if isinstance(frames, str) else len(_positions(raw)))
    if count > spec.max_items:
        check.problem(
            "references",
            f"{check.model.id} takes at most {spec.max_items} images in total, frames included; "
            f"got {count}",
        )


def _rule_intelligence_shot_needs_prompt(check: FieldChecker, raw: Mapping[str, Any]) -> None:
    settings = raw.get("providerSettings")
    intelligence = isinstance(settings, Mapping) and settings.get("shotType") == "intelligence"
    if intelligence and not raw.get("promptText"):
        check.problem("promptText", "required when providerSettings.shotType is 'intelligence'")


def _rule_draft_needs_mp4(check: FieldChecker, raw: Mapping[str, Any]) -> None:
    if raw.get("draft") is True and raw.get("outputFormat") not in (None, "mp4"):
        check.problem("outputFormat", "draft mode only supports 'mp4'")


def _rule_image_references_cap_720p(check: FieldChecker, raw: Mapping[str, Any]) -> None:
    if raw.get("references") and raw.get("resolution") == "1080p":
        check.problem("resolution", f"{check.model.id} caps requests with image references at 720p")


def _rule_draft_task_alone(check: FieldChecker, raw: Mapping[str, Any]) -> None:
    if raw.get("draftTaskId") is None:
        return
    for name in raw:
        if name not in ("model", "draftTaskId"):
            check.problem(name, "an enhance request with draftTaskId takes no other fields")


def _rule_mode_rules(check: FieldChecker, raw: Mapping[str, Any]) -> None:
    mode = raw.get("mode", "reference")
    if mode not in ("extend", "edit"):
        return
    if not raw.get("promptText"):
        check.problem("promptText", f"required in {mode} mode")
    if raw.get("ratio") is not None:
        check.problem("ratio", f"not allowed in {mode} mode (the output follows the input video)")
    if mode == "edit" and check.model.id.startswith("seedance") and raw.get("duration") != "auto":
        check.problem("duration", "edit mode needs duration 'auto'")


RULES: dict[str, Callable[[FieldChecker, Mapping[str, Any]], None]] = {
    name.removeprefix("_rule_"): fn for name, fn in globals().items() if name.startswith("_rule_")
}


def apply_rules(check: FieldChecker, raw: Mapping[str, Any]) -> None:
    """Run the endpoint's cross-field rules; a field that already has a problem is not blamed
    twice."""
    blamed = {p.path for p in check.problems}
    before = len(check.problems)
    for rule in check.spec.rules:
        RULES[rule](check, raw)
    check.problems[before:] = [p for p in check.problems[before:] if p.path not in blamed]
