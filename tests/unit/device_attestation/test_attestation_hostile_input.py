"""Whatever bytes a client sends, the verifiers answer with a verdict: malformed input is a refusal, never an
exception that would become a 500."""

from __future__ import annotations

import base64
import contextlib
from datetime import UTC, datetime

import pytest
import yaml
from asn1crypto import pem
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from device_attestation import (
    AndroidPolicy,
    ApplePolicy,
    EnrollmentAccepted,
    EnrollmentRefused,
    PhotoRefused,
    PhotoSignatureAccepted,
    RevocationList,
    android_trust_anchors,
    apple_trust_anchors,
    verify_android_attestation,
    verify_android_photo_signature,
    verify_app_attest_assertion,
    verify_app_attest_attestation,
)
from device_attestation.key_description import KeyDescriptionError, parse_key_description
from tests.corpus import corpus_dir

ANDROID_POLICY = AndroidPolicy(app_packages=frozenset({"android"}), signing_cert_sha256=frozenset())
APPLE_POLICY = ApplePolicy(
    app_ids=frozenset({"6MURL8TA57.de.vincent-haupert.apple-appattest-poc"}), environment="development"
)
NOW = datetime(2019, 8, 1, tzinfo=UTC)
ANDROID_ANCHORS = android_trust_anchors()
APPLE_ANCHORS = apple_trust_anchors()
HOSTILE = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _android(chain: list[bytes]) -> object:
    return verify_android_attestation(
        chain,
        challenge=b"abc",
        policy=ANDROID_POLICY,
        anchors=ANDROID_ANCHORS,
        revocations=RevocationList(),
        now=NOW,
    )


def _apple(attestation: bytes) -> object:
    return verify_app_attest_attestation(
        attestation, key_id=b"k" * 32, challenge=b"c", policy=APPLE_POLICY, anchors=APPLE_ANCHORS, now=NOW
    )


@HOSTILE
@given(st.lists(st.binary(max_size=300), min_size=0, max_size=4))
def test_random_certificate_chains_are_refused(chain: list[bytes]) -> None:
    verdict = _android(chain)
    assert isinstance(verdict, EnrollmentRefused)
    assert {reason.code for reason in verdict.reasons} == {"format"}


@HOSTILE
@given(st.binary(max_size=400))
def test_random_key_descriptions_raise_only_key_description_error(data: bytes) -> None:
    with contextlib.suppress(KeyDescriptionError):
        parse_key_description(data)


@HOSTILE
@given(st.binary(max_size=400))
def test_random_cbor_is_refused(data: bytes) -> None:
    assert isinstance(_apple(data), EnrollmentRefused)
    verdict = verify_app_attest_assertion(
        data, client_data=b"photo", public_key_der=b"", app_id="x", last_counter=0
    )
    assert isinstance(verdict, PhotoRefused)


@HOSTILE
@given(st.binary(max_size=200), st.binary(max_size=120))
def test_random_photo_signatures_and_keys_are_refused(key: bytes, signature: bytes) -> None:
    assert isinstance(verify_android_photo_signature(key, b"photo", signature), PhotoRefused)


@pytest.mark.corpus
@HOSTILE
@given(st.data())
def test_real_samples_with_any_byte_changed_never_raise(data: st.DataObject) -> None:
    folder = corpus_dir() / "attestation"
    chain = [
        pem.unarmor(
            (folder / "android" / "algorithm_EC_SecurityLevel_StrongBox" / f"cert{i}.pem").read_bytes()
        )[2]
        for i in range(4)
    ]
    which = data.draw(st.integers(0, 3))
    position = data.draw(st.integers(0, len(chain[which]) - 1))
    value = data.draw(st.integers(0, 255))
    chain[which] = chain[which][:position] + bytes([value]) + chain[which][position + 1 :]
    assert isinstance(_android(chain), EnrollmentAccepted | EnrollmentRefused)

    document = next(yaml.safe_load_all((folder / "apple" / "ios-14.4.yaml").read_text()))
    attestation = base64.b64decode(document["attestationBase64"])
    position = data.draw(st.integers(0, len(attestation) - 1))
    attestation = (
        attestation[:position] + bytes([data.draw(st.integers(0, 255))]) + attestation[position + 1 :]
    )
    assert isinstance(_apple(attestation), EnrollmentAccepted | EnrollmentRefused)
    assertion_verdict = verify_app_attest_assertion(
        attestation, client_data=b"", public_key_der=b"", app_id="", last_counter=0
    )
    assert isinstance(assertion_verdict, PhotoRefused | PhotoSignatureAccepted)
