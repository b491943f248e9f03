"""The Litestar app factory. Everything stateful opens in the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from litestar import Litestar, Request
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from courier_api import metrics as recorder
from courier_api.auth import Principal, TokenService
from courier_api.components.attestation import DeviceVerifier
from courier_api.components.photo_verifier import PhotoVerifier
from courier_api.components.policy_catalog import PolicyCatalog
from courier_api.components.rate_limits import Limit, RateLimiter
from courier_api.context import Config
from courier_api.controllers import JSON_HANDLERS
from courier_api.dependencies import Services, provide_principal, provide_services
from courier_api.logging_setup import request_id_middleware
from courier_api.metrics import Metrics
from courier_api.metrics_http import MetricsEndpoint
from courier_api.openapi import make_openapi_strict
from courier_api.problem_mapping import EXCEPTION_HANDLERS, declare_problem_responses
from courier_api.request_body import BoundedJsonRequest
from courier_api.services import AppServices
from courier_api.use_cases.capture import PhotoIntake
from courier_api.web import web_handlers
from infra.change_feed import ChangeFeed
from infra.database import Database
from infra.settings import Settings
from infra.storage import ObjectStore

_log = logging.getLogger("courier_api.app")

if TYPE_CHECKING:
    # The dev stack's packages (aiosmtpd) are an extra that `serve` never needs.
    from infra.devstack.mailbox import DevMailbox


def create_app(
    settings: Settings,
    *,
    s3_credentials: tuple[str, str] | None = None,
    rate_limits: dict[str, Limit] | None = None,
    clock: Callable[[], datetime] | None = None,
    dev_mailbox: DevMailbox | None = None,
) -> Litestar:
    """Build the app for these settings; the pool and S3 client open when it starts.

    `dev_mailbox` (only `courier-api dev` passes one) adds the `/dev/notifications` page that shows it.
    """
    endpoint = _metrics_endpoint(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # First: a deployment that requires attestation but names no app must not start at all.
        attestation = DeviceVerifier.from_settings(settings)
        if not attestation.required:
            _log.warning(
                "DEVICE_ATTESTATION=off: bare Ed25519 device keys are accepted and marked 'none'; "
                "photos prove nothing about the phone or the app"
            )
        db = await Database.connect(
            settings.database_url, min_size=settings.db_pool_min, max_size=settings.db_pool_max
        )
        store = ObjectStore.for_settings(settings, s3_credentials)
        changes = ChangeFeed(settings.database_url)
        changes.start()  # until it is live, decisions read policies and bars from the database
        limiter = RateLimiter(rate_limits)
        verifier = PhotoVerifier(workers=settings.verify_workers, kind=settings.verify_pool)
        await verifier.warm_up()
        catalog = PolicyCatalog(changes)
        sampler: asyncio.Task[None] | None = None
        if endpoint is not None:
            endpoint.attach(db, changes)
            recorder.install(endpoint.metrics)
            sampler = asyncio.create_task(endpoint.sample_forever(), name="metrics-sampler")
        app.state.services = AppServices(
            settings=settings,
            db=db,
            store=store,
            tokens=TokenService(
                settings.jwt_secret,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                link_ttl_s=settings.link_token_ttl_s,
            ),
            intake=PhotoIntake(
                db=db, store=store, verifier=verifier, config=Config.from_settings(settings), catalog=catalog
            ),
            limits=limiter,
            clock=clock or (lambda: datetime.now(UTC)),
            attestation=attestation,
            catalog=catalog,
        )
        try:
            yield
        finally:
            if endpoint is not None and sampler is not None:
                sampler.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sampler
                recorder.install(None)
                endpoint.metrics.flush_requests()
                endpoint.metrics.retire()
            verifier.close()
            await changes.close()
            await db.close()

    app = Litestar(
        # The JSON API, then the HTML pages (customer, support, admin) and their stylesheet.
        route_handlers=[*JSON_HANDLERS, *web_handlers(dev_mailbox=dev_mailbox is not None)],
        lifespan=[lifespan],
        dependencies={
            "services": Provide(provide_services, sync_to_thread=False),
            "principal": Provide(_principal_after_services, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        request_class=BoundedJsonRequest,  # deeply nested JSON is a 400, not a RecursionError
        request_max_body_size=settings.max_json_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Door-drop API",
            version="1.0.0",
            description=_API_DESCRIPTION,
            path="/schema",
            render_plugins=[SwaggerRenderPlugin(path="/swagger"), RedocRenderPlugin(path="/redoc")],
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")}
            ),
            security=[{"bearer": []}],
        ),
        debug=False,
        logging_config=None,  # ours: JSON lines with the request id (logging_setup)
    )
    # Wrap the outermost handler, not the route middleware: router-level answers (404, 405)
    # must carry a request id and an access log line too.
    app.asgi_handler = request_id_middleware(app.asgi_handler)
    app.state.dev_mailbox = dev_mailbox
    if endpoint is not None:
        # Outermost: scrapes bypass the access log; every API request is timed, router 404s included.
        app.asgi_handler = endpoint.middleware(app.asgi_handler)
    declare_problem_responses(app)
    make_openapi_strict(app)  # after every response is declared: it builds the document
    return app


def _metrics_endpoint(settings: Settings) -> MetricsEndpoint | None:
    """Metrics only where a scraper can reach them; otherwise no middleware, no cost, `/metrics` a 404."""
    if settings.metrics_port is None and settings.metrics_token is None:
        return None
    return MetricsEndpoint(Metrics(), token=settings.metrics_token, port=settings.metrics_port)


def _principal_after_services(request: Request[Any, Any, Any], services: Services) -> Principal:
    """`provide_principal`, declared after `services` so Litestar resolves the two one after the other.

    Independent dependencies are resolved concurrently in an anyio task group (two tasks per
    request): measurable overhead for two synchronous look-ups on every authenticated request.
    """
    del services  # only orders the resolution
    return provide_principal(request)


_API_DESCRIPTION = """\
Contactless courier delivery: door-drop eligibility, verified photo proof, claims.

