"""deploy/: the compose file and the Grafana dashboard, checked as CI can check them.

- `docker compose config` (or docker-compose) validates the compose file where docker is installed;
- without docker, the file is still read: the services, their volumes and what the broker runs with;
  the `homeflex mqtt-access` line the init step runs is parsed by homeflex's own parser and its
  configuration built (so a renamed option fails here, not at a deployment);
- every metric the dashboard queries is one the services export, scraped from the real /metrics of a
  running VTN and a running `homeflex telemetry`;
- the portal calls a VTN behind mutual TLS, as it does in the compose file.
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from homeflex.cli import parser
from homeflex.core.clock import ManualClock
from homeflex.mqtt.broker import free_port, wait_for_port
from homeflex.mqtt.command import broker_config
from homeflex.portal.command import vtn_client_tls
from homeflex.portal.service import PortalService
from homeflex.portal.vtnclient import VtnError
from homeflex.settings import Settings
from homeflex.storage import SQLiteStorage
from homeflex.vtn.service import VtnService
from tests.pki import Pki
from tests.reliability.brokers import Mosquitto
from tests.reliability.helpers import Service

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
ENV = {"POSTGRES_PASSWORD": "test-only", "HOMEFLEX_API_TOKEN": "test-only", "PUBLIC_HOST": "flex.example.org"}


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())  # type: ignore[no-any-return]


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_accepts_the_file() -> None:
    command = _compose_command()
    if command is None:
        pytest.skip("needs docker compose (or docker-compose)")
    done = subprocess.run(
        [*command, "-f", str(DEPLOY / "compose.yaml"), "config", "--quiet"],
        env={**ENV, "PATH": "/usr/bin:/bin:/usr/local/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_the_services_their_volumes_and_the_edge() -> None:
    doc = compose()
    services = doc["services"]
    assert {"vtn", "telemetry", "portal", "mosquitto", "postgres", "init", "grafana"} <= set(services)
    for name in ("vtn", "telemetry", "portal"):
        assert services[name]["stop_grace_period"] == "30s"  # time for the orderly SIGTERM stop
    mounts = {name: [str(v) for v in s.get("volumes", [])] for name, s in services.items()}
    assert "pgdata:/var/lib/postgresql/data" in mounts["postgres"]
    assert "mosquitto-data:/mosquitto/data" in mounts["mosquitto"]
    named = {m.split(":")[0] for ms in mounts.values() for m in ms if not m.startswith(".")}
    assert named <= set(doc["volumes"])
    # Published from the host: TLS only (the broker's 8883, the VTN's mutual TLS, HTTPS), Grafana on
    # loopback; never PostgreSQL, plain MQTT or the portal's plain HTTP.
    published = {str(p) for s in services.values() for p in s.get("ports", [])}
    assert published == {"8883:8883", "8080:8080", "443:443", "80:80", "127.0.0.1:3000:3000"}
    assert services["mosquitto"]["command"] == ["mosquitto", "-c", "/mosquitto/config/mosquitto.conf"]
    assert "mosquitto-config:/mosquitto/config:ro" in mounts["mosquitto"]


def test_the_init_step_writes_the_broker_configuration_homeflex_accepts() -> None:
    script = compose()["services"]["init"]["command"][0].replace("\\\n", " ")
    line = next(x for x in script.splitlines() if x.strip().startswith("homeflex mqtt-access"))
    line = re.sub(r"\$\{PUBLIC_HOST:-localhost\}", ENV["PUBLIC_HOST"], line)
    args = parser().parse_args(shlex.split(line)[1:])
    assert args.out == "/mosquitto/config" and args.tls == "0.0.0.0:8883" and args.pki == "/pki"
    config = broker_config(args, args.out, households=10_000)
    assert [(x.bind, x.port, x.tls is not None) for x in config.listeners] == [
        ("127.0.0.1", 1883, False),
        ("0.0.0.0", 8883, True),
    ]
    assert config.persistence_dir == "/mosquitto/data"
    assert config.max_queued_messages >= 10_000 * 90  # 15 minutes of every meter's readings
    assert "mosquitto" in args.broker_hosts.split(",")  # the name services reach it by


def dashboard_metrics() -> set[str]:
    doc = json.loads((DEPLOY / "grafana" / "dashboards" / "homeflex.json").read_text())
    exprs = [t["expr"] for p in doc["panels"] for t in p["targets"]]
    names = {n for e in exprs for n in re.findall(r"\bhomeflex_[a-z_]+", e)}
    assert names, "the dashboard queries no homeflex metric"
    return names


def exported(text: str) -> set[str]:
    """Sample names the exposition can carry, from its TYPE lines (a labelled counter shows no sample
    until its first increment, but its type is there)."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
    out: set[str] = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M):
        base = name.removesuffix("_total")  # prometheus_client names a counter's TYPE either way
        out |= {base + s for s in suffixes.get(kind, ("",))} | {name}
    return out


async def test_every_metric_on_the_dashboard_is_exported(storage: SQLiteStorage, tmp_path: Path) -> None:
    async def no_settle(event_id: str) -> list[Any]:
        return []

    async with (
        VtnService(storage, ManualClock(NOW), no_settle, port=0) as vtn,
        aiohttp.ClientSession() as http,
        http.get(f"{vtn.url}/metrics") as r,
    ):
        vtn_metrics = exported(await r.text())
    broker = Mosquitto()
    await broker.start()
    port = free_port()
    env = {
        "HOMEFLEX_MQTT_URL": broker.url,
        "HOMEFLEX_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}",
        "HOMEFLEX_METRICS_PORT": str(port),
    }
    telemetry = Service("telemetry", env, tmp_path / "telemetry.log")
    try:
        telemetry.start()
        await wait_for_port(port, 60)
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as r:
            telemetry_metrics = exported(await r.text())
        assert telemetry.terminate() == 0
    finally:
        telemetry.stop()
        await broker.close()
    missing = dashboard_metrics() - vtn_metrics - telemetry_metrics
    assert not missing, f"the dashboard queries metrics no service exports: {sorted(missing)}"


async def test_the_portal_calls_a_vtn_behind_mutual_tls(storage: SQLiteStorage, tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    settings = Settings(
        vtn_tls_cert=str(pki.vtn_tls.cert), vtn_tls_key=str(pki.vtn_tls.key), vtn_tls_ca=str(pki.ca_file)
    )
    clock = ManualClock(NOW)

    async def no_settle(event_id: str) -> list[Any]:
        return []

    async with VtnService(storage, clock, no_settle, port=0, tls=pki.vtn_tls) as vtn:
        assert vtn.url.startswith("https://")
        with_tls = PortalService(storage, clock, vtn.url, port=0, vtn_ssl=vtn_client_tls(settings))
        without = PortalService(storage, clock, vtn.url, port=0)
        try:
            assert await with_tls.portal.vtn.events() == []
            with pytest.raises(VtnError, match="cannot be reached"):
                await without.portal.vtn.events()
        finally:
            await asyncio.gather(with_tls.portal.vtn.close(), without.portal.vtn.close())


def test_the_portal_trusts_exactly_the_https_proxy() -> None:
    services = compose()["services"]
    script = services["portal"]["command"][0].replace("\\\n", " ")
    line = next(x for x in script.splitlines() if "homeflex portal" in x)
    line = line.replace("exec ", "").replace("${PUBLIC_HOST:-localhost}", ENV["PUBLIC_HOST"])
    args = parser().parse_args(shlex.split(line)[1:])
    assert args.trusted_proxy == [services["https"]["networks"]["internal"]["ipv4_address"]]
    assert args.vtn_url == "https://vtn:8080"
