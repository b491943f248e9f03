"""`courier-api`: dev (embedded stack), serve (production), worker (notifications), migrate, token."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, get_args

import msgspec
import uvicorn
from prometheus_client.multiprocess import mark_process_dead
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from courier_api.app import create_app
from courier_api.asgi import store_from_environment
from courier_api.auth import Role, TokenService
from courier_api.components.attestation import DeviceVerifier
from courier_api.demo import DEMO_ACTORS, seed_demo, seed_policies
from courier_api.dev_state import DevState, clear_state, read_state, write_state
from courier_api.logging_setup import configure_logging
from courier_api.metrics import MULTIPROC_ENV
from courier_api.metrics_worker import serve_worker_metrics
from courier_api.notifications.worker import run_worker
from courier_api.simulate.scenarios import SCENARIOS, Scenario
from courier_api.use_cases.maintenance import (
    HousekeepingPolicy,
    apply_retention,
    ensure_partitions,
    full_sweep,
    reconcile,
    run_maintenance_forever,
)
from infra.channels.webhook import new_secret
from infra.database import Database
from infra.devstack import DEVSTACK_INSTALL_HINT, DevStack, missing_devstack_packages
from infra.devstack.stack import create_database
from infra.errors import ConfigError
from infra.migrate import apply_migrations
from infra.settings import ATTESTATION_VARIABLES, Settings, load_settings
from infra.storage import ObjectStore

if TYPE_CHECKING:
    from infra.devstack.mailbox import DevMailbox  # the devstack extra: imported by `dev` only

DEV_BUCKET = "door-drop-evidence-dev"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="courier-api", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    dev = commands.add_parser("dev", help="run everything on a throwaway PostgreSQL and S3 server")
    dev.add_argument("--port", type=int, default=8000)
    serve = commands.add_parser("serve", help="production server, configured by environment variables")
    serve.add_argument("--host", default="0.0.0.0")  # noqa: S104 - production listens on all interfaces
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    commands.add_parser("worker", help="deliver outbox notifications, configured by environment variables")
    commands.add_parser("migrate", help="apply pending SQL migrations to DATABASE_URL")
    reconcile = commands.add_parser(
        "reconcile",
        help="find (and delete) S3 objects of uploads that never committed (the hourly job does this)",
    )
    reconcile.add_argument("--dry-run", action="store_true", help="report orphans without deleting them")
    reconcile.add_argument("--grace-minutes", type=int, default=15, help="ignore objects younger than this")
    reconcile.add_argument(
        "--full-sweep",
        action="store_true",
        help="list the whole bucket instead of the recorded intents (rare: once after upgrading to intents)",
    )
    commands.add_parser(
        "retention", help="delete evidence past EVIDENCE_RETENTION_DAYS (open claims keep it)"
    )
    token = commands.add_parser("token", help="mint a bearer token the running dev server accepts")
    token.add_argument("--role", required=True, choices=get_args(Role))
    token.add_argument("--sub", required=True)
    token.add_argument("--ttl", type=int, default=24 * 3600, help="seconds")
    simulate = commands.add_parser(
        "simulate", help="play a courier against the running dev server: enroll, session, photo, upload"
    )
    simulate.add_argument("--order", help="order id (default: the next demo order still pending)")
    simulate.add_argument("--scenario", choices=SCENARIOS, default="good", help="what the photo gets wrong")
    simulate.add_argument(
        "--customer-claim", action="store_true", help='then open a "not received" claim as the customer'
    )
    args = parser.parse_args(argv)

    try:
        match args.command:
            case "dev":
                return _dev(args.port)
            case "serve":
                return _serve(args.host, args.port, args.workers)
            case "worker":
                return _worker()
            case "reconcile":
                return asyncio.run(_reconcile(args.dry_run, args.grace_minutes, full=args.full_sweep))
            case "retention":
                return asyncio.run(_retention())
            case "migrate":
                return _migrate()
            case "token":
                return _token(args.role, args.sub, args.ttl)
            case "simulate":
                return _simulate(args.scenario, args.order, args.customer_claim)
    except ConfigError as exc:
        print(f"configuration error: {exc.variable}: {exc.problem}", file=sys.stderr)
        return 2
    return 1


def _serve(host: str, port: int, workers: int) -> int:
    settings = load_settings(os.environ)  # fail fast, naming the variable, before any worker starts
    if settings.metrics_port == port:
        raise ConfigError("METRICS_PORT", f"must differ from the API port ({port})")
    # What attestation needs (with DEVICE_ATTESTATION=required, the default, an app to attest; readable
    # root and status files) fails the start here too, before any worker.
    DeviceVerifier.from_settings(settings)
    config = uvicorn.Config(
        "courier_api.asgi:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_config=None,
        proxy_headers=True,
    )
    metrics_on = settings.metrics_port is not None or settings.metrics_token is not None
    with _metrics_directory() if metrics_on else contextlib.nullcontext(None) as directory:
        sockets = [config.bind_socket()]
        if settings.metrics_port is not None:
            # The workers serve both sockets; the app answers only `/metrics` on this one.
            metrics_config = uvicorn.Config(
                config.app, host=settings.metrics_host, port=settings.metrics_port
            )
            sockets.append(metrics_config.bind_socket())
        # What `uvicorn.run` does, with our sockets and our supervisor.
        if workers > 1:
            _Supervisor(config, sockets=sockets, metrics_dir=directory).run()
            return 0
        config.load_app()
        server = uvicorn.Server(config)
        server.run(sockets=sockets)
        return 0 if server.started else STARTUP_FAILURE


@contextlib.contextmanager
def _metrics_directory() -> Iterator[str]:
    """A fresh PROMETHEUS_MULTIPROC_DIR for this server start, handed to the workers, removed after.

    Ours, never one inherited from the environment: files of an earlier run (or of another server)
    would be added into this one's counters.
    """
    directory = tempfile.mkdtemp(prefix="courier-metrics-")
    os.environ[MULTIPROC_ENV] = directory  # the workers inherit the environment
    try:
        yield directory
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(directory, ignore_errors=True)


class _Supervisor(Multiprocess):
    """uvicorn's worker supervisor, telling the metrics when it replaces a worker.

    A dead worker's counters stay in the sums (they are totals); its live gauges (uploads in flight,
    pool connections) must leave them, which is what `mark_process_dead` does.
    """

    def __init__(
        self, config: uvicorn.Config, *, sockets: list[socket.socket], metrics_dir: str | None
    ) -> None:
        super().__init__(config, sockets=sockets)
        self._metrics_dir = metrics_dir

    def keep_subprocess_alive(self) -> None:
        before = self._pids()
        super().keep_subprocess_alive()
        self._mark_dead(before - self._pids())

    def restart_all(self) -> None:
        before = self._pids()
        super().restart_all()
        self._mark_dead(before - self._pids())

    def _pids(self) -> set[int]:
        return {process.pid for process in self.processes if process.pid is not None}

    def _mark_dead(self, pids: set[int]) -> None:
        if self._metrics_dir is not None:
            for pid in pids:
                mark_process_dead(pid, self._metrics_dir)  # type: ignore[no-untyped-call]


def _worker() -> int:
    settings = load_settings(os.environ)
    configure_logging(settings.log_level)
    asyncio.run(_work_until_signalled(settings))
    return 0


async def _work_until_signalled(settings: Settings) -> None:
    # SIGINT/SIGTERM only set the event: the batch being sent finishes and its outcome is recorded.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    db = await Database.connect(settings.database_url, min_size=1, max_size=2)
    async with serve_worker_metrics(settings, db):
        await _work_and_maintain(settings, db, stop, store_from_environment(settings))


async def _work_and_maintain(
    settings: Settings, db: Database, stop: asyncio.Event, store: ObjectStore
) -> None:
    maintenance = asyncio.create_task(
        run_maintenance_forever(
            db,
            store,
            policy=HousekeepingPolicy.from_settings(settings),
            stop=stop,
        )
    )
    try:
        await run_worker(settings, stop)
    finally:
        stop.set()
        await maintenance
        await db.close()


async def _reconcile(dry_run: bool, grace_minutes: int, *, full: bool) -> int:
    settings = load_settings(os.environ)
    db = await Database.connect(settings.database_url, min_size=1, max_size=2)
    store, now, grace = store_from_environment(settings), datetime.now(UTC), timedelta(minutes=grace_minutes)
    try:
        if full:
            swept = await full_sweep(db, store, now=now, grace=grace, delete=not dry_run)
            print(msgspec.json.encode(swept).decode())
            return 0
        report = await reconcile(db, store, now=now, grace=grace, delete=not dry_run)
    finally:
        await db.close()
    print(msgspec.json.encode(report).decode())
    return 1 if report.missing_or_altered else 0


async def _retention() -> int:
    settings = load_settings(os.environ)
    db = await Database.connect(settings.database_url, min_size=1, max_size=2)
    try:
        report = await apply_retention(
            db,
            store_from_environment(settings),
            now=datetime.now(UTC),
            retention=timedelta(days=settings.evidence_retention_days),
        )
    finally:
        await db.close()
    print(msgspec.json.encode(report).decode())
    return 0


def _migrate() -> int:
    settings = load_settings(os.environ)
    applied = asyncio.run(apply_migrations(settings.database_url))
    print(f"applied migrations: {applied or 'none (already up to date)'}")
    created = asyncio.run(_partitions_ahead(settings))
    print(f"partitions created ahead: {created or 'none (already there)'}")
    return 0


async def _partitions_ahead(settings: Settings) -> list[str]:
    # Also done by the worker's hourly round; a deploy creates them too, so a worker that is down at
    # the turn of a month does not leave inserts without a partition.
    db = await Database.connect(settings.database_url, min_size=1, max_size=1)
    try:
        return await ensure_partitions(db, now=datetime.now(UTC))
    finally:
        await db.close()


def _token(role: Role, sub: str, ttl: int) -> int:
    state = read_state()
    secret = os.environ.get("JWT_SECRET") or (state.jwt_secret if state else None)
    if not secret:
        print("no running dev server (.courier-dev/state.json) and no JWT_SECRET set", file=sys.stderr)
        return 2
    print(TokenService(secret).mint(role=role, sub=sub, ttl_s=ttl))
    return 0


def _simulate(scenario: Scenario, order_id: str | None, customer_claim: bool) -> int:
    if importlib.util.find_spec("piexif") is None:
        print(
            f"courier-api simulate renders its photos with the dev stack's packages: {DEVSTACK_INSTALL_HINT}"
        )
        return 2
    state = read_state()
    if state is None:
        print("no running dev server (.courier-dev/state.json): start it with scripts/run", file=sys.stderr)
        return 2
    from courier_api.simulate.courier import Target, run_from_cli  # noqa: PLC0415 - piexif is the devstack extra's

    target = Target(
        base_url=state.base_url,
        jwt_secret=state.jwt_secret,
        jwt_issuer=state.jwt_issuer,
        jwt_audience=state.jwt_audience,
    )
    return run_from_cli(target, scenario=scenario, order_id=order_id, customer_claim=customer_claim)


def _dev(port: int) -> int:
    missing = missing_devstack_packages()
    if missing:
        print(
            f"courier-api dev needs the embedded dev stack ({', '.join(missing)} missing): {DEVSTACK_INSTALL_HINT}",
            file=sys.stderr,
        )
        return 2
    base_url = f"http://127.0.0.1:{port}"
    # A bad setting stops the start naming the variable, before PostgreSQL and S3 are started.
    settings = dev_settings(os.environ, _embedded_placeholders(), base_url=base_url)
    configure_logging(settings.log_level)
    stack = DevStack()
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        stack.start()
        asyncio.run(_dev_serve(stack, port, base_url))
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
        clear_state()
        print("dev stack stopped", file=sys.stderr)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM gets the same orderly shutdown as Ctrl-C."""
    raise KeyboardInterrupt


