"""The emulator's content credentials: a test certificate chain made at start, signing each output.

Runway signs its outputs with a C2PA manifest declaring them AI-generated; so does the emulator,
with a chain generated when it starts (a root CA and a signing certificate under it, ES256 on
P-256; the signing one has the digitalSignature key usage and the emailProtection extended key
usage that C2PA accepts for claim signing). The manifest's action names the model that "made" the
video. The chain is nobody's trust anchor: a reader finds the signature and hashes valid and the
signer untrusted, as it would for any signer missing from its trust list, until its root is added
as one (``VIDGATE_C2PA_TRUST_ANCHORS``).

With a home directory (emulator mode: ``DATA_DIR/emulator``) the chain is kept there and used again
by the next emulator on that directory, so the root stays the same across restarts and takeovers:
``c2pa-root.pem`` (the root, for readers to trust), ``c2pa-signer.pem`` and ``c2pa-signer.key``.
It is made anew when it has less than :data:`RENEW_DAYS` left.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import tempfile
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from vidgate.media.provenance import SigningIdentity, ai_generated_manifest, sign_video
from vidgate.storage.private import FILE_MODE

__all__ = [
    "ISSUER",
    "RENEW_DAYS",
    "ROOT_FILE",
    "EmulatorSigner",
    "make_test_identity",
]

log = logging.getLogger("vidgate.emulator")

ISSUER: Final = "vidgate emulator"
"""The organisation named in the emulator's certificates (what a reader reports as issuer)."""
ROOT_FILE: Final = "c2pa-root.pem"
"""The kept chain's root certificate, in the emulator's home directory."""
RENEW_DAYS: Final = 30
"""A kept chain with fewer days left than this is made anew."""
_CHAIN_FILE: Final = "c2pa-signer.pem"
_KEY_FILE: Final = "c2pa-signer.key"
_GENERATOR: Final = "vidgate-emulator"
_VALID_DAYS: Final = 30
_KEPT_VALID_DAYS: Final = 365


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ISSUER),
        ]
    )


def _key_usage(*, signs_certificates: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )


def make_test_identity(
    common_name: str = "vidgate emulator signer", *, valid_days: int = _VALID_DAYS
) -> tuple[SigningIdentity, bytes]:
    """A fresh signing identity and its root certificate (PEM), valid from yesterday for
    ``valid_days``."""
    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=valid_days)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = (
        x509.CertificateBuilder()
        .subject_name(_name("vidgate emulator test root"))
        .issuer_name(_name("vidgate emulator test root"))
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signs_certificates=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
        .sign(root_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signs_certificates=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False
        )
        .sign(root_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    chain = leaf.public_bytes(pem) + root.public_bytes(pem)
    private = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return SigningIdentity(chain, private, "es256"), root.public_bytes(pem)


def _kept_identity(home: Path) -> tuple[SigningIdentity, bytes] | None:
    """The chain kept in ``home``, if its three files belong together (a crash while writing
    them leaves them apart) and it is valid for :data:`RENEW_DAYS` more."""
    try:
        chain, key = (home / _CHAIN_FILE).read_bytes(), (home / _KEY_FILE).read_bytes()
        root = (home / ROOT_FILE).read_bytes()
        leaf = x509.load_pem_x509_certificates(chain)[0]
        issuer = x509.load_pem_x509_certificate(root)
        public = serialization.load_pem_private_key(key, password=None).public_key()
    except (OSError, ValueError, IndexError, TypeError):
        return None
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if public.public_bytes(*spki) != leaf.public_key().public_bytes(*spki):
        return None
    if leaf.issuer != issuer.subject:
        return None
    left = leaf.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    if left < datetime.timedelta(days=RENEW_DAYS):
        return None
    return SigningIdentity(chain, key, "es256"), root


def _keep(home: Path, name: str, data: bytes) -> None:
    """Write ``home/name`` whole (aside, then renamed), 0600 like every file of the data
    directory (the certificates are public, but the directory's rule has no exceptions)."""
    fd, aside = tempfile.mkstemp(dir=home, prefix=f".{name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(aside, FILE_MODE)
        os.replace(aside, home / name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(aside)


def _home_identity(home: Path) -> tuple[SigningIdentity, bytes]:
    kept = _kept_identity(home)
    if kept is not None:
        return kept
    identity, root = make_test_identity(valid_days=_KEPT_VALID_DAYS)
    home.mkdir(parents=True, exist_ok=True)
    _keep(home, _KEY_FILE, identity.private_key)
    _keep(home, _CHAIN_FILE, identity.certificate_chain)
    _keep(home, ROOT_FILE, root)
    log.info(
        "the emulator signs outputs under a new C2PA test root, %s "
        "(VIDGATE_C2PA_TRUST_ANCHORS=%s makes vidgate trust it)",
        home / ROOT_FILE,
        home / ROOT_FILE,
    )
    return identity, root


class EmulatorSigner:
    """Signs rendered outputs in place with this emulator's identity: kept in ``home`` if given,
    else made for this emulator alone."""

    def __init__(self, home: Path | None = None) -> None:
        self.identity, self.root_pem = _home_identity(home) if home else make_test_identity()

    def sign(self, path: Path, *, model: str) -> None:
        """Replace the MP4 at ``path`` with the same file carrying an AI-generated manifest."""
        manifest = ai_generated_manifest(path.name, model=model, generator=_GENERATOR)
        fd, aside = tempfile.mkstemp(dir=path.parent, suffix=".signing.mp4")
        os.close(fd)
        try:
            sign_video(path, aside, manifest, self.identity)
            os.replace(aside, path)
        finally:
            if os.path.exists(aside):
                os.unlink(aside)
