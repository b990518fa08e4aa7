"""One connected charger, as the central system sees it: answers what the charger sends, in the OCPP
version the websocket handshake agreed (``ocpp1.6`` or ``ocpp2.0.1``), and hands it to the driver that
registered the charge point (a ``Listener``) in one vocabulary for both versions."""

from __future__ import annotations

import itertools
import logging
from datetime import UTC
from typing import Any, Protocol

from ocpp.exceptions import OCPPError
from ocpp.messages import unpack
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201
from websockets.asyncio.server import ServerConnection

from homeflex.core.clock import Clock

log = logging.getLogger(__name__)
# The ocpp package logs every frame at INFO: with a hundred chargers that drowns the agent's own log.
# Set this logger to INFO to see the frames.
FRAMES = logging.getLogger("homeflex.drivers.ocpp.frames")
FRAMES.setLevel(logging.WARNING)


class Listener(Protocol):
    """What a driver hears from its charger (``connector_id``: the 1.6 connector, the 2.0.1 EVSE)."""

    def connected(self, up: bool) -> None: ...

    def booted(self) -> None:
        """After every accepted BootNotification: the charger may have forgotten its configuration."""
        ...

    def status(self, connector_id: int, status: str, error_code: str) -> None: ...

    def meter_values(self, connector_id: int, meter_value: list[dict[str, Any]]) -> None: ...


class Host(Protocol):
    """The central system, as a session needs it."""

    clock: Clock

    @property
    def heartbeat_s(self) -> int: ...

    @property
    def response_timeout_s(self) -> float: ...

    def listener(self, cp_id: str) -> Listener | None: ...


class _Common:
    """What both versions' sessions do alike."""

    id: str
    host: Host
    version: str

    def _listener(self) -> Listener | None:
        return self.host.listener(self.id)

    def _now(self) -> str:
        return self.host.clock.now().astimezone(UTC).isoformat().replace("+00:00", "Z")

    async def route_message(self, raw_msg: str | bytes) -> None:
        try:
            unpack(raw_msg)
        except OCPPError as err:
            log.warning("%s: unreadable frame %r: %s", self.id, str(raw_msg)[:80], err)
            return
        await super().route_message(raw_msg)  # type: ignore[misc]

    def _booted(self) -> None:
        if (listener := self._listener()) is not None:
            listener.booted()

    def _status(self, connector_id: int, status: str, error_code: str) -> None:
        if (listener := self._listener()) is not None:
            listener.status(connector_id, status, error_code)

    def _meter_values(self, connector_id: int, meter_value: list[dict[str, Any]] | None) -> None:
        if meter_value and (listener := self._listener()) is not None:
            listener.meter_values(connector_id, meter_value)


class Session16(_Common, ChargePoint16):  # type: ignore[misc]
    version = "1.6"

    def __init__(self, cp_id: str, connection: ServerConnection, host: Host) -> None:
        super().__init__(cp_id, connection, host.response_timeout_s, logger=FRAMES)
        self.connection = connection
        self.host = host
        self._transactions = itertools.count(1)

    @on(Action16.boot_notification)
    def on_boot(self, **_: Any) -> Any:
        return result16.BootNotification(
            current_time=self._now(), interval=self.host.heartbeat_s, status="Accepted"
        )

    @after(Action16.boot_notification)
    def after_boot(self, **_: Any) -> None:
        self._booted()

    @on(Action16.heartbeat)
    def on_heartbeat(self) -> Any:
        return result16.Heartbeat(current_time=self._now())

    @on(Action16.status_notification)
    def on_status(self, connector_id: int, error_code: str, status: str, **_: Any) -> Any:
        self._status(connector_id, status, error_code)
        return result16.StatusNotification()

    @on(Action16.meter_values)
    def on_meter_values(self, connector_id: int, meter_value: list[dict[str, Any]], **_: Any) -> Any:
        self._meter_values(connector_id, meter_value)
        return result16.MeterValues()

    # A charger asks before and reports after each charging session; homeflex authorises every car
    # (it manages power, not access).
    @on(Action16.authorize)
    def on_authorize(self, **_: Any) -> Any:
        return result16.Authorize(id_tag_info={"status": "Accepted"})

    @on(Action16.start_transaction)
    def on_start_transaction(self, **_: Any) -> Any:
        return result16.StartTransaction(
            transaction_id=next(self._transactions), id_tag_info={"status": "Accepted"}
        )

    @on(Action16.stop_transaction)
    def on_stop_transaction(self, **_: Any) -> Any:
        return result16.StopTransaction()

    # What a real charger also sends, answered so that it carries on: homeflex keeps no use for them.
    @on(Action16.data_transfer)
    def on_data_transfer(self, **_: Any) -> Any:
        return result16.DataTransfer(status="UnknownVendorId")

    @on(Action16.firmware_status_notification)
    def on_firmware_status(self, **_: Any) -> Any:
        return result16.FirmwareStatusNotification()

    @on(Action16.diagnostics_status_notification)
    def on_diagnostics_status(self, **_: Any) -> Any:
        return result16.DiagnosticsStatusNotification()