# What `dev` always takes from its embedded stack, whatever the environment says: a demo must never seed
# (or sign tokens for) a real database or bucket someone's shell happens to point at.
_EMBEDDED = ("DATABASE_URL", "S3_BUCKET", "S3_ENDPOINT_URL", "JWT_SECRET")


def _embedded_placeholders() -> dict[str, str]:
    """Stand-ins for what the stack will provide, so the environment is validated before it starts."""
    return {
        "DATABASE_URL": "postgresql://embedded/courier",
        "S3_BUCKET": DEV_BUCKET,
        "S3_ENDPOINT_URL": "http://127.0.0.1:1",
        "JWT_SECRET": "embedded" * 6,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": "25",
        "WEBHOOK_URL": "http://127.0.0.1:1/hooks/door-drop",
        "WEBHOOK_SECRETS": new_secret(),
    }


def dev_settings(environ: Mapping[str, str], embedded: Mapping[str, str], *, base_url: str) -> Settings:
    """The dev stack's settings: the environment, as `serve` and `worker` read it, over the dev defaults.

    The database, the bucket, the S3 endpoint and the JWT secret are always the embedded ones; channels
    default to the dev mailbox (`embedded` names it) unless SMTP_HOST / WEBHOOK_URL are set.
    """
    merged = dict(environ)
    merged.update({name: embedded[name] for name in _EMBEDDED})
    # Attestation is off for the demo unless DEVICE_ATTESTATION says otherwise; every attestation variable
    # set is honoured, so a dev stack can run exactly as production does (a test PKI, the real app ids).
    merged.setdefault("DEVICE_ATTESTATION", "off")
    merged.setdefault("PUBLIC_BASE_URL", base_url)
    if not environ.get("SMTP_HOST") and "SMTP_HOST" in embedded:
        # The sink speaks plain SMTP on loopback; any SMTP_* left in the environment was for another relay.
        for name in [name for name in merged if name.startswith("SMTP_") and name != "SMTP_FROM"]:
            del merged[name]
        merged.update(SMTP_HOST=embedded["SMTP_HOST"], SMTP_PORT=embedded["SMTP_PORT"], SMTP_TLS="none")
    if not environ.get("WEBHOOK_URL") and "WEBHOOK_URL" in embedded:
        merged.update(WEBHOOK_URL=embedded["WEBHOOK_URL"], WEBHOOK_SECRETS=embedded["WEBHOOK_SECRETS"])
    return load_settings(merged)


