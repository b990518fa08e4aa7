"""A VTN serving from its own thread and event loop, for synchronous fuzzers (hypothesis, schemathesis)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from homeflex.core.clock import WallClock
from homeflex.core.domain import Category
from homeflex.storage import SQLiteStorage
from homeflex.storage.records import HouseholdRecord
from homeflex.vtn.service import VtnService

TOKEN = "fuzz-operator-token"


class LiveVtn:
    def __init__(self, folder: Path, households: tuple[str, ...] = ()) -> None:
        self.folder = folder
        self.households = households
        self.ready = threading.Event()
        self.url = ""
        self.error: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as err:  # reported by __enter__
            self.error = err
            self.ready.set()

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        storage = await SQLiteStorage.open(self.folder / "live.db")
        clock = WallClock()
        for hh in self.households:
            await storage.upsert_household(
                HouseholdRecord(id=hh, group="fuzz", category=Category.B), clock.now()
            )

        async def settle(event_id: str) -> list[Any]:
            return []

        try:
            async with VtnService(storage, clock, settle, port=0, api_token=TOKEN) as vtn:
                self.url = vtn.url
                self.ready.set()
                await self._stop.wait()
        finally:
            await storage.close()

    def __enter__(self) -> LiveVtn:
        self._thread.start()
        assert self.ready.wait(60) and self.url, f"the VTN did not start: {self.error!r}"
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
