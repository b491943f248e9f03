"""Android Key Attestation: the chain a phone's keystore returns for a key, checked against our policy."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime
from typing import Final, Literal

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from device_attestation.certificates import (
    Certificate,
    CertificateError,
    TrustAnchors,
    chain_problems,
    load_public_key,
    parse_certificate,
)
from device_attestation.key_description import (
    ALGORITHM_EC,
    CURVE_P256,
    KEY_DESCRIPTION_OID,
    PURPOSE_SIGN,
    SECURITY_LEVEL_NAMES,
    VERIFIED_BOOT_STATE_NAMES,
    AuthorizationList,
    KeyDescription,
    KeyDescriptionError,
    parse_key_description,
)
from device_attestation.results import (
    AttestationLevel,
    AttestationVerdict,
    AttestedKey,
    EnrollmentAccepted,
    EnrollmentRefused,
    PhotoRefused,
    PhotoSignatureAccepted,
    PhotoSignatureVerdict,
    Reason,
)
from device_attestation.revocation import RevocationList

__all__ = ["AndroidPolicy", "verify_android_attestation", "verify_android_photo_signature"]

_LEVEL_RANK: Final = {"tee": 1, "strongbox": 2}
# A chain longer than this is not something a keystore returns (RKP chains have 4-5 certificates).
_MAX_CHAIN: Final = 10
_VERIFIED, _FAILED = 0, 3


class AndroidPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """What a deployment accepts (ANDROID_* settings); the trust anchors and status list come alongside."""

    app_packages: frozenset[str]
    # SHA-256 digests (32 raw bytes) of the app's signing certificates.
    signing_cert_sha256: frozenset[bytes]
    min_security_level: Literal["tee", "strongbox"] = "tee"
    # For development phones: accept an unlocked bootloader and a self-signed or unverified boot
    # (never a boot whose verification failed).
    allow_unverified_boot: bool = False


def verify_android_attestation(
    chain_der: Sequence[bytes],
    *,
    challenge: bytes,
    policy: AndroidPolicy,
    anchors: TrustAnchors,
    revocations: RevocationList,
    now: datetime,
) -> AttestationVerdict:
    """Whether `chain_der` (leaf first) attests a hardware EC P-256 signing key of our app for `challenge`."""
    if not chain_der or len(chain_der) > _MAX_CHAIN:
        return _refuse(("format", f"expected 1 to {_MAX_CHAIN} certificates, got {len(chain_der)}"))
    chain: list[Certificate] = []
    for position, der in enumerate(chain_der):
        try:
            chain.append(parse_certificate(der))
        except CertificateError as exc:
            return _refuse(("format", f"certificate {position}: {exc}"))
    leaf = chain[0]
    extension = leaf.extensions.get(KEY_DESCRIPTION_OID)
    if extension is None:
        return _refuse(("format", "the first certificate has no KeyDescription extension"))
    try:
        description = parse_key_description(extension)
    except KeyDescriptionError as exc:
        return _refuse(("format", f"KeyDescription: {exc}"))

    reasons: list[Reason] = [
        Reason(code="chain", detail=problem) for problem in chain_problems(chain, anchors, now)
    ]
    for position, cert in enumerate(chain[1:], start=1):
        # A record below a second record means someone signed a certificate with an attested key.
        if KEY_DESCRIPTION_OID in cert.extensions:
            reasons.append(
                Reason(code="chain", detail=f"certificate {position} also carries a KeyDescription")
            )
    for position, cert in enumerate(chain):
        status = revocations.status_of(cert.serial)
        if status is not None:
            reasons.append(
                Reason(code="revoked", detail=f"certificate {position} serial {cert.serial:x} is {status}")
            )
    if not hmac.compare_digest(description.attestation_challenge, challenge):
        reasons.append(Reason(code="challenge", detail="attestationChallenge is not the challenge issued"))
    reasons.extend(_security_level_reasons(description, policy))
    app_id, app_reasons = _application(description, policy)
    reasons.extend(app_reasons)
    reasons.extend(_boot_reasons(description.hardware_enforced, policy))
    reasons.extend(_key_reasons(description.hardware_enforced, leaf))
    if reasons:
        return EnrollmentRefused(reasons=tuple(reasons))
    level: AttestationLevel = "strongbox" if description.attestation_security_level == 2 else "tee"
    return EnrollmentAccepted(
        key=AttestedKey(level=level, platform="android", app_id=app_id, public_key_der=leaf.spki_der)
    )


def verify_android_photo_signature(
    public_key_der: bytes, photo: bytes, signature_der: bytes, *, photo_sha256: bytes | None = None
) -> PhotoSignatureVerdict:
    """Whether `signature_der` is SHA256withECDSA over the exact `photo` bytes by the attested key.

    `photo_sha256` is the raw digest of `photo` when the caller has already computed it (the upload path
    does, for the S3 checksum): hashing a 3 MB photo costs twenty times the signature check.
    """
    try:
        key = load_public_key(public_key_der)
    except CertificateError as exc:
        return PhotoRefused(reasons=(Reason(code="format", detail=str(exc)),))
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return PhotoRefused(reasons=(Reason(code="format", detail="the device key is not an EC key"),))
    digest = hashlib.sha256(photo).digest() if photo_sha256 is None else photo_sha256
    try:
        key.verify(signature_der, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    except (InvalidSignature, ValueError):
        return PhotoRefused(
            reasons=(Reason(code="signature", detail="not signed by the device's attested key"),)
        )
    return PhotoSignatureAccepted()


def _refuse(*reasons: tuple[Literal["format"], str]) -> EnrollmentRefused:
    return EnrollmentRefused(reasons=tuple(Reason(code=code, detail=detail) for code, detail in reasons))


def _security_level_reasons(description: KeyDescription, policy: AndroidPolicy) -> list[Reason]:
    minimum = _LEVEL_RANK[policy.min_security_level]
    reasons = []
    for name, level in (
        ("attestationSecurityLevel", description.attestation_security_level),
        ("keyMintSecurityLevel", description.keymint_security_level),
    ):
        if level < minimum:
            reasons.append(
                Reason(
                    code="security_level",
                    detail=f"{name} is {SECURITY_LEVEL_NAMES.get(level, str(level))}, "
                    f"at least {policy.min_security_level} is required",
                )
            )
    return reasons


def _application(description: KeyDescription, policy: AndroidPolicy) -> tuple[str, list[Reason]]:
    # Android writes attestationApplicationId into softwareEnforced (the OS knows the caller, not the TEE);
    # accept it from either list.
    app = description.software_enforced.application_id or description.hardware_enforced.application_id
    if app is None:
        return "", [Reason(code="app", detail="no attestationApplicationId")]
    reasons = []
    matching = sorted(name for name, _version in app.packages if name in policy.app_packages)
    if not matching:
        names = ", ".join(name for name, _version in app.packages) or "none"
        reasons.append(Reason(code="app", detail=f"packages {names}: none is a configured app package"))
    if not app.signature_digests & policy.signing_cert_sha256:
        digests = ", ".join(sorted(digest.hex() for digest in app.signature_digests)) or "none"
        reasons.append(Reason(code="app", detail=f"signing certificate SHA-256 {digests} is not configured"))
    return (matching[0] if matching else ""), reasons


def _boot_reasons(hardware: AuthorizationList, policy: AndroidPolicy) -> list[Reason]:
    root = hardware.root_of_trust
    if root is None:
        return [Reason(code="boot_state", detail="no rootOfTrust in the hardware-enforced list")]
    state = VERIFIED_BOOT_STATE_NAMES.get(root.verified_boot_state, str(root.verified_boot_state))
    if policy.allow_unverified_boot:
        if root.verified_boot_state == _FAILED:
            return [Reason(code="boot_state", detail="verified boot failed")]
        return []
    reasons = []
    if not root.device_locked:
        reasons.append(Reason(code="boot_state", detail="the bootloader is unlocked"))
    if root.verified_boot_state != _VERIFIED:
        reasons.append(Reason(code="boot_state", detail=f"verifiedBootState is {state}, not verified"))
    return reasons


def _key_reasons(hardware: AuthorizationList, leaf: Certificate) -> list[Reason]:
    # Key properties are read from the hardware-enforced list only: the software list is the OS's word.
    reasons = []
    if PURPOSE_SIGN not in hardware.purposes:
        reasons.append(Reason(code="key", detail=f"purposes {sorted(hardware.purposes)} do not include SIGN"))
    if hardware.algorithm != ALGORITHM_EC:
        reasons.append(Reason(code="key", detail=f"algorithm {hardware.algorithm} is not EC"))
    # Keymaster 3 and some StrongBox records (the corpus's) omit ecCurve and give keySize 256 instead.
    elif hardware.ec_curve is not None and hardware.ec_curve != CURVE_P256:
        reasons.append(Reason(code="key", detail=f"ecCurve {hardware.ec_curve} is not P-256"))
    elif hardware.ec_curve is None and hardware.key_size != 256:
        reasons.append(Reason(code="key", detail=f"no ecCurve and keySize {hardware.key_size}, not P-256"))
    # The certificate's key is what will verify photos; it must be P-256 whatever the record says.
    try:
        key = load_public_key(leaf.spki_der)
    except CertificateError as exc:
        reasons.append(Reason(code="key", detail=f"attested key: {exc}"))
    else:
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
            reasons.append(Reason(code="key", detail="the attested public key is not EC P-256"))
    return reasons
