"""The catalog's data (runway-api.md §2 and §7, the seed cost tables), cost estimates and the
model recommender."""

from __future__ import annotations

import pytest

from vidgate.catalog import (
    Catalog,
    CostEstimate,
    Endpoint,
    Priority,
    UseCase,
    get_catalog,
)
from vidgate.errors import NotFound, ValidationFailed
from vidgate.requests import rules as vidgate_rules

CATALOG = get_catalog()
ALL_PAIRS = [(m.id, e) for m in CATALOG.models() for e in m.endpoints]
ALL_IDS = [f"{m}-{e.value}" for m, e in ALL_PAIRS]
MIB = 1024 * 1024


def spec(model: str, endpoint: Endpoint) -> object:
    return CATALOG.model(model).endpoints[endpoint]


def field(model: str, endpoint: Endpoint, name: str):  # type: ignore[no-untyped-def]
    return CATALOG.model(model).endpoints[endpoint].fields[name]


T2V, I2V, V2V, CP = (
    Endpoint.TEXT_TO_VIDEO,
    Endpoint.IMAGE_TO_VIDEO,
    Endpoint.VIDEO_TO_VIDEO,
    Endpoint.CHARACTER_PERFORMANCE,
)


# --- shape and internal consistency -------------------------------------------------------------


def test_get_catalog_is_loaded_once() -> None:
    assert get_catalog() is get_catalog()


def test_catalog_covers_the_sdk_models_and_the_legacy_seed_models() -> None:
    # 24 text-to-video models, gen4_turbo, aleph2, act_two; plus veo3 and gen4_aleph (legacy)
    assert len(CATALOG.models(include_legacy=False)) == 27
    assert len(CATALOG.models()) == 29
    assert "veo3" in CATALOG and "gen4_aleph" in CATALOG
    assert "veo3" not in CATALOG.model_ids(V2V)
    assert CATALOG.model_ids(CP) == ["act_two"]
    assert "gen4_turbo" in CATALOG.model_ids(I2V)
    assert "gen4_turbo" not in CATALOG.model_ids(T2V)


def test_unknown_model_is_not_found() -> None:
    with pytest.raises(NotFound, match="nope"):
        CATALOG.model("nope")
    assert "nope" not in CATALOG


def test_model_endpoint_names_the_endpoints_it_takes() -> None:
    with pytest.raises(ValidationFailed, match="image_to_video"):
        CATALOG.model("gen4_turbo").endpoint("text_to_video")
    assert CATALOG.model("gen4_turbo").endpoint("image_to_video").fields["promptImage"].required


@pytest.mark.parametrize(("model_id", "endpoint"), ALL_PAIRS, ids=ALL_IDS)
def test_endpoint_spec_is_consistent(model_id: str, endpoint: Endpoint) -> None:
    model = CATALOG.model(model_id)
    ep = model.endpoints[endpoint]
    assert model.label and model.provider and model.best_for
    assert model.speed in ("fast", "standard", "slow")
    for rule in ep.rules:
        assert rule in vidgate_rules.RULES, f"rule {rule} has no function in requests/rules.py"
    for old, wanted in ep.renamed.items():
        assert old not in ep.fields, f"{old} is renamed but also a field"
        assert wanted == "" or wanted in ep.fields, f"{old} -> {wanted}: no such field"
    for name in ep.hints:
        assert name not in ep.fields
    for name, f in ep.fields.items():
        assert name[0].islower() and "_" not in name, f"{name} is not a camelCase wire name"
        if f.type == "choice":
            assert f.values and len(set(f.values)) == len(f.values)
        if f.type == "duration":
            assert f.values is not None or (f.min is not None and f.max is not None)
            if f.min is not None and f.max is not None:
                assert 0 < f.min <= f.max <= 30
            if f.default is not None:
                assert f.default in ep.allowed_durations
        if f.type in ("media", "media_list"):
            assert f.kind in ("image", "video", "audio")
        if f.type == "frames":
            assert f.positions and set(f.positions) <= {"first", "middle", "last"}
        if f.type == "typed_media":
            assert f.types
    if ep.duration is not None:
        assert ep.allowed_durations
        assert ep.max_duration == max(ep.allowed_durations)


def test_every_rule_function_is_used_by_some_model() -> None:
    used = {rule for m in CATALOG.models() for ep in m.endpoints.values() for rule in ep.rules}
    assert used == set(vidgate_rules.RULES)


