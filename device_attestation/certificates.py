"""X.509 certificates as phones emit them, and chains checked signature by signature.

Why not `cryptography.x509` alone: its DER parser is strict, and real devices emit certificates it refuses
(the StrongBox EC leaf of the shared corpus writes `NULL` parameters into its ecdsa-with-SHA256
AlgorithmIdentifier, which RFC 5758 says to omit; the parser stops with "ExtraData"). Refusing those phones
is not an option, so certificates are parsed with asn1crypto, which reads such encodings, and each signature is
verified by `cryptography` over the exact TBSCertificate bytes as they arrived (asn1crypto keeps the original
encoding of a value it did not modify). Leniency therefore never changes what was signed: the bytes checked are
the bytes the issuer signed, and only the fields this package reads are interpreted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Final

import msgspec
from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

__all__ = [
    "Certificate",
    "CertificateError",
    "TrustAnchors",
    "chain_problems",
    "load_public_key",
    "parse_certificate",
    "public_keys_from_pem",
]

# Hashes by signature algorithm OID. SHA-1 and MD5 are absent on purpose: a chain using them is refused.
_ECDSA: Final[dict[str, hashes.HashAlgorithm]] = {
    "1.2.840.10045.4.3.2": hashes.SHA256(),
    "1.2.840.10045.4.3.3": hashes.SHA384(),
    "1.2.840.10045.4.3.4": hashes.SHA512(),
}
_RSA_PKCS1: Final[dict[str, hashes.HashAlgorithm]] = {
    "1.2.840.113549.1.1.11": hashes.SHA256(),
    "1.2.840.113549.1.1.12": hashes.SHA384(),
    "1.2.840.113549.1.1.13": hashes.SHA512(),
}

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey


class CertificateError(ValueError):
    """A certificate that cannot be read; the verifiers turn it into a `format` refusal."""


class Certificate(msgspec.Struct, frozen=True, kw_only=True):
    """The fields of one certificate that the verifiers read, extracted eagerly (asn1crypto parses lazily)."""

    der: bytes
    tbs_der: bytes
    signature_algorithm: str
    signature: bytes
    spki_der: bytes
    serial: int
    subject: str
    not_before: datetime
    not_after: datetime
    is_ca: bool
    # Extension OID (dotted) -> the extnValue octets.
    extensions: dict[str, bytes]


def parse_certificate(der: bytes) -> Certificate:
    """Read a DER certificate leniently; raise CertificateError for anything that is not one."""
    try:
        cert = asn1_x509.Certificate.load(der, strict=True)
        tbs = cert["tbs_certificate"]
        outer_algorithm = cert["signature_algorithm"]["algorithm"].dotted
        # RFC 5280 4.1.1.2: the two copies of the algorithm must agree, or the signed one is not the one used.
        if tbs["signature"]["algorithm"].dotted != outer_algorithm:
            raise CertificateError("signatureAlgorithm differs from the TBSCertificate's signature field")
        extensions: dict[str, bytes] = {}
        is_ca = False
        for extension in tbs["extensions"] or ():
            oid = extension["extn_id"].dotted
            if oid in extensions:
                raise CertificateError(f"extension {oid} appears twice")
            extensions[oid] = bytes(extension["extn_value"].contents)
        if "2.5.29.19" in extensions:
            is_ca = bool(cert.basic_constraints_value["ca"].native)
        validity = tbs["validity"]
        not_before = validity["not_before"].native
        not_after = validity["not_after"].native
        if not isinstance(not_before, datetime) or not isinstance(not_after, datetime):
            raise CertificateError("validity dates are not times")
        return Certificate(
            der=bytes(der),
            tbs_der=tbs.dump(),
            signature_algorithm=outer_algorithm,
            signature=bytes(cert["signature_value"].native),
            spki_der=tbs["subject_public_key_info"].dump(),
            serial=int(tbs["serial_number"].native),
            subject=str(tbs["subject"].human_friendly),
            not_before=not_before,
            not_after=not_after,
            is_ca=is_ca,
            extensions=extensions,
        )
    except CertificateError:
        raise
    # asn1crypto raises ValueError, TypeError, KeyError or OverflowError on malformed input, depending on
    # which field it meets first; all of them mean "not a certificate".
    except (ValueError, TypeError, KeyError, OverflowError, AttributeError) as exc:
        raise CertificateError(f"not a DER certificate: {exc}") from exc


def load_public_key(spki_der: bytes) -> PublicKey:
    """An EC or RSA public key from SubjectPublicKeyInfo DER; CertificateError otherwise."""
    try:
        key = serialization.load_der_public_key(spki_der)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise CertificateError(f"unreadable public key: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise CertificateError(f"unsupported public key type {type(key).__name__}")
    return key


def signed_by(cert: Certificate, issuer_key: PublicKey) -> bool:
    """Whether `issuer_key` signed `cert`'s TBSCertificate bytes exactly as received."""
    try:
        if isinstance(issuer_key, ec.EllipticCurvePublicKey) and cert.signature_algorithm in _ECDSA:
            digest = _ECDSA[cert.signature_algorithm]
            issuer_key.verify(cert.signature, cert.tbs_der, ec.ECDSA(digest))
            return True
        if isinstance(issuer_key, rsa.RSAPublicKey) and cert.signature_algorithm in _RSA_PKCS1:
            digest = _RSA_PKCS1[cert.signature_algorithm]
            issuer_key.verify(cert.signature, cert.tbs_der, padding.PKCS1v15(), digest)
            return True
    except (InvalidSignature, ValueError):
        return False
    return False


