"""Android Key Attestation on chains made here, signed by a test root passed as an extra root.

One row per way a key can fail to be a genuine courier-app key in secure hardware; each names the rule(s) it
must break and nothing else, so a check that stops firing, or fires for the wrong reason, shows up here.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from msgspec.structs import replace

from device_attestation import (
    AndroidPolicy,
    EnrollmentAccepted,
    EnrollmentRefused,
    PhotoSignatureAccepted,
    RevocationList,
    android_trust_anchors,
    verify_android_attestation,
    verify_android_photo_signature,
)
from device_attestation.results import AttestationVerdict
from tests.unit.device_attestation.attestation_builders import (
    COURIER_PACKAGE,
    COURIER_SIGNING_CERT,
    KEY_DESCRIPTION_OID,
    AttestationPki,
    KeyRecord,
    android_chain,
    explicit,
    integer,
    spki_der,
)
from tests.unit.device_attestation.conftest import NOW

CHALLENGE = bytes(range(32))
POLICY = AndroidPolicy(
    app_packages=frozenset({COURIER_PACKAGE}), signing_cert_sha256=frozenset({COURIER_SIGNING_CERT})
)


def _verify(
    pki: AttestationPki,
    chain: list[bytes],
    *,
    policy: AndroidPolicy = POLICY,
    revocations: RevocationList | None = None,
    challenge: bytes = CHALLENGE,
    now_shift: timedelta = timedelta(0),
) -> AttestationVerdict:
    return verify_android_attestation(
        chain,
        challenge=challenge,
        policy=policy,
        anchors=android_trust_anchors(pki.root_pem),
        revocations=revocations or RevocationList(),
        now=NOW + now_shift,
    )


def _codes(verdict: AttestationVerdict) -> set[str]:
    assert isinstance(verdict, EnrollmentRefused), verdict
    assert verdict.reasons
    assert all(reason.detail for reason in verdict.reasons)
    return {reason.code for reason in verdict.reasons}


def test_a_genuine_tee_key_with_the_fresh_challenge_is_accepted(pki: AttestationPki) -> None:
    chain, device_key = android_chain(pki, KeyRecord(challenge=CHALLENGE))
    verdict = _verify(pki, chain)
    assert isinstance(verdict, EnrollmentAccepted), verdict
    assert verdict.key.level == "tee"
    assert verdict.key.platform == "android"
    assert verdict.key.app_id == COURIER_PACKAGE
    assert verdict.key.public_key_der == spki_der(device_key.public_key())


def test_a_strongbox_key_is_accepted_as_strongbox_even_when_strongbox_is_required(
    pki: AttestationPki,
) -> None:
    chain, _ = android_chain(pki, KeyRecord(challenge=CHALLENGE, attestation_level=2, keymint_level=2))
    verdict = _verify(pki, chain, policy=replace(POLICY, min_security_level="strongbox"))
    assert isinstance(verdict, EnrollmentAccepted), verdict
    assert verdict.key.level == "strongbox"


OTHER_CERT = hashlib.sha256(b"a repackaged app's signing certificate").digest()

REFUSALS: dict[str, tuple[KeyRecord, AndroidPolicy, set[str]]] = {
    "wrong challenge": (KeyRecord(challenge=b"an old or forged challenge"), POLICY, {"challenge"}),
    "another package": (
        KeyRecord(challenge=CHALLENGE, packages=(("com.evil.scripter", 1),)),
        POLICY,
        {"app"},
    ),
    "another signing certificate": (
        KeyRecord(challenge=CHALLENGE, signing_digests=(OTHER_CERT,)),
        POLICY,
        {"app"},
    ),
    "software key": (
        KeyRecord(challenge=CHALLENGE, attestation_level=0, keymint_level=0),
        POLICY,
        {"security_level"},
    ),
    "software attestation of a tee key": (
        KeyRecord(challenge=CHALLENGE, attestation_level=0),
        POLICY,
        {"security_level"},
    ),
    "tee where strongbox is required": (
        KeyRecord(challenge=CHALLENGE),
        replace(POLICY, min_security_level="strongbox"),
        {"security_level"},
    ),
    "unlocked bootloader": (KeyRecord(challenge=CHALLENGE, device_locked=False), POLICY, {"boot_state"}),
    "unverified boot": (KeyRecord(challenge=CHALLENGE, boot_state=2), POLICY, {"boot_state"}),
    "self-signed boot": (KeyRecord(challenge=CHALLENGE, boot_state=1), POLICY, {"boot_state"}),
    "failed boot even when unverified boot is allowed": (
        KeyRecord(challenge=CHALLENGE, boot_state=3),
        replace(POLICY, allow_unverified_boot=True),
        {"boot_state"},
    ),
    "curve P-384 in the record": (KeyRecord(challenge=CHALLENGE, ec_curve=2, key_size=384), POLICY, {"key"}),
    "no curve and a 384-bit key": (
        KeyRecord(challenge=CHALLENGE, ec_curve=None, key_size=384),
        POLICY,
        {"key"},
    ),
    "algorithm RSA in the record": (KeyRecord(challenge=CHALLENGE, algorithm=1), POLICY, {"key"}),
    "purpose VERIFY only": (KeyRecord(challenge=CHALLENGE, purposes=(3,)), POLICY, {"key"}),
    "everything wrong at once": (
        KeyRecord(
            challenge=b"x",
            packages=(("com.evil", 1),),
            attestation_level=0,
            keymint_level=0,
            device_locked=False,
            purposes=(3,),
        ),
        POLICY,
        {"challenge", "app", "security_level", "boot_state", "key"},
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_each_broken_rule_is_refused_with_its_code(pki: AttestationPki, case: str) -> None:
    record, policy, expected = REFUSALS[case]
    chain, _ = android_chain(pki, record)
    assert _codes(_verify(pki, chain, policy=policy)) == expected


def test_unverified_boot_and_unlocked_bootloader_pass_when_allowed(pki: AttestationPki) -> None:
    chain, _ = android_chain(pki, KeyRecord(challenge=CHALLENGE, device_locked=False, boot_state=2))
    verdict = _verify(pki, chain, policy=replace(POLICY, allow_unverified_boot=True))
    assert isinstance(verdict, EnrollmentAccepted), verdict


def test_the_certificate_key_must_be_p256_whatever_the_record_says(pki: AttestationPki) -> None:
    chain, _ = android_chain(
        pki, KeyRecord(challenge=CHALLENGE), device_key=ec.generate_private_key(ec.SECP384R1())
    )
    assert _codes(_verify(pki, chain)) == {"key"}


@pytest.mark.parametrize("which", ["leaf", "intermediate"])
def test_a_revoked_or_suspended_serial_is_refused(pki: AttestationPki, which: str) -> None:
    chain, _ = android_chain(pki, KeyRecord(challenge=CHALLENGE), leaf_serial=0x5EED)
    serial = 0x5EED if which == "leaf" else pki.intermediate_serial
    status = {
        "entries": {
            f"{serial:x}": {
                "status": "REVOKED" if which == "leaf" else "SUSPENDED",
                "reason": "KEY_COMPROMISE",
            }
        }
    }
    assert _codes(_verify(pki, chain, revocations=RevocationList.from_status_json(status))) == {"revoked"}
    other = RevocationList.from_status_json({"entries": {"deadbeef": {"status": "REVOKED"}}})
    assert isinstance(_verify(pki, chain, revocations=other), EnrollmentAccepted)


def test_a_chain_to_an_unknown_root_is_refused(pki: AttestationPki) -> None:
    chain, _ = android_chain(pki, KeyRecord(challenge=CHALLENGE))
    verdict = verify_android_attestation(
        chain,
        challenge=CHALLENGE,
        policy=POLICY,
        anchors=android_trust_anchors(),  # Google's roots only
        revocations=RevocationList(),
        now=NOW,
    )
    assert _codes(verdict) == {"chain"}


def test_a_chain_sent_without_its_root_still_reaches_the_anchor_and_one_without_its_intermediate_does_not(
    pki: AttestationPki,
) -> None:
    chain, _ = android_chain(pki, KeyRecord(challenge=CHALLENGE))
    assert isinstance(_verify(pki, chain[:2]), EnrollmentAccepted)
    assert _codes(_verify(pki, [chain[0], chain[2]])) == {"chain"}


def test_an_expired_intermediate_is_refused(pki: AttestationPki) -> None:
    chain, _ = android_chain(pki, KeyRecord(challenge=CHALLENGE))
    assert _codes(_verify(pki, chain, now_shift=timedelta(days=4000))) == {"chain"}


def test_a_certificate_signed_by_an_attested_key_cannot_extend_the_chain(pki: AttestationPki) -> None:
    """The attack: use a genuine hardware SIGN key to certify a script's key with a forged record."""
    genuine_chain, genuine_key = android_chain(pki, KeyRecord(challenge=b"whatever the phone was asked"))
    script_key = ec.generate_private_key(ec.SECP256R1())
    forged = pki.issue(
        script_key.public_key(),
        extensions=(
            x509.UnrecognizedExtension(KEY_DESCRIPTION_OID, KeyRecord(challenge=CHALLENGE).encode()),
        ),
        issuer_key=genuine_key,
        issuer_name="Android Keystore Key",
    )
    verdict = _verify(pki, [forged, *genuine_chain])
    assert _codes(verdict) == {"chain"}
    assert isinstance(verdict, EnrollmentRefused)
    details = " ".join(reason.detail for reason in verdict.reasons)
    assert "not a CA" in details
    assert "also carries a KeyDescription" in details


