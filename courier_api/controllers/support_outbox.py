"""Support: notifications that could not be delivered, and retrying them."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import QueryParameter

from courier_api.dependencies import Caller, Services
from courier_api.params import RowId
from courier_api.schemas.outbox import DeadLetters, OutboxEntryView
from courier_api.use_cases import outbox


class SupportOutboxController(Controller):
    path = "/v1/support/outbox"
    tags = ["support"]  # noqa: RUF012

    @get("/dead")
    async def dead_letters(
        self,
        principal: Caller,
        services: Services,
        limit: Annotated[int, QueryParameter(ge=1, le=500, description="Most rows to return")] = 100,
    ) -> DeadLetters:
        """Notifications the worker gave up on, newest first, with counts per status."""
        return await services.run(principal, outbox.list_dead_letters, limit=limit)

    @post("/{entry_id:str}/retry", status_code=200)
    async def retry(
        self,
        entry_id: RowId,
        principal: Caller,
        services: Services,
    ) -> OutboxEntryView:
        """Put one dead letter back in the queue with a fresh attempt budget."""
        return await services.run(principal, outbox.retry_dead_letter, int(entry_id))
