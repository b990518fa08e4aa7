"""Which MQTT broker runs: a configured URL, else mosquitto on a free port, else embedded amqtt."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from homeflex.core.redact import redact_url
from homeflex.mqtt.access import write_access_files
from homeflex.mqtt.brokerconf import BrokerConfig, Listener, config_text, queue_limit

log = logging.getLogger(__name__)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_mosquitto() -> str | None:
    return shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")


async def wait_for_port(port: int, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                await writer.wait_closed()
                return
            except OSError:
                await asyncio.sleep(0.05)


# Anonymous (no passwords given): the developer's and the demo's broker, on loopback only.
OPEN_CONF = """\
listener {port} 127.0.0.1
allow_anonymous true
set_tcp_nodelay true
persistence false
max_queued_messages 100000
log_dest stderr
log_type error
log_type warning
"""


@asynccontextmanager
async def mosquitto(binary: str, passwords: Mapping[str, str] | None = None) -> AsyncIterator[str]:
    """A private mosquitto on a free loopback port, stopped on exit. With ``passwords`` (account ->
    password), it runs the platform's own configuration (mqtt/brokerconf.py): anonymous clients are
    refused, every account is held to the ACL and client ids are bound to usernames."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="homeflex-mosquitto-") as tmp:
        folder = Path(tmp)
        if passwords is None:
            text = OPEN_CONF.format(port=port)
        else:
            access = write_access_files(folder, passwords)
            text = config_text(
                BrokerConfig(
                    listeners=(Listener(bind="127.0.0.1", port=port),),
                    password_file=str(access.password_file),
                    acl_file=str(access.acl_file),
                    persistence_dir=None,
                    max_queued_messages=queue_limit(len(passwords)),
                )
            )
        conf = _write_config(folder, text)
        async with running_mosquitto(binary, conf, port):
            yield f"mqtt://127.0.0.1:{port}"


@asynccontextmanager
async def running_mosquitto(
    binary: str, conf: Path, port: int, *, start_timeout: float = 10.0
) -> AsyncIterator[None]:
    """mosquitto with the configuration file `conf`, up once `port` accepts (within `start_timeout`:
    mosquitto 2.0.11 takes ~13 s to load the logins of 10,000 households); stopped on exit."""
    # mosquitto logs only errors, warnings and notices (to our stderr), so nothing fills a pipe.
    proc = await asyncio.create_subprocess_exec(binary, "-c", str(conf), stdout=asyncio.subprocess.DEVNULL)
    try:
        await wait_for_port(port, start_timeout)
        yield
    finally:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            proc.kill()


def _write_config(folder: Path, text: str) -> Path:
    conf = folder / "mosquitto.conf"
    conf.write_text(text)
    conf.chmod(0o644)  # mosquitto drops to its own user when started as root
    folder.chmod(0o755)
    return conf


@asynccontextmanager
async def embedded_amqtt() -> AsyncIterator[str]:
    """amqtt in this process, bound to loopback: for local demos only (no ACLs, MQTT 3.1.1)."""
    from amqtt.broker import Broker

    port = free_port()
    config = {
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }
    broker = Broker(config)
    await broker.start()
    try:
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        await broker.shutdown()


@asynccontextmanager
async def mqtt_broker(url: str | None, kind: str = "auto") -> AsyncIterator[str]:
    """Yield the MQTT URL to use, starting a broker when none is configured.

    kind: "auto" (mosquitto if installed, else embedded amqtt), "mosquitto" or "embedded".
    """
    if kind not in ("auto", "mosquitto", "embedded"):
        raise ValueError(f"mqtt_broker must be auto, mosquitto or embedded, not {kind!r}")
    if url:
        log.info("mqtt broker: using %s", redact_url(url))
        yield url
        return
    binary = find_mosquitto() if kind != "embedded" else None
    if kind == "mosquitto" and not binary:
        raise RuntimeError("mqtt_broker=mosquitto but no mosquitto binary on PATH")
    if binary:
        async with mosquitto(binary) as started:
            log.info("mqtt broker: started mosquitto (%s) at %s", binary, started)
            yield started
        return
    async with embedded_amqtt() as started:
        log.warning(
            "mqtt broker: mosquitto not found; started the embedded pure-Python amqtt broker at %s. "
            "It is for local demos only: no ACLs, slower. Install mosquitto or set HOMEFLEX_MQTT_URL.",
            started,
        )
        yield started