def _announce(line: str) -> None:
    print(f"notification: {line}", flush=True)


async def _dev_serve(stack: DevStack, port: int, base_url: str) -> None:
    await create_database(stack.postgres.dsn, "courier")
    database_url = stack.postgres.dsn_for("courier")
    await apply_migrations(database_url)
    from infra.devstack.mailbox import DevMailbox  # noqa: PLC0415 - aiosmtpd is the devstack extra's

    mailbox = DevMailbox(
        webhook_secret=new_secret(),
        announce=_announce,
        smtp=not os.environ.get("SMTP_HOST"),
        webhook=not os.environ.get("WEBHOOK_URL"),
    )
    await mailbox.start()
    embedded = {
        "DATABASE_URL": database_url,
        "S3_BUCKET": DEV_BUCKET,
        "S3_ENDPOINT_URL": stack.s3.endpoint_url,
        "JWT_SECRET": secrets.token_urlsafe(48),
    }
    if mailbox.smtp_port is not None:
        embedded |= {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mailbox.smtp_port)}
    if mailbox.webhook_url is not None:
        embedded |= {"WEBHOOK_URL": mailbox.webhook_url, "WEBHOOK_SECRETS": mailbox.webhook_secret}
    try:
        await _dev_run(stack, port, dev_settings(os.environ, embedded, base_url=base_url), mailbox)
    finally:
        await mailbox.stop()