def test_from_toml_reads_a_small_catalog() -> None:
    catalog = Catalog.from_toml(
        """
[media.image]
mime_types = ["image/png"]
url_max_bytes = 10
data_uri_max_bytes = 10
upload_max_bytes = 10

[models.m1]
label = "M1"
provider = "P"
best_for = "tests"
speed = "fast"
credits_per_second = [1, 2]

[models.m1.text_to_video.fields]
promptText = { required = true, type = "text", max = 10 }
duration = { type = "duration", values = [3, 6] }
"""
    )
    assert catalog.model_ids() == ["m1"]
    assert catalog.model("m1").credits_per_second == (1, 2)
    assert catalog.estimate_cost("m1").describe() == "6-12 credits"


# --- facts from runway-api.md -------------------------------------------------------------------


def test_media_limits_by_url_data_uri_and_upload() -> None:
    image, video, audio = (CATALOG.media[k] for k in ("image", "video", "audio"))
    assert (image.url_max_bytes, image.data_uri_max_bytes, image.upload_max_bytes) == (
        16 * MIB,
        5 * MIB,
        200 * MIB,
    )
    for kind in (video, audio):
        assert (kind.url_max_bytes, kind.data_uri_max_bytes, kind.upload_max_bytes) == (
            32 * MIB,
            5 * MIB,
            200 * MIB,
        )
    assert "image/gif" not in image.mime_types
    assert {"image/jpeg", "image/png", "image/webp"} <= set(image.mime_types)
    assert "video/mp4" in video.mime_types
    assert "application/octet-stream" not in video.mime_types


@pytest.mark.parametrize(
    ("models", "cap"),
    [
        (["gen4.5", "gen4_turbo", "veo3.1", "veo3.1_fast", "veo3", "gen4_aleph"], 1000),
        (["seedance2", "seedance2_fast", "seedance2_mini"], 3500),
        (["happyhorse_1_0"], 2500),
        (["seedance2_5"], 15000),
    ],
)
def test_prompt_caps(models: list[str], cap: int) -> None:
    for model_id in models:
        for ep in CATALOG.model(model_id).endpoints.values():
            assert ep.fields["promptText"].max == cap, model_id


@pytest.mark.parametrize(
    ("model_id", "endpoint", "name", "cap"),
    [
        ("seedance2", T2V, "references", 9),
        ("seedance2", V2V, "references", 9),
        ("hailuo3", T2V, "references", 9),
        ("wan3", T2V, "references", 10),
        ("wan3_prime", T2V, "references", 10),
        ("kling_4", T2V, "references", 10),
        ("kling_4", I2V, "references", 10),
        ("kling_4", T2V, "referenceVideos", 5),
        ("klingO3_pro", I2V, "references", 7),
        ("klingO3_standard", I2V, "references", 7),
        ("klingO3_4k", I2V, "references", 7),
        ("klingO3_pro", V2V, "references", 4),
        ("klingO3_4k", V2V, "references", 4),
        ("seedance2_5", T2V, "references", 30),
        ("gen4_aleph", V2V, "references", 1),
        ("aleph2", V2V, "keyframes", 5),
    ],
)
def test_reference_caps(model_id: str, endpoint: Endpoint, name: str, cap: int) -> None:
    assert field(model_id, endpoint, name).max_items == cap


@pytest.mark.parametrize(
    ("model_id", "endpoint", "name", "seconds"),
    [
        ("seedance2", T2V, "referenceVideos", 15),
        ("seedance2", T2V, "referenceAudio", 15),
        ("seedance2_mini", V2V, "referenceVideos", 15),
        ("hailuo3", V2V, "referenceAudio", 15),
        ("wan3", I2V, "referenceVideos", 15),
        ("seedance2_5", T2V, "referenceVideos", 30),
        ("seedance2_5", V2V, "referenceAudio", 30),
        ("kling_4", I2V, "referenceVideos", 30),
    ],
)
def test_reference_total_seconds(
    model_id: str, endpoint: Endpoint, name: str, seconds: int
) -> None:
    assert field(model_id, endpoint, name).max_total_seconds == seconds


def test_seedance2_input_video_limits_from_the_seed() -> None:
    video = field("seedance2", V2V, "promptVideo")
    assert (video.max_seconds, video.max_bytes, video.min_height) == (15, 32 * MIB, 720)
    assert video.note and "seed" in video.note


def test_act_two_takes_character_and_reference() -> None:
    ep = CATALOG.model("act_two").endpoints[CP]
    assert set(ep.fields["character"].types) == {"image", "video"}
    reference = ep.fields["reference"]
    assert reference.types == ("video",)
    assert (reference.min_seconds, reference.max_seconds) == (3, 30)
    assert "duration" not in ep.fields and "promptText" not in ep.fields
    assert ep.renamed["promptImage"] == "character"
    assert ep.renamed["promptPerformance"] == "reference"


