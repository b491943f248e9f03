"""Browser sessions of the web pages: sign-in from a token, the session on each page, sign-out.

A session is a row in PostgreSQL named by a random id that only the browser's cookie holds (the table
keeps its SHA-256). So sign-out revokes it for every process at once, and the cookie no longer carries
a bearer token the JSON API would accept. A session opened from a notification link keeps the link's
order scope and is view-only: changes need a full sign-in (`access.require_full_sign_in`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import msgspec

from courier_api.access import require_full_sign_in
from courier_api.auth import ROLES, Principal, Role
from courier_api.errors import NotAuthenticated
from infra.repositories import UnitOfWork

_SESSION_ID_BYTES = 32


class Started(msgspec.Struct, frozen=True, kw_only=True, tag="started"):
    """A new session; the browser gets `session_id` as its cookie. Any previous one was revoked."""

    session_id: str


class Kept(msgspec.Struct, frozen=True, kw_only=True, tag="kept"):
    """The browser's session already is this person with at least this access: nothing changes."""


class NeedsConfirmation(msgspec.Struct, frozen=True, kw_only=True, tag="needs_confirmation"):
    """The browser is signed in as someone else, and the person has not confirmed replacing them."""

    current: Principal


SignInOutcome = Started | Kept | NeedsConfirmation


def identity(principal: Principal) -> str:
    """What a sign-in confirmation names: the role and the actor, not the token or its scope."""
    return f"{principal.role}:{principal.sub}"


def _hash(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


async def current(uow: UnitOfWork, session_id: str | None, *, now: datetime) -> Principal | None:
    """The principal of a live session, or None for no, unknown, expired or revoked session."""
    if not session_id:
        return None
    record = await uow.web_sessions.live(_hash(session_id), now)
    if record is None or record.role not in ROLES:
        return None
    role: Role = msgspec.convert(record.role, Role)
    return Principal(role=role, sub=record.subject, order_scope=record.order_scope)


async def signed_in(uow: UnitOfWork, session_id: str | None, *, now: datetime) -> Principal:
    """The session's principal; NotAuthenticated without a live session."""
    principal = await current(uow, session_id, now=now)
    if principal is None:
        raise NotAuthenticated("no session: open the link you were sent")
    return principal


async def sign_in(
    uow: UnitOfWork,
    principal: Principal,
    *,
    expires_at: float,
    now: datetime,
    session_id: str | None,
    confirmed_replacing: str | None,
) -> SignInOutcome:
    """Open a session for `principal` in a browser whose current session is `session_id`, if any.

    A different person's session is replaced only when the confirmation names exactly that person
    (`confirmed_replacing` == `identity(current)`), so a crafted link never swaps identities silently.
    """
    expiry = datetime.fromtimestamp(expires_at, UTC)
    if expiry <= now:
        raise NotAuthenticated("token expired")
    existing = await current(uow, session_id, now=now)
    if existing is not None:
        same_person = identity(existing) == identity(principal)
        if not same_person and confirmed_replacing != identity(existing):
            return NeedsConfirmation(current=existing)
        # The same person's full session is worth more than a view-only link: keep it.
        if same_person and existing.order_scope is None and principal.order_scope is not None:
            return Kept()
    if session_id:
        await uow.web_sessions.revoke(_hash(session_id), now)
    new_id = secrets.token_urlsafe(_SESSION_ID_BYTES)
    await uow.web_sessions.create(
        id_hash=_hash(new_id),
        role=principal.role,
        subject=principal.sub,
        order_scope=principal.order_scope,
        created_at=now,
        expires_at=expiry,
    )
    return Started(session_id=new_id)


async def sign_out(uow: UnitOfWork, session_id: str, *, now: datetime) -> bool:
    """Revoke the session; a replayed cookie is refused from now on. False if it was not live."""
    return await uow.web_sessions.revoke(_hash(session_id), now)


PrincipalReader = Callable[[UnitOfWork, datetime], Awaitable[Principal]]


def viewer(session_id: str | None) -> PrincipalReader:
    """Who a page request is: its live session, read in the request's own transaction."""

    async def read(uow: UnitOfWork, now: datetime) -> Principal:
        return await signed_in(uow, session_id, now=now)

    return read


def changer(session_id: str | None) -> PrincipalReader:
    """Who makes a change from a page: a live session that is not a notification link's view-only one."""

    async def read(uow: UnitOfWork, now: datetime) -> Principal:
        principal = await signed_in(uow, session_id, now=now)
        require_full_sign_in(principal)
        return principal

    return read
