"""What the app holds while it runs: built in the lifespan, never at import time."""

from __future__ import annotations

from dataclasses import dataclass

from courier_api.auth import TokenService
from infra.database import Database
from infra.settings import Settings
from infra.storage import ObjectStore


@dataclass(slots=True)
class AppServices:
    settings: Settings
    db: Database
    store: ObjectStore
    tokens: TokenService
