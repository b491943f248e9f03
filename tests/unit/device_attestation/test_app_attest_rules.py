"""App Attest attestations and assertions made here with a test root: production aaguid, counters, keys."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from device_attestation import (
    ApplePolicy,
    EnrollmentAccepted,
    EnrollmentRefused,
    PhotoRefused,
    PhotoSignatureAccepted,
    apple_trust_anchors,
    verify_app_attest_assertion,
    verify_app_attest_attestation,
)
from device_attestation.results import AttestationVerdict, PhotoSignatureVerdict
from tests.unit.device_attestation.attestation_builders import (
    AAGUID_DEVELOPMENT,
    APPLE_APP_ID,
    AttestationPki,
    app_attest_assertion,
    app_attest_attestation,
    spki_der,
)
from tests.unit.device_attestation.conftest import NOW

CHALLENGE = b"\x07" * 32
PRODUCTION = ApplePolicy(app_ids=frozenset({APPLE_APP_ID}), environment="production")
PHOTO = b"\xff\xd8\xff\xe1 the exact JPEG bytes \xff\xd9"


def _verify(
    pki: AttestationPki, attestation: bytes, key_id: bytes, policy: ApplePolicy = PRODUCTION
) -> AttestationVerdict:
    return verify_app_attest_attestation(
        attestation,
        key_id=key_id,
        challenge=CHALLENGE,
        policy=policy,
        anchors=apple_trust_anchors(pki.root_pem),
        now=NOW,
    )


def _codes(verdict: AttestationVerdict | PhotoSignatureVerdict) -> set[str]:
    assert isinstance(verdict, EnrollmentRefused | PhotoRefused), verdict
    return {reason.code for reason in verdict.reasons}


def test_a_production_attestation_enrolls_the_secure_enclave_key(pki: AttestationPki) -> None:
    attestation, key_id, key = app_attest_attestation(pki, challenge=CHALLENGE)
    verdict = _verify(pki, attestation, key_id)
    assert isinstance(verdict, EnrollmentAccepted), verdict
    assert verdict.key.public_key_der == spki_der(key.public_key())
    point = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    assert verdict.key.key_id == key_id == hashlib.sha256(point).digest()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"aaguid": AAGUID_DEVELOPMENT}, {"app"}),
        ({"app_id": "ZZZZZ99999.com.other.app"}, {"app"}),
        ({"counter": 1}, {"key"}),
        ({"challenge": b"a replayed challenge"}, {"challenge"}),
    ],
    ids=["development aaguid in production", "another app", "used key", "wrong challenge"],
)
def test_attestation_rules(pki: AttestationPki, changes: dict[str, object], expected: set[str]) -> None:
    arguments: dict[str, object] = {"challenge": CHALLENGE, **changes}
    attestation, key_id, _ = app_attest_attestation(pki, **arguments)  # type: ignore[arg-type]
    assert _codes(_verify(pki, attestation, key_id)) == expected


def test_a_key_id_that_is_not_the_attested_key_is_refused(pki: AttestationPki) -> None:
    attestation, _, _ = app_attest_attestation(pki, challenge=CHALLENGE)
    _, other_key_id, _ = app_attest_attestation(pki, challenge=CHALLENGE)
    assert _codes(_verify(pki, attestation, other_key_id)) == {"key"}


def test_assertions_need_a_counter_above_the_last_one_and_the_enrolled_key(pki: AttestationPki) -> None:
    attestation, key_id, key = app_attest_attestation(pki, challenge=CHALLENGE)
    enrolled = _verify(pki, attestation, key_id)
    assert isinstance(enrolled, EnrollmentAccepted)
    public_key = enrolled.key.public_key_der

    def check(assertion: bytes, last_counter: int, photo: bytes = PHOTO) -> PhotoSignatureVerdict:
        return verify_app_attest_assertion(
            assertion,
            client_data=photo,
            public_key_der=public_key,
            app_id=APPLE_APP_ID,
            last_counter=last_counter,
        )

    first = app_attest_assertion(key, PHOTO, counter=1)
    assert check(first, last_counter=0) == PhotoSignatureAccepted(counter=1)
    assert _codes(check(first, last_counter=1)) == {"counter"}  # the same assertion replayed
    second = app_attest_assertion(key, PHOTO, counter=2)
    assert check(second, last_counter=1) == PhotoSignatureAccepted(counter=2)
    assert _codes(check(first, last_counter=2)) == {"counter"}  # an older one after a newer
    assert _codes(check(second, last_counter=1, photo=PHOTO + b"\x00")) == {"signature"}  # another photo
    stranger = ec.generate_private_key(ec.SECP256R1())
    assert _codes(check(app_attest_assertion(stranger, PHOTO, counter=3), last_counter=2)) == {"signature"}
    other_app = app_attest_assertion(key, PHOTO, counter=3, app_id="ZZZZZ99999.com.other.app")
    assert _codes(check(other_app, last_counter=2)) == {"app"}
    for malformed in (b"", b"\xa0", b"\xa2isignature\x40qauthenticatorData\x40", first[:-3]):
        assert _codes(check(malformed, last_counter=0)) == {"format"}


def test_a_precomputed_client_data_hash_is_used_and_must_be_the_photos(pki: AttestationPki) -> None:
    attestation, key_id, key = app_attest_attestation(pki, challenge=CHALLENGE)
    enrolled = _verify(pki, attestation, key_id)
    assert isinstance(enrolled, EnrollmentAccepted)
    assertion = app_attest_assertion(key, PHOTO, counter=1)
    for digest, accepted in (
        (hashlib.sha256(PHOTO).digest(), True),
        (hashlib.sha256(b"other").digest(), False),
    ):
        verdict = verify_app_attest_assertion(
            assertion,
            client_data=PHOTO,
            public_key_der=enrolled.key.public_key_der,
            app_id=APPLE_APP_ID,
            last_counter=0,
            client_data_hash=digest,
        )
        assert isinstance(verdict, PhotoSignatureAccepted) is accepted