def test_a_leaf_without_key_description_is_a_format_refusal(pki: AttestationPki) -> None:
    plain = pki.issue(ec.generate_private_key(ec.SECP256R1()).public_key())
    assert _codes(_verify(pki, [plain, pki.intermediate_der, pki.root_der])) == {"format"}


def test_a_duplicated_authorization_field_is_a_format_refusal(pki: AttestationPki) -> None:
    record = KeyRecord(challenge=CHALLENGE, extra_hardware_fields=(explicit(2, integer(1)),))
    chain, _ = android_chain(pki, record)
    assert _codes(_verify(pki, chain)) == {"format"}


def test_photo_signature_by_the_attested_key_over_the_exact_bytes(pki: AttestationPki) -> None:
    chain, device_key = android_chain(pki, KeyRecord(challenge=CHALLENGE))
    verdict = _verify(pki, chain)
    assert isinstance(verdict, EnrollmentAccepted)
    photo = b"\xff\xd8\xff\xe0 a JPEG's bytes \xff\xd9"
    signature = device_key.sign(photo, ec.ECDSA(hashes.SHA256()))
    public_key = verdict.key.public_key_der

    assert isinstance(verify_android_photo_signature(public_key, photo, signature), PhotoSignatureAccepted)
    changed = photo[:5] + bytes([photo[5] ^ 1]) + photo[6:]
    other_key_signature = ec.generate_private_key(ec.SECP256R1()).sign(photo, ec.ECDSA(hashes.SHA256()))
    for bad_photo, bad_signature, code in [
        (changed, signature, "signature"),
        (photo, other_key_signature, "signature"),
        (photo, b"\x30\x00", "signature"),
        (photo, b"", "signature"),
    ]:
        refused = verify_android_photo_signature(public_key, bad_photo, bad_signature)
        assert [reason.code for reason in getattr(refused, "reasons", ())] == [code]
    refused = verify_android_photo_signature(b"not a key", photo, signature)
    assert [reason.code for reason in getattr(refused, "reasons", ())] == ["format"]


def test_a_precomputed_photo_digest_is_used_and_must_be_the_photos(pki: AttestationPki) -> None:
    _chain, device_key = android_chain(pki, KeyRecord(challenge=CHALLENGE))
    public_key = spki_der(device_key.public_key())
    photo = b"\xff\xd8 some JPEG \xff\xd9"
    signature = device_key.sign(photo, ec.ECDSA(hashes.SHA256()))
    digest = hashlib.sha256(photo).digest()
    accepted = verify_android_photo_signature(public_key, photo, signature, photo_sha256=digest)
    assert isinstance(accepted, PhotoSignatureAccepted)
    for wrong in (hashlib.sha256(photo + b"!").digest(), digest[:31], b""):
        refused = verify_android_photo_signature(public_key, photo, signature, photo_sha256=wrong)
        assert [reason.code for reason in getattr(refused, "reasons", ())] == ["signature"]
