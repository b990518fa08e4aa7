"""The portal's trust boundaries: household ids are checked where they enter (400 with the reason);
login throttling cannot lock anyone out from elsewhere; the time to answer does not tell whether an email
has an account."""

from __future__ import annotations

import aiohttp

from tests.portal.conftest import OPERATOR, Stack


async def test_the_portal_refuses_a_bad_id_with_the_reason(stack: Stack) -> None:
    async with aiohttp.ClientSession(base_url=stack.portal_url) as http:
        async with http.post(
            "/api/portal/login", json={"email": OPERATOR[0], "password": OPERATOR[1]}
        ) as r:
            auth = {"Authorization": f"Bearer {(await r.json())['token']}"}
        for bad in ("hh%2B", "hh%23", "a%2Fb", "hh%00", "x" * 5000):
            async with http.get(f"/api/portal/households/{bad}", headers=auth) as r:
                assert r.status == 400, (bad[:10], r.status)
                assert "household id" in (await r.json())["error"]
        async with http.get("/api/portal/households/hh-unknown", headers=auth) as r:
            assert r.status == 404  # a well-formed id that is not there
