"""The portal's trust boundaries: household ids are checked where they enter (400 with the reason);
login throttling cannot lock anyone out from elsewhere; the time to answer does not tell whether an email
has an account."""

from __future__ import annotations

from dataclasses import replace

import aiohttp
import pytest

from homeflex.portal import auth
from homeflex.portal.base import LoginError
from tests.portal.conftest import OPERATOR, Stack


async def test_the_portal_refuses_a_bad_id_with_the_reason(stack: Stack) -> None:
    async with aiohttp.ClientSession(base_url=stack.portal_url) as http:
        async with http.post("/api/portal/login", json={"email": OPERATOR[0], "password": OPERATOR[1]}) as r:
            auth = {"Authorization": f"Bearer {(await r.json())['token']}"}
        for bad in ("hh%2B", "hh%23", "a%2Fb", "hh%00", "x" * 5000):
            async with http.get(f"/api/portal/households/{bad}", headers=auth) as r:
                assert r.status == 400, (bad[:10], r.status)
                assert "household id" in (await r.json())["error"]
        async with http.get("/api/portal/households/hh-unknown", headers=auth) as r:
            assert r.status == 404  # a well-formed id that is not there


async def test_wrong_passwords_from_elsewhere_do_not_lock_the_operator_out(stack: Stack) -> None:
    for _ in range(50):
        with pytest.raises(LoginError):
            await stack.portal.login(OPERATOR[0], "guess-guess-guess", "198.51.100.7")
    with pytest.raises(LoginError, match="too many failed attempts"):
        await stack.portal.login(OPERATOR[0], OPERATOR[1], "198.51.100.7")  # the guesser stays throttled
    session = await stack.portal.login(OPERATOR[0], OPERATOR[1], "192.0.2.10")  # the operator's desk
    assert session.account.email == OPERATOR[0]


async def test_one_address_trying_many_accounts_is_throttled(stack: Stack) -> None:
    for n in range(30):
        with pytest.raises(LoginError, match="wrong email or password"):
            await stack.portal.login(f"user{n}@example.org", "guess-guess-guess", "198.51.100.8")
    with pytest.raises(LoginError, match="too many failed attempts"):
        await stack.portal.login(OPERATOR[0], OPERATOR[1], "198.51.100.8")
    await stack.portal.login(OPERATOR[0], OPERATOR[1], "192.0.2.10")


async def test_the_same_address_and_account_is_throttled_over_http(stack: Stack) -> None:
    async with aiohttp.ClientSession(base_url=stack.portal_url) as http:
        for _ in range(5):
            async with http.post("/api/portal/login", json={"email": OPERATOR[0], "password": "x"}) as r:
                assert r.status == 401
        async with http.post("/api/portal/login", json={"email": OPERATOR[0], "password": OPERATOR[1]}) as r:
            assert r.status == 401 and "too many" in (await r.json())["error"]


async def test_an_unknown_email_costs_the_same_password_hash_check(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Timing is not asserted here (bench/RELIABILITY.md has the measurement); the work is: an unknown
    email runs one argon2 verification, as a known one does."""
    checked: list[str] = []
    real = auth.verify_password

    def spy(stored_hash: str, password: str) -> bool:
        checked.append(stored_hash)
        return real(stored_hash, password)

    monkeypatch.setattr(auth, "verify_password", spy)
    for email in (OPERATOR[0], "nobody@example.org"):
        with pytest.raises(LoginError, match="wrong email or password"):
            await stack.portal.login(email, "wrong-password-1", "192.0.2.11")
    assert len(checked) == 2 and all(h.startswith("$argon2") for h in checked)


async def _login(http: aiohttp.ClientSession, password: str, forwarded_for: str) -> int:
    body = {"email": OPERATOR[0], "password": password}
    async with http.post("/api/portal/login", json=body, headers={"X-Forwarded-For": forwarded_for}) as r:
        return r.status


async def test_behind_a_trusted_proxy_the_throttle_counts_the_real_clients(stack: Stack) -> None:
    """Behind the compose file's HTTPS proxy every request comes from the proxy: without its
    X-Forwarded-For, one guesser would throttle everyone."""
    stack.portal.config = replace(stack.portal.config, trusted_proxies=("127.0.0.0/8",))
    async with aiohttp.ClientSession(base_url=stack.portal_url) as http:
        for _ in range(5):
            assert await _login(http, "guess-guess-guess", "203.0.113.5") == 401
        assert await _login(http, OPERATOR[1], "203.0.113.5") == 401  # the guesser is throttled
        assert await _login(http, OPERATOR[1], "198.51.100.20") == 200  # the operator is not


async def test_an_untrusted_peer_cannot_dodge_the_throttle_with_x_forwarded_for(stack: Stack) -> None:
    async with aiohttp.ClientSession(base_url=stack.portal_url) as http:
        for n in range(5):
            assert await _login(http, "guess-guess-guess", f"203.0.113.{n}") == 401
        assert await _login(http, OPERATOR[1], "203.0.113.99") == 401
