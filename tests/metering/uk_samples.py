"""The real UK smart-meter samples shipped in the eemeter wheel (shared/domain/data.md), read straight
from the wheel: the README's test command downloads it to .cache/ (without its heavy dependencies)."""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
from pathlib import Path

import pytest

WHEEL = Path(__file__).resolve().parents[2] / ".cache" / "eemeter-4.1.1-py3-none-any.whl"


def uk_sample(n: int) -> str:
    """The CSV text (start,value kWh) of uk-electricity-hdd-only-hourly-sample-<n>."""
    if not WHEEL.exists():
        pytest.skip(
            f"UK meter samples not downloaded: pip download --no-deps -d .cache eemeter==4.1.1 ({WHEEL})"
        )
    with zipfile.ZipFile(WHEEL) as wheel:
        name = f"eemeter/eemeter/samples/uk-electricity-hdd-only-hourly-sample-{n}.csv.gz"
        return gzip.decompress(wheel.read(name)).decode()


def rows(text: str) -> list[tuple[str, str]]:
    return [(r["start"], r["value"]) for r in csv.DictReader(io.StringIO(text))]
