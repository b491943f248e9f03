"""Bearer JWT: who is calling and in which role.

HS256 only, with the algorithm pinned so `alg: none` and algorithm confusion are refused.
Claims: `sub` (actor id), `role`, `exp` (required), optional `iss`/`aud` when configured.
Notification link tokens also carry `order` and `iat`: they live `link_ttl_s` from `iat` whatever their
`exp` says, so links sent before the lifetime was shortened stop working on the new schedule too.
"""

from __future__ import annotations

import time
from typing import Literal, get_args

import jwt
import msgspec

from courier_api.errors import NotAuthenticated, NotPermitted

Role = Literal["courier", "customer", "support", "admin", "service"]
ROLES: tuple[str, ...] = get_args(Role)
_ALGORITHM = "HS256"
_ORDER_SCOPE = "order"
_MAX_TOKEN_CHARS = 4096
_VERIFIED_CACHE_SIZE = 10_000
DEFAULT_LINK_TTL_S = 24 * 3600
# Clock skew between the worker that minted a link and the server that checks it.
_LINK_SKEW_S = 60


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    role: Role
    sub: str
    # Set for a link token from a notification: it opens that one order's web page and nothing else.
    order_scope: str | None = None

    def require(self, *roles: Role) -> None:
        """Refuse (403) unless the caller has one of these roles."""
        if self.role not in roles:
            raise NotPermitted(f"role '{self.role}' may not do this")


class TokenService:
    def __init__(
        self,
        secret: str,
        *,
        issuer: str | None = None,
        audience: str | None = None,
        link_ttl_s: int = DEFAULT_LINK_TTL_S,
    ) -> None:
        self._secret = secret
        self._verified: dict[str, tuple[Principal, float]] = {}
        self._issuer = issuer
        self._audience = audience
        self._link_ttl_s = link_ttl_s

    def mint(self, *, role: Role, sub: str, ttl_s: int = 24 * 3600) -> str:
        now = int(time.time())
        claims: dict[str, object] = {"sub": sub, "role": role, "iat": now, "exp": now + ttl_s}
        if self._issuer:
            claims["iss"] = self._issuer
        if self._audience:
            claims["aud"] = self._audience
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    def mint_order_link(self, *, customer_id: str, order_id: str, issued_at: float | None = None) -> str:
        """A token for the link in a notification: the customer's web page of this one order, view-only.

        The JSON API refuses it (see `verify`) and pages refuse changes from its session, so a forwarded
        email shows one order's page for at most `link_ttl_s`.
        """
        now = int(time.time() if issued_at is None else issued_at)
        claims: dict[str, object] = {
            "sub": customer_id,
            "role": "customer",
            "iat": now,
            "exp": now + self._link_ttl_s,
            _ORDER_SCOPE: order_id,
        }
        if self._issuer:
            claims["iss"] = self._issuer
        if self._audience:
            claims["aud"] = self._audience
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    def verify(self, authorization: str | None, *, allow_order_links: bool = False) -> Principal:
        if not authorization:
            raise NotAuthenticated("missing bearer token")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise NotAuthenticated("the Authorization header must be 'Bearer <token>'")
        principal, _ = self._verified_token(token)
        if principal.order_scope is not None and not allow_order_links:
            raise NotAuthenticated("this link token opens one order's web page only")
        return principal

    def session_grant(self, token: str) -> tuple[Principal, float]:
        """A token being exchanged for a browser session: who it is and until when (epoch seconds)."""
        if not token or len(token) > _MAX_TOKEN_CHARS:
            raise NotAuthenticated("invalid token")
        return self._verified_token(token)

    def _verified_token(self, token: str) -> tuple[Principal, float]:
        # Apps repeat the same token on every call: a verified one is remembered until it expires.
        cached = self._verified.get(token)
        if cached is not None and cached[1] > time.time():
            return cached
        principal, expires = self._decode(token)
        if len(self._verified) >= _VERIFIED_CACHE_SIZE:
            self._verified.pop(next(iter(self._verified)))  # the oldest entry
        self._verified[token] = (principal, expires)
        return principal, expires

    def _decode(self, token: str) -> tuple[Principal, float]:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                issuer=self._issuer,
                audience=self._audience,
                options={"require": ["exp", "sub", "role"], "verify_aud": self._audience is not None},
            )
        except jwt.ExpiredSignatureError as exc:
            raise NotAuthenticated("token expired") from exc
        except jwt.PyJWTError as exc:
            raise NotAuthenticated("invalid token") from exc
        role, sub, scope = claims.get("role"), claims.get("sub"), claims.get(_ORDER_SCOPE)
        if role not in ROLES or not isinstance(sub, str) or not sub or len(sub) > 128:
            raise NotAuthenticated("token carries an unknown role or no subject")
        expires = float(claims["exp"])
        if scope is not None:
            if not isinstance(scope, str):
                raise NotAuthenticated("this link token opens one order's web page only")
            expires = min(expires, self._link_deadline(claims.get("iat")))
        return Principal(role=role, sub=sub, order_scope=scope), expires

    def _link_deadline(self, issued_at: object) -> float:
        """When a link token issued at `iat` stops working; NotAuthenticated once it has."""
        if not isinstance(issued_at, int | float) or isinstance(issued_at, bool):
            raise NotAuthenticated("a link token without its issue time")
        now = time.time()
        if issued_at > now + _LINK_SKEW_S:
            raise NotAuthenticated("a link token issued in the future")
        deadline = float(issued_at) + self._link_ttl_s
        if now > deadline + _LINK_SKEW_S:
            raise NotAuthenticated("link token expired")
        return deadline + _LINK_SKEW_S
