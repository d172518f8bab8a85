"""``price_request``: a body is checked as a create checks it and priced as the job reserves."""

from __future__ import annotations

import pytest

from vidgate.errors import ValidationFailed
from vidgate.requests.chain_plan import validate_chain
from vidgate.requests.pricing import price_request


def test_a_single_generation_is_priced_for_its_length() -> None:
    body = {"model": "gen4.5", "promptText": "a boat", "ratio": "1280:720", "duration": 5}
    assert price_request("text_to_video", body).describe() == "60 credits"


def test_a_chain_is_priced_as_planned() -> None:
    body = {"model": "gen4.5", "promptText": "a boat", "ratio": "1280:720", "duration": 2.5}
    price = price_request("chain", body)
    assert price.duration_seconds == 3  # planned as one 3 s segment, not 2.5
    assert price.high == validate_chain(body).estimate_credits() == 36


def test_what_create_refuses_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        price_request(
            "text_to_video",
            {"model": "veo3.1", "promptText": "x", "ratio": "1280:720", "duration": 5},
        )
    assert [p.path for p in caught.value.problems] == ["duration"]


def test_missing_inputs_can_be_left_out_of_a_price() -> None:
    body = {"model": "gen4_turbo", "ratio": "1280:720", "duration": 5}
    with pytest.raises(ValidationFailed):
        price_request("image_to_video", body)
    assert price_request("image_to_video", body, inputs_optional=True).describe() == "25 credits"
    character = price_request("character_performance", {"model": "act_two"}, inputs_optional=True)
    assert character.model == "act_two"
