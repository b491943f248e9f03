"""The Android KeyDescription extension (OID 1.3.6.1.4.1.11129.2.1.17), read field by field.

The AuthorizationList grows with every KeyMint version (dozens of optional [n] EXPLICIT fields), so it is not
decoded against a fixed schema that a newer phone would break: asn1crypto's parser walks the tag-length-value
structure and only the fields the verifier needs are interpreted. A field that appears twice in one list is
refused rather than resolved, so two readers of the same record can never disagree about it.
"""

from __future__ import annotations

from typing import Final

import msgspec

from device_attestation.tlv import DerError, Tlv, children, expect, one

__all__ = [
    "ALGORITHM_EC",
    "CURVE_P256",
    "KEY_DESCRIPTION_OID",
    "PURPOSE_SIGN",
    "SECURITY_LEVEL_NAMES",
    "VERIFIED_BOOT_STATE_NAMES",
    "ApplicationId",
    "AuthorizationList",
    "KeyDescription",
    "KeyDescriptionError",
    "RootOfTrust",
    "parse_key_description",
]

KEY_DESCRIPTION_OID: Final = "1.3.6.1.4.1.11129.2.1.17"

# Values from the KeyMint HAL (Tag.aidl, Algorithm.aidl, EcCurve.aidl, KeyPurpose.aidl).
PURPOSE_SIGN: Final = 2
ALGORITHM_EC: Final = 3
CURVE_P256: Final = 1
SECURITY_LEVEL_NAMES: Final = {0: "software", 1: "tee", 2: "strongbox"}
VERIFIED_BOOT_STATE_NAMES: Final = {0: "verified", 1: "self_signed", 2: "unverified", 3: "failed"}

_TAG_PURPOSE: Final = 1
_TAG_ALGORITHM: Final = 2
_TAG_KEY_SIZE: Final = 3
_TAG_EC_CURVE: Final = 10
_TAG_ROOT_OF_TRUST: Final = 704
_TAG_APPLICATION_ID: Final = 709

_CONTEXT = 2
_BOOLEAN, _INTEGER, _OCTET_STRING, _ENUMERATED, _SEQUENCE, _SET = 1, 2, 4, 10, 16, 17


# The extension is not a KeyDescription this verifier can read; a `format` refusal.
KeyDescriptionError = DerError


class RootOfTrust(msgspec.Struct, frozen=True, kw_only=True):
    verified_boot_key: bytes
    device_locked: bool
    verified_boot_state: int


class ApplicationId(msgspec.Struct, frozen=True, kw_only=True):
    # (package name, version code) for every package sharing the app's uid.
    packages: tuple[tuple[str, int], ...]
    # SHA-256 of each signing certificate of the app.
    signature_digests: frozenset[bytes]


class AuthorizationList(msgspec.Struct, frozen=True, kw_only=True):
    purposes: frozenset[int] = frozenset()
    algorithm: int | None = None
    key_size: int | None = None
    ec_curve: int | None = None
    root_of_trust: RootOfTrust | None = None
    application_id: ApplicationId | None = None


class KeyDescription(msgspec.Struct, frozen=True, kw_only=True):
    attestation_version: int
    attestation_security_level: int
    keymint_version: int
    keymint_security_level: int
    attestation_challenge: bytes
    software_enforced: AuthorizationList
    hardware_enforced: AuthorizationList


def _integer(tlv: Tlv, what: str, tag: int = _INTEGER) -> int:
    contents = expect(tlv, tag, what)
    if not contents or len(contents) > 16:
        raise DerError(f"{what}: integer of {len(contents)} bytes")
    return int.from_bytes(contents, "big", signed=True)


def _boolean(tlv: Tlv, what: str) -> bool:
    contents = expect(tlv, _BOOLEAN, what)
    if len(contents) != 1:
        raise DerError(f"{what}: boolean of {len(contents)} bytes")
    return contents != b"\x00"


