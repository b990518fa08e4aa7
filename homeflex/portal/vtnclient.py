"""The portal as a client of the VTN's operator API (homeflex/vtn/api.py): events are created,
cancelled, watched and settled there, never written by the portal itself."""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import quote

import aiohttp


class VtnError(Exception):
    """The VTN refused (status 4xx with its reason) or could not be reached (status 0)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class VtnClient:
    def __init__(
        self, base_url: str, token: str | None = None, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        """`ssl_context`: for a VTN behind mutual TLS (its certificate's CA and a client certificate)."""
        self.base_url = base_url.rstrip("/")
        self._ssl = ssl_context
        # The VTN's operator API token (its `api_token` setting), when it asks for one.
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=30), connector=aiohttp.TCPConnector(ssl=self._ssl or True)
            )
        try:
            url = f"{self.base_url}{path}"
            async with self._session.request(method, url, json=body, headers=self._headers) as r:
                data = await r.json(content_type=None)
                if r.status >= 400:
                    why = data.get("error") if isinstance(data, dict) else None
                    raise VtnError(r.status, str(why or f"VTN answered {r.status}"))
                return data
        except aiohttp.ClientError as err:
            raise VtnError(0, f"the VTN at {self.base_url} cannot be reached: {err}") from err

    async def create_event(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("POST", "/api/events", body)
        return result

    async def cancel_event(self, event_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("DELETE", f"/api/events/{quote(event_id, safe='')}")
        return result

    async def settle_event(self, event_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("POST", f"/api/events/{quote(event_id, safe='')}/settle")
        return result

    async def event(self, event_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", f"/api/events/{quote(event_id, safe='')}")
        return result

    async def events(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._call("GET", "/api/events")
        return result
