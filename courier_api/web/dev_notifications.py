"""`GET /dev/notifications`: what the dev stack's mailbox received; registered only by `courier-api dev`.

The emails as the customer would read them (sender, subject, text, the sign-in link clickable) and the
webhook requests with their signature verdict. It is a page of the local dev stack, bound to 127.0.0.1
and holding only demo data, so it asks for no sign-in; `serve` never registers it (`create_app` adds it
only when handed a mailbox).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Request, Response, get

from courier_api.web.base import PageController
from courier_api.web.rendering import page

if TYPE_CHECKING:
    # The dev stack's packages (aiosmtpd) are an extra that `serve` never needs.
    from infra.devstack.mailbox import DevEmail, DevMailbox

# http(s) links only: the text is the worker's own, but nothing else should become a link.
_LINK = re.compile(r"https?://[^\s<>\"']+")


class TextPart(msgspec.Struct, frozen=True):
    text: str
    link: bool


def text_parts(body: str) -> list[TextPart]:
    """The email text cut into plain runs and links, for the template to escape and link."""
    parts: list[TextPart] = []
    at = 0
    for found in _LINK.finditer(body):
        if found.start() > at:
            parts.append(TextPart(body[at : found.start()], link=False))
        parts.append(TextPart(found.group(), link=True))
        at = found.end()
    if at < len(body):
        parts.append(TextPart(body[at:], link=False))
    return parts


class DevNotificationsPage(PageController):
    path = "/dev/notifications"

    @get("/")
    async def notifications(self, request: Request[Any, Any, Any]) -> Response[str]:
        """Newest first: the emails the SMTP sink took and the webhooks the receiver checked."""
        mailbox: DevMailbox = request.app.state.dev_mailbox
        emails: list[tuple[DevEmail, list[TextPart]]] = [
            (email, text_parts(email.body)) for email in reversed(mailbox.emails)
        ]
        return page(
            "dev_notifications.html",
            emails=emails,
            webhooks=list(reversed(mailbox.webhooks)),
            smtp_sink=mailbox.smtp_port is not None,
            webhook_receiver=mailbox.webhook_url is not None,
        )
