"""The error tree each boundary translates its own failures into, once, so the caller knows what to do:

- ``Transient``: no answer (offline, a timeout, a broker away): try again later, with backoff.
- ``Permanent``: an answer of "no", or a configuration that cannot work (a bad value, refused
  credentials): the same request will fail the same way; fix it, do not retry it.

Anything else is a bug and propagates. Existing errors keep their own class and add one of these as a
base, e.g. ``DeviceUnreachable(DeviceError, Transient)``; catch the specific class where it is raised,
decide on the base where it is handled.
"""

from __future__ import annotations


class HomeflexError(Exception):
    """A failure homeflex expects and has classified."""


class Transient(HomeflexError):
    """Retry later, with backoff."""


class Permanent(HomeflexError):
    """Retrying will not help: configuration, credentials or a refusal."""
