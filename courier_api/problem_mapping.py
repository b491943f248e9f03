"""The one table that turns errors into RFC 9457 problem+json answers with stable codes."""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from litestar import Litestar, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.routes import HTTPRoute

from courier_api.errors import (
    AttestationRefused,
    Conflict,
    DomainError,
    FreshSignInRequired,
    IdempotencyMismatch,
    InvalidInput,
    NotAuthenticated,
    NotEligible,
    NotFound,
    NotPermitted,
    RateLimited,
    TemporarilyUnavailable,
    UnsupportedMediaType,
)
from courier_api.request_body import STREAMED_BODY
from courier_api.schemas.eligibility import DecisionView
from courier_api.schemas.problems import InvalidParam, Problem
from infra.errors import DatabaseUnavailable, StorageUnavailable, UnstorableText
from photo_pipeline.errors import InvalidPhoto

PROBLEM_MEDIA_TYPE = "application/problem+json"
_log = logging.getLogger("courier_api.errors")

# Domain error -> (status, code, title). Codes are a public contract: never rename one.
_DOMAIN: dict[type[DomainError], tuple[int, str, str]] = {
    NotAuthenticated: (401, "auth.unauthenticated", "Authentication required"),
    NotPermitted: (403, "auth.forbidden", "Not allowed for this role"),
    FreshSignInRequired: (403, "auth.fresh_sign_in_required", "Sign in again to do this"),
    InvalidInput: (422, "request.unprocessable", "The request cannot be processed"),
    AttestationRefused: (422, "device.attestation_invalid", "The device attestation is not valid"),
    NotFound: (404, "not_found", "Not found"),
    UnsupportedMediaType: (415, "media_type.unsupported", "Unsupported media type"),
    Conflict: (409, "conflict", "Conflicts with the current state"),
    NotEligible: (409, "door_drop.not_eligible", "Door drop is not available for this order"),
    IdempotencyMismatch: (422, "idempotency.key_reused", "Idempotency-Key reused with a different request"),
    RateLimited: (429, "rate_limited", "Too many requests"),
    TemporarilyUnavailable: (503, "service.unavailable", "Temporarily unavailable"),
}

_HTTP_CODES = {
    400: "request.invalid",
    401: "auth.unauthenticated",
    403: "auth.forbidden",
    404: "route.not_found",
    405: "method.not_allowed",
    408: "request.timeout",
    413: "request.too_large",
    415: "media_type.unsupported",
    429: "rate_limited",
}
_FIELD_IN_MESSAGE = re.compile(r"at `\$\.?([^`]*)`")


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> Response[Problem]:
    return Response(problem, status_code=problem.status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _problem(status: int, code: str, title: str, request: Request[Any, Any, Any], **extra: Any) -> Problem:
    return Problem(
        type=f"urn:door-drop:problem:{code}",
        title=title,
        status=status,
        code=code,
        instance=request.url.path,
        **extra,
    )


def handle_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Problem]:
    status, code, title = next(
        (value for cls, value in _DOMAIN.items() if isinstance(exc, cls)), (500, "internal.error", "Error")
    )
    extra: dict[str, Any] = {"detail": exc.detail}
    headers: dict[str, str] = {}
    match exc:
        case NotFound(what=what):
            code = f"{what}.not_found"
        case Conflict(code=conflict_code) | InvalidInput(code=str() as conflict_code):
            code = conflict_code
        case NotEligible(decision=decision, locale=locale):
            view = DecisionView.of(decision, locale)
            extra["reasons"] = [msgspec.to_builtins(reason) for reason in view.reasons]
            extra["policy_version"] = decision.policy_version
        case RateLimited(retry_after_s=seconds) | TemporarilyUnavailable(retry_after_s=seconds):
            headers["Retry-After"] = str(seconds)
            extra["retry_after"] = seconds
        case AttestationRefused(reasons=reasons):
            extra["reasons"] = [{"code": code, "detail": detail} for code, detail in reasons]
        case NotAuthenticated():
            headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, InvalidInput) and exc.field:
        extra["invalid_params"] = [InvalidParam(name=exc.field, reason=exc.detail)]
    return problem_response(_problem(status, code, title, request, **extra), headers)


def handle_invalid_photo(request: Request[Any, Any, Any], exc: InvalidPhoto) -> Response[Problem]:
    return problem_response(
        _problem(422, exc.code, "The photo cannot be accepted", request, detail=exc.detail)
    )


