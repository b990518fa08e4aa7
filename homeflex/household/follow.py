"""The household agent's configuration from the platform: the portal sends each version of the
household's configuration retained on its own MQTT subtree (``topics.config``). The agent reads the
retained one to start (``retained_config``), then follows the topic (``ConfigFollower``): each newer
version is applied to the running control loop at once; an older or equal one is ignored (a broker
reconnect delivers the retained message again), and an invalid one is logged with its field and ignored,
so the agent keeps running on the last good version."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable, MutableMapping
from types import TracebackType
from typing import Any, Protocol

from homeflex.core import topics
from homeflex.core.domain import HouseholdSpec
from homeflex.core.strict import ConfigError
from homeflex.core.tasks import stop_tasks
from homeflex.drivers import DriverServices
from homeflex.household.config import HouseholdConfig, config_from_json, load_config_file
from homeflex.mqtt import MqttSession
from homeflex.mqtt.session import Handler

log = logging.getLogger(__name__)


async def retained_config(mqtt_url: str, household_id: str, wait_s: float = 5.0) -> HouseholdConfig | None:
    """The household's configuration retained on the broker, waiting up to ``wait_s`` for it (a
    retained message comes right after the subscription, so a short wait is enough); None when there
    is none. ConfigError if the document is invalid or is another household's; MqttUnavailable if the
    broker cannot be reached."""
    arrived: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def take(_topic: str, payload: bytes) -> None:
        if payload and not arrived.done():  # an empty retained message clears the topic
            arrived.set_result(payload)

    session = MqttSession(mqtt_url, f"cfg-{household_id}-{uuid.uuid4().hex[:8]}")
    session.subscribe(topics.config(household_id), take)
    async with session:
        try:
            async with asyncio.timeout(wait_s):
                payload = await arrived
        except TimeoutError:
            return None
    config = config_from_json(payload)
    if config.household_id != household_id:
        raise ConfigError("household_id", f"is {config.household_id!r}, not {household_id!r}")
    return config


async def publish_configs(mqtt_url: str, configs: Iterable[HouseholdConfig]) -> None:
    """Send configurations retained, as the portal does, for households it does not know: the simulated
    population (``homeflex sim``), so that ``homeflex ven --household ID`` runs them as real homes."""
    async with MqttSession(mqtt_url, f"cfg-publisher-{uuid.uuid4().hex[:8]}") as session:
        for config in configs:
            await session.publish(topics.config(config.household_id), config.to_json(), retain=True)


class NoConfiguration(LookupError):
    """The platform has no configuration for the household (the message says what to do)."""


async def agent_config(
    mqtt_url: str, household_id: str | None, path: str | None, wait_s: float = 5.0
) -> HouseholdConfig:
    """What ``homeflex ven`` runs: the file at ``path`` (a self-installer's), else the household's
    configuration retained on the broker. ConfigError names the bad field; NoConfiguration when there
    is none; MqttUnavailable when the broker cannot be reached."""
    if path is not None:
        config = load_config_file(path)
        if household_id is not None and config.household_id != household_id:
            raise ConfigError("household_id", f"{path} is {config.household_id!r}'s, not {household_id!r}'s")
        return config
    if household_id is None:
        raise NoConfiguration("give --household ID (its configuration is on the broker) or --config FILE")
    if not topics.is_topic_level(household_id):
        raise ConfigError("household_id", f"{household_id!r} must be one MQTT topic level (no '/', '+', '#')")
    found = await retained_config(mqtt_url, household_id, wait_s)
    if found is None:
        raise NoConfiguration(
            f"no configuration for household {household_id} on the broker: finish the smart energy profile"
            " in the portal, or give --config FILE"
        )
    return found


def protocols_of(config: HouseholdConfig) -> set[str]:
    """The protocols the household's devices and meter speak (whose drivers may need a server)."""
    return {d.protocol for d in config.devices} | {config.meter.protocol}


class ConfiguredLoop(Protocol):
    """What the follower needs of the household's control loop (homeflex.control.loop.HouseholdController):
    the configuration it runs, the servers its drivers find (DeviceLink.services), a subscription on its
    MQTT session, and applying a new version."""

    @property
    def household(self) -> HouseholdSpec: ...

    @property
    def config(self) -> HouseholdConfig: ...

    @property
    def services(self) -> MutableMapping[str, Any]: ...

    def subscribe(self, topic_filter: str, handler: Handler) -> None: ...

    async def apply_config(self, config: HouseholdConfig) -> None: ...


class ConfigFollower:
    """Applies each newer configuration version pushed on ``topics.config`` to ``controller``, one at a
    time and the latest first (versions that arrive meanwhile are skipped to the newest). With
    ``services`` (the agent's running DriverServices), the servers a version's protocols need are
    started before its drivers are built, and those no longer needed stopped after."""

    def __init__(self, controller: ConfiguredLoop, services: DriverServices | None = None) -> None:
        self.controller = controller
        self.services = services
        self.household_id = controller.household.id
        self.applied: list[int] = []  # versions applied, in order
        self.refused: list[ConfigError] = []  # invalid documents pushed (logged)
        self._pending: HouseholdConfig | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        controller.subscribe(topics.config(self.household_id), self._on_config)

    @property
    def version(self) -> int:
        newest = self._pending.version if self._pending is not None else 0
        return max(self.controller.config.version, newest)

    def _on_config(self, topic: str, payload: bytes) -> None:
        if not payload:
            return  # the retained message was cleared: keep running on what the agent has
        try:
            config = config_from_json(payload)
            if config.household_id != self.household_id:
                raise ConfigError("household_id", f"is {config.household_id!r}, not {self.household_id!r}")
        except ConfigError as err:
            self.refused.append(err)
            log.error(
                "%s: configuration on %s refused, keeps running v%d: %s",
                self.household_id,
                topic,
                self.controller.config.version,
                err,
            )
            return
        if config.version <= self.version:
            log.debug("%s: configuration v%d already applied or older", self.household_id, config.version)
            return
        self._pending = config
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            config, self._pending = self._pending, None
            if config is None or config.version <= self.controller.config.version:
                continue
            try:
                await self._apply(config)
                self.applied.append(config.version)
            except Exception:  # a driver that cannot start must not end the agent
                log.exception("%s: configuration v%d could not be applied", self.household_id, config.version)

    async def _apply(self, config: HouseholdConfig) -> None:
        if self.services is None:
            await self.controller.apply_config(config)
            return
        wanted = protocols_of(config)
        for name in await self.services.need(wanted):
            log.info("%s: v%d needs the %s server: started", self.household_id, config.version, name)
        # The controller's drivers find the servers in its services mapping (DeviceLink.services).
        self.controller.services.update(self.services.running)
        await self.controller.apply_config(config)
        for name in await self.services.keep_only(wanted):
            self.controller.services.pop(name, None)
            log.info("%s: v%d needs no %s server: stopped", self.household_id, config.version, name)

    async def __aenter__(self) -> ConfigFollower:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"config-{self.household_id}")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            await stop_tasks([self._task])
            self._task = None
