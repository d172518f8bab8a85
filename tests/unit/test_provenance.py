"""Content credentials: signing and reading C2PA manifests on real MP4s with c2pa-python."""

from __future__ import annotations

from pathlib import Path

import pytest

from vidgate.emulator.content_credentials import (
    ISSUER,
    RENEW_DAYS,
    ROOT_FILE,
    EmulatorSigner,
    make_test_identity,
)
from vidgate.emulator.render import render_video
from vidgate.errors import ConfigurationError
from vidgate.media.c2pa_trust import TrustSetup, load_trust
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
    # Valid, and untrusted by the shipped C2PA list alone: nothing else failed.
    assert report.failures == ("signingCredential.untrusted",)
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


def _pem_file(path: Path, pem: bytes) -> Path:
    path.write_bytes(pem)
    return path


def test_an_emulator_output_is_trusted_once_its_root_is_an_anchor(
    clip: Path, tmp_path: Path
) -> None:
    signer = EmulatorSigner()
    signer.sign(clip, model="veo3.1")
    untrusted = read_provenance(clip)
    assert untrusted.valid and not untrusted.trusted and untrusted.trusted_by is None
    assert untrusted.trust_reason == (
        "signer not on the trust list (checked: C2PA trust list of 2026-08-05)"
    )
    assert [s.as_dict() for s in untrusted.signers] == [
        {
            "manifest": untrusted.signers[0].manifest,
            "title": None,
            "issuer": ISSUER,
            "signer": "vidgate emulator signer",
            "trusted": False,
            "trusted_by": None,
            "reason": untrusted.trust_reason,
        }
    ]
    anchors = _pem_file(tmp_path / "root.pem", signer.root_pem)
    trusted = read_provenance(clip, load_trust(anchors))
    assert trusted.trusted and trusted.valid and trusted.state == "Trusted"
    assert trusted.trust_reason is None and trusted.failures == ()
    assert trusted.trusted_by == "VIDGATE_C2PA_TRUST_ANCHORS"
    assert trusted.signers[0].trusted and trusted.signers[0].reason is None
    # Another root is no help: the reason names every list checked.
    other = _pem_file(tmp_path / "other.pem", make_test_identity()[1])
    still = read_provenance(clip, load_trust(other))
    assert not still.trusted and still.trust_reason == (
        "signer not on the trust list (checked: C2PA trust list of 2026-08-05, "
        "VIDGATE_C2PA_TRUST_ANCHORS)"
    )


def test_a_pinned_signer_is_trusted_whatever_it_chains_to(clip: Path, tmp_path: Path) -> None:
    signer = EmulatorSigner()
    signer.sign(clip, model="gen4.5")
    leaf = signer.identity.certificate_chain.split(b"\n-----BEGIN")[0] + b"\n"
    report = read_provenance(clip, load_trust(None, _pem_file(tmp_path / "pinned.pem", leaf)))
    assert report.trusted and report.trusted_by == "VIDGATE_C2PA_ALLOWED_SIGNERS"
    # Pinning the root instead pins nothing: only the signer's own certificate counts.
    root = _pem_file(tmp_path / "root-pinned.pem", signer.root_pem)
    assert not read_provenance(clip, load_trust(None, root)).trusted


def test_each_signer_of_a_joined_file_is_judged_on_its_own(clip: Path, tmp_path: Path) -> None:
    segment_signer = EmulatorSigner()
    segment_signer.sign(clip, model="gen4.5")
    identity, operator_root = make_test_identity("operator")
    joined = tmp_path / "joined.mp4"
    manifest = ai_generated_manifest("joined.mp4", model="gen4.5", generator="t", composite=True)
    sign_video(clip, joined, manifest, identity, ingredients=[("segment 1 of 1", clip)])

    def signers(trust: TrustSetup | None) -> list[tuple[str | None, bool, str | None]]:
        report = read_provenance(joined, trust)
        return [(s.title, s.trusted, s.trusted_by) for s in report.signers]

    operator = load_trust(_pem_file(tmp_path / "operator.pem", operator_root))
    emulator = load_trust(_pem_file(tmp_path / "emulator.pem", segment_signer.root_pem))
    assert signers(None) == [(None, False, None), ("segment 1 of 1", False, None)]
    assert signers(operator) == [
        (None, True, "VIDGATE_C2PA_TRUST_ANCHORS"),
        ("segment 1 of 1", False, None),
    ]
    # The segment was recorded untrusted when it was signed in; read with its root, c2pa's
    # delta says otherwise, and that is what counts.
    assert signers(emulator) == [
        (None, False, None),
        ("segment 1 of 1", True, "VIDGATE_C2PA_TRUST_ANCHORS"),
    ]
    report = read_provenance(joined, emulator)
    assert not report.trusted and report.trust_reason is not None
    assert report.trust_reason.startswith("signer not on the trust list")


def test_the_emulator_keeps_its_chain_in_its_home(tmp_path: Path, clip: Path) -> None:
    home = tmp_path / "emulator"
    first = EmulatorSigner(home)
    root = home / ROOT_FILE
    assert root.read_bytes() == first.root_pem
    assert (home / "c2pa-signer.key").stat().st_mode & 0o777 == 0o600
    # The next emulator on that home signs under the same root.
    again = EmulatorSigner(home)
    assert again.root_pem == first.root_pem and again.identity == first.identity
    again.sign(clip, model="veo3.1")
    assert read_provenance(clip, load_trust(root)).trusted
    # Files that do not belong together (a crash while writing them) are made anew.
    (home / "c2pa-signer.key").write_bytes(make_test_identity()[0].private_key)
    renewed = EmulatorSigner(home)
    assert renewed.root_pem != first.root_pem and root.read_bytes() == renewed.root_pem


def test_a_chain_near_its_end_is_made_anew(tmp_path: Path) -> None:
    home = tmp_path / "emulator"
    home.mkdir()
    identity, root = make_test_identity(valid_days=RENEW_DAYS - 1)
    (home / "c2pa-signer.pem").write_bytes(identity.certificate_chain)
    (home / "c2pa-signer.key").write_bytes(identity.private_key)
    (home / ROOT_FILE).write_bytes(root)
    assert EmulatorSigner(home).root_pem != root
    longer, longer_root = make_test_identity(valid_days=RENEW_DAYS + 2)
    (home / "c2pa-signer.pem").write_bytes(longer.certificate_chain)
    (home / "c2pa-signer.key").write_bytes(longer.private_key)
    (home / ROOT_FILE).write_bytes(longer_root)
    assert EmulatorSigner(home).root_pem == longer_root
