"""Controllers per audience. Handlers decode a struct, call one use case, return a struct."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from courier_api.controllers.admin import AdminPoliciesController
from courier_api.controllers.courier import CourierController
from courier_api.controllers.customer import CustomerController
from courier_api.controllers.eligibility import EligibilityController
from courier_api.controllers.health import HealthController
from courier_api.controllers.reports import ReportsController
from courier_api.controllers.service import ServiceOrdersController
from courier_api.controllers.support import SupportController
from courier_api.controllers.support_outbox import SupportOutboxController

JSON_HANDLERS: list[ControllerRouterHandler] = [
    HealthController,
    ServiceOrdersController,
    EligibilityController,
    CourierController,
    AdminPoliciesController,
    SupportOutboxController,
    CustomerController,
    SupportController,
    ReportsController,
]
