"""A VTN serving from its own thread and event loop, for synchronous fuzzers (hypothesis, schemathesis)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeflex.core.clock import WallClock
from homeflex.core.domain import Category
from homeflex.storage import SQLiteStorage
from homeflex.storage.records import HouseholdRecord
from homeflex.vtn.oadr3 import Oadr3Service, provision_client
from homeflex.vtn.service import VtnService
from tests.threaded import ThreadedService

TOKEN = "fuzz-operator-token"


class LiveVtn(ThreadedService):
    what = "the VTN"

    def __init__(
        self, folder: Path, households: tuple[str, ...] = (), oadr3_clients: tuple[tuple[str, str], ...] = ()
    ) -> None:
        """`oadr3_clients`: (client id, role) pairs; with any, OpenADR 3.1 is served too."""
        super().__init__()
        self.folder = folder
        self.households = households
        self.oadr3_clients = oadr3_clients
        self.secrets: dict[str, str] = {}  # 3.1 client id -> secret

    async def serve(self) -> None:
        storage = await SQLiteStorage.open(self.folder / "live.db")
        clock = WallClock()
        for hh in self.households:
            await storage.upsert_household(
                HouseholdRecord(id=hh, group="fuzz", category=Category.B), clock.now()
            )

        async def settle(event_id: str) -> list[Any]:
            return []

        for client_id, role in self.oadr3_clients:
            self.secrets[client_id] = await provision_client(storage, clock, client_id, role)
        oadr3 = Oadr3Service(storage, clock, mqtt_url=None) if self.oadr3_clients else None
        try:
            async with VtnService(storage, clock, settle, port=0, api_token=TOKEN, oadr3=oadr3) as vtn:
                self.url = vtn.url
                self.ready.set()
                await self.until_stopped()
        finally:
            await storage.close()
