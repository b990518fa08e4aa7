"""One typed settings object, from a TOML file and HOMEFLEX_* environment variables (env wins)."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Settings:
    mqtt_url: str | None = None  # none: start a broker on a free loopback port, as mqtt_broker says
    mqtt_broker: str = "auto"  # auto: mosquitto if installed, else embedded amqtt | mosquitto | embedded
    database_url: str = "sqlite:///homeflex-data/homeflex.db"
    vtn_host: str = "127.0.0.1"
    vtn_port: int = 8080
    vtn_url: str = "http://127.0.0.1:8080"  # where VENs and the CLI find the VTN
    poll_interval_s: float = 10.0  # OpenADR 2.0b pull: the VTN asks VENs to poll this often
    report_interval_s: float = 10.0
    households: int = 20
    seed: int = 7
    speed: float = 60.0  # demo: simulated seconds per wall second
    realistic: bool = False  # simulated households on real weather and load shapes (wheels in .cache/)
    metrics_port: int = 9108  # homeflex telemetry serves /metrics here
    # OpenADR over mutual TLS with signed messages: all three files, or none (homeflex.vtn.identity)
    vtn_tls_cert: str | None = None  # the VTN's certificate (PEM), also used to sign
    vtn_tls_key: str | None = None
    vtn_tls_ca: str | None = None  # the CA that issued the VENs' certificates
    # Without TLS any client that reaches the VTN can act as any household: an explicit choice
    # (demo, tests, a trusted network), announced at start (homeflex.vtn.posture).
    allow_insecure_openadr: bool = False
    api_token: str | None = None  # when set, the operator API wants "Authorization: Bearer <token>"
    allow_open_api: bool = False  # the operator API without api_token: an explicit choice too
    oadr3_token_key: str | None = None  # fixed: OpenADR 3.1 bearer tokens outlive a VTN restart
    # OpenADR 3.1 webhooks: comma-separated networks (CIDR) a callbackUrl may reach although loopback,
    # private or link-local; none: only public addresses (homeflex.vtn.oadr3.webhooks)
    oadr3_webhook_allow: str | None = None
    smtp_host: str | None = None  # the portal's outbox goes out here; none: mail stays queued
    smtp_port: int = 25
    mail_from: str = "portal@homeflex.invalid"  # the From of the portal's mail
    # The OCPP 1.6J central system EV chargers connect to (homeflex.drivers.ocpp_central); with a
    # certificate and key it serves TLS (OCPP security profile 2), else plain ws (profile 1)
    ocpp_host: str = "127.0.0.1"
    ocpp_port: int = 9000
    ocpp_tls_cert: str | None = None
    ocpp_tls_key: str | None = None
    # The S2 CEM endpoint that S2 resource managers (heat pumps, batteries) connect to
    # (homeflex.drivers.s2_cem), one per household agent: RMs connect to <endpoint>/s2/<household id>
    # with their device's token; with a certificate and key it serves TLS (wss), else plain ws
    s2_host: str = "127.0.0.1"
    s2_port: int = 9100
    s2_tls_cert: str | None = None
    s2_tls_key: str | None = None
    # The household agent's entities in the household's Home Assistant, by MQTT discovery
    # (homeflex.ven.homeassistant): on the broker at ha_mqtt_url (usually the household's own, which its
    # HA reads; none: the agent's mqtt_url), under HA's discovery prefix.
    ha_discovery: bool = True
    ha_mqtt_url: str | None = None
    ha_discovery_prefix: str = "homeassistant"
    log_level: str = "INFO"
    log_format: str = "text"  # text | json


def _convert(name: str, kind: Any, raw: Any) -> Any:
    text = str(raw)
    if kind in (bool, "bool"):
        if isinstance(raw, bool):
            return raw
        if text.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return text.lower() in ("1", "true", "yes", "on")
        raise ValueError(f"setting {name}: {raw!r} is not true or false")
    try:
        if kind in (int, "int"):
            return int(text)
        if kind in (float, "float"):
            return float(text)
    except ValueError as err:
        raise ValueError(f"setting {name}: {raw!r} is not a {kind}") from err
    return None if kind == "str | None" and text == "" else text


def load_settings(
    path: str | Path | None = None, env: Mapping[str, str] | None = None, **overrides: Any
) -> Settings:
    """Defaults < file (homeflex.toml if present) < HOMEFLEX_<NAME> environment < explicit overrides."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    file = Path(path) if path else Path("homeflex.toml")
    if path and not file.exists():
        raise FileNotFoundError(f"settings file {file} not found")
    if file.exists():
        values.update(tomllib.loads(file.read_text()))
    known = {f.name: f.type for f in fields(Settings)}
    unknown = set(values) - set(known)
    if unknown:
        raise ValueError(
            f"unknown settings in {file}: {', '.join(sorted(unknown))}; known: {', '.join(known)}"
        )
    for name in known:
        if f"HOMEFLEX_{name.upper()}" in env:
            values[name] = env[f"HOMEFLEX_{name.upper()}"]
    values.update({k: v for k, v in overrides.items() if v is not None})
    return replace(Settings(), **{k: _convert(k, known[k], v) for k, v in values.items()})
