"""Content credentials (C2PA): reading a video's manifest, and signing a new one onto a file.

Runway's outputs carry a C2PA manifest that marks them as AI-generated (an action with the IPTC
digital source type ``trainedAlgorithmicMedia``), signed by the provider. The manifest is bound to
the file's bytes by a hash, so any re-encode or re-mux breaks it: vidgate stores provider outputs
byte for byte, and :func:`read_provenance` reports what each one carries. A chain's joined file is
new bytes; :func:`sign_video` gives it a manifest of its own, listing its segments as ingredients.

Reading and signing use ``c2pa-python`` (the Content Authenticity Initiative's library).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import c2pa

__all__ = [
    "AI_COMPOSITE",
    "AI_GENERATED",
    "ProvenanceReport",
    "SigningIdentity",
    "ai_generated_manifest",
    "manifest_json",
    "read_provenance",
    "sign_video",
]

AI_GENERATED: Final = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
"""The IPTC digital source type of media made by a trained model (the EU AI Act's marking)."""
AI_COMPOSITE: Final = (
    "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
)
"""The digital source type of a file put together from AI-generated parts (a joined chain)."""
_MIME: Final = "video/mp4"
# Hash and signature checks; "Trusted" also needs the signer on a trust list vidgate does not keep.
_VALID_STATES: Final = frozenset({"Valid", "Trusted"})
# Not on a trust list: a fact about the reader's trust list, not a defect of the file.
_UNTRUSTED: Final = "signingCredential.untrusted"


@dataclass(frozen=True)
class ProvenanceReport:
    """What a file's C2PA manifest says, as a job reports it."""

    present: bool  # the file carries a manifest at all
    valid: bool  # its signature and the hash of the file's bytes check out
    trusted: bool = False  # the signer is on the reader's trust list (vidgate keeps none)
    state: str | None = None  # c2pa's validation state: Invalid, Valid or Trusted
    issuer: str | None = None  # the signing certificate's organisation
    signer: str | None = None  # the signing certificate's common name
    signed_at: str | None = None
    claim_generator: str | None = None
    ai_generated: bool = False  # an action declares trainedAlgorithmicMedia (or a composite of it)
    assertions: tuple[str, ...] = ()  # assertion labels, e.g. c2pa.actions.v2
    ingredients: tuple[str, ...] = ()  # the ingredients' titles (a chain's segments)
    failures: tuple[str, ...] = ()  # validation failure codes, e.g. assertion.bmffHash.mismatch
    error: str | None = None  # why the manifest could not be read

    def as_dict(self) -> dict[str, Any]:
        return {
            "present": self.present,
            "valid": self.valid,
            "trusted": self.trusted,
            "state": self.state,
            "issuer": self.issuer,
            "signer": self.signer,
            "signed_at": self.signed_at,
            "claim_generator": self.claim_generator,
            "ai_generated": self.ai_generated,
            "assertions": list(self.assertions),
            "ingredients": list(self.ingredients),
            "failures": list(self.failures),
            "error": self.error,
        }


@dataclass(frozen=True)
class SigningIdentity:
    """A signing certificate chain (PEM, signer first) and its private key (PEM)."""

    certificate_chain: bytes
    private_key: bytes
    algorithm: str = "es256"  # es256/es384/es512, ps256/ps384/ps512 or ed25519

    @classmethod
    def from_files(
        cls, certificate: str | os.PathLike[str], key: str | os.PathLike[str]
    ) -> SigningIdentity:
        chain, private = Path(certificate).read_bytes(), Path(key).read_bytes()
        return cls(chain, private, _algorithm_of(private))


def _algorithm_of(private_key: bytes) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(private_key, password=None)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {256: "es256", 384: "es384", 521: "es512"}.get(key.curve.key_size, "es256")
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    raise ValueError("the C2PA key must be an EC (P-256/384/521), Ed25519 or RSA key")


def ai_generated_manifest(
    title: str, *, model: str, generator: str, composite: bool = False
) -> dict[str, Any]:
    """A manifest declaring ``title`` created by ``model`` (a trained algorithm); ``composite``:
    put together from AI-generated parts (which :func:`sign_video` lists as ingredients)."""
    return {
        "claim_generator_info": [{"name": generator}],
        "title": title,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": AI_COMPOSITE if composite else AI_GENERATED,
                            "softwareAgent": {"name": model},
                        }
                    ]
                },
            }
        ],
    }


