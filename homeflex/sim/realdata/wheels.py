"""Data files read straight out of PyPI wheels that `pip download --no-deps -d .cache ...` left on disk.

The wheels are never installed (hisim's dependency tree is heavy); a wheel is a zip, so one member is one
read. The README's test command downloads them next to each other in the project's `.cache/`.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

# The project checkout: homeflex/sim/realdata/wheels.py -> parents[3].
DEFAULT_CACHE = Path(__file__).resolve().parents[3] / ".cache"


@dataclass(frozen=True, kw_only=True)
class Wheel:
    """A pinned distribution whose wheel carries data files."""

    dist: str
    version: str

    @property
    def download_command(self) -> str:
        return f".venv/bin/pip download -q --no-deps -d .cache {self.dist}=={self.version}"


EEMETER = Wheel(dist="eemeter", version="4.1.1")
HISIM = Wheel(dist="hisim", version="1.2.4")


class MissingWheelError(FileNotFoundError):
    """The wheel is not in the cache directory; the message says which command fetches it."""

    def __init__(self, wheel: Wheel, cache_dir: Path) -> None:
        self.wheel = wheel
        self.cache_dir = cache_dir
        super().__init__(
            f"{wheel.dist}=={wheel.version} wheel not found in {cache_dir}: run "
            f"`{wheel.download_command}` in the project directory (it downloads the wheel, installs nothing)"
        )


def cache_directory(cache_dir: Path | None = None) -> Path:
    """`cache_dir`, or the project's .cache/ when None."""
    return DEFAULT_CACHE if cache_dir is None else cache_dir


def find_wheel(wheel: Wheel, cache_dir: Path | None = None) -> Path:
    """The wheel file for `wheel` in `cache_dir` (default: the project's .cache/), any platform tag."""
    directory = cache_directory(cache_dir)
    found = sorted(directory.glob(f"{wheel.dist}-{wheel.version}-*.whl"))
    if not found:
        raise MissingWheelError(wheel, directory)
    return found[0]


def read_member(wheel: Wheel, member: str, cache_dir: Path | None = None) -> bytes:
    """One file out of the wheel, e.g. 'hisim/inputs/...csv'. KeyError names a member the wheel lacks."""
    with zipfile.ZipFile(find_wheel(wheel, cache_dir)) as archive:
        return archive.read(member)
