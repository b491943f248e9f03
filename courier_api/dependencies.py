"""Litestar dependencies: the caller's identity and the running services."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from courier_api.auth import Principal
from courier_api.services import AppServices


def provide_services(state: State) -> AppServices:
    services: AppServices = state.services
    return services


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    services: AppServices = request.app.state.services
    return services.tokens.verify(request.headers.get("authorization"))


# Handlers name these explicitly (Litestar 3 drops inferred dependencies).
Services = NamedDependency[AppServices]
Caller = NamedDependency[Principal]
