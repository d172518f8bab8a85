"""The emulator's content credentials: a test certificate chain made at start, signing each output.

Runway signs its outputs with a C2PA manifest declaring them AI-generated; so does the emulator,
with a chain generated when it starts (a root CA and a signing certificate under it, ES256 on
P-256; the signing one has the digitalSignature key usage and the emailProtection extended key
usage that C2PA accepts for claim signing). The manifest's action names the model that "made" the
video. The chain is nobody's trust anchor: a reader finds the signature and hashes valid and the
signer untrusted, as it would for any signer missing from its trust list.
"""

from __future__ import annotations

import datetime
import os
import tempfile
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from vidgate.media.provenance import SigningIdentity, ai_generated_manifest, sign_video

__all__ = [
    "ISSUER",
    "EmulatorSigner",
    "make_test_identity",
]

ISSUER: Final = "vidgate emulator"
"""The organisation named in the emulator's certificates (what a reader reports as issuer)."""
_GENERATOR: Final = "vidgate-emulator"
_VALID_DAYS: Final = 30


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
    common_name: str = "vidgate emulator signer",
) -> tuple[SigningIdentity, bytes]:
    """A fresh signing identity and its root certificate (PEM), valid from yesterday, 30 days."""
    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=_VALID_DAYS)
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


class EmulatorSigner:
    """Signs rendered outputs in place with this emulator's identity."""

    def __init__(self) -> None:
        self.identity, self.root_pem = make_test_identity()

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
