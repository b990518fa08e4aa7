"""A real Home Assistant core, headless, for tests (protocols.md §7).

Home Assistant needs a newer Python than homeflex's (2025.4 needs 3.13), so it lives in its own venv,
``.cache/ha-venv``, built on first use from ``python3.13`` (``HOMEFLEX_HA_PYTHON`` names another
interpreter). Every package the integrations below need is installed then, up front: Home Assistant is
started with ``--skip-pip`` and never fetches anything at run time.

One Home Assistant per test process (``shared()``), started on first use and stopped at exit:

- a fresh config dir with a minimal ``configuration.yaml``: ``http`` on a free loopback port, ``api``,
  ``websocket_api``, ``onboarding``, ``config`` and a household made of helpers and template entities
  (``ENTITIES``): a heat pump's thermostat (``climate``, generic_thermostat over a template switch and a
  template temperature sensor), an EV charger's current (``number``), a battery's mode (``select``), a
  plug (``switch``) and power sensors (``sensor``); tests move the "physics" by setting the helpers;
- the owner made by onboarding and a long-lived access token (``token``): ``POST /api/onboarding/users``
  -> auth code -> ``POST /auth/token`` -> websocket ``auth/long_lived_access_token``;
- ``enable_mqtt(host, port)``: the MQTT integration set up by its config flow, for MQTT discovery.

Home Assistant runs under a watchdog (``WATCHDOG``) that stops it when the test process is gone, however
that process ends. Tests that use it carry the ``homeassistant`` marker (outside the default suite:
``pytest -m homeassistant``); without python3.13 they skip and say why.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

# 2025.4.4: the newest Home Assistant pip installs on Python 3.13.0 (later ones need a newer 3.13 or
# 3.14). HOMEFLEX_HA_VERSION runs the tests against another, in a venv of its own.
DEFAULT_VERSION = "2025.4.4"
HA_VERSION = os.environ.get("HOMEFLEX_HA_VERSION", DEFAULT_VERSION)
ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".cache" / ("ha-venv" if HA_VERSION == DEFAULT_VERSION else f"ha-venv-{HA_VERSION}")
INSTALL_TIMEOUT_S = 1800.0  # a cold install downloads ~300 MB of wheels
START_TIMEOUT_S = 240.0  # a cold start on a loaded 2-core machine
STOP_TIMEOUT_S = 30.0
# What homeflex's tests use of Home Assistant: their requirements are installed with it. Home Assistant
# also sets up its default integrations (frontend, backup, ...) whatever the configuration says: the
# installer adds theirs, read from homeassistant.bootstrap.
INTEGRATIONS = (
    "api", "websocket_api", "onboarding", "config", "auth", "http", "input_number", "input_boolean",
    "input_select", "template", "climate", "generic_thermostat", "number", "select", "switch", "sensor",
    "mqtt",
)  # fmt: skip

# The entities of the test household, by role.
ENTITIES = {
    "thermostat": "climate.heat_pump",
    "compressor": "switch.heat_pump_compressor",
    "indoor": "sensor.indoor_temperature",
    "heat_pump_power": "sensor.heat_pump_power",
    "heat_pump_energy": "sensor.heat_pump_energy",
    "ev_current": "number.ev_charger_current",
    "battery_mode": "select.battery_mode",
    "plug": "switch.plug",
    "plug_power": "sensor.plug_power",
}


# The test household as configured: what ``HomeAssistant.reset`` puts back (service calls).
RESET = (
    (
        "climate",
        "set_temperature",
        {"entity_id": ENTITIES["thermostat"], "temperature": 20, "hvac_mode": "heat"},
    ),
    ("input_number", "set_value", {"entity_id": "input_number.indoor_temperature", "value": 19.5}),
    ("input_number", "set_value", {"entity_id": "input_number.heat_pump_power", "value": 0}),
    ("input_number", "set_value", {"entity_id": "input_number.heat_pump_energy", "value": 1234.5}),
    ("input_number", "set_value", {"entity_id": "input_number.ev_current", "value": 16}),
    ("input_number", "set_value", {"entity_id": "input_number.plug_power", "value": 60}),
    ("input_select", "select_option", {"entity_id": "input_select.battery_mode", "option": "auto"}),
    ("input_boolean", "turn_on", {"entity_id": "input_boolean.plug"}),
)


class HomeAssistantUnavailable(RuntimeError):
    """Home Assistant cannot run here (no python3.13, an install that failed)."""


# -- the venv --------------------------------------------------------------------------------------------
def find_python() -> str | None:
    """A working python3.13 (a pyenv shim may exist without the version behind it)."""
    candidates = [os.environ.get("HOMEFLEX_HA_PYTHON"), shutil.which("python3.13"), "/usr/bin/python3.13"]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python3.13")))
    for candidate in candidates:
        if not candidate or not os.path.exists(candidate):
            continue
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            done = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info[:2] >= (3, 13))"],
                capture_output=True, text=True, timeout=30, check=False,
            )  # fmt: skip
            if done.returncode == 0 and done.stdout.strip() == "True":
                return candidate
    return None


# Run by the venv's python: the requirements of INTEGRATIONS and of what Home Assistant always sets up,
# with their dependencies, read from the integrations' manifests.
REQUIREMENTS = r"""
import json, sys
from pathlib import Path
import homeassistant.bootstrap as b
import homeassistant.components as c
names = set(sys.argv[1:])
for attr in ("CORE_INTEGRATIONS", "DEFAULT_INTEGRATIONS", "FRONTEND_INTEGRATIONS"):
    names |= set(getattr(b, attr, ()))
