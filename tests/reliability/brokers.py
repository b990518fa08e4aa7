"""A mosquitto this test owns: on a fixed loopback port, stopped and started again at will, keeping its
sessions across a restart (persistence on), so a subscriber's queued QoS 1 messages survive."""

from __future__ import annotations

import asyncio
import signal
import tempfile
from pathlib import Path

import pytest

from homeflex.mqtt.broker import find_mosquitto, free_port, wait_for_port

CONF = """\
listener {port} 127.0.0.1
allow_anonymous true
set_tcp_nodelay true
persistence true
persistence_location {folder}/
autosave_interval 1
max_queued_messages 1000000
max_inflight_messages 20
log_dest stderr
log_type error
"""


class Mosquitto:
    """Its files live in a fresh folder under the system temp dir: mosquitto started as root drops to
    its own user, which could not reach a folder under pytest's owner-only tmp_path to save sessions."""

    def __init__(self) -> None:
        binary = find_mosquitto()
        if binary is None:
            pytest.skip("needs mosquitto on PATH to start a broker it can stop")
        self.binary = binary
        self.port = free_port()
        self._tmp = tempfile.TemporaryDirectory(prefix="homeflex-reliability-")
        folder = Path(self._tmp.name)
        folder.chmod(0o777)
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(CONF.format(port=self.port, folder=folder))
        self.conf.chmod(0o644)
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            self.binary, "-c", str(self.conf), stdout=asyncio.subprocess.DEVNULL
        )
        await wait_for_port(self.port)

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(sig)
        try:
            await asyncio.wait_for(self.proc.wait(), 5)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        self.proc = None

    async def close(self) -> None:
        await self.stop()
        self._tmp.cleanup()
