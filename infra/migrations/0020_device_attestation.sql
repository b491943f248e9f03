-- Device attestation (issue 13): enrollment challenges, what each device's key was proven to be, the App
-- Attest assertion counter, who revoked a device, and the attestation level each photo attempt was made with.

-- 32 random bytes, single use, bound to the courier who asked for it. Only the SHA-256 is stored: a leaked
-- table row cannot be turned into an enrollment.
create table device_challenges (
    challenge_hash bytea primary key check (octet_length(challenge_hash) = 32),
    courier_id     text not null,
    created_at     timestamptz not null,
    expires_at     timestamptz not null check (expires_at > created_at),
    used_at        timestamptz
);
create index device_challenges_expires_idx on device_challenges (expires_at);

alter table courier_devices drop constraint courier_devices_public_key_check;
alter table courier_devices
    -- Existing devices enrolled bare Ed25519 keys: that is what `none` means.
    add column attestation_level text not null default 'none'
        check (attestation_level in ('strongbox', 'tee', 'app_attest', 'none')),
    add column app_id text,
    -- App Attest: the last assertion counter accepted; each photo's must be strictly greater.
    add column assertion_counter bigint not null default 0 check (assertion_counter >= 0),
    add column revoked_by text,
    -- `none`: the 32 raw bytes of an Ed25519 key; attested: the P-256 SubjectPublicKeyInfo DER (91 bytes).
    add constraint courier_devices_key_shape check (
        (attestation_level = 'none' and octet_length(public_key) = 32)
        or (attestation_level <> 'none' and octet_length(public_key) between 59 and 512)
    );
alter table courier_devices alter column attestation_level drop default;

alter table photo_attempts add column device_attestation text not null default 'none';
alter table photo_attempts alter column device_attestation drop default;

alter table evidence_audit add column device_id uuid;
