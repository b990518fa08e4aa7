"""The profile's device form, from the driver registry (homeflex.drivers): for each kind of device the
household owns, the protocols that can drive it (their titles and the products known to speak them) and
each protocol's address fields, read from the driver's own address dataclass (name, type, default).
Nothing here names a protocol: a driver that registers itself appears in the form (pure: no I/O).

The form is laid out in slots: a device kind (``ev_charger``), the same kind numbered for a household's
second, third... device of that kind (``smart_plug1``), or ``meter``, the household's meter, reached by
a driver that can meter."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from homeflex.core.domain import DeviceKind
from homeflex.drivers import DRIVERS, DriverInfo, protocols_for
from homeflex.household import DeviceConfig

SCALARS: tuple[type, ...] = (bool, int, float, str)
METER = "meter"  # the slot of the household's meter


def kind_of(slot: str) -> str:
    """The device kind of a form slot: ``smart_plug1`` is a smart plug (DeviceKind values hold no
    digits)."""
    return slot.rstrip("0123456789")


@dataclass(frozen=True, kw_only=True)
class AddressField:
    """One field of a driver's address, as the form shows it."""

    key: str  # the address's key (the dataclass field)
    name: str  # the form field's name
    kind: type  # str, int, float or bool
    required: bool
    default: Any  # shown as the placeholder; None when there is none

    @property
    def flag(self) -> bool:
        return self.kind is bool

    @property
    def secret(self) -> bool:
        """A password or key: typed into a password field, never shown back."""
        return any(word in self.key for word in ("password", "secret", "token", "key"))

    @property
    def label(self) -> str:
        return self.key.replace("_", " ").capitalize() + ("" if self.required else " (optional)")


@dataclass(frozen=True, kw_only=True)
class ProtocolChoice:
    protocol: str
    title: str
    products: tuple[str, ...]
    fields: tuple[AddressField, ...]


def protocol_field(kind: str) -> str:
    return f"{kind}_protocol"


def product_field(kind: str) -> str:
    return f"{kind}_product"


def address_field(kind: str, protocol: str, key: str) -> str:
    return f"{kind}_{protocol}_{key}"


def _scalar(annotation: Any) -> type:
    """The form type of an annotation (``float``, ``str | None``...); anything richer is typed as text
    and left to the driver's own parsing, which says what is wrong."""
    args = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,)
    kinds = [a for a in args if a is not type(None)]
    return kinds[0] if len(kinds) == 1 and kinds[0] in SCALARS else str


def address_fields(kind: str, info: DriverInfo) -> tuple[AddressField, ...]:
    try:
        hints = typing.get_type_hints(info.config)
    except (NameError, TypeError):  # an annotation this module cannot resolve: typed as text
        hints = {}
    out = []
    for f in dataclasses.fields(info.config):
        if not f.init:
            continue
        scalar = _scalar(hints.get(f.name, str))
        default = f.default if f.default is not dataclasses.MISSING else None
        if f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        out.append(
            AddressField(
                key=f.name,
                name=address_field(kind, info.protocol, f.name),
                kind=scalar,
                required=required,
                default=default,
            )
        )
    return tuple(out)


def default_protocol(kind: str) -> str:
    """The protocol a device is reached by when the form does not say: the document's own default
    (homeflex's dialect), if it can drive ``kind``."""
    default = next(f.default for f in dataclasses.fields(DeviceConfig) if f.name == "protocol")
    offered = [c.protocol for c in choices(kind)]
    return str(default) if default in offered or not offered else offered[0]


def choices(kind: str) -> list[ProtocolChoice]:
    """The protocols that can drive the device of slot ``kind`` (or be the household's meter),
    homeflex's own dialect last: it is the simulators', a real home's devices speak their makers'
    protocols."""
    if kind == METER:
        found = [i for _, i in DRIVERS if i.meter or i.protocol == "homeflex"]
    else:
        found = protocols_for(DeviceKind(kind_of(kind)))
    found.sort(key=lambda i: (i.protocol == "homeflex", i.title))
    return [
        ProtocolChoice(
            protocol=i.protocol, title=i.title, products=i.products, fields=address_fields(kind, i)
        )
        for i in found
    ]


def _value(text: str, f: AddressField) -> Any:
    if f.kind is bool:
        return text.lower() in ("on", "1", "true", "yes")
    if f.kind is int:
        return int(text)
    if f.kind is float:
        return float(text)
    return text


def read_wiring(form: Mapping[str, str], kind: str, errors: dict[str, str]) -> dict[str, Any]:
    """How the household's device of ``kind`` is reached: {"protocol", "address", "product"?}; the
    mistakes go to ``errors`` under the form field's name (the driver's own checks come later, when
    the configuration is parsed)."""
    offered = {c.protocol: c for c in choices(kind)}
    protocol = (form.get(protocol_field(kind)) or "").strip() or default_protocol(kind)
    choice = offered.get(protocol)
    if choice is None:
        titles = ", ".join(c.title for c in offered.values()) or "none yet"
        errors[protocol_field(kind)] = f"choose how it connects: {titles}"
        return {}
    address: dict[str, Any] = {}
    for f in choice.fields:
        text = (form.get(f.name) or "").strip()
        if not text and f.kind is not bool:
            if f.required:
                errors[f.name] = f"{f.label}: required for {choice.title}"
            continue
        try:
            address[f.key] = _value(text, f)
        except ValueError:
            errors[f.name] = f"{f.label}: enter {'a whole number' if f.kind is int else 'a number'}"
    wiring: dict[str, Any] = {"protocol": protocol, "address": address}
    product = (form.get(product_field(kind)) or "").strip()
    if product:
        wiring["product"] = product[:100]
    return wiring


def wiring_fields(kind: str, wiring: Mapping[str, Any]) -> dict[str, str]:
    """A stored device's wiring back as form values (to show the form filled in)."""
    protocol = str(wiring.get("protocol", ""))
    out = {protocol_field(kind): protocol, product_field(kind): str(wiring.get("product", ""))}
    secrets = {f.key for c in choices(kind) if c.protocol == protocol for f in c.fields if f.secret}
    for key, value in dict(wiring.get("address") or {}).items():
        if key in secrets:
            continue
        text = {True: "on", False: ""}.get(value, str(value)) if isinstance(value, bool) else str(value)
        out[address_field(kind, protocol, key)] = text
    return out


def keep_secrets(form: Mapping[str, str], profile: Mapping[str, Any] | None) -> dict[str, str]:
    """``form`` with each password left empty filled from the stored profile (the form never shows
    one back), while the device still connects the same way."""
    out = dict(form)
    for kind, wire in dict((profile or {}).get("wiring") or {}).items():
        protocol = str(wire.get("protocol", ""))
        if (form.get(protocol_field(kind)) or default_protocol(kind)) != protocol:
            continue
        for c in choices(kind):
            for f in c.fields:
                stored = dict(wire.get("address") or {}).get(f.key)
                if c.protocol == protocol and f.secret and not form.get(f.name) and stored is not None:
                    out[f.name] = str(stored)
    return out
