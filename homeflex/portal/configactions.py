"""The household's configuration from the portal: each saved profile becomes a new version of the
household's configuration document (homeflex.household), stored and sent retained on the household's
own MQTT subtree (topics.config), where its agent (``homeflex ven --household ID``) reads it.

Stored and sent, or neither: a version the broker did not take is taken back (the agent would never
see it, and the next one must not skip a number it has seen)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from homeflex.core import topics
from homeflex.core.domain import Category, Stage
from homeflex.household import HouseholdConfig
from homeflex.mqtt import MqttUnavailable
from homeflex.portal.base import ActionError, PortalBase
from homeflex.portal.energy import ProfileError
from homeflex.portal.journey import Step, stage_of
from homeflex.portal.profileconfig import Household, household_config
from homeflex.storage.portal import Customer
from homeflex.storage.records import ConfigRecord

log = logging.getLogger(__name__)


class ConfigActions(PortalBase):
    async def household_of(self, c: Customer) -> Household:
        """Stage, category and group as the journey and the operator keep them."""
        step = c.state.left_from if c.state.step is Step.LEFT and c.state.left_from else c.state.step
        category = (await self.store.categories(c.household_id))[-1]
        record = await self.storage.get_household(c.household_id)
        return Household(
            household_id=c.household_id,
            stage=stage_of(step) or Stage.MANUAL,
            category=category.category,
            vulnerable=category.vulnerable,
            group=record.group if record else self.config.prospect_group,
        )

    async def config_for(self, c: Customer, profile: Mapping[str, Any]) -> HouseholdConfig:
        """The configuration ``profile`` makes (ProfileError naming the form field if it is refused)."""
        return household_config(profile, await self.household_of(c))

    async def resend_config(
        self,
        c: Customer,
        actor: str,
        *,
        stage: Stage | None = None,
        category: Category | None = None,
        vulnerable: bool | None = None,
        group: str | None = None,
    ) -> ConfigRecord | None:
        """A new version for a change the journey or the operator makes (the stage and with it the
        group, the category), made from the stored profile; None while the household has no profile."""
        profile = c.data.get("profile")
        if not profile:
            return None
        h = await self.household_of(c)
        h = replace(
            h,
            stage=h.stage if stage is None else stage,
            category=h.category if category is None else category,
            vulnerable=h.vulnerable if vulnerable is None else vulnerable,
            group=h.group if group is None else group,
        )
        try:
            config = household_config(profile, h)
        except ProfileError as err:
            raise ActionError(f"the household's profile needs correcting first: {err}") from err
        return await self.save_config(config, actor)

    async def save_config(self, config: HouseholdConfig, actor: str) -> ConfigRecord:
        """Store ``config`` as the household's next version and send it retained to its agent."""
        hh = config.household_id
        record = await self.storage.save_household_config(
            hh, config.to_document(), saved_at=self.clock.now(), actor=actor
        )
        if self.publisher is None:
            log.warning("configuration v%d of %s: no MQTT broker, its agent is not told", record.version, hh)
            return record
        payload = json.dumps(record.document, separators=(",", ":")).encode()
        try:
            await self.publisher.publish(topics.config(hh), payload)
        except MqttUnavailable as err:
            await self.storage.discard_household_config(hh, record.version)
            log.error("configuration v%d of %s not sent to its agent: %s", record.version, hh, err)
            raise ActionError(
                "your home's controller cannot be reached just now, so nothing was changed:"
                " try again in a minute"
            ) from err
        log.info("configuration v%d of %s saved by %s and sent", record.version, hh, actor)
        return record