def _root_of_trust(tlv: Tlv) -> RootOfTrust:
    fields = children(expect(tlv, _SEQUENCE, "rootOfTrust"))
    if len(fields) < 3:
        raise DerError("rootOfTrust has fewer than 3 fields")
    return RootOfTrust(
        verified_boot_key=expect(fields[0], _OCTET_STRING, "verifiedBootKey"),
        device_locked=_boolean(fields[1], "deviceLocked"),
        verified_boot_state=_integer(fields[2], "verifiedBootState", _ENUMERATED),
    )


def _application_id(tlv: Tlv) -> ApplicationId:
    # [709] holds an OCTET STRING whose contents are the DER of AttestationApplicationId.
    inner = one(expect(tlv, _OCTET_STRING, "attestationApplicationId"))
    fields = children(expect(inner, _SEQUENCE, "attestationApplicationId"))
    if len(fields) != 2:
        raise DerError("attestationApplicationId does not have 2 fields")
    packages: list[tuple[str, int]] = []
    for info in children(expect(fields[0], _SET, "package_infos")):
        name_and_version = children(expect(info, _SEQUENCE, "AttestationPackageInfo"))
        if len(name_and_version) != 2:
            raise DerError("AttestationPackageInfo does not have 2 fields")
        # A name that is not UTF-8 can match no configured package; it need not spoil the whole record.
        name = expect(name_and_version[0], _OCTET_STRING, "package_name").decode("utf-8", errors="replace")
        packages.append((name, _integer(name_and_version[1], "version")))
    digests = frozenset(
        expect(digest, _OCTET_STRING, "signature_digest")
        for digest in children(expect(fields[1], _SET, "signature_digests"))
    )
    return ApplicationId(packages=tuple(packages), signature_digests=digests)


def _authorization_list(tlv: Tlv, what: str) -> AuthorizationList:
    fields: dict[int, Tlv] = {}
    for child in children(expect(tlv, _SEQUENCE, what)):
        if child.cls != _CONTEXT or not child.constructed:
            raise DerError(f"{what}: a field that is not [n] EXPLICIT")
        if child.tag in fields:
            raise DerError(f"{what}: field [{child.tag}] appears twice")
        fields[child.tag] = one(child.contents)

    def optional_int(tag: int, name: str) -> int | None:
        return _integer(fields[tag], name) if tag in fields else None

    purposes: frozenset[int] = frozenset()
    if _TAG_PURPOSE in fields:
        purposes = frozenset(
            _integer(item, "purpose") for item in children(expect(fields[_TAG_PURPOSE], _SET, "purpose"))
        )
    return AuthorizationList(
        purposes=purposes,
        algorithm=optional_int(_TAG_ALGORITHM, "algorithm"),
        key_size=optional_int(_TAG_KEY_SIZE, "keySize"),
        ec_curve=optional_int(_TAG_EC_CURVE, "ecCurve"),
        root_of_trust=_root_of_trust(fields[_TAG_ROOT_OF_TRUST]) if _TAG_ROOT_OF_TRUST in fields else None,
        application_id=(
            _application_id(fields[_TAG_APPLICATION_ID]) if _TAG_APPLICATION_ID in fields else None
        ),
    )


def parse_key_description(extension_value: bytes) -> KeyDescription:
    """Decode the extension's octets; KeyDescriptionError when they are not a KeyDescription."""
    fields = children(expect(one(extension_value), _SEQUENCE, "KeyDescription"))
    if len(fields) < 8:
        raise DerError(f"KeyDescription has {len(fields)} fields, expected 8")
    return KeyDescription(
        attestation_version=_integer(fields[0], "attestationVersion"),
        attestation_security_level=_integer(fields[1], "attestationSecurityLevel", _ENUMERATED),
        keymint_version=_integer(fields[2], "keyMintVersion"),
        keymint_security_level=_integer(fields[3], "keyMintSecurityLevel", _ENUMERATED),
        attestation_challenge=expect(fields[4], _OCTET_STRING, "attestationChallenge"),
        software_enforced=_authorization_list(fields[6], "softwareEnforced"),
        hardware_enforced=_authorization_list(fields[7], "hardwareEnforced"),
    )