todo, seen, requirements = list(names), set(), set()
while todo:
    name = todo.pop()
    manifest = Path(c.__path__[0]) / name / "manifest.json"
    if name in seen or not manifest.exists():
        continue
    seen.add(name)
    body = json.loads(manifest.read_text())
    requirements.update(body.get("requirements", []))
    todo.extend(body.get("dependencies", []))
print("\n".join(sorted(requirements)))
"""


def hass_binary() -> Path:
    return VENV / "bin" / "hass"


def ensure_venv() -> Path:
    """The ``hass`` of a venv with Home Assistant ``HA_VERSION`` and its integrations' requirements,
    built first if needed (bounded); one builder at a time (a file lock)."""
    ready = VENV / "homeflex-ready.json"
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / "ha-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if ready.exists() and json.loads(ready.read_text()).get("version") == HA_VERSION:
            return hass_binary()
        python = find_python()
        if python is None:
            raise HomeAssistantUnavailable(
                f"Home Assistant {HA_VERSION} needs Python 3.13: no python3.13 here "
                "(install one, or name it in HOMEFLEX_HA_PYTHON)"
            )
        began = time.monotonic()
        deadline = began + INSTALL_TIMEOUT_S
        if VENV.exists():
            shutil.rmtree(VENV)
        _run([python, "-m", "venv", str(VENV)], deadline)
        pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        _run([*pip, f"homeassistant=={HA_VERSION}"], deadline)
        wanted = _run([str(VENV / "bin" / "python"), "-c", REQUIREMENTS, *INTEGRATIONS], deadline).split()
        # Home Assistant's own pins keep the integrations' packages in step with its core.
        constraints = VENV / "ha-constraints.txt"
        constraints.write_text(_run([str(VENV / "bin" / "python"), "-c", CONSTRAINTS], deadline))
        if wanted:
            _run([*pip, "-c", str(constraints), *wanted], deadline)
        ready.write_text(json.dumps({"version": HA_VERSION, "install_s": round(time.monotonic() - began, 1),
                                     "requirements": wanted}))  # fmt: skip
        return hass_binary()


CONSTRAINTS = r"""
from pathlib import Path
import homeassistant
print((Path(homeassistant.__file__).parent / "package_constraints.txt").read_text())
"""


def _run(command: list[str], deadline: float) -> str:
    left = deadline - time.monotonic()
    if left <= 0:
        raise HomeAssistantUnavailable(f"installing Home Assistant took over {INSTALL_TIMEOUT_S:.0f} s")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=left, check=False)
    except subprocess.TimeoutExpired as err:
        raise HomeAssistantUnavailable(f"installing Home Assistant timed out at: {command[:6]}") from err
    if done.returncode != 0:
        raise HomeAssistantUnavailable(f"{' '.join(command[:6])}... failed:\n{done.stderr[-3000:]}")
    return done.stdout


# -- the configuration -----------------------------------------------------------------------------------
def configuration(port: int) -> str:
    """configuration.yaml: the minimal core, and a household of helpers and template entities. The
    helpers (input_*) are the "device": tests set them, the entities homeflex drives follow them."""
    return f"""\
homeassistant:
  name: homeflex test home
  latitude: 51.5
  longitude: -0.12
  elevation: 10
  unit_system: metric
  time_zone: Europe/London
  currency: GBP
  country: GB
  internal_url: http://127.0.0.1:{port}
http:
  server_host: 127.0.0.1
  server_port: {port}
