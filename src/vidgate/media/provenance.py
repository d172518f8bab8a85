"""Content credentials (C2PA): reading a video's manifest, and signing a new one onto a file.

Runway's outputs carry a C2PA manifest that marks them as AI-generated (an action with the IPTC
digital source type ``trainedAlgorithmicMedia``), signed by the provider. The manifest is bound to
the file's bytes by a hash, so any re-encode or re-mux breaks it: vidgate stores provider outputs
byte for byte, and :func:`read_provenance` reports what each one carries. A chain's joined file is
new bytes; :func:`sign_video` gives it a manifest of its own, listing its segments as ingredients.

Reading and signing use ``c2pa-python`` (the Content Authenticity Initiative's library), with
the trust lists of :mod:`vidgate.media.c2pa_trust` and the network shut: each signer in a file (its
own, and its ingredients') is reported trusted or not, and why not.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import c2pa

from vidgate.media.c2pa_trust import TrustSetup, shipped_trust

__all__ = [
    "AI_COMPOSITE",
    "AI_GENERATED",
    "ProvenanceReport",
    "SignerReport",
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
# Hash and signature checks; "Trusted" also needs the signer on a trust list.
_VALID_STATES: Final = frozenset({"Valid", "Trusted"})
_TRUSTED: Final = "signingCredential.trusted"
# Not on a trust list: a fact about the reader's trust lists, not a defect of the file.
_UNTRUSTED: Final = "signingCredential.untrusted"
# Why a signer is not trusted, by c2pa's status code (the untrusted one names the lists checked).
_REASONS: Final = {
    _UNTRUSTED: "signer not on the trust list (checked: {lists})",
    "signingCredential.expired": "the signing certificate was expired when it signed",
    "signingCredential.revoked": "the signing certificate is revoked",
    "signingCredential.ocsp.revoked": "the signing certificate is revoked",
    "signingCredential.invalid": "the signing certificate is not one C2PA accepts for signing",
}
_NOT_CHECKED: Final = "the signature was not checked: the manifest does not validate"
# Where a status is about a manifest's signature: self#jumbf=/c2pa/<label>/c2pa.signature
_SIGNATURE_URL: Final = re.compile(r"/c2pa/(?P<label>[^/]+)/c2pa\.signature$")
# c2pa names the list that trusted a signer only in its explanation: "found in [<list>] ..."
_FOUND_IN: Final = re.compile(r"found in \[(?P<list>[^\]]*)\]")


@dataclass(frozen=True)
class SignerReport:
    """One signature in a file (its own manifest's, or an ingredient's), and whether trusted."""

    manifest: str  # the manifest's label (urn:c2pa:...)
    title: str | None  # the ingredient's title; None for the file's own manifest
    issuer: str | None
    signer: str | None
    trusted: bool
    trusted_by: str | None = None  # the list that vouches for it
    reason: str | None = None  # why not trusted

    def as_dict(self) -> dict[str, Any]:
        return {
            "manifest": self.manifest,
            "title": self.title,
            "issuer": self.issuer,
            "signer": self.signer,
            "trusted": self.trusted,
            "trusted_by": self.trusted_by,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ProvenanceReport:
    """What a file's C2PA manifest says, as a job reports it."""

    present: bool  # the file carries a manifest at all
    valid: bool  # its signature and the hash of the file's bytes check out
    trusted: bool = False  # valid, and its signer is on a trust list vidgate was given
    trust_reason: str | None = None  # why not trusted (a present manifest)
    trusted_by: str | None = None  # the list that vouches for its signer
    state: str | None = None  # c2pa's validation state: Invalid, Valid or Trusted
    issuer: str | None = None  # the signing certificate's organisation
    signer: str | None = None  # the signing certificate's common name
    signed_at: str | None = None
    claim_generator: str | None = None
    ai_generated: bool = False  # an action declares trainedAlgorithmicMedia (or a composite of it)
    assertions: tuple[str, ...] = ()  # assertion labels, e.g. c2pa.actions.v2
    ingredients: tuple[str, ...] = ()  # the ingredients' titles (a chain's segments)
    failures: tuple[str, ...] = ()  # validation failure codes, e.g. assertion.bmffHash.mismatch
    signers: tuple[SignerReport, ...] = ()  # the file's own signer first, then ingredients'
    error: str | None = None  # why the manifest could not be read

    def as_dict(self) -> dict[str, Any]:
        return {
            "present": self.present,
            "valid": self.valid,
            "trusted": self.trusted,
            "trust_reason": self.trust_reason,
            "trusted_by": self.trusted_by,
            "state": self.state,
            "issuer": self.issuer,
            "signer": self.signer,
            "signed_at": self.signed_at,
            "claim_generator": self.claim_generator,
            "ai_generated": self.ai_generated,
            "assertions": list(self.assertions),
            "ingredients": list(self.ingredients),
            "failures": list(self.failures),
            "signers": [signer.as_dict() for signer in self.signers],
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
    trust: TrustSetup | None = None,
) -> None:
    """Write ``source`` to ``dest`` with ``manifest`` signed into it; each ``(title, path)`` of
    ``ingredients`` is listed as a component the file was made from (their own manifests kept,
    with their signers' trust as ``trust`` judges it).

    The manifest goes into a box after ``ftyp``: a faststart file stays faststart.
    """
    info = c2pa.C2paSignerInfo(
        identity.algorithm, identity.certificate_chain, identity.private_key, None
    )
    with (
        (trust or shipped_trust()).context() as context,
        c2pa.Signer.from_info(info) as signer,
        c2pa.Builder(manifest, context=context) as builder,
    ):
        for title, path in ingredients:
            with open(path, "rb") as part:
                builder.add_ingredient({"title": title, "relationship": "componentOf"}, _MIME, part)
        with open(source, "rb") as src, open(dest, "w+b") as out:
            builder.sign(signer, _MIME, src, out)


