"""Content credentials: signing and reading C2PA manifests on real MP4s with c2pa-python."""

from __future__ import annotations

from pathlib import Path

import pytest

from vidgate.emulator.content_credentials import ISSUER, EmulatorSigner, make_test_identity
from vidgate.emulator.render import render_video
from vidgate.errors import ConfigurationError
from vidgate.media.mp4_layout import is_faststart
from vidgate.media.provenance import (
    SigningIdentity,
    ai_generated_manifest,
    read_provenance,
    sign_video,
)
from vidgate.settings import load_settings


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    render_video(path, width=160, height=90, duration_seconds=0.5, audio=True)
    return path


def test_an_unsigned_file_is_reported_as_such(clip: Path) -> None:
    report = read_provenance(clip)
    assert not report.present and not report.valid and report.error is None


def test_the_emulator_signs_in_place_and_keeps_faststart(clip: Path) -> None:
    EmulatorSigner().sign(clip, model="veo3.1")
    report = read_provenance(clip)
    assert report.present and report.valid and not report.trusted
    assert report.ai_generated and report.issuer == ISSUER
    assert report.failures == ("signingCredential.untrusted",)  # no trust list, nothing else
    assert is_faststart(clip)


def test_a_composite_lists_its_ingredients_and_a_changed_byte_breaks_it(
    clip: Path, tmp_path: Path
) -> None:
    EmulatorSigner().sign(clip, model="gen4.5")
    identity, _ = make_test_identity("operator")
    joined = tmp_path / "joined.mp4"
    manifest = ai_generated_manifest("joined.mp4", model="gen4.5", generator="t", composite=True)
    sign_video(clip, joined, manifest, identity, ingredients=[("segment 1 of 1", clip)])
    report = read_provenance(joined)
    assert report.valid and report.signer == "operator"
    assert report.ingredients == ("segment 1 of 1",)
    damaged = bytearray(joined.read_bytes())
    damaged[-64] ^= 0x01
    (tmp_path / "damaged.mp4").write_bytes(damaged)
    broken = read_provenance(tmp_path / "damaged.mp4")
    assert broken.present and not broken.valid and broken.state == "Invalid"


def test_the_signing_settings_go_together(tmp_path: Path) -> None:
    identity, _ = make_test_identity()
    cert, key = tmp_path / "chain.pem", tmp_path / "key.pem"
    cert.write_bytes(identity.certificate_chain)
    key.write_bytes(identity.private_key)
    settings = load_settings(c2pa_certificate=cert, c2pa_private_key=key)
    assert settings.c2pa_certificate == cert and settings.c2pa_private_key == key
    loaded = SigningIdentity.from_files(cert, key)
    assert loaded.algorithm == "es256"
    with pytest.raises(ConfigurationError, match="go together"):
        load_settings(c2pa_certificate=cert)
    with pytest.raises(ConfigurationError, match="not a readable file"):
        load_settings(c2pa_certificate=cert, c2pa_private_key=tmp_path / "missing.pem")