def test_video_field_names_split_by_model() -> None:
    video_uri = {"aleph2", "gemini_omni_flash", "gemini_omni_flash_1.1", "kling_4", "gen4_aleph"}
    for model_id in CATALOG.model_ids(V2V):
        fields = CATALOG.model(model_id).endpoints[V2V].fields
        wanted = "videoUri" if model_id in video_uri else "promptVideo"
        assert wanted in fields and fields[wanted].required, model_id
        other = "promptVideo" if wanted == "videoUri" else "videoUri"
        assert other not in fields


def test_kling_4_frames_are_first_middle_last() -> None:
    frames = field("kling_4", I2V, "promptImage")
    assert frames.positions == ("first", "middle", "last")
    assert frames.string


@pytest.mark.parametrize("model_id", ["hailuo3", "wan3", "wan3_prime", "seedance2", "seedance2_5"])
def test_keyframe_or_reference_models_take_positionless_items(model_id: str) -> None:
    frames = field(model_id, I2V, "promptImage")
    assert frames.position_optional and frames.string and frames.positions == ("first", "last")
    assert "frames_keyframe_xor_reference" in CATALOG.model(model_id).endpoints[I2V].rules


def test_seedance2_has_no_references_on_image_to_video() -> None:
    ep = CATALOG.model("seedance2").endpoints[I2V]
    assert "references" not in ep.fields
    assert ep.renamed["references"] == "promptImage"


def test_durations() -> None:
    assert CATALOG.model("veo3.1").endpoints[T2V].allowed_durations == (4, 6, 8)
    assert CATALOG.model("veo3.1_fast").endpoints[I2V].allowed_durations == (4, 6, 8)
    assert CATALOG.model("gen4.5").endpoints[T2V].allowed_durations == tuple(range(2, 11))
    assert field("gen4.5", T2V, "duration").required
    assert CATALOG.model("veo3").endpoints[T2V].allowed_durations == (8,)
    assert CATALOG.model("kling2.5_turbo_pro").endpoints[I2V].allowed_durations == (5, 10)
    assert field("seedance2", T2V, "duration").auto
    assert not field("seedance2", T2V, "duration").stated
    assert field("gemini_omni_flash", T2V, "duration").stated
    assert CATALOG.model("aleph2").endpoints[V2V].allowed_durations == ()
    assert CATALOG.model("seedance2").max_duration == 15
    assert CATALOG.model("act_two").max_duration is None


def test_ratios() -> None:
    assert CATALOG.model("gen4.5").endpoints[T2V].ratios == ("1280:720", "720:1280")
    assert len(CATALOG.model("gen4.5").endpoints[I2V].ratios) == 6
    assert len(CATALOG.model("seedance2").endpoints[T2V].ratios) == 24
    assert len(CATALOG.model("seedance2_fast").endpoints[T2V].ratios) == 12
    assert CATALOG.model("veo3").endpoints[T2V].ratios == (
        "1280:720",
        "720:1280",
        "1080:1920",
        "1920:1080",
    )
    assert CATALOG.model("happyhorse_1_0").endpoints[I2V].ratios == ()


def test_legacy_models_keep_their_last_known_rules() -> None:
    veo3 = CATALOG.model("veo3")
    assert veo3.legacy and veo3.legacy_note
    for ep in veo3.endpoints.values():
        assert ep.fields["duration"].required
        assert "audio" not in ep.fields and "seed" not in ep.fields
    aleph = CATALOG.model("gen4_aleph").endpoints[V2V]
    assert aleph.fields["videoUri"].required and aleph.fields["promptText"].required
    assert aleph.fields["ratio"].deprecated
    assert aleph.renamed == {"promptVideo": "videoUri", "duration": ""}
    assert aleph.fields["references"].item_type == "image"


def test_costs_come_from_the_seed_tables_only() -> None:
    known = {
        m.id: m.credits_per_second for m in CATALOG.models() if m.credits_per_second is not None
    }
    assert known == {
        "gen4.5": 12,
        "gen4_turbo": 5,
        "gen4_aleph": 15,
        "veo3": 40,
        "veo3.1": (20, 40),
        "veo3.1_fast": (10, 15),
        "seedance2": 36,
    }
    assert not CATALOG.model("aleph2").cost_known
    assert CATALOG.model("veo3.1").cost_range == (20, 40)
    assert CATALOG.model("gen4.5").cost_range == (12, 12)


