"""stop_tasks stops a task even when a cancellation was swallowed (as asyncio.wait_for can on 3.11)."""

from __future__ import annotations

import asyncio

from homeflex.core.tasks import stop_tasks


async def test_a_task_that_swallows_one_cancellation_is_still_stopped() -> None:
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed += 1  # as if the cancel arrived just as an awaited publish completed

    task = asyncio.get_running_loop().create_task(stubborn())
    await asyncio.sleep(0)
    async with asyncio.timeout(5):
        await stop_tasks([task])
    assert task.cancelled() and swallowed == 1


async def test_finished_and_empty_task_lists_return_at_once() -> None:
    done = asyncio.get_running_loop().create_task(asyncio.sleep(0))
    await done
    await stop_tasks([done])
    await stop_tasks([])
