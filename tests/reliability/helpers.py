"""Small shared pieces for the fault tests: waiting, households, a free port."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from homeflex.core.domain import Category
from homeflex.core.timeutil import LONDON
from homeflex.storage import Storage
from homeflex.storage.records import HouseholdRecord

START = datetime(2026, 12, 2, 18, 0, tzinfo=LONDON)


async def until(predicate: Callable[[], bool | Awaitable[bool]], timeout: float, what: str = "") -> None:
    """Wait for `predicate` (sync or async); a TimeoutError says what was awaited."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                result = predicate()
                if isinstance(result, Awaitable):
                    result = await result
                if result:
                    return
                await asyncio.sleep(0.05)
    except TimeoutError as err:
        raise TimeoutError(f"not within {timeout} s: {what}") from err


async def enrol(storage: Storage, *ids: str, at: datetime = START) -> None:
    for hh in ids:
        await storage.upsert_household(HouseholdRecord(id=hh, group="rel", category=Category.B), at)


class Service:
    """A `homeflex <command>` subprocess with its own settings (environment) and log file."""

    def __init__(self, command: str, env: dict[str, str], log: Path, args: tuple[str, ...] = ()) -> None:
        self.command = command
        self.args = args
        self.env = {**os.environ, **env, "HOMEFLEX_LOG_LEVEL": "INFO"}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "homeflex", self.command, *self.args],
                env=self.env,
                cwd=self.log.parent,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """SIGKILL: no cleanup, no flush, no goodbye."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)
            self.proc = None

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM, as `docker stop` sends it: the exit code of an orderly stop."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self.proc = None
        return code

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