def test_speed_classes_from_the_seed_tables() -> None:
    speeds = {m: CATALOG.model(m).speed for m in ("gen4_turbo", "veo3.1_fast", "gen4.5", "veo3")}
    assert speeds == {
        "gen4_turbo": "fast",
        "veo3.1_fast": "fast",
        "gen4.5": "standard",
        "veo3": "standard",
    }


def test_field_descriptions_name_the_limits() -> None:
    assert field("seedance2", V2V, "promptVideo").describe() == (
        "video URI; at most 15 s; at most 32 MB; at least 720p"
    )
    assert field("gen4.5", T2V, "duration").describe() == "2-10 s"
    assert field("seedance2", T2V, "duration").describe() == "4-15 s (assumed); or auto"
    assert field("klingO3_pro", I2V, "references").describe().endswith("at most 7")
    assert "first|middle|last" in field("kling_4", I2V, "promptImage").describe()
    assert field("act_two", CP, "reference").describe() == "{type: video, uri}; each 3-30 s"


# --- estimates ----------------------------------------------------------------------------------


def test_estimate_is_cost_per_second_times_duration() -> None:
    estimate = CATALOG.estimate_cost("gen4.5", duration=5)
    assert estimate == CostEstimate("gen4.5", 5, 60, 60)
    assert estimate.describe() == "60 credits"
    assert estimate.known


def test_estimate_gives_a_range_where_the_table_does() -> None:
    assert CATALOG.estimate_cost("veo3.1", duration=8).describe() == "160-320 credits"
    assert CATALOG.estimate_cost("veo3.1_fast", duration=4).describe() == "40-60 credits"


def test_estimate_of_an_unpriced_model_is_unknown() -> None:
    estimate = CATALOG.estimate_cost("aleph2", duration=5)
    assert not estimate.known
    assert estimate.describe() == "unknown"


def test_estimate_without_duration_assumes_the_longest_allowed() -> None:
    # Runway bills "auto" durations at the maximum up front.
    assert CATALOG.estimate_cost("gen4.5").describe() == "120 credits"
    assert CATALOG.estimate_cost("veo3").describe() == "320 credits"
    assert CATALOG.estimate_cost("seedance2", endpoint="image_to_video").duration_seconds == 15
    assert CATALOG.estimate_cost("aleph2").duration_seconds is None


def test_estimate_of_fractional_seconds() -> None:
    assert CATALOG.estimate_cost("gen4_turbo", duration=2.5).describe() == "12.5 credits"
    assert CATALOG.estimate_cost("gen4_turbo", duration=0.1).describe() == "0.5 credits"


@pytest.mark.parametrize("duration", [0, -5, float("nan"), float("inf")])
def test_estimate_refuses_a_meaningless_duration(duration: float) -> None:
    with pytest.raises(ValidationFailed, match="duration"):
        CATALOG.estimate_cost("gen4.5", duration=duration)


def test_estimate_of_an_unknown_model_or_endpoint() -> None:
    with pytest.raises(NotFound):
        CATALOG.estimate_cost("nope", duration=5)
    with pytest.raises(ValidationFailed, match="endpoint"):
        CATALOG.estimate_cost("gen4_turbo", endpoint="text_to_video")


# --- recommend: one test per branch of the seeds' selection guidance ----------------------------


def one_sentence(text: str) -> bool:
    return text.endswith(".") and text.count(". ") == 0 and text[0].isalpha()


def test_recommend_default_is_gen45() -> None:
    rec = CATALOG.recommend("text")
    assert (rec.model, rec.endpoint) == ("gen4.5", T2V)
    assert rec.estimate.describe() == "60 credits"
    assert one_sentence(rec.reason)


def test_recommend_default_with_an_image_uses_image_to_video() -> None:
    rec = CATALOG.recommend(UseCase.IMAGE)
    assert (rec.model, rec.endpoint) == ("gen4.5", I2V)
    rec = CATALOG.recommend(UseCase.TEXT, has_image=True)
    assert (rec.model, rec.endpoint) == ("gen4.5", I2V)


@pytest.mark.parametrize("priority", [Priority.COST, Priority.SPEED])
def test_recommend_budget_with_an_image_is_gen4_turbo(priority: Priority) -> None:
    rec = CATALOG.recommend(UseCase.IMAGE, priority=priority, has_image=True)
    assert (rec.model, rec.endpoint) == ("gen4_turbo", I2V)
    assert rec.estimate.describe() == "25 credits"
    assert one_sentence(rec.reason) and "image" in rec.reason


