"""Apple App Attest: the attestation that enrolls a Secure Enclave key, and the assertions that sign photos.

The steps are Apple's ("Validating apps that connect to your server"), each mapped to one of our rule codes.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Final, Literal

import cbor2
import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from device_attestation.certificates import (
    Certificate,
    CertificateError,
    TrustAnchors,
    chain_problems,
    load_public_key,
    parse_certificate,
)
from device_attestation.results import (
    AttestationVerdict,
    AttestedKey,
    EnrollmentAccepted,
    EnrollmentRefused,
    PhotoRefused,
    PhotoSignatureAccepted,
    PhotoSignatureVerdict,
    Reason,
)
from device_attestation.tlv import DerError, children, expect, one

__all__ = ["AAGUIDS", "ApplePolicy", "verify_app_attest_assertion", "verify_app_attest_attestation"]

NONCE_OID: Final = "1.2.840.113635.100.8.2"
AAGUIDS: Final = {"production": b"appattest" + b"\x00" * 7, "development": b"appattestdevelop"}
_CONTEXT, _OCTET_STRING, _SEQUENCE = 2, 4, 16
# rpIdHash (32) + flags (1) + signCount (4); attested credential data follows in an attestation.
_AUTH_DATA_HEADER: Final = 37
# Errors cbor2 raises on bytes that are not well-formed CBOR (CBORDecodeError stopped being a ValueError in
# cbor2 6; semantic tags with bad contents, deep nesting and huge lengths surface as the others).
_CBOR_ERRORS: Final = (
    cbor2.CBORDecodeError,
    ValueError,
    TypeError,
    EOFError,
    OverflowError,
    RecursionError,
    MemoryError,
)


class ApplePolicy(msgspec.Struct, frozen=True, kw_only=True):
    """What a deployment accepts (APPLE_* settings)."""

    # TEAMID.bundle.id
    app_ids: frozenset[str]
    environment: Literal["production", "development"] = "production"


def verify_app_attest_attestation(
    attestation: bytes,
    *,
    key_id: bytes,
    challenge: bytes,
    policy: ApplePolicy,
    anchors: TrustAnchors,
    now: datetime,
) -> AttestationVerdict:
    """Whether `attestation` (CBOR from DCAppAttestService.attestKey) proves `key_id` is our app's key."""
    try:
        document = cbor2.loads(attestation)
    except _CBOR_ERRORS as exc:
        return _refuse(f"attestation is not CBOR: {exc}")
    if not isinstance(document, dict) or document.get("fmt") != "apple-appattest":
        return _refuse('attestation is not a map with fmt "apple-appattest"')
    statement = document.get("attStmt")
    auth_data = document.get("authData")
    x5c = statement.get("x5c") if isinstance(statement, dict) else None
    if (
        not isinstance(auth_data, bytes)
        or not isinstance(x5c, list)
        or not x5c
        or len(x5c) > 5
        or not all(isinstance(der, bytes) for der in x5c)
    ):
        return _refuse("attestation lacks authData or the x5c certificates")
    if len(auth_data) < _AUTH_DATA_HEADER + 18:
        return _refuse(f"authData of {len(auth_data)} bytes has no attested credential")
    chain: list[Certificate] = []
    for position, der in enumerate(x5c):
        try:
            chain.append(parse_certificate(der))
        except CertificateError as exc:
            return _refuse(f"x5c certificate {position}: {exc}")
    credential_cert = chain[0]
    try:
        nonce = _nonce_extension(credential_cert)
        key = load_public_key(credential_cert.spki_der)
    except (DerError, CertificateError) as exc:
        return _refuse(f"credential certificate: {exc}")

    reasons = [Reason(code="chain", detail=problem) for problem in chain_problems(chain, anchors, now)]
    expected_nonce = hashlib.sha256(auth_data + hashlib.sha256(challenge).digest()).digest()
    if not hmac.compare_digest(nonce, expected_nonce):
        reasons.append(
            Reason(code="challenge", detail="the nonce is not SHA-256(authData ‖ SHA-256(challenge))")
        )
    app_ids = {hashlib.sha256(app.encode()).digest(): app for app in policy.app_ids}
    app_id = app_ids.get(auth_data[:32], "")
    if not app_id:
        reasons.append(Reason(code="app", detail="rpIdHash is the SHA-256 of no configured app id"))
    aaguid = auth_data[37:53]
    if aaguid != AAGUIDS[policy.environment]:
        seen = next((name for name, value in AAGUIDS.items() if value == aaguid), aaguid.hex())
        reasons.append(Reason(code="app", detail=f"aaguid is {seen}, {policy.environment} is required"))
    counter = int.from_bytes(auth_data[33:37], "big")
    if counter != 0:
        reasons.append(Reason(code="key", detail=f"counter is {counter}, a new key's is 0"))
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        reasons.append(Reason(code="key", detail="the attested public key is not EC P-256"))
    else:
        point = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        if not hmac.compare_digest(hashlib.sha256(point).digest(), key_id):
            reasons.append(Reason(code="key", detail="keyId is not the SHA-256 of the attested public key"))
    credential_length = int.from_bytes(auth_data[53:55], "big")
    credential_id = auth_data[55 : 55 + credential_length]
    if not hmac.compare_digest(credential_id, key_id):
        reasons.append(Reason(code="key", detail="authData's credentialId is not the keyId"))
    if reasons:
        return EnrollmentRefused(reasons=tuple(reasons))
    return EnrollmentAccepted(
        key=AttestedKey(
            level="app_attest",
            platform="ios",
            app_id=app_id,
            public_key_der=credential_cert.spki_der,
            key_id=key_id,
        )
    )