api:
websocket_api:
onboarding:
config:
logger:
  default: warning
input_number:
  indoor_temperature: {{min: -20, max: 40, step: 0.1, initial: 19.5, mode: box}}
  heat_pump_power: {{min: 0, max: 20000, step: 1, initial: 0, mode: box}}
  heat_pump_energy: {{min: 0, max: 1000000, step: 0.001, initial: 1234.5, mode: box}}
  ev_current: {{min: 0, max: 32, step: 1, initial: 16, mode: box}}
  plug_power: {{min: 0, max: 4000, step: 1, initial: 60, mode: box}}
input_boolean:
  compressor: {{initial: false}}
  plug: {{initial: true}}
input_select:
  battery_mode: {{options: [auto, charge, discharge, idle], initial: auto}}
template:
  - sensor:
      - name: Indoor temperature
        unique_id: homeflex_test_indoor
        unit_of_measurement: "°C"
        device_class: temperature
        state_class: measurement
        state: "{{{{ states('input_number.indoor_temperature') }}}}"
      - name: Heat pump power
        unique_id: homeflex_test_heat_pump_power
        unit_of_measurement: W
        device_class: power
        state_class: measurement
        state: "{{{{ states('input_number.heat_pump_power') }}}}"
      - name: Heat pump energy
        unique_id: homeflex_test_heat_pump_energy
        unit_of_measurement: kWh
        device_class: energy
        state_class: total_increasing
        state: "{{{{ states('input_number.heat_pump_energy') }}}}"
      - name: Plug power
        unique_id: homeflex_test_plug_power
        unit_of_measurement: W
        device_class: power
        state_class: measurement
        state: "{{{{ states('input_number.plug_power') if is_state('input_boolean.plug', 'on') else 0 }}}}"
    number:
      - name: EV charger current
        unique_id: homeflex_test_ev_current
        unit_of_measurement: A
        min: 6
        max: 32
        step: 1
        state: "{{{{ states('input_number.ev_current') }}}}"
        set_value:
          - action: input_number.set_value
            target: {{entity_id: input_number.ev_current}}
            data: {{value: "{{{{ value }}}}"}}
    select:
      - name: Battery mode
        unique_id: homeflex_test_battery_mode
        state: "{{{{ states('input_select.battery_mode') }}}}"
        options: "{{{{ state_attr('input_select.battery_mode', 'options') }}}}"
        select_option:
          - action: input_select.select_option
            target: {{entity_id: input_select.battery_mode}}
            data: {{option: "{{{{ option }}}}"}}
switch:
  - platform: template
    switches:
      heat_pump_compressor:
        friendly_name: Heat pump compressor
        value_template: "{{{{ is_state('input_boolean.compressor', 'on') }}}}"
        turn_on: {{action: input_boolean.turn_on, target: {{entity_id: input_boolean.compressor}}}}
        turn_off: {{action: input_boolean.turn_off, target: {{entity_id: input_boolean.compressor}}}}
      plug:
        friendly_name: Plug
        value_template: "{{{{ is_state('input_boolean.plug', 'on') }}}}"
        turn_on: {{action: input_boolean.turn_on, target: {{entity_id: input_boolean.plug}}}}
        turn_off: {{action: input_boolean.turn_off, target: {{entity_id: input_boolean.plug}}}}
climate:
  - platform: generic_thermostat
    name: Heat pump
    unique_id: homeflex_test_heat_pump
    heater: switch.heat_pump_compressor
    target_sensor: sensor.indoor_temperature
    min_temp: 7
    max_temp: 28
    target_temp: 20
    target_temp_step: 0.5
    precision: 0.1
    initial_hvac_mode: heat
"""


# -- the running instance --------------------------------------------------------------------------------
# Runs Home Assistant as its child and ends it when its stdin closes (the test process is gone) or on
# SIGTERM; exits with Home Assistant's status when Home Assistant ends first.
WATCHDOG = r"""
import os, signal, subprocess, sys, threading
child = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL)
def end(*_):
    child.terminate()
    try:
        child.wait(25)
    except subprocess.TimeoutExpired:
        child.kill()
    os._exit(0)
