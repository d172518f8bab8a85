"""The catalog against the installed ``runwayml`` SDK's own type definitions.

The SDK describes every generation endpoint as a union of TypedDicts, one per model. This module
reads them at test time (``typing_extensions.get_type_hints(..., include_extras=True)``, the
``Required``/``Annotated``/``Literal`` wrappers, ``PropertyInfo`` aliases for the wire names) and
the field docstrings (from the module source), and checks the catalog against them: the models per
endpoint, every field's wire name, whether it is required, its type, its literals (ratios,
durations, positions), the limits the docstrings state (prompt caps, reference counts, seconds,
ranges) and the cross-field rules they describe. An SDK upgrade that adds, drops or changes a
model fails here.
"""

from __future__ import annotations

import ast
import inspect
import re
import types
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
import typing_extensions as te
from runwayml._utils import PropertyInfo
from runwayml.types import (
    character_performance_create_params,
    image_to_video_create_params,
    text_to_video_create_params,
    video_to_video_create_params,
)

from vidgate.catalog import Endpoint, FieldSpec, get_catalog

CATALOG = get_catalog()

SDK_MODULES: dict[Endpoint, tuple[types.ModuleType, str]] = {
    Endpoint.TEXT_TO_VIDEO: (text_to_video_create_params, "TextToVideoCreateParams"),
    Endpoint.IMAGE_TO_VIDEO: (image_to_video_create_params, "ImageToVideoCreateParams"),
    Endpoint.VIDEO_TO_VIDEO: (video_to_video_create_params, "VideoToVideoCreateParams"),
    Endpoint.CHARACTER_PERFORMANCE: (
        character_performance_create_params,
        "CharacterPerformanceCreateParams",
    ),
}


@dataclass(frozen=True)
class SdkField:
    """One field of one SDK TypedDict, with the wrappers taken off."""

    wire: str
    required: bool
    type: Any
    doc: str


def _unwrap(tp: Any) -> tuple[Any, bool, str | None]:
    """``Required[Annotated[X, PropertyInfo(alias=...)]]`` -> (X, required, alias)."""
    required, alias = False, None
    while True:
        origin = te.get_origin(tp)
        if origin is te.Required:
            required, tp = True, te.get_args(tp)[0]
        elif origin is te.NotRequired:
            tp = te.get_args(tp)[0]
        elif origin is te.Annotated:
            for meta in tp.__metadata__:
                if isinstance(meta, PropertyInfo) and meta.alias:
                    alias = meta.alias
            tp = te.get_args(tp)[0]
        else:
            return tp, required, alias


