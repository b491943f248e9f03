"""Support's order page: the evidence (an audited view), claim decisions, door-drop bars, the audit trail."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect

from courier_api.dependencies import Services
from courier_api.errors import InvalidInput
from courier_api.params import ClaimId, CustomerId, OrderId
from courier_api.schemas.claims import ClaimDecisionRequest, OrderEvidence
from courier_api.use_cases import bars, claims
from courier_api.web import page_content
from courier_api.web.base import (
    PageController,
    changer,
    checked_form,
    convert_form,
    order_id_field,
    see_other,
    sign_in,
    signed,
    viewer,
)
from courier_api.web.customer import LinkToken
from courier_api.web.rendering import page
from courier_api.web.security import origin_of

# Whole kopecks, digits only: no sign, no decimal point, no exponent, no NaN, no thousands separators.
# Fourteen digits hold the API's upper bound (10**13); anything longer is refused before it becomes a number.
_WHOLE_KOPECKS = re.compile(r"[0-9]{1,14}")


def kopecks(text: str) -> int:
    """The form's amount in whole kopecks, as the JSON API takes it; bounds are checked by the struct."""
    digits = text.strip()
    if not _WHOLE_KOPECKS.fullmatch(digits):
        raise InvalidInput(
            "the amount must be a whole number of kopecks, digits only (e.g. 120000 for 1200 ₽)",
            field="amount_kopecks",
        )
    return int(digits)


def image_origins(evidence: OrderEvidence) -> list[str]:
    urls = [url for attempt in evidence.attempts for url in (attempt.customer_copy_url, attempt.original_url)]
    return sorted({origin for origin in map(origin_of, urls) if origin})


class SupportPages(PageController):
    path = "/support"

    @get("/orders/{order_id:str}")
    async def order(
        self, request: Request[Any, Any, Any], order_id: OrderId, services: Services, token: LinkToken = None
    ) -> Response[str]:
        """Every attempt with every check, the claims with a decision form, bars and the audit trail."""
        if token is not None:
            return sign_in(request, services, token)
        view = await services.run(viewer(request), page_content.support_page, order_id)
        session = signed(request, services, view.viewer)
        return page(
            "support_order.html",
            img_origins=image_origins(view.evidence),
            v=view,
            csrf=session.csrf,
            session=session,
        )

    @post("/claims/{claim_id:str}/decision", status_code=303)
    async def decide(
        self, request: Request[Any, Any, Any], claim_id: ClaimId, services: Services
    ) -> Redirect:
        """Compensate (amount in whole kopecks) or reject, with a reason; final."""
        fields = await checked_form(request, services)
        decision = fields.get("decision", "")
        data: dict[str, Any] = {"decision": decision, "reason": fields.get("reason", "").strip()}
        if decision == "compensate":
            # A form from before the field was kopecks posts roubles as `amount`: it is ignored, so the
            # decision is refused (no amount) rather than paid a hundredth of what was meant.
            data["amountKopecks"] = kopecks(fields.get("amount_kopecks", ""))
        request_ = convert_form(data, ClaimDecisionRequest)
        decided = await services.run(changer(request), claims.decide_claim, claim_id, request_)
        return see_other(f"/support/orders/{decided.order_id}")

    @post("/customers/{customer_id:str}/bar", status_code=303)
    async def bar(
        self, request: Request[Any, Any, Any], customer_id: CustomerId, services: Services
    ) -> Redirect:
        """Bar the customer from door drops after confirmed fraud."""
        fields = await checked_form(request, services)
        back = order_id_field(fields)
        reason = convert_form({"reason": fields.get("reason", "").strip()}, bars.BarRequest).reason
        await services.run(changer(request), bars.bar_customer, customer_id, reason)
        return see_other(f"/support/orders/{back}")

    @post("/customers/{customer_id:str}/lift", status_code=303)
    async def lift(
        self, request: Request[Any, Any, Any], customer_id: CustomerId, services: Services
    ) -> Redirect:
        """Lift the customer's active bar; the history stays."""
        fields = await checked_form(request, services)
        back = order_id_field(fields)
        await services.run(changer(request), bars.lift_bar, customer_id)
        return see_other(f"/support/orders/{back}")
