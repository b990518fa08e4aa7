"""Benchmarks, each beside its reference in the same run; results are appended to bench/RESULTS.md.

`python -m bench control_latency [--households 100] [--events 5] [--mqtt-url URL]`
`python -m bench ingest [--readings 300000] [--batch 10000] [--mqtt-readings 100000]`
`python -m bench settlement [--households 10000] [--days 90]`
`python -m bench stage2 [--per-type 10] [--seed 1] [--weeks winter summer]`
`python -m bench stage3 [--households 40] [--seed 1] [--start 17:30]`
`python -m bench planning [--households 100] [--instants 10] [--seed 2]`
`python -m bench simulate [--households 1000] [--days 7] [--replan-hours 12] [--tick-minutes 30]`
`python -m bench oadr3_notify [--vens 10000] [--runs 3] [--mqtt-url URL]`
`python -m bench oadr3_fanout [--vens 10000] [--procs 4] [--runs 3]`
`python -m bench oadr3_events [--events 100000] [--households 1000] [--requests 300]`
`python -m bench.soak [--vens 1000] [--minutes 10]` (its own entry; results in bench/RELIABILITY.md)
`python -m bench vtn_scale [--vens 10000] [--reference-vens 1000] [--database-url URL]`
`python -m bench vtn_push [--vens 1000]`
`python -m bench shelly_latency [--plugs 100] [--rounds 20] [--mqtt-url URL]`
`python -m bench ocpp_latency [--chargers 100] [--events 5]`
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from datetime import time
from pathlib import Path

from bench import (
    control_latency,
    ingest,
    oadr3_notify,
    settlement,
    simulate,
    stage_control,
    stage_events,
    stage_planning,
)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    sub = top.add_subparsers(dest="bench", required=True)
    cl = sub.add_parser("control_latency", help="flex event -> device ack, beside raw MQTT req -> resp")
    cl.add_argument("--households", type=int, default=100, help="households in one process (default 100)")
    cl.add_argument("--events", type=int, default=5, help="flex events, one after another (default 5)")
    cl.add_argument(
        "--mqtt-url",
        default=None,
        help="use this broker (default: a private mosquitto with set_tcp_nodelay on a free port)",
    )
    cl.add_argument("--duration-s", type=float, default=20.0, help="length of each event (default 20 s)")
    cl.add_argument("--sequential", type=int, default=500, help="sequential raw round trips (default 500)")
    cl.add_argument("--seed", type=int, default=1, help="population seed (default 1)")
    cl.add_argument(
        "--results",
        type=Path,
        default=Path(__file__).with_name("RESULTS.md"),
        help="markdown file to append the dated section to (default bench/RESULTS.md)",
    )
    cl.add_argument("--no-results", action="store_true", help="print only; do not append to --results")
    ig = sub.add_parser("ingest", help="readings into the store vs raw sqlite3; MQTT -> committed rows")
    ig.add_argument("--readings", type=int, default=300_000)
    ig.add_argument("--batch", type=int, default=10_000)
    ig.add_argument("--mqtt-readings", type=int, default=100_000)
    st = sub.add_parser("settlement", help="vectorised settlement vs a plain per-household implementation")
    st.add_argument("--households", type=int, default=10_000)
    st.add_argument("--days", type=int, default=90)
    st.add_argument(
        "--reference-households",
        type=int,
        default=200,
        help="households the plain reference settles (its time is scaled up; default 200)",
    )
    s2 = sub.add_parser("stage2", help="a week's bill optimised vs unmanaged, per household type")
    s2.add_argument("--per-type", type=int, default=10, help="households of each type (default 10)")
    s2.add_argument("--seed", type=int, default=1, help="population seed (default 1)")
    s2.add_argument("--weeks", nargs="+", choices=sorted(stage_control.WEEKS), default=["winter", "summer"])
    s3 = sub.add_parser(
        "stage3", help="event delivery vs request; post-event peak with and without protection"
    )
    s3.add_argument("--households", type=int, default=40, help="stage-3 households (default 40)")
    s3.add_argument("--seed", type=int, default=1, help="population seed (default 1)")
    s3.add_argument("--start", type=time.fromisoformat, default=time(17, 30), help="local event start")
    s3.add_argument("--minutes", type=int, default=60, help="event length (default 60)")
    s3.add_argument("--reduction-w", type=float, default=1500.0, help="per household (default 1500)")
    pl = sub.add_parser(
        "planning", help="plan time per household and 1,000 households on 2 cores vs bare HiGHS"
    )
    pl.add_argument("--households", type=int, default=100, help="households observed (default 100)")
    pl.add_argument("--instants", type=int, default=10, help="states per household over a day (default 10)")
    pl.add_argument("--seed", type=int, default=2, help="population seed (default 2)")
    sm = sub.add_parser("simulate", help="1,000 households x 7 days vs 60 s; live vs fast cadence; scalar")
    sm.add_argument("--households", type=int, default=1000, help="households (default 1000)")
    sm.add_argument("--days", type=int, default=7, help="days managed after observing (default 7)")
    sm.add_argument("--seed", type=int, default=1, help="population seed (default 1)")
    sm.add_argument("--replan-hours", type=float, default=12.0, help="the fast plan cadence (default 12)")
    sm.add_argument("--tick-minutes", type=float, default=30.0, help="the fast refresh (default 30)")
    sm.add_argument(
        "--compare-households", type=int, default=100, help="run at live and fast cadence (default 100)"
    )
    for p in (ig, st, s2, s3, pl, sm):
        p.add_argument("--no-results", action="store_true", help="print only; do not append to RESULTS.md")
    return top


def stage(args: argparse.Namespace, results: Path | None) -> int:
    if args.bench == "stage2":
        return stage_control.main(
            stage_control.Options(
                per_type=args.per_type, seed=args.seed, weeks=tuple(args.weeks), results=results
            )
        )
    if args.bench == "stage3":
        return stage_events.main(
            stage_events.Options(
                households=args.households,
                seed=args.seed,
                start=args.start,
                minutes=args.minutes,
                reduction_w=args.reduction_w,
                results=results,
            )
        )
    return stage_planning.main(
        stage_planning.Options(
            households=args.households, instants=args.instants, seed=args.seed, results=results
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["oadr3_notify"]:  # parses its own arguments (bench/oadr3_notify.py)
        return oadr3_notify.main(argv[1:])
    if argv[:1] == ["oadr3_fanout"]:  # parses its own arguments (bench/oadr3_fanout.py)
        from bench import oadr3_fanout

        return oadr3_fanout.main(argv[1:])
    if argv[:1] == ["oadr3_events"]:  # parses its own arguments (bench/oadr3_events.py)
        from bench import oadr3_events

        return oadr3_events.main(argv[1:])
    if argv[:1] == ["vtn_scale"]:  # parses its own arguments (bench/vtn_scale.py)
        from bench import vtn_scale

        return vtn_scale.cli(argv[1:])
    if argv[:1] == ["shelly_latency"]:  # parses its own arguments (bench/shelly_latency.py)
        from bench import shelly_latency

        return shelly_latency.cli(argv[1:])
    if argv[:1] == ["vtn_push"]:  # parses its own arguments (bench/vtn_push.py)
        from bench import vtn_push

        return vtn_push.cli(argv[1:])
    if argv[:1] == ["ocpp_latency"]:  # parses its own arguments (bench/ocpp_latency.py)
        from bench import ocpp_latency

        return ocpp_latency.cli(argv[1:])
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    results = None if args.no_results else Path(__file__).with_name("RESULTS.md")
    if args.bench == "ingest":
        return asyncio.run(
            ingest.main(
                ingest.Options(
                    readings=args.readings,
                    batch=args.batch,
                    mqtt_readings=args.mqtt_readings,
                    results=results,
                )
            )
        )
    if args.bench == "settlement":
        return settlement.main(
            settlement.Options(
                households=args.households,
                days=args.days,
                reference_households=args.reference_households,
                results=results,
            )
        )
    if args.bench == "simulate":
        return simulate.main(
            simulate.Options(
                households=args.households,
                days=args.days,
                seed=args.seed,
                replan_h=args.replan_hours,
                tick_min=args.tick_minutes,
                compare_households=args.compare_households,
                results=results,
            )
        )
    if args.bench in ("stage2", "stage3", "planning"):
        return stage(args, results)
    options = control_latency.Options(
        households=args.households,
        events=args.events,
        mqtt_url=args.mqtt_url,
        duration_s=args.duration_s,
        sequential=args.sequential,
        seed=args.seed,
        results=None if args.no_results else args.results,
    )
    return asyncio.run(control_latency.main(options))


if __name__ == "__main__":
    sys.exit(main())
