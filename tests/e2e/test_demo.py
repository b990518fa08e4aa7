"""The README's first command, shrunk: the demo runs end to end and its report comes from storage."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from homeflex.demo import demo_start, format_report, run_demo
from homeflex.settings import Settings


def test_demo_starts_on_a_weekday_evening_after_today() -> None:
    friday = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    start = demo_start(friday)
    assert start.weekday() == 0  # the next weekday after a Friday is Monday
    assert (start.hour, start.minute) == (17, 15)
    assert start > friday


async def test_demo_runs_end_to_end() -> None:
    # Its own broker, as the README's command does: the demo's hh001.. must not meet other runs' meters.
    settings = Settings(mqtt_url=None, households=6, seed=11, speed=240.0)
    status = await run_demo(settings, wall_now=datetime.now(UTC))
    targets = status["targets"]
    assert len(targets) == 6
    assert status["totals"]["no_response"] == 0
    assert all(t["settlement"] is not None for t in targets)
    opted_in = [t for t in targets if t["opt_type"] == "optIn"]
    paid = sum(Decimal(t["settlement"]["payment_gbp"]) for t in targets)
    assert Decimal(status["totals"]["payment_gbp"]) == paid
    assert all(Decimal(t["settlement"]["payment_gbp"]) == 0 for t in targets if t["opt_type"] != "optIn")
    assert status["acks"] >= len(opted_in)  # every opted-in household commanded at least one device
    assert status["ingest"]["rejected"] == 0
    # The community mixes the protocols real products speak, and the table says which each device used.
    used = {wire.split(":")[1] for devices in status["devices"].values() for wire in devices.split()}
    assert {"ocpp", "homeflex"} <= used and used & {"shelly", "tasmota", "zigbee2mqtt"}
    report = format_report(status)
    assert "Totals:" in report
    assert "ev:ocpp" in report
    assert "heat_pump:s2" in report  # an S2 resource manager connected to its household's CEM endpoint
    assert all(t["household_id"] in report for t in targets)
