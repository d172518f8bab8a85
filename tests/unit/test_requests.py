"""validate_request: raw input -> a validated request, or every problem with its field path.

The first half is parametrized over the whole catalog (every model on every endpoint); the second
pins the cases the issue names: gen4_turbo needs an image, seedance2's keyframe/reference modes,
``videoUri`` vs ``promptVideo``, act_two's ``character``/``reference``, media URIs, and the seed
documents' field names the real API lacks.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from vidgate.catalog import Endpoint, FieldSpec, get_catalog
from vidgate.errors import FieldProblem, ValidationFailed
from vidgate.requests.generation import GenerationRequest, MediaInput, validate_request

CATALOG = get_catalog()
ALL_PAIRS = [(m.id, e) for m in CATALOG.models() for e in m.endpoints]
ALL_IDS = [f"{m}-{e.value}" for m, e in ALL_PAIRS]
T2V, I2V, V2V, CP = "text_to_video", "image_to_video", "video_to_video", "character_performance"

IMAGE = "https://cdn.example.com/still.png"
VIDEO = "https://cdn.example.com/clip.mp4"
AUDIO = "https://cdn.example.com/voice.mp3"
URI_FOR = {"image": IMAGE, "video": VIDEO, "audio": AUDIO}
PNG_DATA = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 32).decode()


def sample(name: str, spec: FieldSpec) -> Any:
    """A valid value for one field, on its own."""
    kind = spec.kind or "image"
    match spec.type:
        case "text":
            return "A red fox runs through fresh snow at dawn"
        case "choice":
            values = [v for v in spec.values or () if v != "adaptive"]
            return values[0]
        case "duration":
            return spec.values[0] if spec.values is not None else int(spec.min or 5)
        case "integer":
            return int(spec.min if spec.min is not None else 1)
        case "number":
            return 0.5
        case "boolean":
            return True
        case "seed":
            return 42
        case "string":
            return "draft-task-id" if name == "draftTaskId" else "1280:720"
        case "media":
            return URI_FOR[kind]
        case "frames":
            return IMAGE if spec.string else [{"uri": IMAGE, "position": "first"}]
        case "media_list":
            item: dict[str, str] = {"uri": URI_FOR[kind]}
            if spec.item_type:
                item["type"] = spec.item_type
            return [item]
        case "typed_media":
            return {"type": spec.types[0], "uri": URI_FOR[spec.types[0]]}
        case "content_moderation":
            return {"publicFigureThreshold": "low"}
        case "provider_settings":
            return {"shotType": "customize"}
        case "keyframes":
            return [{"at": 0.5, "uri": IMAGE}]
    raise AssertionError(spec.type)


def minimal(model_id: str, endpoint: str) -> dict[str, Any]:
    """Only the required fields."""
    fields = CATALOG.model(model_id).endpoint(endpoint).fields
    body: dict[str, Any] = {"model": model_id}
    body.update({name: sample(name, f) for name, f in fields.items() if f.required})
    return body


def full(model_id: str, endpoint: str) -> dict[str, Any]:
    """Every field the model takes (but the enhance-only draftTaskId), each with a valid value."""
    fields = CATALOG.model(model_id).endpoint(endpoint).fields
    body: dict[str, Any] = {"model": model_id}
    body.update({name: sample(name, f) for name, f in fields.items() if name != "draftTaskId"})
    if "proresProfile" in body:
        body["outputFormat"] = "prores"
    return body


def problems_of(endpoint: str, raw: Any, **kwargs: Any) -> list[FieldProblem]:
    with pytest.raises(ValidationFailed) as caught:
        validate_request(endpoint, raw, **kwargs)
    return caught.value.problems


def paths(endpoint: str, raw: Any, **kwargs: Any) -> list[str]:
    return [p.path for p in problems_of(endpoint, raw, **kwargs)]


def message(endpoint: str, raw: Any) -> str:
    return "; ".join(str(p) for p in problems_of(endpoint, raw))


# --- every model on every endpoint ---------------------------------------------------------------


@pytest.mark.parametrize(("model_id", "endpoint"), ALL_PAIRS, ids=ALL_IDS)
def test_minimal_request_is_accepted(model_id: str, endpoint: Endpoint) -> None:
    raw = minimal(model_id, endpoint)
    request = validate_request(endpoint, raw)
    assert isinstance(request, GenerationRequest)
    assert (request.endpoint, request.model, request.body) == (endpoint, model_id, raw)
    assert request.spec is CATALOG.model(model_id).endpoints[endpoint]


@pytest.mark.parametrize(("model_id", "endpoint"), ALL_PAIRS, ids=ALL_IDS)
def test_request_with_every_field_is_accepted(model_id: str, endpoint: Endpoint) -> None:
    raw = full(model_id, endpoint)
    request = validate_request(endpoint, raw)
    assert request.body == raw
    media_fields = {m.path.split(".")[0].split("[")[0] for m in request.media}
    spec = CATALOG.model(model_id).endpoints[endpoint]
    assert media_fields == {
        name
        for name, f in spec.fields.items()
        if f.type in ("media", "frames", "media_list", "typed_media", "keyframes")
    }


@pytest.mark.parametrize(("model_id", "endpoint"), ALL_PAIRS, ids=ALL_IDS)
def test_each_missing_required_field_is_named(model_id: str, endpoint: Endpoint) -> None:
    raw = minimal(model_id, endpoint)
    required = [name for name in raw if name != "model"]
    for name in required:
        less = {k: v for k, v in raw.items() if k != name}
        found = problems_of(endpoint, less)
        assert [p.path for p in found] == [name]
        assert found[0].message.startswith(f"required by {model_id} on {endpoint.value}")
    if len(required) > 1:
        # Every missing field at once, not just the first.
        assert sorted(paths(endpoint, {"model": model_id})) == sorted(required)


@pytest.mark.parametrize(("model_id", "endpoint"), ALL_PAIRS, ids=ALL_IDS)
def test_unknown_field_is_named_with_the_allowed_ones(model_id: str, endpoint: Endpoint) -> None:
    found = problems_of(endpoint, {**minimal(model_id, endpoint), "bogusField": 1})
    assert [p.path for p in found] == ["bogusField"]
    spec = CATALOG.model(model_id).endpoints[endpoint]
    assert all(name in found[0].message for name in spec.fields)


WRONG_TYPE: dict[str, Any] = {
    "text": 7,
    "choice": 7,
    "duration": "long",
    "integer": "3",
    "number": "0.5",
    "boolean": "yes",
    "seed": -1,
    "string": 7,
    "media": 7,
    "frames": 7,
    "media_list": "https://cdn.example.com/a.png",
    "typed_media": "https://cdn.example.com/a.png",
    "content_moderation": "low",
    "provider_settings": [],
    "keyframes": {},
}


@pytest.mark.parametrize(("model_id", "endpoint"), ALL_PAIRS, ids=ALL_IDS)
def test_each_field_of_the_wrong_type_is_named(model_id: str, endpoint: Endpoint) -> None:
    spec = CATALOG.model(model_id).endpoints[endpoint]
    for name, f in spec.fields.items():
        raw = {**minimal(model_id, endpoint), name: WRONG_TYPE[f.type]}
        assert name in paths(endpoint, raw), name


@pytest.mark.parametrize(("model_id", "endpoint"), ALL_PAIRS, ids=ALL_IDS)
def test_each_choice_outside_its_values_is_named_with_them(
    model_id: str, endpoint: Endpoint
) -> None:
    spec = CATALOG.model(model_id).endpoints[endpoint]
    for name, f in spec.fields.items():
        if f.type == "choice":
            found = problems_of(endpoint, {**minimal(model_id, endpoint), name: "9999:1"})
            assert [p.path for p in found] == [name]
            assert str(f.values[-1]) in found[0].message and "'9999:1'" in found[0].message


@pytest.mark.parametrize(("model_id", "endpoint"), ALL_PAIRS, ids=ALL_IDS)
def test_json_null_for_an_optional_field_means_not_given(model_id: str, endpoint: Endpoint) -> None:
    spec = CATALOG.model(model_id).endpoints[endpoint]
    raw = minimal(model_id, endpoint)
    nulls = {name: None for name, f in spec.fields.items() if not f.required}
    assert validate_request(endpoint, {**raw, **nulls}).body == raw


@pytest.mark.parametrize("model_id", CATALOG.model_ids())
def test_a_model_on_an_endpoint_it_lacks_is_refused(model_id: str) -> None:
    model = CATALOG.model(model_id)
    for endpoint in set(Endpoint) - set(model.endpoints):
        found = problems_of(endpoint, {"model": model_id})
        assert [p.path for p in found] == ["model"]
        assert f"not offered on {endpoint.value}" in found[0].message


# --- the model field -----------------------------------------------------------------------------


def test_gen4_turbo_needs_an_image() -> None:
    text = message(T2V, {"model": "gen4_turbo", "promptText": "a fox", "ratio": "1280:720"})
    assert "gen4_turbo needs an image" in text and "promptImage" in text
    assert paths(I2V, {"model": "gen4_turbo", "ratio": "1280:720"}) == ["promptImage"]


def test_unknown_or_missing_model_lists_the_endpoint_models() -> None:
    text = message(V2V, {"model": "gen5"})
    assert text.startswith("model: unknown model 'gen5'; video_to_video takes ")
    assert all(m in text for m in CATALOG.model_ids(Endpoint.VIDEO_TO_VIDEO))
    assert paths(T2V, {"promptText": "a fox"}) == ["model"]
    assert paths(T2V, {"model": 45}) == ["model"]


def test_legacy_models_can_be_refused() -> None:
    raw = {"model": "veo3", "promptText": "a fox", "ratio": "1280:720", "duration": 8}
    assert validate_request(T2V, raw).model == "veo3"
    found = problems_of(T2V, raw, allow_legacy=False)
    assert [p.path for p in found] == ["model"]
    assert "legacy" in found[0].message and "5.12.0" in found[0].message
    offered = problems_of(T2V, {"model": "x"}, allow_legacy=False)[0].message
    assert "veo3.1" in offered and "veo3," not in offered and not offered.endswith("veo3")


def test_bad_endpoint_and_bad_body() -> None:
    assert paths("text2video", {"model": "gen4.5"}) == ["endpoint"]
    assert paths(T2V, ["gen4.5"]) == [""]


# --- messages: every problem, its path and the allowed values ----------------------------------


def test_duration_message_names_the_allowed_values() -> None:
    raw = {"model": "veo3.1", "promptText": "a fox", "ratio": "1280:720", "duration": 5}
    assert message(T2V, raw) == "duration: veo3.1 accepts 4, 6 or 8, got 5"
    raw = {"model": "gen4.5", "promptText": "a fox", "ratio": "1280:720", "duration": 11}
    assert message(T2V, raw) == "duration: gen4.5 accepts 2 to 10 seconds, got 11"
    raw = {"model": "seedance2", "promptText": "a fox", "duration": 20}
    assert message(T2V, raw) == "duration: seedance2 accepts 4 to 15 seconds or 'auto', got 20"
    assert validate_request(T2V, {**raw, "duration": "auto"}).duration_seconds is None


def test_every_problem_is_listed_at_once() -> None:
    raw = {
        "model": "gen4.5",
        "promptText": "",
        "ratio": "1920:1080",
        "duration": 5.5,
        "seed": "7",
        "promptImage": IMAGE,
    }
    found = problems_of(T2V, raw)
    assert [p.path for p in found] == ["promptText", "ratio", "duration", "seed", "promptImage"]
    assert "1280:720 or 720:1280, got '1920:1080'" in found[1].message


def test_required_message_lists_the_choices() -> None:
    text = message(T2V, {"model": "gen4.5", "promptText": "a fox", "duration": 5})
    assert text == "ratio: required by gen4.5 on text_to_video; one of 1280:720 or 720:1280"


def test_prompt_caps_count_utf16_units() -> None:
    base = {"model": "gen4.5", "ratio": "1280:720", "duration": 5}
    assert validate_request(T2V, {**base, "promptText": "a" * 1000})
    assert validate_request(T2V, {**base, "promptText": "🦊" * 500})  # 2 units each
    text = message(T2V, {**base, "promptText": "🦊" * 501})
    assert text == "promptText: gen4.5 accepts at most 1000 characters, got 1002"
    assert paths(T2V, {**base, "promptText": "   "}) == ["promptText"]
    sd = {"model": "seedance2_5", "promptText": "a" * 15000}
    assert validate_request(T2V, sd)
    assert paths(T2V, {**sd, "promptText": "a" * 15001}) == ["promptText"]


def test_seed_range() -> None:
    base = {"model": "gen4.5", "promptText": "a fox", "ratio": "1280:720", "duration": 5}
    assert validate_request(T2V, {**base, "seed": 0})
    assert validate_request(T2V, {**base, "seed": 4_294_967_295})
    for bad in (-1, 4_294_967_296, 1.0, True, "1"):
        assert paths(T2V, {**base, "seed": bad}) == ["seed"]


def test_numbers_are_finite_and_in_range() -> None:
    base = {"model": "kling2.5_turbo_pro", "promptText": "a fox"}
    assert validate_request(T2V, {**base, "cfgScale": 0})
    assert validate_request(T2V, {**base, "cfgScale": 1.0})
    for bad in (1.5, -0.1, float("nan"), float("inf"), True, 10**400):
        assert paths(T2V, {**base, "cfgScale": bad}) == ["cfgScale"]


# --- seedance2 image-to-video: keyframe mode xor reference mode ---------------------------------


def frame(uri: str = IMAGE, position: str | None = None) -> dict[str, str]:
    return {"uri": uri} if position is None else {"uri": uri, "position": position}


def test_seedance2_keyframe_mode_is_accepted() -> None:
    raw = {"model": "seedance2", "promptImage": [frame(position="first"), frame(position="last")]}
    request = validate_request(I2V, raw)
    assert [m.path for m in request.media] == ["promptImage[0].uri", "promptImage[1].uri"]


def test_seedance2_reference_mode_is_accepted() -> None:
    raw = {"model": "seedance2", "promptImage": [frame(), frame(), frame()]}
    assert validate_request(I2V, raw).body == raw
    assert validate_request(I2V, {"model": "seedance2", "promptImage": IMAGE})


def test_seedance2_modes_cannot_be_mixed() -> None:
    raw = {"model": "seedance2", "promptImage": [frame(position="first"), frame()]}
    found = problems_of(I2V, raw)
    assert [p.path for p in found] == ["promptImage"]
    assert "cannot be mixed" in found[0].message


def test_seedance2_frame_positions() -> None:
    found = problems_of(I2V, {"model": "seedance2", "promptImage": [frame(position="middle")]})
    assert [str(p) for p in found] == [
        "promptImage[0].position: seedance2 accepts first or last, got 'middle'"
    ]
    raw = {"model": "seedance2", "promptImage": [frame(position="first")] * 2}
    assert paths(I2V, raw) == ["promptImage[1].position"]
    assert paths(I2V, {"model": "seedance2", "promptImage": []}) == ["promptImage"]
    raw = {"model": "seedance2", "promptImage": [{"uri": IMAGE, "weight": 1}]}
    assert paths(I2V, raw) == ["promptImage[0].weight"]


def test_seedance2_image_to_video_has_no_references_field() -> None:
    raw = {
        "model": "seedance2",
        "promptImage": IMAGE,
        "references": [{"type": "image", "uri": IMAGE}],
    }
    found = problems_of(I2V, raw)
    assert [p.path for p in found] == ["references"]
    assert "the real API wants promptImage instead" in found[0].message
    assert "without position" in found[0].message


def test_seedance2_references_items_have_no_type() -> None:
    raw = {
        "model": "seedance2",
        "promptText": "a fox",
        "references": [{"type": "image", "uri": IMAGE}],
    }
    found = problems_of(T2V, raw)
    assert [p.path for p in found] == ["references[0].type"]
    assert "{uri} only" in found[0].message and "no type" in found[0].message
    raw["references"] = [{"uri": IMAGE}] * 9
    assert validate_request(T2V, raw)
    raw["references"] = [{"uri": IMAGE}] * 10
    assert message(T2V, raw) == "references: seedance2 accepts at most 9 items, got 10"


def test_reference_videos_and_audio_carry_their_type() -> None:
    base = {"model": "seedance2", "promptText": "a fox"}
    assert validate_request(T2V, {**base, "referenceVideos": [{"type": "video", "uri": VIDEO}]})
    found = problems_of(T2V, {**base, "referenceVideos": [{"uri": VIDEO}]})
    assert [str(p) for p in found] == ["referenceVideos[0].type: must be 'video', got None"]
    raw = {**base, "referenceAudio": [{"type": "audio", "uri": IMAGE.replace("png", "mp3")}]}
    assert validate_request(T2V, raw)


# --- videoUri vs promptVideo ----------------------------------------------------------------------


@pytest.mark.parametrize("model_id", ["aleph2", "gen4_aleph", "gemini_omni_flash", "kling_4"])
def test_video_uri_models_refuse_prompt_video(model_id: str) -> None:
    raw = {**minimal(model_id, V2V), "promptVideo": VIDEO}
    del raw["videoUri"]
    found = problems_of(V2V, raw)
    assert {p.path for p in found} == {"promptVideo", "videoUri"}
    wants = next(p for p in found if p.path == "promptVideo")
    assert (
        wants.message == f"{model_id} has no field promptVideo; the real API wants videoUri instead"
    )


@pytest.mark.parametrize("model_id", ["seedance2", "hailuo3", "klingO3_pro", "seedance2_5"])
def test_prompt_video_models_refuse_video_uri(model_id: str) -> None:
    raw = {**minimal(model_id, V2V), "videoUri": VIDEO}
    del raw["promptVideo"]
    found = problems_of(V2V, raw)
    assert {p.path for p in found} == {"videoUri", "promptVideo"}
    assert "the real API wants promptVideo instead" in str(found)


def test_gen4_aleph_last_known_rules() -> None:
    raw = {"model": "gen4_aleph", "videoUri": VIDEO, "promptText": "make it snow"}
    assert validate_request(V2V, raw).media[0] == MediaInput(
        "videoUri",
        VIDEO,
        "video",
        CATALOG.model("gen4_aleph").endpoints[Endpoint(V2V)].fields["videoUri"],
    )
    found = problems_of(V2V, {**raw, "duration": 5})
    assert [str(p) for p in found] == [
        "duration: gen4_aleph has no field duration on video_to_video"
    ]
    refs = [{"type": "image", "uri": IMAGE}]
    assert validate_request(V2V, {**raw, "references": refs})
    assert paths(V2V, {**raw, "references": refs * 2}) == ["references"]
    assert paths(V2V, {**raw, "references": [{"uri": IMAGE}]}) == ["references[0].type"]
    assert paths(V2V, {"model": "gen4_aleph", "videoUri": VIDEO}) == ["promptText"]


# --- act_two --------------------------------------------------------------------------------------


def test_act_two_takes_character_and_reference() -> None:
    raw = {
        "model": "act_two",
        "character": {"type": "video", "uri": VIDEO},
        "reference": {"type": "video", "uri": VIDEO},
        "bodyControl": True,
        "expressionIntensity": 5,
    }
    request = validate_request(CP, raw)
    assert [(m.path, m.kind) for m in request.media] == [
        ("character.uri", "video"),
        ("reference.uri", "video"),
    ]
    assert request.duration_seconds is None
    raw["character"] = {"type": "image", "uri": PNG_DATA}
    assert validate_request(CP, raw).media[0].kind == "image"


def test_act_two_seed_field_names_say_what_the_api_wants() -> None:
    raw = {
        "model": "act_two",
        "promptImage": IMAGE,
        "promptPerformance": VIDEO,
        "ratio": "1280:720",
        "duration": 5,
        "promptText": "smile",
    }
    found = {p.path: p.message for p in problems_of(CP, raw)}
    assert (
        found["promptImage"]
        == "act_two has no field promptImage; the real API wants character instead"
    )
    assert found["promptPerformance"].endswith("the real API wants reference instead")
    assert "as long as the reference video" in found["duration"]
    assert "takes no prompt" in found["promptText"]
    assert found["character"].startswith("required by act_two")
    assert found["reference"].startswith("required by act_two")


def test_act_two_reference_must_be_a_video() -> None:
    raw = {
        "model": "act_two",
        "character": {"type": "gif", "uri": IMAGE},
        "reference": {"type": "image", "uri": IMAGE, "extra": 1},
        "expressionIntensity": 6,
    }
    assert paths(CP, raw) == [
        "character.type",
        "reference.type",
        "reference.extra",
        "expressionIntensity",
    ]


# --- media URIs -----------------------------------------------------------------------------------


def gen45(image: Any) -> dict[str, Any]:
    return {
        "model": "gen4.5",
        "promptImage": image,
        "promptText": "a fox",
        "ratio": "1280:720",
        "duration": 5,
    }


@pytest.mark.parametrize(
    "uri",
    [
        IMAGE,
        "HTTPS://CDN.EXAMPLE.COM/A.PNG",
        "https://cdn.example.com:8443/a.png?sig=abc",
        "runway://uploads/abc123",
        PNG_DATA,
        "data:image/jpeg;base64,/9j/4AAQ",
        "data:image/webp;name=a.webp;base64,UklGRg==",
    ],
)
def test_accepted_media_uris(uri: str) -> None:
    request = validate_request(I2V, gen45(uri))
    assert request.media == (
        MediaInput(
            "promptImage",
            uri,
            "image",
            CATALOG.model("gen4.5").endpoints[Endpoint(I2V)].fields["promptImage"],
        ),
    )
    assert request.media[0].scheme in ("https", "runway", "data")


@pytest.mark.parametrize(
    ("uri", "words"),
    [
        ("http://cdn.example.com/a.png", "https URL, a runway:// URI or a data URI"),
        ("ftp://cdn.example.com/a.png", "https URL"),
        ("cdn.example.com/a.png", "https URL"),
        ("", "required, a media URI"),
        ("https://", "not a valid https URL"),
        ("https:///a.png", "not a valid https URL"),
        ("https://cdn.example.com/a b.png", "whitespace"),
        ("https://cdn.example.com:99999/a.png", "not a valid https URL"),
        ("https://user:pw@cdn.example.com/a.png", "user name or password"),
        ("https://93.184.216.34/a.png", "not an IP address"),
        ("https://[::1]/a.png", "not an IP address"),
        ("https://2130706433/a.png", "not an IP address"),
        ("https://cdn.example.com/" + "a" * 2048, "at most 2048 characters"),
        ("runway://", "empty"),
        ("data:image/png,abc", "data:<mime type>;base64,<data>"),
        ("data:;base64,iVBORw0K", "data:<mime type>;base64,<data>"),
        ("data:base64,iVBORw0K", "data:<mime type>;base64,<data>"),
        ("data:video/mp4;base64,AAAA", "an image is needed here"),
        ("data:application/octet-stream;base64,AAAA", "an image is needed here"),
        ("data:image/gif;base64,R0lGOD", "an image is needed here"),
        ("data:image/png;base64,", "no data"),
        ("data:image/png;base64,not*base64!", "not valid base64"),
    ],
)
def test_refused_media_uris(uri: str, words: str) -> None:
    found = problems_of(I2V, gen45(uri))
    assert [p.path for p in found] == ["promptImage"]
    assert words in found[0].message


def test_data_uri_size_cap() -> None:
    prefix = "data:image/png;base64,"
    cap = CATALOG.media["image"].data_uri_max_bytes
    fits = prefix + "A" * ((cap - len(prefix)) // 4 * 4)
    assert validate_request(I2V, gen45(fits))
    over = prefix + "A" * ((cap - len(prefix)) // 4 * 4 + 4)
    text = message(I2V, gen45(over))
    assert text.startswith("promptImage: image data URIs may be at most 5 MB")
    assert text.endswith("upload the file instead")


def test_media_kind_follows_the_field() -> None:
    raw = {"model": "seedance2", "promptVideo": "data:image/png;base64,AAAA"}
    assert "a video is needed here" in message(V2V, raw)
    raw = {"model": "seedance2", "promptVideo": "data:video/mp4;base64,AAAA"}
    assert validate_request(V2V, raw).media[0].kind == "video"
    raw = {
        "model": "seedance2",
        "promptText": "a fox",
        "referenceAudio": [{"type": "audio", "uri": "data:video/mp4;base64,AAAA"}],
    }
    assert paths(T2V, raw) == ["referenceAudio[0].uri"]


def test_check_media_adds_a_policy() -> None:
    def only_runway(media: MediaInput) -> str | None:
        return None if media.scheme == "runway" else "only uploads are allowed here"

    assert validate_request(I2V, gen45("runway://x"), check_media=only_runway)
    found = problems_of(I2V, gen45(IMAGE), check_media=only_runway)
    assert [str(p) for p in found] == ["promptImage: only uploads are allowed here"]


# --- per-model rules ------------------------------------------------------------------------------


def test_veo31_needs_a_first_frame_with_a_last() -> None:
    base = {"model": "veo3.1", "ratio": "1280:720"}
    assert validate_request(
        I2V, {**base, "promptImage": [frame(position="first"), frame(position="last")]}
    )
    found = problems_of(I2V, {**base, "promptImage": [frame(position="last")]})
    assert [str(p) for p in found] == ["promptImage: veo3.1 needs a first frame with a last frame"]


@pytest.mark.parametrize("model_id", ["kling3.0_pro", "klingO3_4k", "kling2.5_turbo_pro", "h3_max"])
def test_other_first_last_models_need_the_first_frame(model_id: str) -> None:
    raw = {**minimal(model_id, I2V), "promptImage": [frame(position="last")]}
    assert paths(I2V, raw) == ["promptImage"]


def test_gen45_takes_only_a_first_frame() -> None:
    assert validate_request(I2V, gen45([frame(position="first")]))
    assert paths(I2V, gen45([frame(position="last")])) == ["promptImage[0].position"]
    assert paths(I2V, gen45([frame()])) == ["promptImage[0].position"]


def test_kling4_frames_first_middle_last_and_the_ten_image_cap() -> None:
    frames = [frame(position=p) for p in ("first", "middle", "last")]
    raw = {"model": "kling_4", "promptImage": frames, "references": [{"uri": IMAGE}] * 7}
    assert validate_request(I2V, raw)
    found = problems_of(I2V, {**raw, "references": [{"uri": IMAGE}] * 8})
    assert [str(p) for p in found] == [
        "references: kling_4 takes at most 10 images in total, frames included; got 11"
    ]
    assert paths(I2V, {"model": "kling_4", "promptImage": frames[1:]}) == ["promptImage"]
    assert paths(I2V, {"model": "kling_4", "promptImage": [frame()]}) == ["promptImage[0].position"]
    raw = {"model": "kling_4", "promptImage": IMAGE, "references": [{"uri": IMAGE}] * 10}
    assert paths(I2V, raw) == ["references"]


def test_kling_o3_reference_caps() -> None:
    raw = {"model": "klingO3_pro", "promptImage": IMAGE, "references": [frame()] * 7}
    assert validate_request(I2V, raw)
    raw["references"] = [frame()] * 8
    assert message(I2V, raw) == "references: klingO3_pro accepts at most 7 images, got 8"
    raw = {"model": "klingO3_pro", "promptText": "a fox", "promptVideo": VIDEO}
    assert validate_request(V2V, {**raw, "references": [frame()] * 4})
    assert paths(V2V, {**raw, "references": [frame()] * 5}) == ["references"]
    assert validate_request(V2V, {**raw, "references": IMAGE})


def test_kling_provider_settings() -> None:
    base = {"model": "kling3.0_pro", "ratio": "1920:1080"}
    shots = [{"prompt": "a fox", "duration": 5}, {"prompt": "a hare", "duration": 5}]
    assert validate_request(T2V, {**base, "providerSettings": {"multiPrompt": shots}})
    found = problems_of(T2V, {**base, "providerSettings": {"shotType": "intelligence"}})
    assert [str(p) for p in found] == [
        "promptText: required when providerSettings.shotType is 'intelligence'"
    ]
    long_shots = {"multiPrompt": [*shots, {"prompt": "x", "duration": 6}]}
    assert paths(T2V, {**base, "providerSettings": long_shots}) == ["providerSettings.multiPrompt"]
    bad = {"multiPrompt": [{"prompt": "", "duration": 0, "x": 1}], "shotType": "auto", "y": 1}
    assert paths(T2V, {**base, "providerSettings": bad}) == [
        "providerSettings.y",
        "providerSettings.shotType",
        "providerSettings.multiPrompt[0].x",
        "providerSettings.multiPrompt[0].prompt",
        "providerSettings.multiPrompt[0].duration",
    ]
    # keepOriginalSound exists only on video-to-video.
    keep = {"providerSettings": {"keepOriginalSound": False}}
    raw = {"model": "klingO3_standard", "promptText": "a fox", "promptVideo": VIDEO, **keep}
    assert validate_request(V2V, raw)
    assert paths(V2V, {**raw, "providerSettings": {"keepOriginalSound": "no"}}) == [
        "providerSettings.keepOriginalSound"
    ]
    raw = {"model": "klingO3_standard", "ratio": "1280:720", **keep}
    assert paths(T2V, raw) == ["providerSettings.keepOriginalSound"]


def test_wan3_keyframe_mode_needs_an_auto_ratio() -> None:
    base = {"model": "wan3", "promptText": "a fox", "promptImage": [frame(position="first")]}
    assert validate_request(I2V, {**base, "ratio": "auto_720p"})
    assert paths(I2V, {**base, "ratio": "1280:720"}) == ["ratio"]
    refs = {**base, "promptImage": [frame(), frame()], "ratio": "1280:720"}
    assert validate_request(I2V, refs)


def test_hailuo3_adaptive_ratio() -> None:
    base = {"model": "hailuo3", "promptText": "a fox", "ratio": "adaptive"}
    assert paths(T2V, base) == ["ratio"]
    assert validate_request(T2V, {**base, "references": [{"uri": IMAGE}]})
    assert validate_request(T2V, {**base, "referenceVideos": [{"type": "video", "uri": VIDEO}]})
    assert validate_request(I2V, {**base, "promptImage": IMAGE})
    assert validate_request(V2V, {**base, "promptVideo": VIDEO})


def test_grok_references_rules() -> None:
    base = {"model": "grok_imagine_1_5", "promptText": "a fox"}
    audio = [{"type": "audio", "uri": AUDIO}]
    assert paths(T2V, {**base, "referenceAudio": audio}) == ["referenceAudio"]
    refs = {**base, "referenceAudio": audio, "references": [{"uri": IMAGE}]}
    assert validate_request(T2V, {**refs, "resolution": "720p"})
    assert paths(T2V, {**refs, "resolution": "1080p"}) == ["resolution"]
    assert validate_request(T2V, {**base, "resolution": "1080p"})


def test_prores_profile_needs_prores() -> None:
    base = {"model": "gen4.5", "promptText": "a fox", "ratio": "1280:720", "duration": 5}
    assert validate_request(T2V, {**base, "outputFormat": "prores", "proresProfile": "422 LT"})
    assert validate_request(T2V, {**base, "outputFormat": "hdr_prores", "proresProfile": "422 HQ"})
    assert paths(T2V, {**base, "proresProfile": "4444"}) == ["proresProfile"]
    raw = {**base, "outputFormat": "hdr_prores", "proresProfile": "422 LT"}
    assert paths(T2V, raw) == ["proresProfile"]


def test_seedance25_drafts_and_modes() -> None:
    assert validate_request(T2V, {"model": "seedance2_5"}).duration_seconds == 5
    assert validate_request(T2V, {"model": "seedance2_5", "draft": True, "outputFormat": "mp4"})
    raw = {"model": "seedance2_5", "draft": True, "outputFormat": "mov"}
    assert paths(T2V, raw) == ["outputFormat"]
    enhance = validate_request(T2V, {"model": "seedance2_5", "draftTaskId": "task-1"})
    assert enhance.duration_seconds is None
    raw = {"model": "seedance2_5", "draftTaskId": "task-1", "promptText": "a fox"}
    assert paths(T2V, raw) == ["promptText"]
    assert paths(I2V, {"model": "seedance2_5", "promptImage": IMAGE, "draftTaskId": "t"}) == [
        "draftTaskId"
    ]
    v2v = {"model": "seedance2_5", "promptVideo": VIDEO}
    assert validate_request(V2V, {**v2v, "mode": "reference", "ratio": "1280:720"})
    assert validate_request(V2V, {**v2v, "mode": "extend", "promptText": "go on"})
    assert sorted(paths(V2V, {**v2v, "mode": "extend", "ratio": "1280:720"})) == [
        "promptText",
        "ratio",
    ]
    assert paths(V2V, {**v2v, "mode": "edit", "promptText": "snow"}) == ["duration"]
    assert validate_request(V2V, {**v2v, "mode": "edit", "promptText": "snow", "duration": "auto"})


def test_gemini_omni_flash_11_modes_take_a_ratio() -> None:
    raw = {
        "model": "gemini_omni_flash_1.1",
        "videoUri": VIDEO,
        "promptText": "continue",
        "mode": "extend",
        "ratio": "1280:720",
        "duration": "auto",
    }
    assert validate_request(V2V, raw)


def test_aleph2_keyframes() -> None:
    base = {"model": "aleph2", "videoUri": VIDEO}
    good = [
        {"seconds": 1.5, "uri": IMAGE, "range": {"start_seconds": 1, "end_seconds": 3}},
        {"seconds": 4, "uri": IMAGE, "range": {"start_seconds": 3, "end_seconds": 6}},
    ]
    assert validate_request(V2V, {**base, "keyframes": good})
    assert validate_request(V2V, {**base, "keyframes": [{"at": 0.0, "uri": IMAGE}] * 5})
    assert paths(V2V, {**base, "keyframes": [{"at": 0.5, "uri": IMAGE}] * 6}) == ["keyframes"]
    assert paths(V2V, {**base, "keyframes": []}) == ["keyframes"]
    assert paths(V2V, {**base, "keyframes": [{"at": 0.5, "seconds": 1, "uri": IMAGE}]}) == [
        "keyframes[0]"
    ]
    assert paths(V2V, {**base, "keyframes": [{"at": 1.5, "uri": IMAGE}]}) == ["keyframes[0].at"]
    mixed = [good[0], {"seconds": 4, "uri": IMAGE}]
    assert paths(V2V, {**base, "keyframes": mixed}) == ["keyframes"]
    outside = [{"seconds": 5, "uri": IMAGE, "range": {"start_seconds": 1, "end_seconds": 3}}]
    assert paths(V2V, {**base, "keyframes": outside}) == ["keyframes[0].range"]
    camel = [{"seconds": 2, "uri": IMAGE, "range": {"startSeconds": 1, "end_seconds": 3}}]
    assert paths(V2V, {**base, "keyframes": camel}) == [
        "keyframes[0].range.startSeconds",
        "keyframes[0].range",
    ]
    assert validate_request(V2V, {**base, "ratio": "16:9", "targetAspectRatio": "21:9"})


def test_content_moderation() -> None:
    base = {"model": "gen4_turbo", "promptImage": IMAGE, "ratio": "960:960"}
    assert validate_request(I2V, {**base, "contentModeration": {"publicFigureThreshold": "auto"}})
    bad = {"publicFigureThreshold": "high", "other": 1}
    assert paths(I2V, {**base, "contentModeration": bad}) == [
        "contentModeration.publicFigureThreshold",
        "contentModeration.other",
    ]


# --- the validated request -----------------------------------------------------------------------


def test_generation_request_properties() -> None:
    request = validate_request(I2V, gen45(IMAGE))
    assert request.duration_seconds == 5
    assert request.ratio == "1280:720"
    assert request.prompt_text == "a fox"
    request = validate_request(V2V, {"model": "aleph2", "videoUri": VIDEO})
    assert (request.duration_seconds, request.ratio, request.prompt_text) == (None, None, None)
    request = validate_request(
        I2V, {"model": "kling2.5_turbo_pro", "promptImage": IMAGE, "promptText": "x"}
    )
    assert request.duration_seconds == 5  # the model's stated default
