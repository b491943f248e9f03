"""Repositories: all SQL lives here. Explicit columns, $n parameters, rows converted to structs."""

from __future__ import annotations

from functools import cached_property

from infra.repositories.connection import Connection
from infra.repositories.orders import OrderRepository


class UnitOfWork:
    """The repositories bound to one transaction. Never commits: the caller's block does."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @cached_property
    def orders(self) -> OrderRepository:
        return OrderRepository(self._conn)
