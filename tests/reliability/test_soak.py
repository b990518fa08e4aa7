"""The soak, on demand only (`pytest -m soak`): 1,000 VENs with telemetry and events for 10 minutes against
real VTN and telemetry processes (bench/soak.py). Zero errors, every reading stored, every VEN answers
every event, and the services' memory levels off instead of growing with time."""

from __future__ import annotations

import os

import pytest

from bench.soak import options, soak

pytestmark = [pytest.mark.soak, pytest.mark.timeout(1800)]


async def test_thousand_vens_for_ten_minutes() -> None:
    minutes = float(os.environ.get("HOMEFLEX_SOAK_MINUTES", "10"))
    outcome = await soak(options(vens=1000, minutes=minutes))
    assert not outcome.tally.errors, outcome.tally.errors.most_common(5)
    assert outcome.stored == outcome.tally.published > 0
    assert outcome.totals and all(t["opted_in"] == t["targeted"] == 1000 for t in outcome.totals)
    # Memory: after the first quarter (caches warm), RSS may not climb more than 25 MB per service.
    rss = outcome.tally.rss
    settled = [r for r in rss if r[0] >= minutes / 4]
    assert settled[-1][1] - settled[0][1] < 25 and settled[-1][2] - settled[0][2] < 25, rss
