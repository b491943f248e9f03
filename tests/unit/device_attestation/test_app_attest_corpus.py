"""Real App Attest attestations and assertions from iPhones (../shared/corpus/attestation/apple, SOURCES.md).

Each attestation verifies at its own timestamp (its leaf lived about three days) with its own challenge
(clientData), app id and environment, against the Apple root shipped in the package; each assertion verifies
with the key its attestation enrolled. Tampered copies fail with the rule they break.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from device_attestation import (
    ApplePolicy,
    EnrollmentAccepted,
    EnrollmentRefused,
    PhotoRefused,
    PhotoSignatureAccepted,
    TrustAnchors,
    apple_trust_anchors,
    verify_app_attest_assertion,
    verify_app_attest_attestation,
)
from device_attestation.results import AttestationVerdict, PhotoSignatureVerdict
from tests.corpus import corpus_dir

pytestmark = pytest.mark.corpus


def _names() -> list[str]:
    # Collected without skipping; the tests skip through corpus_dir() when the corpus is absent.
    root = Path(__file__).resolve().parents[4] / "shared" / "corpus" / "attestation" / "apple"
    return sorted(p.name for p in root.glob("*.yaml")) if root.is_dir() else ["<absent>"]


class Sample:
    def __init__(self, name: str) -> None:
        documents: list[dict[str, Any]] = list(
            yaml.safe_load_all((corpus_dir() / "attestation" / "apple" / name).read_text())
        )
        self.attestation_doc = next(doc for doc in documents if doc["type"] == "attestation")
        self.assertion_doc = next(doc for doc in documents if doc["type"] == "assertion")
        doc = self.attestation_doc
        self.attestation = base64.b64decode(doc["attestationBase64"])
        self.key_id = base64.b64decode(doc["keyIdBase64"])
        self.challenge = base64.b64decode(doc["clientDataBase64"])
        self.app_id = f"{doc['teamIdentifier']}.{doc['bundleIdentifier']}"
        self.environment = doc["environment"]
        self.time = datetime.fromisoformat(doc["timestamp"].replace("Z", "+00:00"))
        self.assertion = base64.b64decode(self.assertion_doc["assertionBase64"])
        self.assertion_client_data = base64.b64decode(self.assertion_doc["clientDataBase64"])
        self.assertion_counter: int = self.assertion_doc["counter"]
        self.assertion_key_der = serialization.load_pem_public_key(
            self.assertion_doc["publicKey"].encode()
        ).public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    def verify(
        self,
        attestation: bytes | None = None,
        *,
        key_id: bytes | None = None,
        challenge: bytes | None = None,
        app_id: str | None = None,
        environment: str | None = None,
        now: datetime | None = None,
        anchors: TrustAnchors | None = None,
    ) -> AttestationVerdict:
        return verify_app_attest_attestation(
            self.attestation if attestation is None else attestation,
            key_id=self.key_id if key_id is None else key_id,
            challenge=self.challenge if challenge is None else challenge,
            policy=ApplePolicy(
                app_ids=frozenset({app_id or self.app_id}),
                environment=environment or self.environment,  # type: ignore[arg-type]
            ),
            anchors=apple_trust_anchors() if anchors is None else anchors,
            now=now or self.time,
        )

    def verify_assertion(
        self,
        *,
        client_data: bytes | None = None,
        key_der: bytes | None = None,
        last_counter: int | None = None,
    ) -> PhotoSignatureVerdict:
        return verify_app_attest_assertion(
            self.assertion,
            client_data=self.assertion_client_data if client_data is None else client_data,
            public_key_der=key_der or self.assertion_key_der,
            app_id=self.app_id,
            last_counter=self.assertion_counter - 1 if last_counter is None else last_counter,
        )


def _codes(verdict: AttestationVerdict | PhotoSignatureVerdict) -> set[str]:
    assert isinstance(verdict, EnrollmentRefused | PhotoRefused), verdict
    return {reason.code for reason in verdict.reasons}


def _flip(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


def _rewrite(attestation: bytes, change: Any) -> bytes:
    document = cbor2.loads(attestation)
    change(document)
    return cbor2.dumps(document)


@pytest.mark.parametrize("name", _names())
def test_each_real_attestation_verifies_and_enrolls_the_key_its_assertions_use(name: str) -> None:
    sample = Sample(name)
    verdict = sample.verify()
    assert isinstance(verdict, EnrollmentAccepted), verdict
    assert verdict.key.level == "app_attest"
    assert verdict.key.platform == "ios"
    assert verdict.key.app_id == sample.app_id
    assert verdict.key.key_id == sample.key_id
    assert verdict.key.public_key_der == sample.assertion_key_der
    accepted = sample.verify_assertion(key_der=verdict.key.public_key_der)
    assert accepted == PhotoSignatureAccepted(counter=sample.assertion_counter)


@pytest.mark.parametrize("name", _names())
def test_tampered_attestations_fail_with_the_right_reason(name: str) -> None:
    sample = Sample(name)
    assert _codes(sample.verify(challenge=b"another challenge")) == {"challenge"}
    assert _codes(sample.verify(app_id="ABCDE12345.ru.doordrop.courier")) == {"app"}
    assert _codes(sample.verify(environment="production")) == {"app"}
    assert _codes(sample.verify(key_id=hashlib.sha256(b"another key").digest())) == {"key"}
    assert _codes(sample.verify(now=sample.time + timedelta(days=30))) == {"chain"}
    assert _codes(sample.verify(anchors=TrustAnchors.of())) == {"chain"}

    def drop_intermediate(document: dict[str, Any]) -> None:
        document["attStmt"]["x5c"] = document["attStmt"]["x5c"][:1]

    def flip_leaf_signature(document: dict[str, Any]) -> None:
        leaf = document["attStmt"]["x5c"][0]
        document["attStmt"]["x5c"][0] = _flip(leaf, len(leaf) - 1)

    def flip_counter(document: dict[str, Any]) -> None:
        document["authData"] = _flip(document["authData"], 36)

    def flip_rp_id_hash(document: dict[str, Any]) -> None:
        document["authData"] = _flip(document["authData"], 0)

    assert _codes(sample.verify(_rewrite(sample.attestation, drop_intermediate))) == {"chain"}
    assert _codes(sample.verify(_rewrite(sample.attestation, flip_leaf_signature))) == {"chain"}
    # authData is bound by the nonce, so any changed byte breaks it; a changed counter also is not 0.
    assert _codes(sample.verify(_rewrite(sample.attestation, flip_counter))) == {"challenge", "key"}
    assert _codes(sample.verify(_rewrite(sample.attestation, flip_rp_id_hash))) == {"challenge", "app"}
    assert _codes(sample.verify(sample.attestation[:-1])) == {"format"}
    assert _codes(sample.verify(b"")) == {"format"}


@pytest.mark.parametrize("name", _names())
def test_real_assertions_refuse_replay_another_photo_and_another_key(name: str) -> None:
    sample = Sample(name)
    assert _codes(sample.verify_assertion(last_counter=sample.assertion_counter)) == {"counter"}
    assert _codes(sample.verify_assertion(last_counter=sample.assertion_counter + 5)) == {"counter"}
    assert _codes(sample.verify_assertion(client_data=sample.assertion_client_data + b"!")) == {"signature"}
    other = Sample(next(other for other in _names() if other != name))
    assert _codes(sample.verify_assertion(key_der=other.assertion_key_der)) == {"signature"}
