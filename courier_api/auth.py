"""Bearer JWT: who is calling and in which role.

HS256 only, with the algorithm pinned so `alg: none` and algorithm confusion are refused.
Claims: `sub` (actor id), `role`, `exp` (required), optional `iss`/`aud` when configured.
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
_VERIFIED_CACHE_SIZE = 10_000


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
    def __init__(self, secret: str, *, issuer: str | None = None, audience: str | None = None) -> None:
        self._secret = secret
        self._verified: dict[str, tuple[Principal, float]] = {}
        self._issuer = issuer
        self._audience = audience

    def mint(self, *, role: Role, sub: str, ttl_s: int = 24 * 3600) -> str:
        now = int(time.time())
        claims: dict[str, object] = {"sub": sub, "role": role, "iat": now, "exp": now + ttl_s}
        if self._issuer:
            claims["iss"] = self._issuer
        if self._audience:
            claims["aud"] = self._audience
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    def mint_order_link(self, *, customer_id: str, order_id: str, ttl_s: int) -> str:
        """A token for the link in a notification: the customer's web page of this one order.

        The JSON API refuses it (see `verify`), so a forwarded email exposes one order's page only.
        """
        now = int(time.time())
        claims: dict[str, object] = {
            "sub": customer_id,
            "role": "customer",
            "iat": now,
            "exp": now + ttl_s,
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
        # Apps repeat the same token on every call: a verified one is remembered until it expires.
        cached = self._verified.get(token)
        if cached is not None and cached[1] > time.time():
            principal = cached[0]
        else:
            principal, expires = self._decode(token)
            if len(self._verified) >= _VERIFIED_CACHE_SIZE:
                self._verified.pop(next(iter(self._verified)))  # the oldest entry
            self._verified[token] = (principal, expires)
        if principal.order_scope is not None and not allow_order_links:
            raise NotAuthenticated("this link token opens one order's web page only")
        return principal

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
        if scope is not None and not isinstance(scope, str):
            raise NotAuthenticated("this link token opens one order's web page only")
        return Principal(role=role, sub=sub, order_scope=scope), float(claims["exp"])
