"""Real Android Key Attestation chains (../shared/corpus/attestation/android, see SOURCES.md there).

Each sample verifies as far as its own contents allow: at a time inside its certificates' validity, with the
challenge, packages and signing digests read out of its own record. Their phones were unlocked with an
unverified boot and two of them attest RSA keys, so those rules refuse them exactly as they should.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
from asn1crypto import pem
from cryptography import x509

from device_attestation import (
    AndroidPolicy,
    EnrollmentAccepted,
    EnrollmentRefused,
    RevocationList,
    android_trust_anchors,
    google_hardware_roots,
    verify_android_attestation,
)
from device_attestation.certificates import parse_certificate
from device_attestation.key_description import KEY_DESCRIPTION_OID, parse_key_description
from device_attestation.results import AttestationVerdict
from tests.corpus import corpus_dir

pytestmark = pytest.mark.corpus

SAMPLES = [
    "algorithm_EC_SecurityLevel_StrongBox",
    "algorithm_EC_SecurityLevel_TEE",
    "algorithm_RSA_SecurityLevel_StrongBox",
    "algorithm_RSA_SecurityLevel_TEE",
]
# Inside every certificate's validity in all four chains (intermediates 2018-03-21 .. 2028-03-18).
SAMPLE_TIME = datetime(2019, 8, 1, tzinfo=UTC)


def _folder(sample: str) -> Path:
    return corpus_dir() / "attestation" / "android" / sample


def _chain(sample: str) -> list[bytes]:
    return [pem.unarmor((_folder(sample) / f"cert{i}.pem").read_bytes())[2] for i in range(4)]


def _own_root_pem(sample: str) -> bytes:
    """The StrongBox samples end at serialNumber=e35d38c6897d47e8, which Google does not publish as a
    hardware attestation root (SOURCES.md); it is passed as an extra root, as ANDROID_ATTESTATION_ROOTS would."""
    return (_folder(sample) / "cert3.pem").read_bytes() if "StrongBox" in sample else b""


def _own_policy(chain: list[bytes], **overrides: object) -> tuple[bytes, AndroidPolicy]:
    record = parse_key_description(parse_certificate(chain[0]).extensions[KEY_DESCRIPTION_OID])
    app = record.software_enforced.application_id
    assert app is not None
    policy = AndroidPolicy(
        app_packages=frozenset({app.packages[0][0]}),
        signing_cert_sha256=app.signature_digests,
        allow_unverified_boot=True,
    )
    if overrides:
        policy = msgspec.structs.replace(policy, **overrides)
    return record.attestation_challenge, policy


def _verify(
    sample: str,
    chain: list[bytes],
    *,
    challenge: bytes | None = None,
    now: datetime = SAMPLE_TIME,
    revocations: RevocationList | None = None,
    **policy_overrides: object,
) -> AttestationVerdict:
    own_challenge, policy = _own_policy(_chain(sample), **policy_overrides)
    return verify_android_attestation(
        chain,
        challenge=own_challenge if challenge is None else challenge,
        policy=policy,
        anchors=android_trust_anchors(_own_root_pem(sample)),
        revocations=revocations or RevocationList(),
        now=now,
    )


def _codes(verdict: AttestationVerdict) -> set[str]:
    assert isinstance(verdict, EnrollmentRefused), verdict
    return {reason.code for reason in verdict.reasons}


def test_the_strongbox_ec_leaf_is_one_that_a_strict_der_parser_refuses() -> None:
    """Why certificates are parsed leniently: cryptography refuses this real device certificate."""
    leaf = _chain("algorithm_EC_SecurityLevel_StrongBox")[0]
    with pytest.raises(ValueError, match="ExtraData"):
        x509.load_der_x509_certificate(leaf)
    assert parse_certificate(leaf).signature_algorithm == "1.2.840.10045.4.3.2"


@pytest.mark.parametrize("sample", SAMPLES)
def test_each_real_sample_verifies_as_far_as_its_contents_allow(sample: str) -> None:
    verdict = _verify(sample, _chain(sample))
    if sample.startswith("algorithm_EC"):
        assert isinstance(verdict, EnrollmentAccepted), verdict
        assert verdict.key.level == ("strongbox" if "StrongBox" in sample else "tee")
        assert verdict.key.app_id == "android"
        assert verdict.key.public_key_der == parse_certificate(_chain(sample)[0]).spki_der
    else:
        assert _codes(verdict) == {"key"}  # an RSA key cannot sign our photos


@pytest.mark.parametrize("sample", SAMPLES)
def test_real_samples_from_unlocked_phones_fail_boot_state_under_the_production_policy(sample: str) -> None:
    verdict = _verify(sample, _chain(sample), allow_unverified_boot=False)
    assert "boot_state" in _codes(verdict)
    assert isinstance(verdict, EnrollmentRefused)
    details = [reason.detail for reason in verdict.reasons if reason.code == "boot_state"]
    assert details == ["the bootloader is unlocked", "verifiedBootState is unverified, not verified"]


@pytest.mark.parametrize("sample", ["algorithm_EC_SecurityLevel_TEE", "algorithm_RSA_SecurityLevel_TEE"])
def test_tee_samples_are_anchored_by_googles_shipped_key_even_after_that_root_certificate_expired(
    sample: str,
) -> None:
    root = parse_certificate(_chain(sample)[3])
    assert root.spki_der in google_hardware_roots()
    after_root_expiry = datetime(2027, 1, 15, tzinfo=UTC)
    assert root.not_after < after_root_expiry
    verdict = _verify(sample, _chain(sample), now=after_root_expiry)
    if sample.startswith("algorithm_EC"):
        assert isinstance(verdict, EnrollmentAccepted), verdict
    else:
        assert _codes(verdict) == {"key"}


@pytest.mark.parametrize(
    "sample", ["algorithm_EC_SecurityLevel_StrongBox", "algorithm_RSA_SecurityLevel_StrongBox"]
)
def test_strongbox_samples_do_not_chain_to_googles_published_roots_alone(sample: str) -> None:
    own_challenge, policy = _own_policy(_chain(sample))
    verdict = verify_android_attestation(
        _chain(sample),
        challenge=own_challenge,
        policy=policy,
        anchors=android_trust_anchors(),
        revocations=RevocationList(),
        now=SAMPLE_TIME,
    )
    assert "chain" in _codes(verdict)


def _flip(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


@pytest.mark.parametrize("sample", SAMPLES)
def test_tampered_samples_fail_with_the_right_reason(sample: str) -> None:
    chain = _chain(sample)
    base = _codes(_verify(sample, chain)) if sample.startswith("algorithm_RSA") else set()

    # One byte of the leaf's signature.
    assert _codes(_verify(sample, [_flip(chain[0], len(chain[0]) - 1), *chain[1:]])) == base | {"chain"}
    # One byte of the signed challenge inside the leaf ("abc" -> "abb"): the signature breaks, and so does
    # the challenge the record now carries.
    own_challenge = _own_policy(chain)[0]
    position = chain[0].index(own_challenge) + len(own_challenge) - 1
    assert _codes(_verify(sample, [_flip(chain[0], position), *chain[1:]])) == base | {"chain", "challenge"}
    # One byte of an intermediate's signature.
    assert _codes(_verify(sample, [chain[0], _flip(chain[1], len(chain[1]) - 1), *chain[2:]])) == base | {
        "chain"
    }
    # A certificate dropped.
    assert _codes(_verify(sample, [chain[0], *chain[2:]])) == base | {"chain"}
    # The wrong challenge, another app id.
    assert _codes(_verify(sample, chain, challenge=b"a fresh server challenge")) == base | {"challenge"}
    assert _codes(_verify(sample, chain, app_packages=frozenset({"ru.doordrop.courier"}))) == base | {"app"}
    assert _codes(_verify(sample, chain, signing_cert_sha256=frozenset({b"\x00" * 32}))) == base | {"app"}
    # A serial on the status list.
    revoked = RevocationList.from_status_json(
        {"entries": {f"{parse_certificate(chain[1]).serial:x}": {"status": "REVOKED"}}}
    )
    assert _codes(_verify(sample, chain, revocations=revoked)) == base | {"revoked"}
    # Outside the intermediates' validity.
    assert _codes(_verify(sample, chain, now=datetime(2029, 1, 1, tzinfo=UTC))) == base | {"chain"}


@pytest.mark.parametrize("sample", SAMPLES)
def test_truncated_certificates_are_format_refusals(sample: str) -> None:
    chain = _chain(sample)
    for cut in (0, 1, 10, len(chain[0]) // 2, len(chain[0]) - 1):
        assert _codes(_verify(sample, [chain[0][:cut], *chain[1:]])) == {"format"}
    assert _codes(_verify(sample, [chain[0] + b"\x00", *chain[1:]])) == {"format"}