class Session201(_Common, ChargePoint201):  # type: ignore[misc]
    """OCPP 2.0.1: the status is the connector's (Occupied: a car is plugged in); meter values come in
    MeterValues (aligned data) and in TransactionEvent (a charging session's data)."""

    version = "2.0.1"

    def __init__(self, cp_id: str, connection: ServerConnection, host: Host) -> None:
        super().__init__(cp_id, connection, host.response_timeout_s, logger=FRAMES)
        self.connection = connection
        self.host = host

    @on(Action201.boot_notification)
    def on_boot(self, **_: Any) -> Any:
        return result201.BootNotification(
            current_time=self._now(), interval=self.host.heartbeat_s, status="Accepted"
        )

    @after(Action201.boot_notification)
    def after_boot(self, **_: Any) -> None:
        self._booted()

    @on(Action201.heartbeat)
    def on_heartbeat(self, **_: Any) -> Any:
        return result201.Heartbeat(current_time=self._now())

    @on(Action201.status_notification)
    def on_status(self, evse_id: int, connector_status: str, **_: Any) -> Any:
        self._status(evse_id, connector_status, "")
        return result201.StatusNotification()

    @on(Action201.meter_values)
    def on_meter_values(self, evse_id: int, meter_value: list[dict[str, Any]], **_: Any) -> Any:
        self._meter_values(evse_id, meter_value)
        return result201.MeterValues()

    @on(Action201.transaction_event)
    def on_transaction_event(
        self, meter_value: list[dict[str, Any]] | None = None, evse: dict[str, Any] | None = None, **_: Any
    ) -> Any:
        if evse is not None:
            self._meter_values(int(evse["id"]), meter_value)
        return result201.TransactionEvent()

    @on(Action201.authorize)
    def on_authorize(self, **_: Any) -> Any:
        return result201.Authorize(id_token_info={"status": "Accepted"})

    @on(Action201.notify_report)
    def on_notify_report(self, **_: Any) -> Any:
        return result201.NotifyReport()

    @on(Action201.data_transfer)
    def on_data_transfer(self, **_: Any) -> Any:
        return result201.DataTransfer(status="UnknownVendorId")

    @on(Action201.firmware_status_notification)
    def on_firmware_status(self, **_: Any) -> Any:
        return result201.FirmwareStatusNotification()

    @on(Action201.notify_event)
    def on_notify_event(self, **_: Any) -> Any:
        return result201.NotifyEvent()

    @on(Action201.security_event_notification)
    def on_security_event(self, **_: Any) -> Any:
        return result201.SecurityEventNotification()


SESSIONS: dict[str, type[Session16] | type[Session201]] = {"ocpp1.6": Session16, "ocpp2.0.1": Session201}
