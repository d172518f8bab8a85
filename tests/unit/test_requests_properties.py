"""Property tests for validate_request, driven by the catalog.

For every model on every endpoint, a strategy builds valid requests from the catalog's field specs
(and repairs them for the model's cross-field rules); every one must be accepted. Then a single
field is changed to an invalid value (wrong type, out of range, not in the choices, a bad URI,
over-long text), an unknown field is added, or a required field is dropped; the request must be
refused with that field's path named.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vidgate.catalog import Endpoint, EndpointSpec, FieldSpec, get_catalog
from vidgate.errors import ValidationFailed
from vidgate.requests.fields import SEED_MAX
from vidgate.requests.generation import validate_request

CATALOG = get_catalog()
PAIRS = [(m.id, e) for m in CATALOG.models() for e in m.endpoints]
PAIR_IDS = [f"{m}-{e.value}" for m, e in PAIRS]

# A few examples per model and endpoint (62 of them) keep the module near 300 examples and a few
# seconds; every invalid example checks each field of its request in turn.
VALID = settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
INVALID = settings(
    max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)

Draw = Callable[[st.SearchStrategy[Any]], Any]
Body = dict[str, Any]

# --- valid values -------------------------------------------------------------------------------

_LABEL = st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True)
_PATH = st.from_regex(r"[A-Za-z0-9._~-]{0,20}", fullmatch=True)


def https_urls() -> st.SearchStrategy[str]:
    return st.builds(lambda host, path: f"https://{host}.example.com/{path}", _LABEL, _PATH)


def uris(kind: str) -> st.SearchStrategy[str]:
    mimes = CATALOG.media[kind].mime_types  # type: ignore[index]
    data = st.builds(
        lambda mime, payload: f"data:{mime};base64,{base64.b64encode(payload).decode()}",
        st.sampled_from(mimes),
        st.binary(min_size=1, max_size=24),
    )
    runway = st.builds(lambda p: f"runway://uploads/{p}", _LABEL)
    return st.one_of(https_urls(), runway, data)


def texts(spec: FieldSpec) -> st.SearchStrategy[str]:
    words = st.text(
        st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=40
    ).filter(lambda s: s.strip() != "")
    if spec.max is None:
        return words
    cap = int(spec.max)
    # Right at the cap, counted in UTF-16 units (an emoji is two).
    return st.one_of(words, st.just("a" * cap), st.just("🦊" * (cap // 2)))


def frame_lists(spec: FieldSpec) -> st.SearchStrategy[list[dict[str, str]]]:
    image = uris("image")
    most = spec.max_items or 4

    @st.composite
    def keyframes(draw: Draw) -> list[dict[str, str]]:
        others = [p for p in spec.positions if p != "first"]
        chosen = ["first"] if "first" in spec.positions else []
        chosen += [p for p in others if draw(st.booleans())]
        if not chosen:
            chosen = [draw(st.sampled_from(spec.positions))]
        return [{"uri": draw(image), "position": p} for p in chosen[:most]]

    references = st.lists(st.builds(lambda u: {"uri": u}, image), min_size=1, max_size=min(most, 4))
    return st.one_of(keyframes(), references) if spec.position_optional else keyframes()


def media_lists(spec: FieldSpec) -> st.SearchStrategy[list[dict[str, str]]]:
    kind = spec.kind or "image"

    @st.composite
    def item(draw: Draw) -> dict[str, str]:
        value = {"uri": draw(uris(kind))}
        if spec.item_type or (spec.untyped_items and draw(st.booleans())):
            value["type"] = spec.item_type or kind
        return value

    return st.lists(item(), min_size=1, max_size=min(spec.max_items or 3, 3))


def multi_prompts() -> st.SearchStrategy[list[dict[str, Any]]]:
    seconds = st.lists(st.integers(1, 6), min_size=1, max_size=3).filter(
        lambda s: 3 <= sum(s) <= 15
    )
    return seconds.map(lambda s: [{"prompt": f"shot {i}", "duration": d} for i, d in enumerate(s)])


def provider_settings(spec: FieldSpec) -> st.SearchStrategy[dict[str, Any]]:
    optional: dict[str, st.SearchStrategy[Any]] = {
        "multiPrompt": multi_prompts(),
        "shotType": st.sampled_from(["intelligence", "customize"]),
        "keepOriginalSound": st.booleans(),
    }
    return st.fixed_dictionaries({}, optional={k: v for k, v in optional.items() if k in spec.keys})


@st.composite
def aleph_keyframes(draw: Draw, spec: FieldSpec) -> list[dict[str, Any]]:
    ranged = draw(st.booleans())
    frames = []
    for _ in range(draw(st.integers(1, spec.max_items or 5))):
        frame: dict[str, Any] = {"uri": draw(uris("image"))}
        if draw(st.booleans()):
            seconds = draw(st.floats(0, 20, allow_nan=False))
            frame["seconds"] = seconds
            start = math.floor(seconds)
        else:
            frame["at"] = draw(st.floats(0, 1, allow_nan=False))
            start = draw(st.integers(0, 10))
        if ranged:
            frame["range"] = {
                "start_seconds": start,
                "end_seconds": start + draw(st.integers(1, 5)),
            }
        frames.append(frame)
    return frames


def values(name: str, spec: FieldSpec) -> st.SearchStrategy[Any]:
    """Valid values for one field, on its own (cross-field rules are repaired afterwards)."""
    match spec.type:
        case "text" | "string":
            return texts(spec)
        case "choice":
            return st.sampled_from(spec.values or ())
        case "duration":
            if spec.values is not None:
                base = st.sampled_from(spec.values)
            else:
                base = st.integers(int(spec.min or 1), int(spec.max or 10))
            return st.one_of(base, st.just("auto")) if spec.auto else base
        case "integer":
            return st.integers(int(spec.min or 0), int(spec.max or 100))
        case "number":
            low = spec.min if spec.min is not None else -1e6
            high = spec.max if spec.max is not None else 1e6
            return st.floats(low, high, allow_nan=False, allow_infinity=False)
        case "boolean":
            return st.booleans()
        case "seed":
            return st.integers(0, SEED_MAX)
        case "media":
            return uris(spec.kind or "video")
        case "frames":
            lists = frame_lists(spec)
            return st.one_of(uris("image"), lists) if spec.string else lists
        case "media_list":
            return media_lists(spec)
        case "typed_media":
            return st.sampled_from(spec.types).flatmap(
                lambda kind: st.builds(lambda u: {"type": kind, "uri": u}, uris(kind))
            )
        case "content_moderation":
            threshold = st.sampled_from(["auto", "low"])
            return st.fixed_dictionaries({}, optional={"publicFigureThreshold": threshold})
        case "provider_settings":
            return provider_settings(spec)
        case "keyframes":
            return aleph_keyframes(spec)
    raise AssertionError(f"no strategy for field type {spec.type}")


# --- repairs for the cross-field rules (one per rule named in models.toml) ----------------------


def _positions(body: Body) -> list[Any]:
    frames = body.get("promptImage")
    return [f.get("position") for f in frames] if isinstance(frames, list) else []


def fix_prores(draw: Draw, body: Body, spec: EndpointSpec) -> None:
    profile = body.get("proresProfile")
    if profile is None:
        return
    formats = spec.fields["outputFormat"].values or ()
    hdr_ok = "hdr_prores" in formats and profile in ("422", "422 HQ", "4444")
    body["outputFormat"] = draw(st.sampled_from(["prores", "hdr_prores"])) if hdr_ok else "prores"


def fix_first_frame(draw: Draw, body: Body, spec: EndpointSpec) -> None:
    positions = [p for p in _positions(body) if p is not None]
    if positions and "first" not in positions:
        body["promptImage"].insert(0, {"uri": draw(uris("image")), "position": "first"})


def fix_auto_ratio(draw: Draw, body: Body, spec: EndpointSpec) -> None:
    positions = _positions(body)
    keyframe_mode = positions and all(p is not None for p in positions)
    if keyframe_mode and "ratio" in body and not str(body["ratio"]).startswith("auto_"):
        body["ratio"] = draw(st.sampled_from([r for r in spec.ratios if r.startswith("auto_")]))


def _add_reference(draw: Draw, body: Body) -> None:
    if not body.get("references"):
        body["references"] = [{"uri": draw(uris("image"))}]


def fix_adaptive(draw: Draw, body: Body, spec: EndpointSpec) -> None:
    if body.get("ratio") == "adaptive" and not body.get("referenceVideos"):
        _add_reference(draw, body)


def fix_audio_needs_image(draw: Draw, body: Body, spec: EndpointSpec) -> None:
    if body.get("referenceAudio"):
        _add_reference(draw, body)


def fix_720p_cap(draw: Draw, body: Body, spec: EndpointSpec) -> None:
    if body.get("references") and body.get("resolution") == "1080p":
        body["resolution"] = draw(st.sampled_from(["480p", "720p"]))


def fix_draft_mp4(draw: Draw, body: Body, spec: EndpointSpec) -> None:
    if body.get("draft") is True and body.get("outputFormat") == "mov":
        body["outputFormat"] = "mp4"


def fix_modes(draw: Draw, body: Body, spec: EndpointSpec) -> None:
    mode = body.get("mode")
    if mode in ("extend", "edit"):
        body.setdefault("promptText", "carry on")
        body.pop("ratio", None)
        if mode == "edit":
            body["duration"] = "auto"


def fix_intelligence(draw: Draw, body: Body, spec: EndpointSpec) -> None:
    settings = body.get("providerSettings") or {}
    if settings.get("shotType") == "intelligence":
        body.setdefault("promptText", "a fox in the snow")


def fix_total_images(draw: Draw, body: Body, spec: EndpointSpec) -> None:
    most = spec.fields["references"].max_items or 0
    frames = body.get("promptImage")
    count = 1 if isinstance(frames, str) else len(frames or [])
    if body.get("references"):
        body["references"] = body["references"][: max(most - count, 0)] or None
        if body["references"] is None:
            del body["references"]


def no_repair(draw: Draw, body: Body, spec: EndpointSpec) -> None:
    """The strategy never breaks this rule (the enhance-only request is built on its own)."""


FIXERS: dict[str, Callable[[Draw, Body, EndpointSpec], None]] = {
    "prores_profile_needs_prores": fix_prores,
    "last_frame_needs_first": fix_first_frame,
    "frames_need_first": fix_first_frame,
    "frames_keyframe_xor_reference": no_repair,
    "keyframes_need_auto_ratio": fix_auto_ratio,
    "adaptive_ratio_needs_references": fix_adaptive,
    "reference_audio_needs_image_reference": fix_audio_needs_image,
    "image_references_cap_720p": fix_720p_cap,
    "draft_needs_mp4": fix_draft_mp4,
    "draft_task_alone": no_repair,
    "mode_rules": fix_modes,
    "intelligence_shot_needs_prompt": fix_intelligence,
    "references_include_frames": fix_total_images,
}


def test_every_rule_has_a_repair() -> None:
    rules = {r for m in CATALOG.models() for ep in m.endpoints.values() for r in ep.rules}
    assert rules <= set(FIXERS)


@st.composite
def valid_requests(draw: Draw, model_id: str, endpoint: Endpoint) -> Body:
    spec = CATALOG.model(model_id).endpoints[endpoint]
    if "draft_task_alone" in spec.rules and draw(st.integers(0, 4)) == 0:
        return {"model": model_id, "draftTaskId": draw(texts(spec.fields["draftTaskId"]))}
    body: Body = {"model": model_id}
    for name, field in spec.fields.items():
        if name == "draftTaskId":
            continue
        if field.required or draw(st.booleans()):
            body[name] = draw(values(name, field))
    for _ in range(2):  # repairs may enable one another; two passes reach a fixed point
        for rule in spec.rules:
            FIXERS[rule](draw, body, spec)
    return body


@pytest.mark.parametrize(("model_id", "endpoint"), PAIRS, ids=PAIR_IDS)
@VALID
@given(data=st.data())
def test_valid_requests_are_accepted(
    model_id: str, endpoint: Endpoint, data: st.DataObject
) -> None:
    raw = data.draw(valid_requests(model_id, endpoint))
    request = validate_request(endpoint, raw)
    assert request.body == raw
    assert (request.model, request.endpoint) == (model_id, endpoint)
    for media in request.media:
        assert media.uri.startswith(("https://", "runway://", "data:"))
    # Validating the validated body again changes nothing.
    assert validate_request(endpoint, request.body) == request


# --- invalid values, one field at a time --------------------------------------------------------

IMAGE_URL = "https://a.example.com/x"
_NOT_STRINGS = st.one_of(st.integers(), st.booleans(), st.lists(st.integers(), max_size=2))
_BAD_URIS = st.one_of(
    st.builds(lambda host: f"http://{host}.example.com/a", _LABEL),
    st.builds(lambda host: f"ftp://{host}.example.com/a", _LABEL),
    st.sampled_from(
        [
            "",
            "https://",
            "https://10.0.0.1/a.png",
            "runway://",
            "data:text/plain;base64,aGVsbG8=",
            "data:image/png,not-base64",
            "file:///etc/passwd",
        ]
    ),
    _NOT_STRINGS,
)


def invalid_values(name: str, spec: FieldSpec) -> st.SearchStrategy[Any]:
    """Values no model accepts for this field, whatever the rest of the request."""
    options: list[st.SearchStrategy[Any]] = []
    match spec.type:
        case "text":
            options += [_NOT_STRINGS, st.sampled_from(["", "   ", "\n"])]
            if spec.max is not None:
                cap = int(spec.max)
                options += [st.just("a" * (cap + 1)), st.just("🦊" * (cap // 2 + 1))]
        case "string":
            options += [_NOT_STRINGS, st.just("")]
        case "choice":
            allowed = set(spec.values or ())
            options += [
                st.text(max_size=12).filter(lambda s: s not in allowed),
                st.integers(),
                st.booleans(),
            ]
        case "duration":
            options += [st.booleans(), st.floats(0.1, 30).filter(lambda f: not f.is_integer())]
            options.append(st.text(max_size=8).filter(lambda s: not (spec.auto and s == "auto")))
            if spec.values is not None:
                options.append(st.integers(-5, 60).filter(lambda n: n not in (spec.values or ())))
            else:
                low, high = int(spec.min or 0), int(spec.max or 0)
                options += [st.integers(high + 1, high + 60), st.integers(low - 60, low - 1)]
        case "integer" | "number":
            options += [st.text(max_size=5), st.booleans()]
            if spec.type == "integer":
                options.append(st.floats(0.1, 4.9).filter(lambda f: not f.is_integer()))
            else:
                options.append(st.sampled_from([math.nan, math.inf, -math.inf]))
            if spec.max is not None:
                options.append(st.integers(int(spec.max) + 1, int(spec.max) + 100))
            if spec.min is not None:
                options.append(st.integers(int(spec.min) - 100, int(spec.min) - 1))
        case "boolean":
            options += [st.integers(0, 1), st.sampled_from(["true", "false", "yes"])]
        case "seed":
            options += [
                st.integers(max_value=-1),
                st.integers(min_value=SEED_MAX + 1),
                st.floats(0, 10),
                st.text(max_size=5),
                st.booleans(),
            ]
        case "media":
            options.append(_BAD_URIS)
            other = "image" if spec.kind != "image" else "video"
            options.append(st.builds(lambda p: f"data:{other}/mp4;base64,{p}", st.just("AAAA")))
        case "frames":
            bad_position = st.text(min_size=1, max_size=8).filter(lambda s: s not in spec.positions)
            options += [
                st.just([]),
                st.integers(),
                st.builds(lambda u: [{"uri": u, "position": "first"}], _BAD_URIS),
                st.builds(
                    lambda p: [{"uri": "https://a.example.com/x", "position": p}], bad_position
                ),
                st.just([{"uri": "https://a.example.com/x", "weight": 1}]),
                st.just([{"uri": "https://a.example.com/x", "position": "first"}] * 2),
                st.just(["https://a.example.com/x"]),
            ]
            if not spec.string:
                options.append(st.just("https://a.example.com/x"))
            else:
                options.append(_BAD_URIS.filter(lambda v: isinstance(v, str)))
            if not spec.position_optional:
                options.append(st.just([{"uri": "https://a.example.com/x"}]))
            if spec.max_items is not None:
                options.append(st.just([{"uri": "https://a.example.com/x"}] * (spec.max_items + 1)))
        case "media_list":
            item: dict[str, str] = {"uri": f"https://a.example.com/{spec.kind}"}
            if spec.item_type:
                item["type"] = spec.item_type
            options += [
                st.just(item),
                st.just("https://a.example.com/x"),
                st.builds(lambda u: [{**item, "uri": u}], _BAD_URIS),
                st.just([{**item, "weight": 1}]),
                st.just(["https://a.example.com/x"]),
            ]
            if spec.item_type:
                options.append(st.just([{**item, "type": "sticker"}]))
            elif not spec.untyped_items:
                options.append(st.just([{**item, "type": spec.kind}]))
            if spec.max_items is not None:
                options.append(st.just([item] * (spec.max_items + 1)))
        case "typed_media":
            options += [
                st.just("https://a.example.com/x"),
                st.just({"type": "sticker", "uri": "https://a.example.com/x"}),
                st.builds(lambda u: {"type": spec.types[0], "uri": u}, _BAD_URIS),
                st.just({"type": spec.types[0]}),
            ]
        case "content_moderation":
            options += [
                st.just("low"),
                st.just({"publicFigureThreshold": "high"}),
                st.just({"threshold": "low"}),
            ]
        case "provider_settings":
            options += [
                st.just([]),
                st.just({"style": "noir"}),
                st.just({"shotType": "auto"}),
                st.just({"multiPrompt": []}),
                st.just({"multiPrompt": [{"prompt": "a", "duration": 16}]}),
                st.just({"multiPrompt": [{"duration": 5}]}),
                st.just({"keepOriginalSound": "yes"}),
            ]
        case "keyframes":
            frame = {"at": 0.5, "uri": "https://a.example.com/x"}
            options += [
                st.just({}),
                st.just([]),
                st.just([frame] * ((spec.max_items or 5) + 1)),
                st.just([{**frame, "seconds": 1}]),
                st.just([{**frame, "at": 1.5}]),
                st.builds(lambda u: [{**frame, "uri": u}], _BAD_URIS),
                st.just([{**frame, "label": "x"}]),
            ]
    return st.one_of(options)


_OTHER_NAMES = st.one_of(
    st.sampled_from(
        ["promptVideo", "videoUri", "promptPerformance", "references", "duration", "ratio", "seed"]
    ),
    st.from_regex(r"[a-z][A-Za-z]{2,12}", fullmatch=True),
)


def is_named(path: str, name: str) -> bool:
    return path == name or path.startswith((f"{name}.", f"{name}["))


def refused_paths(endpoint: Endpoint, body: Body) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        validate_request(endpoint, body)
    return [p.path for p in caught.value.problems]


@pytest.mark.parametrize(("model_id", "endpoint"), PAIRS, ids=PAIR_IDS)
@INVALID
@given(data=st.data())
def test_every_single_field_change_is_refused_and_named(
    model_id: str, endpoint: Endpoint, data: st.DataObject
) -> None:
    spec = CATALOG.model(model_id).endpoints[endpoint]
    raw = data.draw(valid_requests(model_id, endpoint), label="valid")
    # Each field in turn gets an invalid value.
    for name, field in spec.fields.items():
        bad = {**raw, name: data.draw(invalid_values(name, field), label=name)}
        named = refused_paths(endpoint, bad)
        assert any(is_named(path, name) for path in named), (name, bad[name], named)
    # A field the model does not take.
    unknown = data.draw(_OTHER_NAMES.filter(lambda n: n not in spec.fields and n != "model"))
    value = data.draw(st.one_of(st.integers(), st.text(max_size=5), st.booleans()))
    assert unknown in refused_paths(endpoint, {**raw, unknown: value})
    # Each required field dropped, or sent as JSON null.
    for name in (n for n, f in spec.fields.items() if f.required and n in raw):
        less = {k: v for k, v in raw.items() if k != name}
        assert name in refused_paths(endpoint, less)
        assert name in refused_paths(endpoint, {**raw, name: None})
