"""Run a service until the process is asked to stop: SIGTERM (docker stop, systemd) or SIGINT (Ctrl-C).

`serve(name, main)` runs a service's coroutine with the signal handlers in place from its first line. The
service awaits `until_stopped()` inside its `async with` blocks; when the signal comes that returns, the
blocks exit in order (stop accepting, finish or hand back in-flight work) and the service returns 0. A
signal that comes while the service is still starting cancels the start (its `finally` and `async with`
exits still run), also an orderly stop. A second signal while stopping is ignored: the first one already
started the stop.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable
from contextvars import ContextVar
from dataclasses import dataclass, field

log = logging.getLogger("homeflex")

SIGNALS = (signal.SIGTERM, signal.SIGINT)


@dataclass
class _Stop:
    name: str
    task: asyncio.Task[object]
    event: asyncio.Event = field(default_factory=asyncio.Event)
    waiting: bool = False
    received: str | None = None

    def on_signal(self, sig: signal.Signals) -> None:
        if self.received is not None:
            return  # stopping already
        self.received = sig.name
        log.info("%s: %s received, stopping", self.name, sig.name)
        if self.waiting:
            self.event.set()
        else:
            self.task.cancel()


_CURRENT: ContextVar[_Stop | None] = ContextVar("homeflex_stop", default=None)


async def serve(name: str, main: Awaitable[int]) -> int:
    """Await `main` (a service command) with SIGTERM and SIGINT handled as an orderly stop."""
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    assert task is not None
    stop = _Stop(name=name, task=task)
    token = _CURRENT.set(stop)
    for sig in SIGNALS:
        loop.add_signal_handler(sig, stop.on_signal, sig)
    try:
        return await main
    except asyncio.CancelledError:
        if stop.received is None:
            raise
        return 0  # stopped while starting; the exits on the way out have run
    finally:
        for sig in SIGNALS:
            loop.remove_signal_handler(sig)
        _CURRENT.reset(token)
        if stop.received is not None:
            log.info("%s: stopped", name)


async def until_stopped() -> None:
    """Return when the process is asked to stop (forever, outside `serve`)."""
    stop = _CURRENT.get()
    if stop is None:
        await asyncio.Event().wait()
        return
    stop.waiting = True
    await stop.event.wait()