def read_provenance(
    path: str | os.PathLike[str], trust: TrustSetup | None = None
) -> ProvenanceReport:
    """Read and verify the C2PA manifest of the MP4 at ``path`` against ``trust`` (default: the
    shipped C2PA lists); never raises for bad content, never fetches anything."""
    trust = trust or shipped_trust()
    try:
        with (
            trust.context() as context,
            open(path, "rb") as f,
            c2pa.Reader(_MIME, f, context=context) as reader,
        ):
            store = json.loads(reader.json())
    except c2pa.C2paError as exc:
        if _is_missing(exc):
            return ProvenanceReport(present=False, valid=False)
        error = str(exc)
        # c2pa raises a plain C2paError "Remote: must fetch remote manifests from url ..."
        if "RemoteManifest" in type(exc).__name__ or error.startswith("Remote:"):
            error = f"the manifest is stored elsewhere (a URL), and vidgate fetches none: {exc}"
        return ProvenanceReport(
            present=True, valid=False, state="Invalid", error=error, trust_reason=error
        )
    return _report(store, trust)


def _is_missing(exc: c2pa.C2paError) -> bool:
    return "ManifestNotFound" in type(exc).__name__ or "no JUMBF" in str(exc)


def _report(store: dict[str, Any], trust: TrustSetup) -> ProvenanceReport:
    state = store.get("validation_state")
    results = store.get("validation_results") or {}
    manifest = (store.get("manifests") or {}).get(store.get("active_manifest"), {})
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
    valid = state in _VALID_STATES and not [f for f in failures if f != _UNTRUSTED]
    signers = _signers(store, results, trust)
    own = signers[0] if signers else None
    trusted = state == "Trusted" and own is not None and own.trusted
    reason = None
    if not trusted:
        reason = "the manifest does not validate" if own is None or own.trusted else own.reason
    return ProvenanceReport(
        present=True,
        valid=valid,
        trusted=trusted,
        trust_reason=reason,
        trusted_by=own.trusted_by if trusted and own else None,
        state=state,
        issuer=signature.get("issuer"),
        signer=signature.get("common_name"),
        signed_at=signature.get("time"),
        claim_generator=generator[0].get("name") if generator else None,
        ai_generated=ai,
        assertions=labels,
        ingredients=tuple(str(i.get("title")) for i in manifest.get("ingredients", [])),
        failures=failures,
        signers=signers,
    )


def _signers(
    store: dict[str, Any], results: dict[str, Any], trust: TrustSetup
) -> tuple[SignerReport, ...]:
    """Every signature in ``store``: the active manifest's, then its ingredients' (depth first)."""
    manifests: dict[str, Any] = store.get("manifests") or {}
    verdicts = _signature_verdicts(manifests, results)
    lists = ", ".join(trust.signer_lists)
    found: list[SignerReport] = []
    todo: list[tuple[Any, str | None]] = [(store.get("active_manifest"), None)]
    while todo:
        label, title = todo.pop(0)
        if label not in manifests or any(s.manifest == label for s in found):
            continue
        manifest = manifests[label]
        signature = manifest.get("signature_info") or {}
        code, explanation = verdicts.get(label, ("", ""))
        trusted = code == _TRUSTED
        found_in = _FOUND_IN.search(explanation) if trusted else None
        found.append(
            SignerReport(
                manifest=label,
                title=title,
                issuer=signature.get("issuer"),
                signer=signature.get("common_name"),
                trusted=trusted,
                trusted_by=trust.list_named(found_in["list"]) if found_in else None,
                reason=None if trusted else _REASONS.get(code, _NOT_CHECKED).format(lists=lists),
            )
        )
        ingredients = manifest.get("ingredients", [])
        todo += [(i.get("active_manifest"), i.get("title")) for i in ingredients]
    return tuple(found)


def _signature_verdicts(
    manifests: dict[str, Any], results: dict[str, Any]
) -> dict[str, tuple[str, str]]:
    """Each manifest's trust verdict (a ``signingCredential`` code, and c2pa's explanation of it),
    by label: what was recorded
    when it was added as an ingredient, then what this read found anew (c2pa reports an
    ingredient's changes as deltas), then the active manifest's own."""
    ingredients = [i for m in manifests.values() for i in m.get("ingredients", [])]
    passes: list[Iterable[dict[str, Any]]] = [
        # validation_status: what manifests before C2PA 2.0 recorded (failures only)
        [{"failure": i.get("validation_status") or []} for i in ingredients],
        [(i.get("validation_results") or {}).get("activeManifest") or {} for i in ingredients],
        [d.get("validationDeltas") or {} for d in results.get("ingredientDeltas", [])],
        [results.get("activeManifest") or {}],
    ]
    verdicts: dict[str, tuple[str, str]] = {}
    for statuses in passes:
        found: dict[str, tuple[str, str]] = {}
        for status in statuses:
            # A failure outweighs a success about the same signature.
            for item in [*status.get("success", []), *status.get("failure", [])]:
                code, where = str(item.get("code", "")), _SIGNATURE_URL.search(str(item.get("url")))
                if where and (code == _TRUSTED or code in _REASONS):
                    found[where["label"]] = (code, str(item.get("explanation", "")))
        verdicts |= found
    return verdicts


def manifest_json(path: str | os.PathLike[str]) -> str:
    """The whole manifest store of ``path`` as c2pa's JSON (for debugging and docs)."""
    with (
        shipped_trust().context() as context,
        open(path, "rb") as f,
        c2pa.Reader(_MIME, f, context=context) as reader,
    ):
        return json.dumps(json.loads(reader.json()), indent=2)
