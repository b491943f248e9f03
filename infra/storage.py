"""S3 object storage for photo evidence and customer copies.

boto3 is blocking, so every call runs on a worker thread. The client is built in the app's
lifespan, never at import time. Checksums are sent explicitly (boto3 >= 1.36 would otherwise add
its own CRC to every upload) so the stored object carries the SHA-256 we record in PostgreSQL.

The body is not hashed a second time for the SigV4 signature (`payload_signing_enabled=False`:
`x-amz-content-sha256: UNSIGNED-PAYLOAD`; botocore otherwise hashes every body sent over plain
http, and over https too when no Content-MD5 is set: a second full pass over every photo). Integrity and
authenticity of the body still hold: the `x-amz-checksum-sha256` header is signed, and S3 refuses
a body that does not match it (BadDigest), so neither the bytes nor their checksum can change.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from datetime import datetime
from typing import Any

import boto3
import botocore.exceptions
import msgspec
from botocore.config import Config

from infra.errors import EvidenceExists, StorageUnavailable
from infra.settings import Settings

_log = logging.getLogger("infra.storage")
# The most keys S3's DeleteObjects accepts in one request.
_DELETE_BATCH = 1_000
_RETRYABLE_CODES = {"InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout", "503", "500"}


class StoredObject(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    size: int
    last_modified: datetime


class ObjectStore:
    """A bucket, seen through the operations the product needs."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None,
        region: str,
        access_key: str | None = None,
        secret_key: str | None = None,
        max_pool_connections: int = 32,
    ) -> None:
        self.bucket = bucket
        config = Config(
            region_name=region,
            signature_version="s3v4",
            s3={"addressing_style": "path", "payload_signing_enabled": False},
            retries={"max_attempts": 2, "mode": "standard"},
            connect_timeout=3,
            read_timeout=20,
            max_pool_connections=max_pool_connections,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        # Credentials come from boto3's usual chain unless given (the dev stack gives them).
        self._client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=config,
        )

    @classmethod
    def for_settings(cls, settings: Settings, credentials: tuple[str, str] | None = None) -> ObjectStore:
        """The evidence bucket the settings name; explicit credentials for local servers, else boto3's chain."""
        access_key, secret_key = credentials or (None, None)
        return cls(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key=access_key,
            secret_key=secret_key,
        )

    async def ensure_bucket(self) -> None:
        def create() -> None:
            try:
                self._client.head_bucket(Bucket=self.bucket)
            except botocore.exceptions.ClientError:
                self._client.create_bucket(Bucket=self.bucket)

        await self._call(create)

    async def reachable(self) -> bool:
        """The bucket exists and answers (a missing bucket is as unready as a dead server)."""
        try:
            await self._call(lambda: self._client.head_bucket(Bucket=self.bucket))
        except (StorageUnavailable, botocore.exceptions.ClientError):
            return False
        return True

    async def put_new(self, key: str, data: bytes, *, sha256_hex: str, content_type: str) -> None:
        """Store an object that must not exist yet (evidence is never overwritten)."""
        checksum = base64.b64encode(bytes.fromhex(sha256_hex)).decode()

        def put() -> None:
            self._client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                ChecksumSHA256=checksum,
                IfNoneMatch="*",
                Metadata={"sha256": sha256_hex},
            )

        try:
            await self._call(put)
        except _PreconditionFailed as exc:
            raise EvidenceExists(key) from exc

    async def sha256_of(self, key: str) -> str | None:
        """The SHA-256 recorded with the object, or None if there is no such object."""

        def head() -> str | None:
            answer = self._missing_is_none(self._client.head_object, Key=key, ChecksumMode="ENABLED")
            value = None if answer is None else answer.get("Metadata", {}).get("sha256")
            return str(value) if value else None

        found: str | None = await self._call(head)
        return found

    async def get(self, key: str) -> bytes | None:
        def fetch() -> bytes | None:
            answer = self._missing_is_none(self._client.get_object, Key=key)
            return None if answer is None else bytes(answer["Body"].read())

        body: bytes | None = await self._call(fetch)
        return body

    async def hash_stored(self, key: str) -> str | None:
        """Fetch the object and hash what is actually stored (re-verification), or None if it is gone."""

        def fetch_and_hash() -> str | None:
            answer = self._missing_is_none(self._client.get_object, Key=key)
            if answer is None:
                return None
            digest = hashlib.sha256()
            for chunk in answer["Body"].iter_chunks(1 << 20):
                digest.update(chunk)
            return digest.hexdigest()

        found: str | None = await self._call(fetch_and_hash)
        return found

    def _missing_is_none(self, operation: Any, **params: Any) -> Any:
        """Run a blocking S3 call on this bucket; a missing object is None, not an error."""
        try:
            return operation(Bucket=self.bucket, **params)
        except botocore.exceptions.ClientError as exc:
            if _code(exc) in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise

    async def delete(self, key: str) -> None:
        await self._call(lambda: self._client.delete_object(Bucket=self.bucket, Key=key))

    async def delete_many(self, keys: list[str]) -> None:
        """Delete objects, up to 1,000 per request (DeleteObjects): housekeeping deletes tens of thousands
        an hour at a million drops a day, which one request per key would spend most of the hour on."""

        def delete_batch(batch: list[str]) -> None:
            answer = self._client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True}
            )
            # Quiet mode lists only failures; a missing key is not one (deleting it again is a no-op).
            failed = answer.get("Errors", [])
            if failed:
                first = failed[0]
                raise StorageUnavailable(
                    f"{len(failed)} of {len(batch)} deletes failed, e.g. {first.get('Key')}: {first.get('Code')}"
                )

        for start in range(0, len(keys), _DELETE_BATCH):
            batch = keys[start : start + _DELETE_BATCH]
            await self._call(lambda batch=batch: delete_batch(batch))

    async def list_objects(self, prefix: str) -> list[StoredObject]:
        def listing() -> list[StoredObject]:
            found: list[StoredObject] = []
            paginator = self._client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                found.extend(
                    StoredObject(key=item["Key"], size=int(item["Size"]), last_modified=item["LastModified"])
                    for item in page.get("Contents", [])
                )
            return found

        objects: list[StoredObject] = await self._call(listing)
        return objects

    def presigned_get_url(self, key: str, *, ttl_s: int) -> str:
        """A short-lived GET URL. Pure computation (no request), so no thread needed."""
        url: str = self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=ttl_s
        )
        return url

    async def _call(self, func: Any) -> Any:
        try:
            return await asyncio.to_thread(func)
        except botocore.exceptions.ClientError as exc:
            if _code(exc) in {"PreconditionFailed", "412", "ConditionalRequestConflict"}:
                raise _PreconditionFailed(str(exc)) from exc
            if _code(exc) not in _RETRYABLE_CODES:
                # NoSuchBucket, AccessDenied...: the store is misconfigured, not the request wrong.
                _log.error("object store refused %s: %s", _operation(exc), _code(exc))
            raise StorageUnavailable(str(exc)) from exc
        except (botocore.exceptions.BotoCoreError, OSError) as exc:
            raise StorageUnavailable(str(exc)) from exc


class _PreconditionFailed(Exception):
    pass


def _code(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _operation(exc: botocore.exceptions.ClientError) -> str:
    return str(getattr(exc, "operation_name", "request"))
