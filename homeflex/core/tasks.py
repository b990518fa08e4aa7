"""Stopping background tasks for sure.

On Python 3.11 ``asyncio.wait_for`` (which aiomqtt uses for every publish) can swallow a cancellation
that arrives just as the awaited operation completes (CPython gh-86296): the task then runs on, e.g. back
into its sleep, and a bare ``cancel(); await gather(...)`` waits forever. ``stop_tasks`` cancels again
until the tasks are done.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)


async def stop_tasks(tasks: Iterable[asyncio.Future[Any]], *, rounds: int = 20) -> None:
    """Cancel ``tasks`` and wait until every one has finished (re-cancelling one that swallowed it)."""
    pending = {t for t in tasks if not t.done()}
    for _ in range(rounds):
        if not pending:
            return
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.5)
    if pending:
        log.error("%d background tasks would not stop: %s", len(pending), pending)