def handle_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    code = "storage.unavailable" if isinstance(exc, StorageUnavailable) else "database.unavailable"
    _log.warning("dependency unavailable: %s", type(exc).__name__)
    problem = _problem(
        503,
        code,
        "A dependency is temporarily unavailable",
        request,
        detail="Retry shortly; nothing was changed.",
        retry_after=5,
    )
    return problem_response(problem, {"Retry-After": "5"})


def handle_unstorable_text(request: Request[Any, Any, Any], exc: UnstorableText) -> Response[Problem]:
    detail = "text values must not contain the character U+0000"
    return problem_response(_problem(400, "request.invalid", "Invalid request", request, detail=detail))


def handle_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Problem]:
    params = [_invalid_param(item) for item in (exc.extra if isinstance(exc.extra, list) else [])]
    detail = "; ".join(f"{p.name}: {p.reason}" for p in params) or exc.detail
    problem = _problem(
        400, "request.invalid", "Invalid request", request, detail=detail, invalid_params=params or None
    )
    return problem_response(problem)


def handle_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    status = exc.status_code
    code = _HTTP_CODES.get(status, f"http.{status}")
    # `Connection: close` ends a connection whose body was never read (408): not left for keep-alive.
    passed = {"allow", "retry-after", "connection"}
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() in passed}
    detail = exc.detail if status < 500 else "internal error"
    return problem_response(
        _problem(status, code, detail if status < 500 else "Server error", request, detail=detail), headers
    )


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    _log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(
        _problem(
            500,
            "internal.error",
            "Server error",
            request,
            detail="An unexpected error occurred; it has been logged.",
        )
    )


def _invalid_param(item: Any) -> InvalidParam:
    if not isinstance(item, dict):
        return InvalidParam(name="body", reason=str(item))
    message = str(item.get("message", ""))
    key = item.get("key")
    match = _FIELD_IN_MESSAGE.search(message)
    if match:
        name = match[1] or "body"
        message = message[: match.start()].rstrip(" -")
    else:
        name = str(key) if key else "body"
    return InvalidParam(name=name, reason=message)


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    DomainError: handle_domain_error,
    InvalidPhoto: handle_invalid_photo,
    DatabaseUnavailable: handle_unavailable,
    StorageUnavailable: handle_unavailable,
    UnstorableText: handle_unstorable_text,
    ValidationException: handle_validation,
    HTTPException: handle_http,
    Exception: handle_unexpected,
}


# What each problem status means in the OpenAPI document.
_PROBLEM_DESCRIPTIONS = {
    400: "Malformed request: invalidParams names each bad field (request.invalid)",
    401: "Missing, malformed, badly signed or expired bearer token (auth.unauthenticated)",
    403: "The caller's role may not do this (auth.forbidden)",
    404: "No such object, or not the caller's (<what>.not_found, route.not_found)",
    408: "The body did not arrive within UPLOAD_BODY_TIMEOUT_S; the connection is closed (request.timeout)",
    409: "The object's state forbids this (a stable conflict code, e.g. order.already_delivered)",
    413: "The body is over the size limit (request.too_large)",
    415: "The body is not of the media type the operation takes (media_type.unsupported)",
    422: "Well-formed but not acceptable (request.unprocessable, photo.*, idempotency.key_reused, "
    "device.attestation_required, device.attestation_invalid with reasons, device.challenge_invalid)",
    429: "Too many requests; see Retry-After (rate_limited)",
    500: "Unexpected error; it has been logged (internal.error)",
    503: "A dependency is temporarily unavailable; see Retry-After",
}


def _problem_statuses(handler: HTTPRouteHandler) -> list[int]:
    params = set(handler.parsed_fn_signature.parameters)
    statuses = {500}
    if params - {"services", "request"}:
        statuses.add(400)
    if "principal" in params:
        statuses |= {401, 403, 404, 409, 422, 429}
    if "services" in params:
        statuses.add(503)
    if params & {"data", "body"}:
        statuses |= {413, 415}
    if handler.opt.get(STREAMED_BODY):
        statuses |= {408, 413, 415}
    return sorted(statuses)


def declare_problem_responses(app: Litestar) -> None:
    """Document the problem+json answers of every operation in the OpenAPI document.

    Runs once on the built app, before the document is first generated (Litestar builds it lazily);
    a response a handler declares itself (e.g. /ready's 503) is kept.
    """
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            responses = dict(handler.responses or {})
            for status in _problem_statuses(handler):
                responses.setdefault(
                    status,
                    ResponseSpec(
                        data_container=Problem,
                        media_type=PROBLEM_MEDIA_TYPE,
                        description=_PROBLEM_DESCRIPTIONS[status],
                        generate_examples=False,
                    ),
                )
            handler.responses = responses
