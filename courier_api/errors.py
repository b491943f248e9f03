"""Domain errors raised by use cases. They have names, not HTTP statuses: `problem_mapping.py` maps them.

Error tree:
    DomainError
    ├── NotAuthenticated        no, malformed, badly signed or expired credentials
    ├── NotPermitted            authenticated, but the role may not do this
    ├── FreshSignInRequired     a view-only (notification link) session tried to change something
    ├── InvalidInput            a value is well-formed JSON but not acceptable (names the field)
    ├── AttestationRefused      a device's hardware attestation failed; carries every failed rule
    ├── UnsupportedMediaType    the body is not of the media type the operation takes
    ├── NotFound                no such object, or not the caller's (never reveal which)
    ├── Conflict                the object's state forbids the change (e.g. replace after delivery)
    ├── NotEligible             door drop refused; carries every reason
    ├── IdempotencyMismatch     an Idempotency-Key reused with a different request
    ├── RateLimited             too many requests; carries retry_after_s
    └── TemporarilyUnavailable  a dependency (database, storage) is down; carries retry_after_s
"""

from __future__ import annotations

from typing import Literal

from eligibility import Decision


class DomainError(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotAuthenticated(DomainError):
    pass


class NotPermitted(DomainError):
    pass


class FreshSignInRequired(DomainError):
    """A notification link signs in view-only; opening a claim or any other change needs a real sign-in."""


class InvalidInput(DomainError):
    def __init__(self, detail: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(detail)
        self.field = field
        self.code = code


class AttestationRefused(DomainError):
    """The platform's attestation does not prove our app's key in a genuine phone's secure hardware."""

    def __init__(self, detail: str, *, reasons: list[tuple[str, str]]) -> None:
        super().__init__(detail)
        # (rule code, detail) for every failed rule: chain, revoked, challenge, app, security_level, ...
        self.reasons = reasons


class UnsupportedMediaType(DomainError):
    pass


class NotFound(DomainError):
    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")
        self.what = what


class Conflict(DomainError):
    def __init__(self, detail: str, *, code: str) -> None:
        super().__init__(detail)
        self.code = code


class NotEligible(DomainError):
    """Carries the decision itself; the HTTP edge words its reasons in the customer's locale."""

    def __init__(self, detail: str, *, decision: Decision, locale: Literal["ru", "en"]) -> None:
        super().__init__(detail)
        self.decision = decision
        self.locale: Literal["ru", "en"] = locale


class IdempotencyMismatch(DomainError):
    pass


class RateLimited(DomainError):
    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class TemporarilyUnavailable(DomainError):
    def __init__(self, detail: str, *, retry_after_s: int = 5) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s
