"""Server-rendered pages: the customer's order page, support's order page, the admin's incident chart.

Controllers here turn HTML forms into the same use cases the JSON API calls; templates and the one
stylesheet live next to them. Errors on pages are HTML; the JSON API keeps problem+json.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Response
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from courier_api.web.admin import AdminPages
from courier_api.web.customer import CustomerPages
from courier_api.web.dev_notifications import DevNotificationsPage
from courier_api.web.session import SessionPages
from courier_api.web.support import SupportPages

STATIC_DIR = Path(__file__).parent / "static"


async def _nosniff(response: Response[object]) -> Response[object]:
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def web_handlers(*, dev_mailbox: bool = False) -> list[ControllerRouterHandler]:
    """The page controllers and the stylesheet they link (served at /static/); the dev mailbox page on request."""
    static = create_static_files_router(path="/static", directories=[STATIC_DIR], after_request=_nosniff)
    handlers: list[ControllerRouterHandler] = [CustomerPages, SupportPages, AdminPages, SessionPages, static]
    return [*handlers, DevNotificationsPage] if dev_mailbox else handlers