@cache
def _docstrings(module: types.ModuleType) -> dict[tuple[str, str], str]:
    """(class name, attribute) -> the docstring under the attribute, read from the module source."""
    docs: dict[tuple[str, str], str] = {}
    for node in ast.parse(inspect.getsource(module)).body:
        if not isinstance(node, ast.ClassDef):
            continue
        for this, after in zip(node.body, [*node.body[1:], None], strict=True):
            if (
                isinstance(this, ast.AnnAssign)
                and isinstance(this.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[(node.name, this.target.id)] = " ".join(after.value.value.split())
    return docs


def sdk_fields(cls: Any) -> dict[str, SdkField]:
    """A TypedDict's fields by wire name."""
    module = inspect.getmodule(cls)
    assert module is not None
    docs = _docstrings(module)
    fields = {}
    for name, hint in te.get_type_hints(cls, include_extras=True).items():
        tp, required, alias = _unwrap(hint)
        required = required or name in getattr(cls, "__required_keys__", ())
        wire = alias or name
        fields[wire] = SdkField(wire, required, tp, docs.get((cls.__name__, name), ""))
    return fields


@cache
def sdk_models(endpoint: Endpoint) -> dict[str, dict[str, SdkField]]:
    """model id -> its fields, for every model the SDK accepts on ``endpoint``."""
    module, name = SDK_MODULES[endpoint]
    root = getattr(module, name)
    variants = [root] if te.is_typeddict(root) else list(te.get_args(root))
    models: dict[str, dict[str, SdkField]] = {}
    for variant in variants:
        fields = sdk_fields(variant)
        (model_id,) = te.get_args(fields.pop("model").type)
        assert model_id not in models, f"{model_id} appears twice on {endpoint}"
        models[model_id] = fields
    return models


def _current_pairs() -> list[tuple[str, Endpoint]]:
    return [
        (m.id, endpoint) for m in CATALOG.models(include_legacy=False) for endpoint in m.endpoints
    ]


PAIRS = _current_pairs()
PAIR_IDS = [f"{model}-{endpoint.value}" for model, endpoint in PAIRS]


# --- models -----------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", list(Endpoint), ids=lambda e: e.value)
def test_models_per_endpoint_match_the_sdk(endpoint: Endpoint) -> None:
    ours = {m.id for m in CATALOG.models(include_legacy=False) if endpoint in m.endpoints}
    theirs = set(sdk_models(endpoint))
    assert ours - theirs == set(), "the catalog offers models the SDK does not accept"
    assert theirs - ours == set(), "the SDK accepts models the catalog lacks: add them"


def test_the_sdk_endpoint_counts_are_the_documented_ones() -> None:
    # runway-api.md §2: 24 text-to-video, 25 image-to-video, 12 video-to-video, 1 character.
    counts = {endpoint: len(sdk_models(endpoint)) for endpoint in Endpoint}
    assert counts == {
        Endpoint.TEXT_TO_VIDEO: 24,
        Endpoint.IMAGE_TO_VIDEO: 25,
        Endpoint.VIDEO_TO_VIDEO: 12,
        Endpoint.CHARACTER_PERFORMANCE: 1,
    }


def test_legacy_models_are_absent_from_the_sdk() -> None:
    legacy = [m for m in CATALOG.models() if m.legacy]
    assert {m.id for m in legacy} == {"veo3", "gen4_aleph"}
    for model in legacy:
        assert model.legacy_note, f"{model.id} says why it is legacy"
        for endpoint in Endpoint:
            assert model.id not in sdk_models(endpoint), (
                f"{model.id} is marked legacy but the SDK accepts it on {endpoint.value}"
            )


def test_legacy_models_keep_their_last_known_endpoints() -> None:
    assert set(CATALOG.model("veo3").endpoints) == {
        Endpoint.TEXT_TO_VIDEO,
        Endpoint.IMAGE_TO_VIDEO,
    }
    assert set(CATALOG.model("gen4_aleph").endpoints) == {Endpoint.VIDEO_TO_VIDEO}


# --- fields -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("model_id", "endpoint"), PAIRS, ids=PAIR_IDS)
def test_field_names_and_requiredness_match_the_sdk(model_id: str, endpoint: Endpoint) -> None:
    spec = CATALOG.model(model_id).endpoints[endpoint]
    theirs = sdk_models(endpoint)[model_id]
    assert set(spec.fields) == set(theirs)
    ours_required = {name for name, f in spec.fields.items() if f.required}
    assert ours_required == {name for name, f in theirs.items() if f.required}


@pytest.mark.parametrize(("model_id", "endpoint"), PAIRS, ids=PAIR_IDS)
def test_field_types_and_literals_match_the_sdk(model_id: str, endpoint: Endpoint) -> None:
    spec = CATALOG.model(model_id).endpoints[endpoint]
    theirs = sdk_models(endpoint)[model_id]
    problems = [
        f"{name}: {problem}"
        for name, field in spec.fields.items()
        for problem in _shape_problems(name, field, theirs[name])
    ]
    assert problems == []


@pytest.mark.parametrize(("model_id", "endpoint"), PAIRS, ids=PAIR_IDS)
def test_limits_stated_in_sdk_docstrings_match(model_id: str, endpoint: Endpoint) -> None:
    spec = CATALOG.model(model_id).endpoints[endpoint]
    theirs = sdk_models(endpoint)[model_id]
    problems = [
        f"{name}: {problem}"
        for name, field in spec.fields.items()
        for problem in _limit_problems(name, field, theirs[name])
    ]
    assert problems == []


@pytest.mark.parametrize(("model_id", "endpoint"), PAIRS, ids=PAIR_IDS)
def test_rules_are_the_ones_sdk_docstrings_describe(model_id: str, endpoint: Endpoint) -> None:
    spec = CATALOG.model(model_id).endpoints[endpoint]
    theirs = sdk_models(endpoint)[model_id]
    expected = _rules_from_docs(endpoint, theirs)
    assert expected - set(spec.rules) == set(), "a rule the SDK states is missing"
    assert set(spec.rules) - expected == set(), "a rule the SDK does not state (too strict)"


# --- how one catalog field is compared with one SDK field --------------------------------------


def _literals(tp: Any) -> set[Any] | None:
    return set(te.get_args(tp)) if te.get_origin(tp) is te.Literal else None


def _union(tp: Any) -> tuple[Any, ...]:
    return te.get_args(tp) if te.get_origin(tp) in (te.Union, types.UnionType) else (tp,)


def _iterable_item(tp: Any) -> Any:
    """X for ``Iterable[X]``; None otherwise."""
    origin = te.get_origin(tp)
    if isinstance(origin, type) and issubclass(origin, Iterable) and origin is not str:
        (item,) = te.get_args(tp)
        return item
    return None


def _shape_problems(name: str, spec: FieldSpec, sdk: SdkField) -> list[str]:
    tp = sdk.type
    problems: list[str] = []

    def expect(condition: bool, message: str) -> None:
        if not condition:
            problems.append(f"{message} (SDK type {tp!r})")

    match spec.type:
        case "choice":
            expect(_literals(tp) == set(spec.values or ()), f"choices {spec.values}")
        case "duration":
            members = _union(tp)
            literals = _literals(tp)
            if literals is not None and all(isinstance(v, int) for v in literals):
                expect(set(spec.values or ()) == literals and not spec.auto, "duration literals")
            else:
                has_auto = any(_literals(m) == {"auto"} for m in members)
                expect(int in members, "an integer duration")
                expect(spec.auto == has_auto, f"'auto' allowed = {has_auto}")
                expect(spec.values is None, "no fixed duration set")
        case "text" | "string" | "media":
            expect(tp is str, "a string")
        case "seed" | "integer":
            expect(tp is int, "an integer")
        case "number":
            expect(tp is float, "a number")
        case "boolean":
            expect(tp is bool, "a boolean")
        case "frames":
            members = _union(tp)
            expect((str in members) == spec.string, f"a bare string allowed = {spec.string}")
            items = [i for m in members if (i := _iterable_item(m)) is not None]
            expect(len(items) == 1, "an array of frames")
            if items:
                problems += _frame_item_problems(spec, items[0])
        case "media_list":
            item = _iterable_item(tp)
            expect(item is not None, "an array")
            if item is object:
                expect(spec.untyped_items, "untyped items (the SDK types them as object)")
            elif item is not None:
                fields = sdk_fields(item)
                expect(set(fields) <= {"uri", "type"} and fields["uri"].required, "{uri[, type]}")
                kind = _literals(fields["type"].type) if "type" in fields else None
                expect(spec.item_type == (kind.pop() if kind else None), "the item type")
        case "typed_media":
            kinds = set()
            for member in _union(tp):
                fields = sdk_fields(member)
                expect(set(fields) == {"type", "uri"}, "{type, uri}")
                kinds |= _literals(fields["type"].type) or set()
            expect(kinds == set(spec.types), f"types {spec.types}")
        case "content_moderation":
            fields = sdk_fields(tp)
            expect(set(fields) == {"publicFigureThreshold"}, "{publicFigureThreshold}")
            expect(_literals(fields["publicFigureThreshold"].type) == {"auto", "low"}, "auto|low")
        case "provider_settings":
            fields = sdk_fields(tp)
            expect(set(fields) == set(spec.keys), f"sub-fields {spec.keys}")
            if "shotType" in fields:
                shot = _literals(fields["shotType"].type)
                expect(shot == {"intelligence", "customize"}, "shotType literals")
            if "multiPrompt" in fields:
                segment = sdk_fields(_iterable_item(fields["multiPrompt"].type))
                expect(
                    {k for k, f in segment.items() if f.required} == {"prompt", "duration"},
                    "multiPrompt items {prompt, duration}",
                )
            if "keepOriginalSound" in fields:
                expect(fields["keepOriginalSound"].type is bool, "keepOriginalSound boolean")
        case "keyframes":
            item = _iterable_item(tp)
            expect(item is not None, "an array")
            for member in _union(item):
                fields = sdk_fields(member)
                expect(set(fields) <= {"seconds", "at", "uri", "range"}, "keyframe fields")
                if "range" in fields:
                    window = sdk_fields(fields["range"].type)
                    expect(set(window) == {"start_seconds", "end_seconds"}, "range fields")
        case other:  # pragma: no cover - a new field type needs a comparison here
            problems.append(f"no SDK comparison for field type {other}")
    return problems


def _frame_item_problems(spec: FieldSpec, item: Any) -> list[str]:
    if item is object:
        # Items typed as bare objects: the positions live in the docstring (checked there).
        return [] if spec.untyped_items else ["the SDK types frame items as object"]
    fields = sdk_fields(item)
    problems = []
    if set(fields) != {"uri", "position"}:
        problems.append(f"frame items have {sorted(fields)}")
    position = fields.get("position")
    if position is not None:
        if _literals(position.type) != set(spec.positions):
            problems.append(f"positions {spec.positions} vs {_literals(position.type)}")
        if position.required == spec.position_optional:
            problems.append(f"position optional = {spec.position_optional}")
    if spec.untyped_items:
        problems.append("untyped_items set but the SDK types the items")
    return problems


# --- limits and rules stated in docstrings ------------------------------------------------------

_CHARS = re.compile(r"up to (\d+) characters")
_COUNT = re.compile(r"\b[Uu]p to (\d+)(?:\)| (?:images|videos|keyframes)\b)")
_TOTAL_SECONDS = re.compile(r"(?:exceed|less than|at most) (\d+) seconds")
_CLIP_SECONDS = re.compile(r"between (\d+) and (\d+) seconds")
_RANGE = re.compile(r"(?:from|between) (\d+) (?:to|and) (\d+)")


def _limit_problems(name: str, spec: FieldSpec, sdk: SdkField) -> list[str]:
    doc = sdk.doc
    problems: list[str] = []

    def expect(condition: bool, message: str) -> None:
        if not condition:
            problems.append(f"{message}; SDK docstring: {doc!r}")

    if spec.type == "text":
        found = _CHARS.search(doc)
        expect(spec.max == (int(found.group(1)) if found else None), f"max {spec.max}")
    if spec.type in ("media_list", "frames", "keyframes") and name != "promptImage":
        found = _COUNT.search(doc)
        expect(spec.max_items == (int(found.group(1)) if found else None), "max_items")
    if spec.type == "media_list":
        found = _TOTAL_SECONDS.search(doc)
        total = float(found.group(1)) if found else None
        expect(spec.max_total_seconds == total, f"max_total_seconds {spec.max_total_seconds}")
    if spec.type in ("media_list", "typed_media"):
        found = _CLIP_SECONDS.search(doc)
        bounds = (float(found.group(1)), float(found.group(2))) if found else (None, None)
        expect((spec.min_seconds, spec.max_seconds) == bounds, "clip length bounds")
    if spec.type == "duration" and spec.values is None:
        found = _RANGE.search(doc)
        if found:
            bounds = (float(found.group(1)), float(found.group(2)))
            expect((spec.min, spec.max) == bounds and spec.stated, "the stated duration range")
        else:
            expect(not spec.stated, "stated = false (the SDK gives no range)")
            expect(spec.min is not None and spec.max is not None, "an assumed range")
    if spec.type == "integer":
        found = _RANGE.search(doc)
        bounds = (float(found.group(1)), float(found.group(2))) if found else (None, None)
        expect((spec.min, spec.max) == bounds, "the integer range")
    if spec.type == "number" and name == "cfgScale":
        expect((spec.min, spec.max) == (0, 1), "cfgScale runs from 0 to 1")
    if spec.type == "frames" and spec.untyped_items:
        for position in spec.positions:
            expect(position in doc, f"position {position!r} named")
        expect(("omit position" in doc) == spec.position_optional, "position_optional")
    return problems


def _rules_from_docs(endpoint: Endpoint, fields: dict[str, SdkField]) -> set[str]:
    def doc(name: str) -> str:
        return fields[name].doc if name in fields else ""

    rules = set()
    if "cannot be mixed" in doc("promptImage"):
        rules.add("frames_keyframe_xor_reference")
    if re.search(r"optional(?:ly)? (?:a )?last frame|requires a first frame", doc("promptImage")):
        rules.add("last_frame_needs_first")
    if "middle" in doc("promptImage"):
        rules.add("frames_need_first")
    if "frames included" in doc("references") and endpoint is Endpoint.IMAGE_TO_VIDEO:
        rules.add("references_include_frames")
    if "Keyframe image-to-video" in doc("ratio") and endpoint is Endpoint.IMAGE_TO_VIDEO:
        rules.add("keyframes_need_auto_ratio")
    if "adaptive only when" in doc("ratio") and endpoint is Endpoint.TEXT_TO_VIDEO:
        rules.add("adaptive_ratio_needs_references")
    prompt_required = "promptText" in fields and fields["promptText"].required
    if "require a text prompt" in doc("referenceAudio") and not prompt_required:
        rules.add("reference_audio_needs_prompt")
    if "require at least one image reference" in doc("referenceAudio"):
        rules.add("reference_audio_needs_image_reference")
    if "capped at 720p" in doc("resolution"):
        rules.add("image_references_cap_720p")
    if "Only valid when `outputFormat`" in doc("proresProfile"):
        rules.add("prores_profile_needs_prores")
    if "Draft mode only supports `mp4`" in doc("outputFormat"):
        rules.add("draft_needs_mp4")
    if "no other generation fields" in doc("draftTaskId"):
        rules.add("draft_task_alone")
    if "requires `promptText`" in doc("mode"):
        rules.add("mode_rules")
    if "providerSettings" in fields and not prompt_required:
        settings = sdk_fields(fields["providerSettings"].type)
        if "still required" in settings["multiPrompt"].doc:
            rules.add("intelligence_shot_needs_prompt")
    return rules
