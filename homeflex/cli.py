"""The `homeflex` command: demo, vtn, ven, sim, telemetry, settle, profile, simulate."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import uuid
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from homeflex.core.clock import WallClock
from homeflex.core.logs import configure_logging
from homeflex.core.shutdown import serve, until_stopped
from homeflex.core.timeutil import LONDON, iso
from homeflex.settings import Settings, load_settings

if TYPE_CHECKING:
    from homeflex.mqtt import MqttSession
    from homeflex.mqtt.access import Rules
    from homeflex.storage import Storage

log = logging.getLogger("homeflex")


async def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from homeflex.core.clock import WallClock
    from homeflex.demo import format_report, run_demo
    from homeflex.sim.realdata.wheels import MissingWheelError

    try:
        status = await run_demo(settings, wall_now=WallClock().now())
    except MissingWheelError as err:
        print(f"homeflex demo --realistic: {err}", file=sys.stderr)
        return 2
    print(format_report(status))
    return 0


async def cmd_vtn(settings: Settings, args: argparse.Namespace) -> int:
    from homeflex.settlement.settler import settle_event
    from homeflex.storage import open_storage
    from homeflex.storage.records import SettlementRecord
    from homeflex.vtn.oadr3 import Oadr3Service
    from homeflex.vtn.paymentnotice import notify_payments
    from homeflex.vtn.poll import favour_database_thread
    from homeflex.vtn.posture import posture
    from homeflex.vtn.service import VtnService

    try:
        trust = posture(settings)  # TLS and the API token, or the explicit choice to go without
    except ValueError as err:
        print(f"homeflex vtn: {err}", file=sys.stderr)
        return 2
    trust.announce()
    favour_database_thread()  # a VTN process of its own: see homeflex/vtn/poll.py
    clock = WallClock()
    storage = await open_storage(settings.database_url)
    key = settings.oadr3_token_key.encode() if settings.oadr3_token_key else None
    oadr3 = Oadr3Service(  # 3.1 under /openadr3
        storage, clock, mqtt_url=settings.mqtt_url, token_key=key, webhooks=trust.webhooks
    )
    payments = await _payments_session(settings)
    try:

        async def settle(event_id: str) -> list[SettlementRecord]:
            records = await settle_event(storage, event_id, clock.now())
            if payments is not None:  # each settled household's agent hears its month's total

                async def publish(topic: str, payload: bytes) -> None:
                    await payments.publish(topic, payload, retain=True, timeout=5)

                await notify_payments(storage, publish, [r.household_id for r in records], clock.now())
            return records

        async with VtnService(
            storage,
            clock,
            settle,
            host=settings.vtn_host,
            port=settings.vtn_port,
            poll_interval=timedelta(seconds=settings.poll_interval_s),
            report_interval=timedelta(seconds=settings.report_interval_s),
            oadr3=oadr3,
            tls=trust.tls,
            api_token=trust.api_token,
        ):
            await until_stopped()
    finally:
        if payments is not None:
            await payments.__aexit__(None, None, None)
        await storage.close()
    return 0


async def _payments_session(settings: Settings) -> MqttSession | None:
    """The VTN's connection for settled payments (vtn/paymentnotice.py); None without a broker,
    or when it cannot be reached now (settlements then reach the households' agents at the next)."""
    from homeflex.mqtt import MqttSession, MqttUnavailable
    from homeflex.vtn.paymentnotice import PAYMENTS_PART

    if not settings.mqtt_url:
        return None
    session = MqttSession(settings.mqtt_url, f"vtn-payments-{uuid.uuid4().hex[:8]}", part=PAYMENTS_PART)
    try:
        return await session.__aenter__()
    except MqttUnavailable as err:
        log.warning("vtn: households' payments are not sent to their agents: %s", err)
        return None


async def cmd_telemetry(settings: Settings, args: argparse.Namespace) -> int:
    from homeflex.metering.ingest import Ingestor
    from homeflex.storage import open_storage

    if not settings.mqtt_url:
        print("homeflex telemetry needs HOMEFLEX_MQTT_URL (mqtt://host:port)", file=sys.stderr)
        return 2
    from aiohttp import web

    from homeflex.metrics import metrics_handler

    storage = await open_storage(settings.database_url)
    app = web.Application()
    app.router.add_get("/metrics", metrics_handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.vtn_host, settings.metrics_port).start()
    try:
        # Persistent: readings queue at the broker while this process is down; acked once stored.
        async with Ingestor(storage, WallClock(), settings.mqtt_url, persistent=True) as ingestor:
            await until_stopped()
    finally:
        await runner.cleanup()
        await storage.close()
    counted = ingestor.counters
    log.info("telemetry: %d readings stored, %d rejected in this run", counted.stored, counted.rejected)
    return 0


def _population(settings: Settings) -> list:  # type: ignore[type-arg]
    from homeflex.sim.population import make_population

    return make_population(settings.households, settings.seed, realistic=settings.realistic)


async def cmd_ven(settings: Settings, args: argparse.Namespace) -> int:
    """The household agent: its configuration from the platform (or a file), its drivers' shared
    services, the control loop following each new configuration version, and the VEN."""
    from pathlib import Path

    from homeflex.control.loop import HouseholdController
    from homeflex.core.strict import ConfigError
    from homeflex.drivers import DriverServices
    from homeflex.household.follow import ConfigFollower, NoConfiguration, agent_config, protocols_of
    from homeflex.mqtt import MqttUnavailable
    from homeflex.ven.agent import VenAgent
    from homeflex.ven.homeassistant import HA_PART, HomeAssistantBridge
    from homeflex.ven.tls import VenTls

    if not settings.mqtt_url:
        print("homeflex ven needs HOMEFLEX_MQTT_URL (mqtt://host:port)", file=sys.stderr)
        return 2
    try:
        config = await agent_config(settings.mqtt_url, args.household, args.household_config)
    except ConfigError as err:
        print(f"homeflex ven: invalid household configuration: {err}", file=sys.stderr)
        return 2
    except (NoConfiguration, MqttUnavailable) as err:
        print(f"homeflex ven: {err}", file=sys.stderr)
        return 2
    hh = config.household_id
    clock = WallClock()
    tls = VenTls.from_folder(Path(args.pki), hh) if args.pki else None
    push = None
    if args.push:  # HOST:PORT the VTN pushes to; https with the VEN's certificate under --pki
        host, _, port = args.push.rpartition(":")
        if not host or not port.isdigit():
            print(f"--push wants HOST:PORT, got {args.push!r}", file=sys.stderr)
            return 2
        push = (host, int(port))
    protocols = protocols_of(config)
    log.info("household %s: configuration v%d over %s", hh, config.version, ", ".join(sorted(protocols)))
    async with (
        DriverServices(settings, protocols) as services,
        HouseholdController(config, clock, settings.mqtt_url, services=services.running) as controller,
        ConfigFollower(controller, services),
        VenAgent(controller, clock, f"{settings.vtn_url}/OpenADR2/Simple/2.0b", tls=tls, push=push) as ven,
        contextlib.AsyncExitStack() as extras,
    ):
        if settings.ha_discovery:  # on the platform broker it logs in as <household>.ha
            own = settings.ha_mqtt_url not in (None, settings.mqtt_url)
            bridge = HomeAssistantBridge(
                ven,
                settings.ha_mqtt_url or settings.mqtt_url,
                prefix=settings.ha_discovery_prefix,
                part=None if own else HA_PART,
            )
            try:
                await extras.enter_async_context(bridge)
            except MqttUnavailable as err:  # the agent runs on without it (e.g. an ACL without <hh>.ha)
                log.warning("household %s: Home Assistant discovery off: %s", hh, err)
        await until_stopped()
    return 0


async def cmd_sim(settings: Settings, args: argparse.Namespace) -> int:
    from homeflex.household.follow import publish_configs
    from homeflex.scenarios.setup import household_config_for
    from homeflex.sim.devices import run_population

    if not settings.mqtt_url:
        print("homeflex sim needs HOMEFLEX_MQTT_URL (mqtt://host:port)", file=sys.stderr)
        return 2
    population = _population(settings)
    # Each simulated household's configuration, retained as the portal sends a real one's, so that
    # `homeflex ven --household hh001` runs it as it would run a real home.
    await publish_configs(settings.mqtt_url, [household_config_for(c) for c in population])
    async with run_population(population, WallClock(), settings.mqtt_url):
        await until_stopped()
    return 0


async def cmd_settle(settings: Settings, args: argparse.Namespace) -> int:
    from homeflex.settlement.settler import settle_event, settle_period
    from homeflex.storage import open_storage

    if (args.event_id is None) == (args.period_from is None or args.period_to is None):
        print(
            "homeflex settle: give an event id, or --from and --to (UK dates, e.g. 2026-11-01)",
            file=sys.stderr,
        )
        return 2
    storage = await open_storage(settings.database_url)
    try:
        now = WallClock().now()
        if args.event_id is not None:
            written = await settle_event(storage, args.event_id, now)
        else:
            start, end = (
                datetime.combine(date.fromisoformat(d), time(), LONDON)
                for d in (args.period_from, args.period_to)
            )
            written = await settle_period(storage, start, end, now)
        for s in written:
            print(
                f"{s.household_id} v{s.version} {s.status} "
                f"delivered {s.delivered_kwh:.3f} kWh £{s.payment_gbp}"
            )
        print(f"{len(written)} new settlement version(s)")
    except (LookupError, ValueError) as err:
        print(f"homeflex settle: {err}", file=sys.stderr)
        return 2
    finally:
        await storage.close()
    return 0


async def cmd_reconcile(settings: Settings, args: argparse.Namespace) -> int:
    from homeflex.ledger.books import reconcile_books
    from homeflex.storage import open_storage

    storage = await open_storage(settings.database_url)
    try:
        result = await reconcile_books(storage)
    finally:
        await storage.close()
    for account, balance in sorted(result.balances.items()):
        print(f"{account:<30}{balance:>12}")
    for problem in result.problems:
        print(f"PROBLEM: {problem}")
    print("the books balance" if result.ok else f"{len(result.problems)} problem(s)")
    return 0 if result.ok else 1


async def cmd_statement(settings: Settings, args: argparse.Namespace) -> int:
    from homeflex.ledger.books import household_statement
    from homeflex.ledger.statements import render_text
    from homeflex.storage import open_storage

    storage = await open_storage(settings.database_url)
    try:
        if await storage.get_household(args.household) is None:
            print(f"unknown household {args.household!r}", file=sys.stderr)
            return 2
        statement = await household_statement(storage, args.household, args.month)
    except ValueError as err:
        print(f"homeflex statement: {err}", file=sys.stderr)
        return 2
    finally:
        await storage.close()
    print(render_text(statement))
    return 0


async def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from homeflex.metering.importer import import_intervals, rejected_rows
    from homeflex.metering.validate import ReadingRejected
    from homeflex.storage import open_storage

    now = WallClock().now()
    try:
        text = await asyncio.to_thread(Path(args.file).read_text)
        result = import_intervals(args.household, text, received_at=now, timezone=args.timezone)
    except (OSError, ReadingRejected, ValueError) as err:
        print(f"homeflex import-readings: {err}", file=sys.stderr)
        return 2
    storage = await open_storage(settings.database_url)
    try:
        if await storage.get_household(args.household) is None:
            print(f"unknown household {args.household!r}: enrol it first", file=sys.stderr)
            return 2
        stored = await storage.insert_readings(result.readings, now)
        await storage.insert_rejected(rejected_rows(result, args.household, args.file, now))
    finally:
        await storage.close()
    print(
        f"{result.intervals} intervals -> {stored} new readings; {result.duplicates} duplicate rows; "
        f"{len(result.rejected)} rejected"
    )
    for line, why in result.rejected[:20]:
        print(f"  line {line}: {why.reason}: {why.message}")
    return 0


async def cmd_profile(settings: Settings, args: argparse.Namespace) -> int:
    from homeflex.core.timeutil import parse_utc
    from homeflex.storage import CorruptRecordError, open_storage

    try:
        as_of = parse_utc(args.as_of) if getattr(args, "as_of", None) else None
    except ValueError as err:
        print(f"homeflex profile: --as-of: {err}", file=sys.stderr)
        return 2
    if getattr(args, "publish", False) and not settings.mqtt_url:
        print("homeflex profile learn --publish needs HOMEFLEX_MQTT_URL (mqtt://host:port)", file=sys.stderr)
        return 2
    storage = await open_storage(settings.database_url)
    try:
        if args.profile_command == "learn":
            return await _profile_learn(
                storage, args.household, as_of, settings.mqtt_url if args.publish else None
            )
        return await _profile_show(storage, args.household_id)
    except (LookupError, CorruptRecordError) as err:
        print(f"homeflex profile: {err}", file=sys.stderr)
        return 2
    finally:
        await storage.close()


async def _profile_learn(
    storage: Storage, household_id: str | None, as_of: datetime | None, publish_to: str | None
) -> int:
    from homeflex.profiles.job import learn_all, learn_and_store, publish_profiles

    now = WallClock().now()
    as_of = as_of or now
    if household_id is not None:
        records, failed = [await learn_and_store(storage, household_id, as_of, learned_at=now)], {}
    else:
        result = await learn_all(storage, as_of, learned_at=now)
        records, failed = result.records, result.failed
    for r in records:
        state = "new" if r.learned_at == now else f"unchanged since {iso(r.learned_at)}"
        ready = "ready" if r.ready else "not ready: " + "; ".join(r.reasons)
        print(f"{r.household_id} v{r.version} ({state}): {ready}")
    for failed_id, why in failed.items():
        print(f"{failed_id}: FAILED: {why}")
    if publish_to:
        await publish_profiles(publish_to, records)
        print(f"published {len(records)} profiles to the households' control loops ({publish_to})")
    return 1 if failed else 0


async def _profile_show(storage: Storage, household_id: str) -> int:
    from homeflex.profiles.job import profile_summary, stored_profile

    if await storage.get_household(household_id) is None:
        raise LookupError(f"unknown household {household_id!r}")
    record = await storage.latest_profile(household_id)
    if record is None:
        print(
            f"homeflex profile: household {household_id!r} has no learned profile yet;"
            " run `homeflex profile learn`",
            file=sys.stderr,
        )
        return 1
    profile = stored_profile(record)
    print(
        f"{household_id} profile v{record.version}, learned {iso(record.learned_at)}"
        f" from data before {iso(record.as_of)}"
    )
    print("READY for stage 2" if record.ready else "NOT READY: stays in stage 1 (manual)")
    for reason in record.reasons:
        print(f"  - {reason}")
    for line in profile_summary(profile):
        print(f"  {line}")
    return 0


async def cmd_mqtt_access(settings: Settings, args: argparse.Namespace) -> int:
    """The broker's files (mqtt/command.py) for the enrolled households, the services and the VTN's
    OpenADR 3.1 clients, with the broker's certificate from the community CA when --pki names it."""
    from pathlib import Path

    from homeflex.mqtt.access import SERVICES
    from homeflex.mqtt.command import BROKER_TLS_FILES, write_all
    from homeflex.vtn.identity import issue_broker_certificate

    households, oadr3 = await _broker_accounts(settings, args.ids)
    hosts = [h for h in args.broker_hosts.split(",") if h]

    def certificate(out: Path) -> None:
        issue_broker_certificate(Path(args.pki), out, WallClock().now(), hosts=hosts, files=BROKER_TLS_FILES)

    try:
        print(write_all(Path(args.out), households, args, {**SERVICES, **oadr3}, certificate=certificate))
    except (ValueError, RuntimeError, OSError) as err:
        print(f"homeflex mqtt-access: {err}", file=sys.stderr)
        return 2
    return 0


async def _broker_accounts(settings: Settings, ids: list[str] | None) -> tuple[list[str], dict[str, Rules]]:
    """The households and the OpenADR 3.1 clients that get broker logins: ``ids`` (no 3.1 client then,
    the database is not read), else every enrolled household and every provisioned client."""
    from homeflex.core.domain import household_id_problem
    from homeflex.mqtt.access import is_username
    from homeflex.storage import open_storage
    from homeflex.vtn.oadr3.broker_access import acl_rules, client_rules
    from homeflex.vtn.oadr3.service import DEFAULT_TOPIC_PREFIX

    if ids:
        return ids, acl_rules(DEFAULT_TOPIC_PREFIX, {})
    storage = await open_storage(settings.database_url)
    try:
        households = [h.id for h in await storage.list_households()]
        oadr3 = await client_rules(storage, DEFAULT_TOPIC_PREFIX)
    finally:
        await storage.close()
    # Ids stored before they were checked at enrolment must not stop everyone else's credentials.
    for bad in [h for h in households if household_id_problem(h)]:
        print(f"homeflex mqtt-access: skipped: {household_id_problem(bad)}", file=sys.stderr)
    for client in [c for c in oadr3 if not is_username(c)]:
        print(f"homeflex mqtt-access: skipped 3.1 client {client!r}: not a username", file=sys.stderr)
        del oadr3[client]
    return [h for h in households if not household_id_problem(h)], oadr3


async def cmd_oadr3_client(settings: Settings, args: argparse.Namespace) -> int:
    """Provision an OpenADR 3.1 OAuth2 client; prints its secret once (only a hash is stored)."""
    from homeflex.storage import open_storage
    from homeflex.vtn.oadr3 import provision_client

    storage = await open_storage(settings.database_url)
    try:
        print(await provision_client(storage, WallClock(), args.id, args.role))
    except ValueError as err:
        print(f"homeflex oadr3-client: {err}", file=sys.stderr)
        return 2
    finally:
        await storage.close()
    return 0


async def cmd_provision_vens(settings: Settings, args: argparse.Namespace) -> int:
    from homeflex.vtn.provision import cmd_provision_vens as run

    return await run(settings, args)


async def cmd_portal(settings: Settings, args: argparse.Namespace) -> int:
    from homeflex.portal.command import cmd_portal as run

    return await run(settings, args)


# Long-running: SIGTERM and SIGINT stop them in order and they exit 0 (homeflex/core/shutdown.py).
SERVICE_COMMANDS = frozenset({"vtn", "telemetry", "portal", "ven", "sim"})

COMMANDS = {
    "demo": (cmd_demo, "run the community demo: broker, VTN, 20 households, one flex event, settlement"),
    "vtn": (cmd_vtn, "run the VTN (OpenADR 2.0b and 3.1) and the operator API"),
    "ven": (cmd_ven, "run one household's VEN and control loop"),
    "sim": (cmd_sim, "run simulated households' devices over MQTT"),
    "telemetry": (cmd_telemetry, "ingest meter readings from MQTT into storage"),
    "settle": (cmd_settle, "settle an event from stored readings"),
    "reconcile": (cmd_reconcile, "check that the ledger balances and matches the settlements"),
    "statement": (cmd_statement, "a household's monthly statement with the evidence per event"),
    "import-readings": (cmd_import, "import a household's interval meter data (CSV: start,value kWh)"),
    "profile": (cmd_profile, "learn households' stage-1 profiles, or show one with its readiness"),
    "mqtt-access": (
        cmd_mqtt_access,
        "write the broker's mosquitto.conf, credentials and ACL for every household and service",
    ),
    "oadr3-client": (cmd_oadr3_client, "provision an OpenADR 3.1 client (a household's VEN or the DSO's BL)"),
    "portal": (cmd_portal, "serve the customer portal and operator console (or add an operator/installer)"),
    "provision-vens": (cmd_provision_vens, "issue the CA, the VTN's and households' VEN certificates (TLS)"),
}


def household_id(text: str) -> str:
    """argparse type for a household id: refused where it enters, with the reason."""
    from homeflex.core.domain import household_id_problem

    if problem := household_id_problem(text):
        raise argparse.ArgumentTypeError(problem)
    return text


def household_ids(text: str) -> list[str]:
    return [household_id(h.strip()) for h in text.split(",") if h.strip()]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="homeflex", description=__doc__)
    p.add_argument("--config", help="settings file (TOML); default ./homeflex.toml if present")
    sub = p.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        s = sub.add_parser(name, help=help_text)
        if name == "ven":
            s.add_argument(
                "--household",
                type=household_id,
                help="household id, e.g. hh001: its configuration is read from the broker",
            )
            s.add_argument(
                "--config",
                dest="household_config",
                metavar="FILE",
                help="the household's configuration (TOML or JSON) instead of the portal's",
            )
            s.add_argument("--pki", help="OpenADR over TLS with the files of `homeflex provision-vens`")
            s.add_argument(
                "--push",
                metavar="HOST:PORT",
                help="serve an OpenADR push endpoint there (https with --pki) and ask the VTN to push",
            )
        if name == "provision-vens":
            from homeflex.vtn.provision import add_arguments as provision_arguments

            provision_arguments(s)
        if name == "settle":
            s.add_argument("event_id", nargs="?", help="one event; or settle a period with --from/--to")
            s.add_argument(
                "--from", dest="period_from", help="first UK date of the period (events ending in it)"
            )
            s.add_argument("--to", dest="period_to", help="the UK date after the period")
        if name == "statement":
            s.add_argument("--household", required=True, type=household_id)
            s.add_argument("--month", required=True, help="YYYY-MM")
        if name == "import-readings":
            s.add_argument("--household", required=True, type=household_id)
            s.add_argument(
                "--timezone",
                default="UTC",
                choices=["UTC", "Europe/London"],
                help="how to read times without an offset (default UTC settlement periods)",
            )
            s.add_argument("file")
        if name == "profile":
            _profile_parser(s)
        if name == "mqtt-access":
            from homeflex.mqtt.command import add_arguments as mqtt_access_arguments

            mqtt_access_arguments(s, household_ids)
        if name == "portal":
            from homeflex.portal.command import add_arguments as portal_arguments

            portal_arguments(s)
        if name == "oadr3-client":
            s.add_argument("--id", required=True, help="the client id, e.g. ven-hh001")
            s.add_argument("--role", required=True, choices=["ven", "bl"], help="a VEN or business logic")
        if name == "demo":
            s.add_argument("--households", type=int, help="number of households (default 20)")
            s.add_argument("--speed", type=float, help="simulated seconds per wall second (default 60)")
            s.add_argument(
                "--realistic",
                action="store_true",
                default=None,
                help="real London weather and UK load shapes (needs the wheels the README's test "
                "command fetches)",
            )
    _simulate_parser(
        sub.add_parser(
            "simulate",
            help="run a community scenario in simulated time and compare how each customer category fares",
        )
    )
    return p


