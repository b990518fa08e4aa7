from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from homeflex.core.timeutil import parse_utc
from homeflex.sim.history import boundaries, generate_history
from homeflex.sim.population import build_household, make_population

START = datetime(2026, 11, 17, tzinfo=UTC)
END = datetime(2026, 11, 24, tzinfo=UTC)


def test_boundaries_include_aligned_ends() -> None:
    assert boundaries(START, START + timedelta(hours=1)) == [
        START + timedelta(minutes=m) for m in (0, 30, 60)
    ]
    odd = boundaries(START + timedelta(minutes=10), START + timedelta(minutes=70))
    assert odd == [START + timedelta(minutes=30), START + timedelta(minutes=60)]


def test_a_week_of_history_at_every_half_hour_then_live_continues() -> None:
    households = [(c.spec.id, build_household(c)) for c in make_population(4, seed=3)]
    history = generate_history(households, START, END)
    assert set(history) == {hh for hh, _ in households}
    for household_id, household in households:
        readings = history[household_id]
        assert len(readings) == 7 * 48 + 1
        times = [parse_utc(str(r["ts"])) for r in readings]
        assert times[0] == START
        assert times[-1] == END
        assert all(b - a == timedelta(minutes=30) for a, b in itertools.pairwise(times))
        imports = [float(r["import_wh"]) for r in readings]  # type: ignore[arg-type]
        assert imports == sorted(imports)
        assert imports[-1] > 7 * 4000
        assert household.time == END
        household.advance_to(END + timedelta(minutes=30))
        assert household.import_wh >= imports[-1]


def test_history_refuses_a_household_that_already_ran_past_the_start() -> None:
    household = build_household(make_population(1, seed=3)[0])
    household.advance_to(END)
    with pytest.raises(ValueError, match="after the history start"):
        generate_history([("hh001", household)], START, END)
