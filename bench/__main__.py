"""Benchmarks, each beside its reference in the same run; results are appended to bench/RESULTS.md.

`python -m bench control_latency [--households 100] [--events 5] [--mqtt-url URL]`
`python -m bench ingest [--readings 300000] [--batch 10000] [--mqtt-readings 100000]`
`python -m bench settlement [--households 10000] [--days 90]`
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bench import control_latency, ingest, settlement


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
    for p in (ig, st):
        p.add_argument("--no-results", action="store_true", help="print only; do not append to RESULTS.md")
    return top


def main(argv: Sequence[str] | None = None) -> int:
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
