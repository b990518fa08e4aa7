"""What a benchmark ran on, and its results as a stdout table and a dated markdown section."""

from __future__ import annotations

import math
import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from bench.stats import Summary
from homeflex.core.clock import WallClock
from homeflex.core.timeutil import iso
from homeflex.mqtt.broker import OPEN_CONF, find_mosquitto


@dataclass(frozen=True, kw_only=True)
class Row:
    label: str
    summary: Summary


@dataclass(frozen=True, kw_only=True)
class Conditions:
    date: str
    cpu: str
    python: str
    mosquitto: str
    broker: str
    clients: str

    def lines(self) -> list[str]:
        return [
            f"date: {self.date}",
            f"cpu: {self.cpu}",
            f"python: {self.python}",
            f"mosquitto: {self.mosquitto}",
            f"broker: {self.broker}",
            f"mqtt clients: {self.clients}",
        ]


def cpu_description() -> str:
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    models = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")]
    model = models[0] if models else platform.processor() or "unknown"
    return f"{os.cpu_count()} x {model}"


def mosquitto_version() -> str:
    binary = find_mosquitto()
    if binary is None:
        return "not installed"
    try:
        out = subprocess.run([binary, "-h"], capture_output=True, text=True, timeout=5, check=False).stdout
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"{binary}: {err}"
    return out.splitlines()[0].strip() if out else binary


def broker_description(mqtt_url: str | None, started_url: str) -> str:
    if mqtt_url:
        return f"given {started_url}: its config is unknown here (the system broker sets no set_tcp_nodelay)"
    nodelay = "set_tcp_nodelay true" in OPEN_CONF
    return f"private mosquitto at {started_url}, set_tcp_nodelay {'true' if nodelay else 'false'}"


def conditions(mqtt_url: str | None, started_url: str) -> Conditions:
    return Conditions(
        date=iso(WallClock().now().replace(microsecond=0)),
        cpu=cpu_description(),
        python=f"{platform.python_implementation()} {platform.python_version()}",
        mosquitto=mosquitto_version(),
        broker=broker_description(mqtt_url, started_url),
        clients=f"aiomqtt {metadata.version('aiomqtt')}, paho-mqtt {metadata.version('paho-mqtt')}, "
        "TCP_NODELAY, QoS 1, MQTT 3.1.1",
    )


def ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.2f}"


def factor(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.2f}x"


def table(rows: Sequence[Row]) -> str:
    width = max(len(r.label) for r in rows)
    head = f"{'measure':<{width}}  {'count':>6}  {'p50 ms':>8}  {'p99 ms':>8}  {'max ms':>8}"
    body = [
        f"{r.label:<{width}}  {r.summary.count:>6}  {ms(r.summary.p50_s):>8}  {ms(r.summary.p99_s):>8}  "
        f"{ms(r.summary.max_s):>8}"
        for r in rows
    ]
    return "\n".join([head, "-" * len(head), *body])


def markdown_table(rows: Sequence[Row]) -> str:
    lines = ["| measure | count | p50 ms | p99 ms | max ms |", "|---|---:|---:|---:|---:|"]
    for r in rows:
        s = r.summary
        lines.append(f"| {r.label} | {s.count} | {ms(s.p50_s)} | {ms(s.p99_s)} | {ms(s.max_s)} |")
    return "\n".join(lines)


RESULTS_HEADER = """# Benchmark results

Sections are appended by `python -m bench <name>`, newest last; each states the conditions it ran under.
"""


def append_section(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else RESULTS_HEADER
    path.write_text(text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n")