signal.signal(signal.SIGTERM, end)
threading.Thread(target=lambda: os._exit(child.wait()), daemon=True).start()
sys.stdin.read()
end()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class HomeAssistant:
    """A running Home Assistant: its URL, the owner's long-lived token, its config dir, and helpers."""

    config_dir: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    token: str = ""
    started_in_s: float = 0.0
    mqtt_entry: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/websocket"

    # -- start and stop ---------------------------------------------------------------------------------
    def start(self, hass: Path) -> None:
        (self.config_dir / "configuration.yaml").write_text(configuration(self.port))
        began = time.monotonic()
        out = open(self.config_dir / "hass.out", "wb")  # noqa: SIM115 - the watchdog's, closed at stop
        self.process = subprocess.Popen(
            [sys.executable, "-c", WATCHDOG, str(hass), "-c", str(self.config_dir), "--skip-pip",
             "--log-no-color"],
            stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        out.close()
        self._wait_up(began + START_TIMEOUT_S)
        self.token = self._onboard()
        self._wait_entities(began + START_TIMEOUT_S)
        self.started_in_s = round(time.monotonic() - began, 1)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()  # the watchdog stops Home Assistant
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(5)

    def log_tail(self, lines: int = 40) -> str:
        """The end of Home Assistant's log (its console output when it has written no log)."""
        for name in ("home-assistant.log", "hass.out"):
            path = self.config_dir / name
            if path.exists() and path.stat().st_size:
                return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        return "(Home Assistant wrote nothing)"

    def _wait_up(self, deadline: float) -> None:
        """Until the API answers (the HTTP server starts once the core is set up)."""
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise HomeAssistantUnavailable(f"Home Assistant exited at start:\n{self.log_tail()}")
            with contextlib.suppress(OSError, urllib.error.URLError):
                urllib.request.urlopen(f"{self.url}/api/onboarding", timeout=2).read()
                return
            time.sleep(0.5)
        self.stop()
        raise HomeAssistantUnavailable(f"Home Assistant not up in {START_TIMEOUT_S:.0f} s:\n"
                                       f"{self.log_tail()}")  # fmt: skip

    def _wait_entities(self, deadline: float) -> None:
        wanted = set(ENTITIES.values())
        while time.monotonic() < deadline:
            if wanted <= {s["entity_id"] for s in self.states()}:
                return
            time.sleep(0.5)
        missing = wanted - {s["entity_id"] for s in self.states()}
        raise HomeAssistantUnavailable(f"entities missing after start: {sorted(missing)}\n{self.log_tail()}")

    # -- onboarding and the token -----------------------------------------------------------------------
    def _onboard(self) -> str:
        client_id = f"{self.url}/"
        created = self.request(
            "POST", "/api/onboarding/users",
            {"client_id": client_id, "name": "Owner", "username": "owner", "password": "homeflex-test-pw",
             "language": "en"},
            token=None,
        )  # fmt: skip
        form = urllib.parse.urlencode(
            {"grant_type": "authorization_code", "code": created["auth_code"], "client_id": client_id}
        ).encode()
        with urllib.request.urlopen(f"{self.url}/auth/token", data=form, timeout=30) as answer:
            access = json.loads(answer.read())["access_token"]
        return _run_async(_long_lived_token(self.ws_url, access))

    # -- REST helpers (synchronous: for set-up and assertions) ------------------------------------------
    def request(self, method: str, path: str, body: Any = None, token: str | None = "") -> Any:
        headers = {"Content-Type": "application/json"}
        bearer = self.token if token == "" else token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}{path}", data=data, headers=headers, method=method)
        with urllib.request.urlopen(req, timeout=30) as answer:
            raw = answer.read()
        return json.loads(raw) if raw else None

    def states(self) -> list[dict[str, Any]]:
        return self.request("GET", "/api/states")  # type: ignore[no-any-return]

    def state(self, entity_id: str) -> dict[str, Any]:
        return self.request("GET", f"/api/states/{entity_id}")  # type: ignore[no-any-return]

    def call(self, domain: str, service: str, data: dict[str, Any]) -> Any:
        return self.request("POST", f"/api/services/{domain}/{service}", data)

    def reset(self) -> None:
        """The test household back as configured (a test before may have moved it, or written junk)."""
        for domain, service, data in RESET:
            self.call(domain, service, data)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            thermostat = self.state(ENTITIES["thermostat"])["attributes"]
            if thermostat.get("current_temperature") == 19.5 and thermostat.get("temperature") == 20:
                return
            time.sleep(0.05)
        raise AssertionError(f"the test household did not come back: {self.state(ENTITIES['thermostat'])}")

    def set_state(self, entity_id: str, state: str, attributes: dict[str, Any] | None = None) -> Any:
        """Write an entity's state as any API client can (EMHASS does): how a test says junk."""
        body = {"state": state, "attributes": attributes or {}}
        return self.request("POST", f"/api/states/{entity_id}", body)

    def enable_mqtt(self, broker_host: str = "127.0.0.1", port: int = 1883) -> str:
        """The MQTT integration on ``broker_host:port`` through its config flow (there is no YAML for the
        broker); its config entry id. Once per Home Assistant: later calls return the same entry."""
        with self._lock:
            if self.mqtt_entry is None:
                flow = self.request("POST", "/api/config/config_entries/flow",
                                    {"handler": "mqtt", "show_advanced_options": False})  # fmt: skip
                for _ in range(5):  # a form (the broker), possibly after a menu
                    if flow.get("type") != "form" and flow.get("type") != "menu":
                        break
                    answer: dict[str, Any] = {"broker": broker_host, "port": port}
                    if flow.get("type") == "menu":
                        answer = {"next_step_id": flow["menu_options"][0]}
                    flow = self.request("POST", f"/api/config/config_entries/flow/{flow['flow_id']}", answer)
                if flow.get("type") != "create_entry":
                    raise HomeAssistantUnavailable(f"the MQTT config flow did not finish: {flow}")
                self.mqtt_entry = str(flow["result"]["entry_id"])
            return self.mqtt_entry


