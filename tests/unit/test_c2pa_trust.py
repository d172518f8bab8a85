"""The trust lists: the C2PA lists vidgate ships parse and say where they come from; the
operator's files load or stop vidgate with the setting named; c2pa is told to fetch nothing."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from vidgate.emulator.content_credentials import make_test_identity
from vidgate.errors import ConfigurationError
from vidgate.media.c2pa_trust import (
    ANCHORS_SETTING,
    SHIPPED,
    SIGNERS_SETTING,
    load_trust,
    read_certificates,
    shipped_trust,
)

TRUST_DIR = Path(__file__).resolve().parents[2] / "src" / "vidgate" / "media" / "trust"


@pytest.mark.parametrize("file", [SHIPPED.signers_file, SHIPPED.tsa_file])
def test_each_shipped_list_is_pem_certificates_of_certificate_authorities(file: str) -> None:
    certificates = read_certificates((TRUST_DIR / file).read_bytes())
    assert len(certificates) > 0
    for certificate in certificates:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
        assert constraints.value.ca, certificate.subject.rfc4514_string()
    # Each list holds its anchors once.
    assert len({c.fingerprint(hashes.SHA256()) for c in certificates}) == len(certificates)


def test_the_shipped_lists_say_where_and_when_they_come_from() -> None:
    lists = shipped_trust().lists
    assert [t.kind for t in lists] == ["manifest", "tsa"]
    assert [t.count for t in lists] == [30, 22]
    assert SHIPPED.issued == datetime.date(2026, 8, 5)
    assert lists[0].name == "C2PA trust list of 2026-08-05"
    readme = (TRUST_DIR / "README.md").read_text()
    # The page for people and the constant for code say the same.
    for fact in (SHIPPED.repository, SHIPPED.commit, SHIPPED.issued.isoformat()):
        assert fact in readme
    for trust_list, file in zip(lists, (SHIPPED.signers_file, SHIPPED.tsa_file), strict=True):
        assert f"`{file}` | `trust-list/{file}` | {trust_list.count} " in readme
    # Google's roots anchor Veo's credentials (made through Runway): they are on the list.
    subjects = [c.subject.rfc4514_string() for c in read_certificates(lists[0].pem.encode())]
    assert "CN=Google C2PA Root CA G3,O=Google LLC,C=US" in subjects


def test_c2pa_is_told_to_fetch_nothing_and_to_check_trust() -> None:
    settings = shipped_trust().settings()
    assert settings["verify"] == {
        "verify_trust": True,
        "remote_manifest_fetch": False,
        "ocsp_fetch": False,
    }
    assert settings["core"]["allowed_network_hosts"] == []
    anchors = settings["trust"]["anchors"]
    assert [a["trust_kind"] for a in anchors] == ["manifest", "tsa"]
    with shipped_trust().context() as context:  # c2pa takes the document as it is
        assert context.is_valid


def test_the_operators_anchors_and_pinned_signers_are_added(tmp_path: Path) -> None:
    identity, root = make_test_identity()
    anchors, pinned = tmp_path / "anchors.pem", tmp_path / "signers.pem"
    anchors.write_bytes(b"a company's root\n" + root)
    pinned.write_bytes(identity.certificate_chain.split(b"\n-----BEGIN")[0] + b"\n")
    trust = load_trust(anchors, pinned)
    names = [t.name for t in trust.lists]
    assert names[2:] == [ANCHORS_SETTING, SIGNERS_SETTING]
    assert trust.signer_lists == [shipped_trust().lists[0].name, ANCHORS_SETTING, SIGNERS_SETTING]
    entries = trust.settings()["trust"]["anchors"]
    assert entries[2]["trust_anchors"].endswith(root.decode())
    # A pinned signer is trusted as it is: c2pa's allowed list, not an anchor.
    assert entries[3]["trust_anchors"] == "" and "BEGIN CERTIFICATE" in entries[3]["allowed_list"]
    assert "VIDGATE_C2PA_TRUST_ANCHORS (1)" in trust.summary()
    # c2pa names no list for a pinned signer it trusted; the report names the setting.
    assert trust.list_named("") == SIGNERS_SETTING
    assert trust.list_named(ANCHORS_SETTING) == ANCHORS_SETTING
    assert shipped_trust().list_named("") is None


@pytest.mark.parametrize("setting", [ANCHORS_SETTING, SIGNERS_SETTING])
def test_a_file_that_does_not_load_names_its_setting(tmp_path: Path, setting: str) -> None:
    def load(path: Path) -> object:
        if setting == ANCHORS_SETTING:
            return load_trust(anchors=path)
        return load_trust(allowed_signers=path)

    with pytest.raises(ConfigurationError, match=f"^{setting}: cannot read .*missing.pem"):
        load(tmp_path / "missing.pem")
    not_pem = tmp_path / "key.txt"
    not_pem.write_text("not a certificate\n")
    with pytest.raises(ConfigurationError, match=f"^{setting}: .* is not a PEM file"):
        load(not_pem)
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(ConfigurationError, match=f"^{setting}: .* is not a PEM file"):
        load(broken)