def _simulate_parser(s: argparse.ArgumentParser) -> None:
    from homeflex.scenarios.command import add_arguments  # the simulator itself loads only when run

    add_arguments(s)


def _profile_parser(s: argparse.ArgumentParser) -> None:
    actions = s.add_subparsers(dest="profile_command", required=True)
    learn = actions.add_parser(
        "learn", help="learn from stored readings; stores a version if anything changed"
    )
    learn.add_argument(
        "--household", type=household_id, help="one household (default: every registered household)"
    )
    learn.add_argument("--as-of", help="learn from readings before this ISO time with offset (default now)")
    learn.add_argument(
        "--publish", action="store_true", help="send each profile to its control loop (needs mqtt_url)"
    )
    show = actions.add_parser("show", help="the latest profile: readiness with reasons, and a summary")
    show.add_argument("household_id", type=household_id)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "simulate":  # synchronous: Ctrl-C must reach the pool loop, not an event loop
        from homeflex.scenarios.command import simulate

        return simulate(args)
    try:
        settings = load_settings(
            args.config,
            households=getattr(args, "households", None),
            speed=getattr(args, "speed", None),
            realistic=getattr(args, "realistic", None),
        )
    except (ValueError, FileNotFoundError) as err:
        print(f"homeflex: {err}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    handler = COMMANDS[args.command][0]
    main_coroutine = handler(settings, args)
    if args.command in SERVICE_COMMANDS and not _one_shot(args):
        main_coroutine = serve(args.command, main_coroutine)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(main_coroutine)
    return 130


def _one_shot(args: argparse.Namespace) -> bool:
    """`homeflex portal --add-operator`: a one-off task, not a service (Ctrl-C interrupts it)."""
    return bool(getattr(args, "add_operator", None) or getattr(args, "add_installer", None))