Every error is RFC 9457 `application/problem+json` with a stable `code`.
Authenticate with `Authorization: Bearer <JWT>` carrying `role` and `sub` claims.
The schemas are the server's own (msgspec); what they cannot say: a range (`from`/`to`,
`createdFrom`/`createdTo`) must end after it starts and span at most 370 / 400 days, else 422
`incidents.bad_range` / `what_if.bad_range`.

## Capture protocol (courier app)
1. Enroll the phone once per install. In production (`DEVICE_ATTESTATION=required`) only a P-256 key held by
   the phone's secure hardware for our app enrolls:
   1. `POST /v1/courier/devices/challenges` → `{challenge, expiresAt}`: 32 random bytes (base64), single use,
      this courier's, 10 minutes.
   2. Android (Kotlin): `KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_SIGN)` with
      `setAlgorithmParameterSpec(ECGenParameterSpec("secp256r1"))`, `setDigests(DIGEST_SHA256)`,
      `setAttestationChallenge(challengeBytes)` (and `setIsStrongBoxBacked(true)` where available);
      `KeyPairGenerator.getInstance("EC", "AndroidKeyStore")` generates it; `KeyStore.getCertificateChain(alias)`
      gives the chain. Send `{"platform": "android", "challenge", "keyAttestation": [base64 DER, leaf first]}`.
      iOS (Swift): `DCAppAttestService.shared.generateKey()` → keyId; `attestKey(keyId, clientDataHash:
      SHA256(challengeBytes))` → attestation. Send `{"platform": "ios", "challenge", "appAttest": {"keyId",
      "attestation"}}` (base64).
   3. `POST /v1/courier/devices` → 201 `{deviceId, attestation: {level: strongbox | tee | app_attest | none,
      platform, appId}}`, or 422 `device.challenge_invalid`, `device.attestation_required` (a bare key),
      `device.attestation_invalid` with `reasons: [{code, detail}]` (chain, revoked, challenge, app,
      security_level, boot_state, key, format).
   With `DEVICE_ATTESTATION=off` (the demo), `{"platform", "publicKey"}`: a bare Ed25519 key, level `none`.
2. `POST /v1/deliveries/{orderId}/capture-sessions` (at route start is fine): `{sessionId, nonce, requirements}`;
   `requirements.signature` says how this device signs photos.
3. The in-app camera writes the nonce into EXIF `ImageUniqueID`, the capture time into `DateTimeOriginal` +
   `OffsetTimeOriginal`, the position into GPS, and signs the exact JPEG bytes with the device key:
   Android `Signature.getInstance("SHA256withECDSA")` (initSign, update(jpeg), sign: DER);
   iOS `DCAppAttestService.shared.generateAssertion(keyId, clientDataHash: SHA256(jpeg))` (its counter must be
   above the last one the server accepted from the device); `none` devices Ed25519 over SHA-256(jpeg).
4. `POST /v1/deliveries/{orderId}/photos` with the JPEG as the body (`Content-Type: image/jpeg`) and headers
   `X-Capture-Session`, `X-Capture-Signature` (Android, none) or `X-Capture-Assertion` (iOS), `Idempotency-Key`.
   Every check comes back with a stable code the app maps to a retake hint; retake within the session until the
   verdict is `accepted`. A revoked device's sessions and uploads: 409 `device.revoked`.
"""
