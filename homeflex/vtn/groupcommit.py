"""Group commit: many small writes become one transaction, and each writer still waits for its own.

When an event goes to 10,000 VENs, each delivery and each opt response is a row to write. One
transaction each serialises them on the database (and, on SQLite, on aiosqlite's one thread): at
~1,000 per second they queue for seconds. Here the rows that arrive while a batch is being written form
the next batch, so the batch size follows the load and a quiet VTN still writes at once. A writer
returns only when its row is committed, so an answer to a VEN is never sent before its row is stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Row = TypeVar("Row")


class GroupCommit(Generic[Row]):
    def __init__(self, write: Callable[[Sequence[Row]], Awaitable[None]]) -> None:
        self._write = write
        self._rows: list[Row] = []
        self._done: asyncio.Future[None] | None = None  # resolves when the queued rows are committed
        self._flusher: asyncio.Task[None] | None = None
        self.batches = 0  # transactions written, for tests and benchmarks

    async def add(self, rows: Sequence[Row]) -> None:
        """Queue rows and wait until they are committed; raises what the write raised."""
        if not rows:
            return
        self._rows.extend(rows)
        if self._done is None:
            self._done = asyncio.get_running_loop().create_future()
        done = self._done
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush())
        await asyncio.shield(done)

    async def _flush(self) -> None:
        while self._rows:
            batch, self._rows = self._rows, []
            done, self._done = self._done, None  # rows added during this write form the next batch
            assert done is not None
            try:
                await self._write(batch)
            except asyncio.CancelledError:
                done.cancel()
                raise
            except Exception as err:
                done.set_exception(err)
                done.exception()  # retrieved here too, so asyncio does not log it when nobody awaits it
            else:
                done.set_result(None)
            self.batches += 1
