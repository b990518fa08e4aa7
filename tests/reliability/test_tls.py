"""OpenADR over mutual TLS with signed messages (EC certificates from homeflex.vtn.identity): a provisioned
VEN registers and gets events; a VEN with another household's certificate, a certificate from another CA,
or no provisioned certificate is refused; a VEN whose clock is off beyond openleadr's 5 s tolerance gets
a clear clock-skew error instead of silence."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from homeflex.core.clock import ScaledClock, WallClock
from homeflex.mqtt.broker import free_port
from homeflex.storage import SQLiteStorage
from homeflex.storage.records import EventRecord
from homeflex.vtn.identity import issue, new_ca, provision_ven
from homeflex.vtn.openadr import ven_id_for
from homeflex.vtn.service import VtnService
from tests.pki import Pki
from tests.pki import TlsVen as Ven
from tests.reliability.helpers import enrol, until


async def no_settle(event_id: str) -> list[Any]:
    return []


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path / "pki")


async def test_provisioned_ven_registers_and_others_are_refused(
    pki: Pki, storage: SQLiteStorage, uid: str, tmp_path: Path
) -> None:
    clock = WallClock()
    good, other, bare = f"good{uid}", f"other{uid}", f"bare{uid}"
    await enrol(storage, good, other, bare, at=clock.now())
    good_cred = await provision_ven(storage, pki.ca, good, clock.now())
    other_cred = await provision_ven(storage, pki.ca, other, clock.now())
    stored = await storage.get_ven(ven_id_for(good))
    assert stored is not None and stored.fingerprint == good_cred.fingerprint and not stored.registration_id
    with pytest.raises(LookupError):
        await provision_ven(storage, pki.ca, f"nobody{uid}", clock.now())

    stranger_ca = new_ca(clock.now(), "someone else's CA")
    port = free_port()
    async with VtnService(
        storage, clock, no_settle, port=port, poll_interval=timedelta(seconds=0.5), tls=pki.vtn_tls
    ) as vtn:
        assert vtn.openadr_url.startswith("https://")
        url = vtn.openadr_url
        ven = Ven(good, url, pki.ven_tls(good_cred, "good", ven_id_for(good)))
        # Another household's certificate (same CA), claiming to be `good`.
        thief = Ven(good, url, pki.ven_tls(other_cred, "thief", ven_id_for(good)))
        # A certificate the VTN never issued.
        forged = Ven(good, url, pki.ven_tls(issue(stranger_ca, "x", clock.now()), "forged", ven_id_for(good)))
        # Enrolled, but no certificate was provisioned for it: it borrows one.
        unprovisioned = Ven(bare, url, pki.ven_tls(other_cred, "bare", ven_id_for(bare)))
        try:
            assert not await thief.register()
            assert not await forged.register()
            assert not await unprovisioned.register()
            assert await ven.register()
            registered = await storage.get_ven(ven_id_for(good))
            assert registered is not None and registered.registration_id == ven.client.registration_id
            assert registered.fingerprint == good_cred.fingerprint

            await ven.client.run()  # polls over TLS, signed both ways
            now = clock.now()
            await storage.create_event(
                EventRecord(
                    event_id=f"tls{uid}",
                    modification_number=0,
                    status="scheduled",
                    start=now + timedelta(minutes=10),
                    duration=timedelta(minutes=30),
                    reduction_kw=1.0,
                    price_gbp_per_mwh=1000.0,
                    created_at=now,
                ),
                [good],
            )
            await until(lambda: ven.events == [f"tls{uid}"], 15, "the event over TLS")
            targets = await storage.event_targets(f"tls{uid}")
            await until(lambda: _opted(storage, f"tls{uid}"), 10, "the signed opt-in is stored")
            assert [t.household_id for t in targets] == [good]
        finally:
            for v in (ven, thief, forged, unprovisioned):
                await v.client.stop()


async def _opted(storage: SQLiteStorage, event_id: str) -> bool:
    return any(t.opt_type == "optIn" for t in await storage.event_targets(event_id))


@pytest.mark.parametrize("ven_clock_off_s", [-60, 60])
async def test_clock_skew_beyond_tolerance_is_a_clear_error(
    pki: Pki, storage: SQLiteStorage, uid: str, ven_clock_off_s: int, caplog: pytest.LogCaptureFixture
) -> None:
    # The VTN's clock is the injected one; the VEN signs with the wall clock, so the VEN is off by
    # `ven_clock_off_s` as the VTN sees it.
    vtn_clock = ScaledClock(WallClock().now() - timedelta(seconds=ven_clock_off_s), 1.0)
    hh = f"skew{uid}"
    await enrol(storage, hh, at=vtn_clock.now())
    credential = await provision_ven(storage, pki.ca, hh, vtn_clock.now())
    async with VtnService(storage, vtn_clock, no_settle, port=free_port(), tls=pki.vtn_tls) as vtn:
        ven = Ven(hh, vtn.openadr_url, pki.ven_tls(credential, "skew", ven_id_for(hh)))
        try:
            with caplog.at_level(logging.WARNING):
                assert not await ven.register()
        finally:
            await ven.client.stop()
    direction = "ahead of" if ven_clock_off_s > 0 else "behind"
    expected = f"clock skew: the message was signed 60 s {direction} the VTN's clock"
    vtn_side = [r.getMessage() for r in caplog.records if r.name == "homeflex.vtn.tls"]
    ven_side = [r.getMessage() for r in caplog.records if r.name == "openleadr"]
    assert any(expected in m for m in vtn_side), vtn_side
    assert any("463" in m and expected in m for m in ven_side), ven_side  # the VEN is told why