class TrustAnchors(msgspec.Struct, frozen=True, kw_only=True):
    """Root public keys (SubjectPublicKeyInfo DER). Keys, not certificates: a re-issued root keeps working."""

    spki_der: frozenset[bytes]

    @classmethod
    def of(cls, *groups: Iterable[bytes]) -> TrustAnchors:
        return cls(spki_der=frozenset(key for group in groups for key in group))


def public_keys_from_pem(pem_bytes: bytes) -> tuple[bytes, ...]:
    """SubjectPublicKeyInfo DER of every CERTIFICATE or PUBLIC KEY block; ValueError on anything else."""
    if not pem_bytes.strip():
        return ()
    keys: list[bytes] = []
    for kind, _headers, der in asn1_pem.unarmor(pem_bytes, multiple=True):
        if kind == "CERTIFICATE":
            keys.append(parse_certificate(der).spki_der)
        elif kind == "PUBLIC KEY":
            load_public_key(der)
            keys.append(bytes(der))
        else:
            raise ValueError(f"unexpected PEM block {kind!r}: only CERTIFICATE and PUBLIC KEY are roots")
    return tuple(keys)


def fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()[:16]


def chain_problems(chain: Sequence[Certificate], anchors: TrustAnchors, now: datetime) -> list[str]:
    """Every reason the chain (leaf first) does not lead to a trust anchor at `now`; empty when it does.

    Links are checked by signature, position by position, the way Google's reference verifier does: real
    StrongBox chains name an issuer that differs from the certificate that actually signed them (the corpus
    sample's leaf names the second intermediate), so issuer names are not compared. The last certificate is
    anchored when its own key is a trust anchor (its validity is then not checked: the anchor is the key) or
    when a trust anchor signed it (a chain sent without its root).
    """
    problems: list[str] = []
    if not chain:
        return ["the chain is empty"]
    for position, cert in enumerate(chain):
        anchored_root = position == len(chain) - 1 and cert.spki_der in anchors.spki_der
        if not anchored_root and not cert.not_before <= now <= cert.not_after:
            problems.append(
                f"certificate {position} ({cert.subject}) is valid from {cert.not_before.isoformat()} "
                f"to {cert.not_after.isoformat()}, not at {now.isoformat()}"
            )
        if position > 0 and not cert.is_ca:
            # Without this a hardware key with purpose SIGN could sign a forged "leaf" below itself.
            problems.append(f"certificate {position} ({cert.subject}) issues a certificate but is not a CA")
    for position in range(len(chain) - 1):
        try:
            issuer_key = load_public_key(chain[position + 1].spki_der)
        except CertificateError as exc:
            problems.append(f"certificate {position + 1}: {exc}")
            continue
        if not signed_by(chain[position], issuer_key):
            problems.append(f"certificate {position} is not signed by certificate {position + 1}")
    last = chain[-1]
    if last.spki_der in anchors.spki_der:
        if not signed_by(last, load_public_key(last.spki_der)):
            problems.append("the root certificate's self-signature does not verify")
    elif not any(signed_by(last, load_public_key(key)) for key in anchors.spki_der):
        problems.append(
            f"the chain ends at {last.subject} (key {fingerprint(last.spki_der)}), which no trust anchor signed"
        )
    return problems
