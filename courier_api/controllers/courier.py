"""The courier app: device enrollment, capture sessions and photo upload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, Response, post
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import HeaderParameter, JSONBody

from courier_api.dependencies import Caller, Services
from courier_api.errors import InvalidInput, UnsupportedMediaType
from courier_api.metrics_http import uploads_in_flight
from courier_api.params import OrderId
from courier_api.request_body import STREAMED_BODY, read_body
from courier_api.schemas.capture import (
    CaptureSessionRequest,
    CaptureSessionView,
    DeviceChallenge,
    DeviceEnrollment,
    DeviceView,
    PhotoAttemptView,
)
from courier_api.use_cases import capture, devices

# Hard ceiling enforced by the server before reading the body (Content-Length, or while streaming);
# MAX_PHOTO_BYTES sets the lower limit a declared Content-Length is refused with before reading.
UPLOAD_CEILING_BYTES = 25_000_000

SessionHeader = Annotated[
    str,
    HeaderParameter(
        name="X-Capture-Session",
        min_length=1,
        max_length=64,
        description="sessionId from POST .../capture-sessions",
    ),
]
# One of the two, as the session's device signs (see the capture protocol in the API description).
SignatureHeader = Annotated[
    str | None,
    HeaderParameter(
        name="X-Capture-Signature",
        min_length=1,
        max_length=200,
        required=False,
        description="Android (tee, strongbox): base64 of the DER ECDSA P-256 signature (SHA256withECDSA) "
        "over the exact body; `none` devices: base64 Ed25519 signature of SHA-256(body)",
    ),
]
AssertionHeader = Annotated[
    str | None,
    HeaderParameter(
        name="X-Capture-Assertion",
        min_length=1,
        max_length=4096,
        required=False,
        description="iOS (app_attest): base64 of DCAppAttestService.generateAssertion(SHA-256(body)); "
        "its counter must be above the last one accepted from the device",
    ),
]
IdempotencyHeader = Annotated[
    str,
    HeaderParameter(
        name="Idempotency-Key",
        min_length=1,
        max_length=128,
        pattern=r"^[\x21-\x7e]+$",
        description="the same key + body replays the first answer",
    ),
]


@dataclass
class _JpegUploadOperation(Operation):
    """The photo is the raw body, which the handler reads itself (after its checks): document it."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={
                "image/jpeg": OpenAPIMediaType(
                    schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
                )
            },
            description="The JPEG exactly as the app captured and signed it",
            required=True,
        )


class CourierController(Controller):
    tags = ["courier"]  # noqa: RUF012

    @post("/v1/courier/devices/challenges", status_code=201)
    async def device_challenge(self, principal: Caller, services: Services) -> DeviceChallenge:
        """A single-use enrollment challenge (32 random bytes, base64), valid 10 minutes, for this courier."""
        return await services.run(principal, devices.issue_challenge)

    @post("/v1/courier/devices", status_code=201)
    async def enroll_device(
        self, data: JSONBody[DeviceEnrollment], principal: Caller, services: Services
    ) -> DeviceView:
        """Enroll the phone's photo-signing key with its hardware attestation and a fresh challenge:
        `keyAttestation` (Android Key Attestation chain, leaf first) or `appAttest` (`keyId`, `attestation`).
        A bare `publicKey` (Ed25519) only when the server runs with DEVICE_ATTESTATION=off.
        422 `device.attestation_required`, `device.attestation_invalid` (with `reasons`: chain, revoked,
        challenge, app, security_level, boot_state, key, format) or `device.challenge_invalid`."""
        # Its own short transactions: a refused attempt still spends its challenge and counts.
        return await services.run_without_transaction(principal, devices.enroll, data)

    @post("/v1/deliveries/{order_id:str}/capture-sessions", status_code=201)
    async def open_session(
        self, order_id: OrderId, data: JSONBody[CaptureSessionRequest], principal: Caller, services: Services
    ) -> CaptureSessionView:
        """Open a capture session (may be done ahead, at route start) for an opted-in, eligible door drop."""
        return await services.run(principal, capture.open_session, order_id, data.device_id)

    @post(
        "/v1/deliveries/{order_id:str}/photos",
        request_max_body_size=UPLOAD_CEILING_BYTES,
        operation_class=_JpegUploadOperation,
        opt={STREAMED_BODY: True},
        middleware=[uploads_in_flight],
    )
    async def upload_photo(
        self,
        request: Request[Any, Any, Any],
        order_id: OrderId,
        session_id: SessionHeader,
        idempotency_key: IdempotencyHeader,
        principal: Caller,
        services: Services,
        signature: SignatureHeader = None,
        assertion: AssertionHeader = None,
    ) -> Response[PhotoAttemptView]:
        """Upload the in-app JPEG (`Content-Type: image/jpeg`); answers the verdict with every check.

        201 for every verified attempt, accepted or rejected (retake within the session).
        4xx problem+json, nothing stored, for a body that is not an acceptable JPEG.
        """
        # No body parameter: Litestar would read the body before any check. Everything the headers
        # decide is answered first; only then is the body read, under a deadline.
        if signature is None and assertion is None:
            # One of two optional headers: a rule the OpenAPI document cannot state, so it has a code of its own.
            raise InvalidInput(
                "send X-Capture-Signature (Android, none) or X-Capture-Assertion (iOS)",
                field="X-Capture-Signature",
                code="photo.proof_missing",
            )
        declared = request.content_length
        if declared is not None and declared > UPLOAD_CEILING_BYTES:
            raise RequestEntityTooLarge  # as Litestar answers it while streaming
        # One context for both halves of the upload (one `now`); the intake opens its own short
        # transactions, so none is held while the body arrives or the photo is verified.
        ctx = services.context(principal, services.now())
        await services.intake.preflight(ctx, order_id, session_id, declared)
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "image/jpeg":
            raise UnsupportedMediaType("send the photo as the raw body with Content-Type: image/jpeg")
        body = await read_body(request, timeout_s=services.config.upload_body_timeout_s)
        upload = capture.PhotoUpload(
            order_id=order_id,
            session_id=session_id,
            signature=signature or "",
            assertion=assertion or "",
            idempotency_key=idempotency_key,
            body=body,
        )
        result = await services.intake.submit_or_replay(ctx, upload)
        return Response(result.view, status_code=result.status_code)
