"""Browser sessions in PostgreSQL: opened, looked up, expired, revoked and purged by the hourly job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from courier_api.auth import Principal
from courier_api.use_cases import web_sessions
from courier_api.use_cases.maintenance import forget_ended_web_sessions
from courier_api.use_cases.web_sessions import NeedsConfirmation, Started
from infra.database import Database
from tests.factories import new_id


async def start(db: Database, principal: Principal, *, at: datetime, lasts: timedelta) -> str:
    async with db.transaction() as uow:
        outcome = await web_sessions.sign_in(
            uow,
            principal,
            expires_at=(at + lasts).timestamp(),
            now=at,
            session_id=None,
            confirmed_replacing=None,
        )
    assert isinstance(outcome, Started)
    return outcome.session_id


async def live(db: Database, session_id: str, at: datetime) -> Principal | None:
    async with db.read() as uow:
        return await web_sessions.current(uow, session_id, now=at)


async def test_a_session_lives_until_its_token_expires_or_it_is_revoked_then_is_purged(db: Database) -> None:
    now = datetime.now(UTC)
    link = Principal(role="customer", sub=new_id("cust"), order_scope=new_id())
    session_id = await start(db, link, at=now, lasts=timedelta(hours=1))
    assert await live(db, session_id, now) == link
    assert await live(db, session_id, now + timedelta(hours=1, seconds=1)) is None
    assert await live(db, session_id + "x", now) is None

    agent = Principal(role="support", sub=new_id("agent"))
    agent_session = await start(db, agent, at=now, lasts=timedelta(hours=8))
    async with db.transaction() as uow:
        asked = await web_sessions.sign_in(
            uow,
            link,
            expires_at=(now + timedelta(hours=1)).timestamp(),
            now=now,
            session_id=agent_session,
            confirmed_replacing=None,
        )
    assert asked == NeedsConfirmation(current=agent)
    async with db.transaction() as uow:
        assert await web_sessions.sign_out(uow, agent_session, now=now) is True
        assert await web_sessions.sign_out(uow, agent_session, now=now) is False
    assert await live(db, agent_session, now) is None

    purged = await forget_ended_web_sessions(db, now=now + timedelta(hours=9))
    assert purged >= 2
    async with db.transaction() as uow:
        # Never revoked, so only its deletion makes the revocation find nothing.
        assert await web_sessions.sign_out(uow, session_id, now=now) is False