def sign_video(
    source: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    manifest: dict[str, Any],
    identity: SigningIdentity,
    *,
    ingredients: Sequence[tuple[str, str | os.PathLike[str]]] = (),
) -> None:
    """Write ``source`` to ``dest`` with ``manifest`` signed into it; each ``(title, path)`` of
    ``ingredients`` is listed as a component the file was made from (their own manifests kept).

    The manifest goes into a box after ``ftyp``: a faststart file stays faststart.
    """
    info = c2pa.C2paSignerInfo(
        identity.algorithm, identity.certificate_chain, identity.private_key, None
    )
    with c2pa.Signer.from_info(info) as signer, c2pa.Builder(manifest) as builder:
        for title, path in ingredients:
            with open(path, "rb") as part:
                builder.add_ingredient({"title": title, "relationship": "componentOf"}, _MIME, part)
        with open(source, "rb") as src, open(dest, "w+b") as out:
            builder.sign(signer, _MIME, src, out)


def read_provenance(path: str | os.PathLike[str]) -> ProvenanceReport:
    """Read and verify the C2PA manifest of the MP4 at ``path``; never raises for bad content."""
    try:
        with open(path, "rb") as f, c2pa.Reader(_MIME, f) as reader:
            state = reader.get_validation_state()
            results = reader.get_validation_results() or {}
            manifest = reader.get_active_manifest() or {}
    except c2pa.C2paError as exc:
        if _is_missing(exc):
            return ProvenanceReport(present=False, valid=False)
        return ProvenanceReport(present=True, valid=False, state="Invalid", error=str(exc))
    return _report(state, results, manifest)


def _is_missing(exc: c2pa.C2paError) -> bool:
    return "ManifestNotFound" in type(exc).__name__ or "no JUMBF" in str(exc)


def _report(
    state: str | None, results: dict[str, Any], manifest: dict[str, Any]
) -> ProvenanceReport:
    signature = manifest.get("signature_info") or {}
    labels = tuple(str(a.get("label")) for a in manifest.get("assertions", []))
    ai = any(
        action.get("digitalSourceType") in (AI_GENERATED, AI_COMPOSITE)
        for assertion in manifest.get("assertions", [])
        if str(assertion.get("label", "")).startswith("c2pa.actions")
        for action in (assertion.get("data") or {}).get("actions", [])
    )
    generator = manifest.get("claim_generator_info") or [{}]
    failures = tuple(
        str(item.get("code")) for item in (results.get("activeManifest") or {}).get("failure", [])
    )
    return ProvenanceReport(
        present=True,
        valid=state in _VALID_STATES and not [f for f in failures if f != _UNTRUSTED],
        trusted=state == "Trusted",
        state=state,
        issuer=signature.get("issuer"),
        signer=signature.get("common_name"),
        signed_at=signature.get("time"),
        claim_generator=generator[0].get("name") if generator else None,
        ai_generated=ai,
        assertions=labels,
        ingredients=tuple(str(i.get("title")) for i in manifest.get("ingredients", [])),
        failures=failures,
    )


def manifest_json(path: str | os.PathLike[str]) -> str:
    """The whole manifest store of ``path`` as c2pa's JSON (for debugging and docs)."""
    with open(path, "rb") as f, c2pa.Reader(_MIME, f) as reader:
        return json.dumps(json.loads(reader.json()), indent=2)