@pytest.mark.parametrize("priority", [Priority.COST, Priority.SPEED])
def test_recommend_budget_without_an_image_is_veo31_fast(priority: Priority) -> None:
    rec = CATALOG.recommend(UseCase.TEXT, priority=priority)
    assert (rec.model, rec.endpoint) == ("veo3.1_fast", T2V)
    assert "gen4_turbo needs" in rec.reason
    # Priced at an allowed length (4, 6 or 8) near the 5 s asked.
    assert rec.estimate.duration_seconds in (4, 6)
    assert rec.estimate.low is not None and rec.estimate.low < (rec.estimate.high or 0)


def test_recommend_highest_quality_is_veo3_when_legacy_is_allowed() -> None:
    rec = CATALOG.recommend(UseCase.TEXT, priority=Priority.QUALITY, include_legacy=True)
    assert rec.model == "veo3"
    assert rec.estimate.describe() == "320 credits"  # veo3 only makes 8 s clips
    assert one_sentence(rec.reason)


def test_recommend_highest_quality_without_legacy_is_veo31() -> None:
    rec = CATALOG.recommend(UseCase.IMAGE, priority="quality")
    assert (rec.model, rec.endpoint) == ("veo3.1", I2V)
    assert "legacy" in rec.reason


def test_recommend_video_editing_is_aleph2() -> None:
    rec = CATALOG.recommend(UseCase.VIDEO)
    assert (rec.model, rec.endpoint) == ("aleph2", V2V)
    assert "gen4_aleph" in rec.reason
    assert rec.estimate.describe() == "unknown"


@pytest.mark.parametrize(
    "kwargs", [{"duration": 12}, {"priority": Priority.LENGTH}], ids=["long", "length"]
)
def test_recommend_long_video_editing_is_seedance2(kwargs: dict[str, object]) -> None:
    rec = CATALOG.recommend(UseCase.VIDEO, **kwargs)  # type: ignore[arg-type]
    assert (rec.model, rec.endpoint) == ("seedance2", V2V)


def test_recommend_product_ads_is_seedance2() -> None:
    rec = CATALOG.recommend(UseCase.PRODUCT_AD)
    assert (rec.model, rec.endpoint) == ("seedance2", T2V)
    assert "product ads" in rec.reason
    assert rec.estimate.describe() == "180 credits"


def test_recommend_clips_over_ten_seconds_is_seedance2() -> None:
    rec = CATALOG.recommend(UseCase.TEXT, duration=12)
    assert rec.model == "seedance2"
    assert rec.estimate.describe() == "432 credits"
    rec = CATALOG.recommend(UseCase.IMAGE, duration=15, priority=Priority.COST)
    assert (rec.model, rec.endpoint) == ("seedance2", I2V)
    assert rec.estimate.duration_seconds == 15


def test_recommend_ten_seconds_is_not_a_long_clip() -> None:
    assert CATALOG.recommend(UseCase.TEXT, duration=10).model == "gen4.5"
    assert CATALOG.recommend(UseCase.TEXT, duration=10).estimate.describe() == "120 credits"


def test_recommend_length_priority_is_seedance2() -> None:
    assert CATALOG.recommend(UseCase.TEXT, priority=Priority.LENGTH).model == "seedance2"


def test_recommend_character_is_act_two() -> None:
    rec = CATALOG.recommend(UseCase.CHARACTER, priority=Priority.COST)
    assert (rec.model, rec.endpoint) == ("act_two", CP)
    assert rec.estimate.describe() == "unknown"


def test_recommend_refuses_an_unknown_use_case_or_priority() -> None:
    with pytest.raises(ValueError):
        CATALOG.recommend("opera")
    with pytest.raises(ValueError):
        CATALOG.recommend("text", priority="vibes")


@pytest.mark.parametrize("use_case", list(UseCase))
@pytest.mark.parametrize("priority", list(Priority))
@pytest.mark.parametrize("has_image", [False, True])
def test_recommend_always_names_a_model_on_an_endpoint_it_takes(
    use_case: UseCase, priority: Priority, has_image: bool
) -> None:
    rec = CATALOG.recommend(use_case, priority=priority, has_image=has_image)
    model = CATALOG.model(rec.model)
    assert rec.endpoint in model.endpoints
    assert not model.legacy
    assert one_sentence(rec.reason)
    assert rec.estimate.model == rec.model
    if rec.estimate.duration_seconds is not None:
        assert rec.estimate.duration_seconds in model.endpoints[rec.endpoint].allowed_durations
