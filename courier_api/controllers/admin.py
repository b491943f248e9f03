"""Admin: door-drop policy versions and what-if analysis before a rollout step."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import JSONBody, QueryParameter

from courier_api.dependencies import Caller, Services
from courier_api.errors import InvalidInput
from courier_api.schemas.eligibility import PolicyVersionView, WhatIfAnswer, WhatIfRequest
from courier_api.use_cases import policies
from eligibility import Policy


class AdminPoliciesController(Controller):
    path = "/v1/admin/door-drop-policies"
    tags = ["admin"]  # noqa: RUF012

    @post("/", status_code=201)
    async def publish(
        self, data: JSONBody[Policy], principal: Caller, services: Services
    ) -> PolicyVersionView:
        """Validate and store a new policy version (never edited or deleted)."""
        return await services.run(principal, policies.publish, data)

    @get("/")
    async def list_versions(self, principal: Caller, services: Services) -> list[PolicyVersionView]:
        """Every version with who created it and when."""
        return await services.run(principal, policies.list_versions)

    @get("/in-force")
    async def in_force(
        self,
        principal: Caller,
        services: Services,
        at: Annotated[
            datetime | None, QueryParameter(description="Timezone-aware moment; now when omitted")
        ] = None,
    ) -> PolicyVersionView:
        """The version in force at `at`."""
        if at is not None and at.tzinfo is None:
            raise InvalidInput("`at` must carry a timezone, e.g. 2026-11-26T10:00:00Z", field="at")
        return await services.run(principal, policies.in_force, at)

    @post("/what-if", status_code=200)
    async def what_if(
        self, data: JSONBody[WhatIfRequest], principal: Caller, services: Services
    ) -> WhatIfAnswer:
        """Per city, how many orders created in the range are eligible under the draft vs the policy then."""
        return await services.run(principal, policies.what_if, data.draft, data.created_from, data.created_to)
