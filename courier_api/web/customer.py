"""The customer's order page (the notification link) and its "It is not there" button."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect

from courier_api.dependencies import Services
from courier_api.params import OrderId
from courier_api.schemas.claims import ClaimRequest, CustomerDelivery
from courier_api.use_cases import claims
from courier_api.web import page_content
from courier_api.web.base import (
    MAX_TOKEN_CHARS,
    PageController,
    changer,
    checked_form,
    convert_form,
    see_other,
    sign_in,
    signed,
    viewer,
)
from courier_api.web.rendering import page
from courier_api.web.security import origin_of
from courier_api.web.texts import customer_texts

LinkToken = Annotated[str | None, QueryParameter(name="token", max_length=MAX_TOKEN_CHARS)]


def may_claim(delivery: CustomerDelivery, now: datetime) -> bool:
    """Whether to offer the button; `claims.open_claim` still decides."""
    return (
        delivery.status == "left_at_door"
        and delivery.claim_deadline is not None
        and now <= delivery.claim_deadline
        # One claim per order: while it is open, and after its decision, which is final.
        and not delivery.claims
    )


class CustomerPages(PageController):
    path = "/orders"

    @get("/{order_id:str}")
    async def order(
        self, request: Request[Any, Any, Any], order_id: OrderId, services: Services, token: LinkToken = None
    ) -> Response[str]:
        """Status, when and by whom it was left, the photo, the claim, in the customer's language."""
        if token is not None:
            return sign_in(request, services, token)
        view = await services.run(viewer(request), page_content.customer_page, order_id)
        session = signed(request, services, view.viewer)
        # Whether to offer the button is judged at render time; `claims.open_claim` still decides.
        now = services.now()
        photo_origin = origin_of(view.delivery.photo_url)
        return page(
            "customer_order.html",
            img_origins=[photo_origin] if photo_origin else [],
            lang=view.locale,
            t=customer_texts(view.locale),
            d=view.delivery,
            zone=view.time_zone,
            csrf=session.csrf,
            session=session,
            # A notification link's session is view-only: the button would only meet a refusal.
            may_claim=may_claim(view.delivery, now) and not session.view_only,
            sign_in_to_claim=may_claim(view.delivery, now) and session.view_only,
        )

    @post("/{order_id:str}/claims", status_code=303)
    async def not_there(
        self, request: Request[Any, Any, Any], order_id: OrderId, services: Services
    ) -> Redirect:
        """Open a `not_received` claim, then back to the page (PRG)."""
        fields = await checked_form(request, services)
        claim = convert_form(
            {"kind": "not_received", "comment": fields.get("comment", "").strip()}, ClaimRequest
        )
        await services.run(changer(request), claims.open_claim, order_id, claim)
        return see_other(f"/orders/{order_id}")