async def _dev_run(stack: DevStack, port: int, settings: Settings, mailbox: DevMailbox) -> None:
    DeviceVerifier.from_settings(settings)  # a bad attestation variable stops the start here, named
    base_url = settings.public_base_url
    database_url = settings.database_url
    store = ObjectStore.for_settings(settings, stack.s3_credentials)
    await store.ensure_bucket()
    db = await Database.connect(database_url, min_size=1, max_size=2)
    try:
        await seed_policies(db)
        order_ids = await seed_demo(db)
    finally:
        await db.close()
    write_state(
        DevState(
            base_url=base_url,
            database_url=database_url,
            s3_endpoint_url=stack.s3.endpoint_url,
            s3_bucket=DEV_BUCKET,
            jwt_secret=settings.jwt_secret,
            pid=os.getpid(),
            postgres_data_dir=str(stack.postgres.data_dir),
            jwt_issuer=settings.jwt_issuer,
            jwt_audience=settings.jwt_audience,
        )
    )
    tokens = TokenService(settings.jwt_secret, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    lines = [
        f"Door-drop dev server: {base_url}",
        f"OpenAPI UI: {base_url}/schema/swagger",
        f"Demo orders: {', '.join(order_ids)}",
        f"Dev mailbox: {base_url}/dev/notifications",
        "Play the courier: courier-api simulate (in another terminal)",
        "Tokens (valid 24 h):",
    ]
    lines += [
        f"  {role:9} sub={sub:13} {tokens.mint(role=role, sub=sub)}"  # type: ignore[arg-type]
        for role, sub in DEMO_ACTORS.items()
    ]
    print("\n".join(lines), flush=True)
    app = create_app(settings, s3_credentials=stack.s3_credentials, dev_mailbox=mailbox)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False, log_config=None)
    sockets = [config.bind_socket()]
    if settings.metrics_port is not None:
        # As `serve` does: the same app on a second loopback socket, answering only `/metrics`.
        sockets.append(
            uvicorn.Config(app, host=settings.metrics_host, port=settings.metrics_port).bind_socket()
        )
    server = uvicorn.Server(config)
    stop_worker = asyncio.Event()
    worker_db = await Database.connect(database_url, min_size=1, max_size=2)
    worker = asyncio.create_task(_work_and_maintain(settings, worker_db, stop_worker, store))
    try:
        await server.serve(sockets=sockets)
    finally:
        stop_worker.set()
        await worker


def _dev_settings(
    *, database_url: str, s3_endpoint_url: str, public_base_url: str, environ: Mapping[str, str]
) -> Settings:
    """The embedded stack's settings. Attestation is off for the demo unless DEVICE_ATTESTATION says
    otherwise, and every attestation variable set in the environment is honoured, so a dev stack can run
    exactly as production does (a test PKI, the real app ids)."""
    attestation = {name: environ[name] for name in ATTESTATION_VARIABLES if environ.get(name)}
    attestation.setdefault("DEVICE_ATTESTATION", "off")
    return load_settings(
        {
            **attestation,
            "DATABASE_URL": database_url,
            "S3_BUCKET": DEV_BUCKET,
            "S3_ENDPOINT_URL": s3_endpoint_url,
            "JWT_SECRET": secrets.token_urlsafe(48),
            "PUBLIC_BASE_URL": public_base_url,
        }
    )