def verify_app_attest_assertion(
    assertion: bytes,
    *,
    client_data: bytes,
    public_key_der: bytes,
    app_id: str,
    last_counter: int,
    client_data_hash: bytes | None = None,
) -> PhotoSignatureVerdict:
    """Whether `assertion` (DCAppAttestService.generateAssertion over SHA-256 of `client_data`) is fresh and ours.

    For a photo `client_data` is the exact JPEG bytes, and `client_data_hash` their SHA-256 when the caller
    already has it; `last_counter` is the last counter accepted from the device.
    """
    try:
        document = cbor2.loads(assertion)
    except _CBOR_ERRORS as exc:
        return _refuse_photo("format", f"assertion is not CBOR: {exc}")
    signature = document.get("signature") if isinstance(document, dict) else None
    auth_data = document.get("authenticatorData") if isinstance(document, dict) else None
    if (
        not isinstance(signature, bytes)
        or not isinstance(auth_data, bytes)
        or len(auth_data) < _AUTH_DATA_HEADER
    ):
        return _refuse_photo("format", "assertion lacks signature or authenticatorData")
    try:
        key = load_public_key(public_key_der)
    except CertificateError as exc:
        return _refuse_photo("format", f"device key: {exc}")
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return _refuse_photo("format", "the device key is not an EC key")
    reasons: list[Reason] = []
    if client_data_hash is None:
        client_data_hash = hashlib.sha256(client_data).digest()
    nonce = hashlib.sha256(auth_data + client_data_hash).digest()
    try:
        key.verify(signature, nonce, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        reasons.append(
            Reason(code="signature", detail="not signed by the device's attested key over this photo")
        )
    if not hmac.compare_digest(auth_data[:32], hashlib.sha256(app_id.encode()).digest()):
        reasons.append(Reason(code="app", detail=f"rpIdHash is not the SHA-256 of {app_id}"))
    counter = int.from_bytes(auth_data[33:37], "big")
    if counter <= last_counter:
        reasons.append(
            Reason(code="counter", detail=f"counter {counter} is not above the last accepted {last_counter}")
        )
    if reasons:
        return PhotoRefused(reasons=tuple(reasons))
    return PhotoSignatureAccepted(counter=counter)


def _nonce_extension(cert: Certificate) -> bytes:
    # SEQUENCE { [1] EXPLICIT OCTET STRING nonce }
    value = cert.extensions.get(NONCE_OID)
    if value is None:
        raise DerError("no nonce extension (1.2.840.113635.100.8.2)")
    for field in children(expect(one(value), _SEQUENCE, "nonce extension")):
        if field.cls == _CONTEXT and field.tag == 1:
            return expect(one(field.contents), _OCTET_STRING, "nonce")
    raise DerError("the nonce extension has no [1] nonce")


def _refuse(detail: str) -> EnrollmentRefused:
    return EnrollmentRefused(reasons=(Reason(code="format", detail=detail),))


def _refuse_photo(code: Literal["format"], detail: str) -> PhotoRefused:
    return PhotoRefused(reasons=(Reason(code=code, detail=detail),))
