"""Whom vidgate trusts to sign content credentials: the C2PA trust list it ships, and yours.

A C2PA validator keeps the C2PA Trust List (claim-signing trust anchors), the C2PA TSA Trust List
(time-stamping anchors), anchors its user adds, and a private store of signer certificates trusted
as they are (C2PA 2.x, "Trust lists"). vidgate ships the first two, copied from the Conformance
Program's public repository into ``trust/`` (:data:`SHIPPED` says from where and of when), and
takes the others from settings:

* ``VIDGATE_C2PA_TRUST_ANCHORS``: a PEM file of further trust anchors (a company CA, or the
  emulator's test root, ``DATA_DIR/emulator/c2pa-root.pem``);
* ``VIDGATE_C2PA_ALLOWED_SIGNERS``: a PEM file of signer certificates trusted as they are
  (pinned), whatever they chain to.

The check itself is c2pa-python's: :meth:`TrustSetup.context` gives a ``c2pa.Context`` with these
lists and with the network shut: no remote manifest, no OCSP, no host at all.
"""

from __future__ import annotations

import datetime
import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import c2pa
from cryptography import x509

from vidgate.errors import ConfigurationError

__all__ = [
    "ANCHORS_SETTING",
    "SHIPPED",
    "SIGNERS_SETTING",
    "ShippedLists",
    "TrustList",
    "TrustSetup",
    "load_trust",
    "read_certificates",
    "shipped_trust",
]

ANCHORS_SETTING: Final = "VIDGATE_C2PA_TRUST_ANCHORS"
SIGNERS_SETTING: Final = "VIDGATE_C2PA_ALLOWED_SIGNERS"
_HERE: Final = Path(__file__).parent / "trust"


@dataclass(frozen=True)
class ShippedLists:
    """Where the shipped lists come from (``trust/README.md`` says the same for people)."""

    repository: str
    commit: str
    #: The lists' issue date (``ListIssueDateTime`` of their JSON twins).
    issued: datetime.date
    #: File names, the same in ``trust/`` and under ``trust-list/`` of the repository.
    signers_file: str
    tsa_file: str

    @property
    def name(self) -> str:
        return f"C2PA trust list of {self.issued.isoformat()}"


SHIPPED: Final = ShippedLists(
    repository="https://github.com/c2pa-org/conformance-public",
    commit="7dbff513b66e36184619286fe734beea32f2e6db",
    issued=datetime.date(2026, 8, 5),
    signers_file="C2PA-TRUST-LIST.pem",
    tsa_file="C2PA-TSA-TRUST-LIST.pem",
)


@dataclass(frozen=True)
class TrustList:
    """One PEM bundle of certificates, by the name reports give it."""

    name: str
    pem: str
    count: int
    #: What it vouches for: claim signers ("manifest") or time-stamps ("tsa").
    kind: Literal["manifest", "tsa"] = "manifest"
    #: Signer certificates trusted as they are, not anchors that issue them.
    pinned: bool = False

    def entry(self) -> dict[str, Any]:
        """This list as one of c2pa's ``trust.anchors``."""
        entry = {"trust_uri": self.name, "trust_kind": self.kind}
        if self.pinned:  # c2pa's "allowed list" of end-entity certificates
            return entry | {"trust_anchors": "", "allowed_list": self.pem}
        return entry | {"trust_anchors": self.pem}


@dataclass(frozen=True)
class TrustSetup:
    """Every list a signature is checked against."""

    lists: tuple[TrustList, ...]

    def settings(self) -> dict[str, Any]:
        """c2pa's settings: these lists, trust always checked, nothing fetched."""
        return {
            "verify": {"verify_trust": True, "remote_manifest_fetch": False, "ocsp_fetch": False},
            # An empty allow-list: c2pa contacts no host for anything.
            "core": {"allowed_network_hosts": []},
            "trust": {"anchors": [trust_list.entry() for trust_list in self.lists]},
        }

    def context(self) -> c2pa.Context:
        """A fresh ``c2pa.Context`` (a few milliseconds): Readers and Builders are made from it."""
        return c2pa.Context.from_dict(self.settings())

    def summary(self) -> str:
        """Each list's name and size, e.g. for ``vidgate doctor``."""
        return ", ".join(f"{t.name} ({t.count})" for t in self.lists)

    @property
    def signer_lists(self) -> list[str]:
        """The names of the lists a claim signer may be on."""
        return [t.name for t in self.lists if t.kind == "manifest"]

    def list_named(self, uri: str | None) -> str | None:
        """The list c2pa reports a trusted signer found in (its ``trustListUri``)."""
        if uri:
            return uri
        # c2pa names no list for a pinned signer.
        return next((t.name for t in self.lists if t.pinned), None)


def read_certificates(pem: bytes) -> list[x509.Certificate]:
    """The certificates of a PEM bundle (text between them is allowed); ValueError if none, or
    if one does not parse."""
    return x509.load_pem_x509_certificates(pem)


def _shipped_list(file: str, name: str, kind: Literal["manifest", "tsa"]) -> TrustList:
    pem = (_HERE / file).read_bytes()
    return TrustList(name, pem.decode(), len(read_certificates(pem)), kind)


@functools.cache
def shipped_trust() -> TrustSetup:
    """The C2PA trust list and TSA list vidgate ships, and nothing else."""
    return TrustSetup(
        (
            _shipped_list(SHIPPED.signers_file, SHIPPED.name, "manifest"),
            _shipped_list(SHIPPED.tsa_file, f"C2PA TSA trust list of {SHIPPED.issued}", "tsa"),
        )
    )


def load_trust(
    anchors: str | os.PathLike[str] | None = None,
    allowed_signers: str | os.PathLike[str] | None = None,
) -> TrustSetup:
    """The shipped lists, plus the operator's ``anchors`` and pinned ``allowed_signers`` (PEM
    files). Raises :class:`ConfigurationError` naming the setting whose file does not load."""
    lists = list(shipped_trust().lists)
    if anchors is not None:
        lists.append(_operator_list(ANCHORS_SETTING, Path(anchors), pinned=False))
    if allowed_signers is not None:
        lists.append(_operator_list(SIGNERS_SETTING, Path(allowed_signers), pinned=True))
    return TrustSetup(tuple(lists))


def _operator_list(setting: str, path: Path, *, pinned: bool) -> TrustList:
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"{setting}: cannot read {path}: {exc.strerror or exc}") from exc
    try:
        certificates = read_certificates(pem)
    except ValueError as exc:
        raise ConfigurationError(
            f"{setting}: {path} is not a PEM file of X.509 certificates"
        ) from exc
    return TrustList(setting, pem.decode("ascii", "replace"), len(certificates), pinned=pinned)
