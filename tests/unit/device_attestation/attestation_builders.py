"""Attestations made in the test: a test PKI, KeyDescription records encoded here, App Attest CBOR."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

KEY_DESCRIPTION_OID = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.1.17")
APPLE_NONCE_OID = x509.ObjectIdentifier("1.2.840.113635.100.8.2")

COURIER_PACKAGE = "ru.doordrop.courier"
COURIER_SIGNING_CERT = hashlib.sha256(b"the courier app's release signing certificate").digest()
APPLE_APP_ID = "ABCDE12345.ru.doordrop.courier"


# --- DER, just enough to write a KeyDescription -------------------------------------------------------------


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: bytes, content: bytes) -> bytes:
    return tag + _length(len(content)) + content


def integer(value: int, tag: int = 0x02) -> bytes:
    return tlv(bytes([tag]), value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def enumerated(value: int) -> bytes:
    return integer(value, tag=0x0A)


def octets(value: bytes) -> bytes:
    return tlv(b"\x04", value)


def boolean(value: bool) -> bytes:
    return tlv(b"\x01", b"\xff" if value else b"\x00")


def sequence(*items: bytes) -> bytes:
    return tlv(b"\x30", b"".join(items))


def set_of(*items: bytes) -> bytes:
    return tlv(b"\x31", b"".join(sorted(items)))


def explicit(number: int, inner: bytes) -> bytes:
    """[number] EXPLICIT, context-specific and constructed; tags above 30 in base-128 (704 -> 0xBF 0x85 0x40)."""
    if number < 31:
        return tlv(bytes([0xA0 | number]), inner)
    digits = [number & 0x7F]
    number >>= 7
    while number:
        digits.append(0x80 | (number & 0x7F))
        number >>= 7
    return tlv(bytes([0xBF, *reversed(digits)]), inner)


@dataclass(frozen=True, kw_only=True)
class KeyRecord:
    """The fields of a KeyDescription a test varies; the defaults describe a genuine courier-app key."""

    challenge: bytes
    attestation_level: int = 1  # TrustedEnvironment
    keymint_level: int = 1
    packages: tuple[tuple[str, int], ...] = ((COURIER_PACKAGE, 42),)
    signing_digests: tuple[bytes, ...] = (COURIER_SIGNING_CERT,)
    purposes: tuple[int, ...] = (2,)  # SIGN
    algorithm: int = 3  # EC
    ec_curve: int | None = 1  # P_256
    key_size: int = 256
    device_locked: bool = True
    boot_state: int = 0  # Verified
    extra_hardware_fields: tuple[bytes, ...] = field(default=())

    def encode(self) -> bytes:
        application_id = sequence(
            set_of(*(sequence(octets(name.encode()), integer(version)) for name, version in self.packages)),
            set_of(*(octets(digest) for digest in self.signing_digests)),
        )
        software = sequence(explicit(709, octets(application_id)))
        hardware_fields = [
            explicit(1, set_of(*(integer(purpose) for purpose in self.purposes))),
            explicit(2, integer(self.algorithm)),
            explicit(3, integer(self.key_size)),
        ]
        if self.ec_curve is not None:
            hardware_fields.append(explicit(10, integer(self.ec_curve)))
        root_of_trust = sequence(
            octets(b"\x11" * 32),
            boolean(self.device_locked),
            enumerated(self.boot_state),
            octets(b"\x22" * 32),
        )
        hardware_fields.append(explicit(704, root_of_trust))
        hardware = sequence(*hardware_fields, *self.extra_hardware_fields)
        return sequence(
            integer(200),  # KeyMint 2 attestation version
            enumerated(self.attestation_level),
            integer(200),
            enumerated(self.keymint_level),
            octets(self.challenge),
            octets(b""),
            software,
            hardware,
        )


# --- A test PKI ---------------------------------------------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def spki_der(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True, kw_only=True)
class AttestationPki:
    """A root and an intermediate CA standing in for Google's or Apple's, valid around `now`."""

    now: datetime
    root_key: ec.EllipticCurvePrivateKey
    root_der: bytes
    intermediate_key: ec.EllipticCurvePrivateKey
    intermediate_der: bytes
    intermediate_serial: int

    @property
    def root_pem(self) -> bytes:
        return x509.load_der_x509_certificate(self.root_der).public_bytes(serialization.Encoding.PEM)

    def issue(
        self,
        public_key: ec.EllipticCurvePublicKey,
        *,
        extensions: tuple[x509.ExtensionType, ...] = (),
        serial: int = 1,
        not_after: datetime | None = None,
        issuer_key: ec.EllipticCurvePrivateKey | None = None,
        issuer_name: str = "Test attestation intermediate",
        common_name: str = "Android Keystore Key",
    ) -> bytes:
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(_name(issuer_name))
            .public_key(public_key)
            .serial_number(serial)
            .not_valid_before(self.now - timedelta(days=1))
            .not_valid_after(not_after or self.now + timedelta(days=365))
        )
        for extension in extensions:
            builder = builder.add_extension(extension, critical=False)
        return _der(builder.sign(issuer_key or self.intermediate_key, hashes.SHA256()))


def make_pki(now: datetime) -> AttestationPki:
    root_key = ec.generate_private_key(ec.SECP256R1())
    intermediate_key = ec.generate_private_key(ec.SECP256R1())
    ca = x509.BasicConstraints(ca=True, path_length=None)
    root = (
        x509.CertificateBuilder()
        .subject_name(_name("Test attestation root"))
        .issuer_name(_name("Test attestation root"))
        .public_key(root_key.public_key())
        .serial_number(0x1000)
        .not_valid_before(now - timedelta(days=3650))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(ca, critical=True)
        .sign(root_key, hashes.SHA256())
    )
    intermediate_serial = 0xABCDEF0123
    intermediate = (
        x509.CertificateBuilder()
        .subject_name(_name("Test attestation intermediate"))
        .issuer_name(root.subject)
        .public_key(intermediate_key.public_key())
        .serial_number(intermediate_serial)
        .not_valid_before(now - timedelta(days=365))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(ca, critical=True)
        .sign(root_key, hashes.SHA256())
    )
    return AttestationPki(
        now=now,
        root_key=root_key,
        root_der=_der(root),
        intermediate_key=intermediate_key,
        intermediate_der=_der(intermediate),
        intermediate_serial=intermediate_serial,
    )


def android_chain(
    pki: AttestationPki,
    record: KeyRecord,
    *,
    device_key: ec.EllipticCurvePrivateKey | None = None,
    leaf_serial: int = 1,
) -> tuple[list[bytes], ec.EllipticCurvePrivateKey]:
    """Leaf-first DER chain attesting `device_key` (a fresh P-256 key by default) with `record`."""
    key = device_key or ec.generate_private_key(ec.SECP256R1())
    extension = x509.UnrecognizedExtension(KEY_DESCRIPTION_OID, record.encode())
    leaf = pki.issue(key.public_key(), extensions=(extension,), serial=leaf_serial)
    return [leaf, pki.intermediate_der, pki.root_der], key


# --- Apple App Attest ---------------------------------------------------------------------------------------

AAGUID_PRODUCTION = b"appattest" + b"\x00" * 7
AAGUID_DEVELOPMENT = b"appattestdevelop"


def app_attest_attestation(
    pki: AttestationPki,
    *,
    challenge: bytes,
    app_id: str = APPLE_APP_ID,
    aaguid: bytes = AAGUID_PRODUCTION,
    counter: int = 0,
) -> tuple[bytes, bytes, ec.EllipticCurvePrivateKey]:
    """(attestation CBOR, keyId, Secure Enclave key) as DCAppAttestService.attestKey would produce them."""
    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    key_id = hashlib.sha256(point).digest()
    auth_data = (
        hashlib.sha256(app_id.encode()).digest()
        + b"\x40"
        + counter.to_bytes(4, "big")
        + aaguid
        + len(key_id).to_bytes(2, "big")
        + key_id
        + cbor2.dumps({1: 2, 3: -7})  # the COSE key; the verifier reads the certificate's key instead
    )
    nonce = hashlib.sha256(auth_data + hashlib.sha256(challenge).digest()).digest()
    nonce_extension = x509.UnrecognizedExtension(APPLE_NONCE_OID, sequence(explicit(1, octets(nonce))))
    credential_cert = pki.issue(key.public_key(), extensions=(nonce_extension,), common_name=key_id.hex())
    attestation = cbor2.dumps(
        {
            "fmt": "apple-appattest",
            "attStmt": {"x5c": [credential_cert, pki.intermediate_der], "receipt": b"receipt"},
            "authData": auth_data,
        }
    )
    return attestation, key_id, key


def app_attest_assertion(
    key: ec.EllipticCurvePrivateKey, client_data: bytes, *, counter: int, app_id: str = APPLE_APP_ID
) -> bytes:
    """An assertion as DCAppAttestService.generateAssertion(SHA-256(client_data)) would produce it."""
    auth_data = hashlib.sha256(app_id.encode()).digest() + b"\x40" + counter.to_bytes(4, "big")
    nonce = hashlib.sha256(auth_data + hashlib.sha256(client_data).digest()).digest()
    signature = key.sign(nonce, ec.ECDSA(hashes.SHA256()))
    return cbor2.dumps({"signature": signature, "authenticatorData": auth_data})