async def _long_lived_token(ws_url: str, access: str) -> str:
    async with aiohttp.ClientSession() as session, session.ws_connect(ws_url, timeout=30) as ws:
        assert (await ws.receive_json(timeout=30))["type"] == "auth_required"
        await ws.send_json({"type": "auth", "access_token": access})
        said = await ws.receive_json(timeout=30)
        if said["type"] != "auth_ok":
            raise HomeAssistantUnavailable(f"Home Assistant refused the onboarding token: {said}")
        await ws.send_json({"id": 1, "type": "auth/long_lived_access_token", "client_name": "homeflex tests",
                            "lifespan": 3650})  # fmt: skip
        answer = await ws.receive_json(timeout=30)
        if not answer.get("success"):
            raise HomeAssistantUnavailable(f"no long-lived token: {answer}")
        return str(answer["result"])


def _run_async(coroutine: Any) -> Any:
    """Run a coroutine from sync code, also when called inside a running loop (via a thread)."""
    import asyncio

    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coroutine)
        except BaseException as err:
            result["error"] = err

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    if "error" in result:
        raise result["error"]
    if "value" not in result:
        raise HomeAssistantUnavailable("no long-lived token in 60 s")
    return result["value"]


# -- one per test process --------------------------------------------------------------------------------
_SHARED: dict[str, Any] = {}
_SHARED_LOCK = threading.Lock()


def prepare() -> None:
    """Build the venv now if it is missing (before the tests' timeouts run); a failure is kept for the
    tests that need Home Assistant to say."""
    with _SHARED_LOCK:
        if "error" not in _SHARED:
            try:
                ensure_venv()
            except HomeAssistantUnavailable as err:
                _SHARED["error"] = str(err)


def shared() -> HomeAssistant:
    """The test process's Home Assistant, started on first use (venv built first if need be); skips the
    test, saying why, when Home Assistant cannot run here (fails instead under
    HOMEFLEX_REQUIRE_SERVICES=1)."""
    with _SHARED_LOCK:
        if "error" in _SHARED:
            _unavailable(_SHARED["error"])
        if "ha" not in _SHARED:
            try:
                hass = ensure_venv()
                config_dir = Path(tempfile.mkdtemp(prefix="homeflex-ha-"))
                ha = HomeAssistant(config_dir=config_dir, port=free_port())
                atexit.register(_cleanup, ha)
                ha.start(hass)
            except HomeAssistantUnavailable as err:
                _SHARED["error"] = str(err)
                _unavailable(str(err))
            _SHARED["ha"] = ha
        return _SHARED["ha"]  # type: ignore[no-any-return]


def _unavailable(reason: str) -> None:
    if os.environ.get("HOMEFLEX_REQUIRE_SERVICES") == "1":
        pytest.fail(f"HOMEFLEX_REQUIRE_SERVICES=1 but Home Assistant cannot run: {reason}")
    pytest.skip(f"Home Assistant cannot run here: {reason}")


def _cleanup(ha: HomeAssistant) -> None:
    ha.stop()
    shutil.rmtree(ha.config_dir, ignore_errors=True)


def install_time_s() -> float | None:
    """How long the venv took to build (None: not built here)."""
    ready = VENV / "homeflex-ready.json"
    return json.loads(ready.read_text()).get("install_s") if ready.exists() else None
