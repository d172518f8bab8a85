"""Provenance that can say "trusted", offline: ``vidgate serve`` in emulator mode, told to trust
the emulator's test root (``DATA_DIR/emulator/c2pa-root.pem``), reports its outputs trusted; the
same directory served without that setting reports them untrusted, and says why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from serving import T2V, Served, vidgate_env

from vidgate.media.c2pa_trust import read_certificates


def _provenance(server: Served) -> dict[str, Any]:
    job = httpx.post(f"{server.url}/v1/generations?wait=60", json=T2V, timeout=90).json()
    assert job["status"] == "succeeded", job
    provenance: dict[str, Any] = job["output"]["provenance"]
    assert provenance["present"] and provenance["valid"] and provenance["aiGenerated"]
    return provenance


def test_the_emulators_root_makes_its_outputs_trusted(tmp_path: Path) -> None:
    data = tmp_path / "var"
    root = data / "emulator" / "c2pa-root.pem"
    # The first start: the setting names a root the emulator has yet to write.
    server = Served(
        env=vidgate_env(data, task_seconds=1, VIDGATE_C2PA_TRUST_ANCHORS=str(root)), cwd=tmp_path
    )
    try:
        trusted = _provenance(server)
    finally:
        server.stop()
    assert trusted["trusted"] is True and trusted["state"] == "Trusted", trusted
    assert trusted["trustReason"] is None and trusted["failures"] == []
    assert trusted["trustedBy"] == "VIDGATE_C2PA_TRUST_ANCHORS"
    [signer] = trusted["signers"]
    assert signer["trusted"] is True and signer["issuer"] == "vidgate emulator"
    assert f"the emulator signs outputs under a new C2PA test root, {root}" in server.output
    [certificate] = read_certificates(root.read_bytes())
    kept = root.read_bytes()

    # The same directory without the setting: the same signer, now untrusted, and why.
    server = Served(env=vidgate_env(data, task_seconds=1), cwd=tmp_path)
    try:
        untrusted = _provenance(server)
    finally:
        server.stop()
    assert root.read_bytes() == kept  # the emulator kept its chain across the restart
    assert "new C2PA test root" not in server.output
    assert untrusted["trusted"] is False and untrusted["state"] == "Valid"
    assert untrusted["trustReason"] == (
        "signer not on the trust list (checked: C2PA trust list of 2026-08-05)"
    )
    assert untrusted["failures"] == ["signingCredential.untrusted"]
    [signer] = untrusted["signers"]
    assert signer["trusted"] is False and signer["reason"] == untrusted["trustReason"]
    assert certificate.subject.rfc4514_string() == (
        "O=vidgate emulator,CN=vidgate emulator test root"
    )
