"""A service serving from its own thread and event loop, for synchronous callers (schemathesis)."""

from __future__ import annotations

import asyncio
import threading
from typing import Self


class ThreadedService:
    """``with Sub(...) as live:`` serves until the block ends. A subclass's ``serve`` starts what it serves,
    sets ``self.url``, calls ``self.ready.set()`` and then awaits ``self.until_stopped()``."""

    what = "the service"

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.url = ""
        self.error: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    async def serve(self) -> None:
        raise NotImplementedError

    async def until_stopped(self) -> None:
        assert self._stop is not None
        await self._stop.wait()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as err:  # reported by __enter__
            self.error = err
            self.ready.set()

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        await self.serve()

    def __enter__(self) -> Self:
        self._thread.start()
        assert self.ready.wait(60) and self.url, f"{self.what} did not start: {self.error!r}"
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
