"""GroupCommit: rows that arrive during a write form the next transaction; writers wait for their own."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from homeflex.vtn.groupcommit import GroupCommit


class Book:
    """A write that takes a while, as a database commit does, and records each batch."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.fail_on = fail_on
        self.gate = asyncio.Event()
        self.gate.set()

    async def write(self, rows: Sequence[int]) -> None:
        await self.gate.wait()
        await asyncio.sleep(0)
        if self.fail_on is not None and self.fail_on in rows:
            raise RuntimeError("disk full")
        self.batches.append(list(rows))


async def test_rows_arriving_during_a_write_share_the_next_transaction() -> None:
    book = Book()
    commit = GroupCommit(book.write)
    book.gate.clear()
    first = asyncio.ensure_future(commit.add([1]))
    await asyncio.sleep(0)  # the first write has started and waits at the gate
    rest = [asyncio.ensure_future(commit.add([n])) for n in range(2, 12)]
    await asyncio.sleep(0)
    assert not first.done()
    book.gate.set()
    await asyncio.gather(first, *rest)
    assert book.batches == [[1], list(range(2, 12))]
    assert commit.batches == 2


async def test_a_writer_returns_only_after_its_rows_are_written() -> None:
    book = Book()
    commit = GroupCommit(book.write)

    async def add_and_check(n: int) -> None:
        await commit.add([n, n + 100])
        assert any(n in batch and n + 100 in batch for batch in book.batches)

    await asyncio.gather(*(add_and_check(n) for n in range(50)))
    assert sorted(r for b in book.batches for r in b) == sorted([*range(50), *range(100, 150)])


async def test_a_failed_write_fails_every_writer_of_that_batch_and_not_the_next() -> None:
    book = Book(fail_on=3)
    commit = GroupCommit(book.write)
    book.gate.clear()
    first = asyncio.ensure_future(commit.add([1]))
    await asyncio.sleep(0)
    doomed = [asyncio.ensure_future(commit.add([n])) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    book.gate.set()
    await first
    for task in doomed:
        with pytest.raises(RuntimeError, match="disk full"):
            await task
    await commit.add([5])  # the next batch is written
    assert book.batches == [[1], [5]]


async def test_nothing_to_write_writes_nothing() -> None:
    book = Book()
    commit = GroupCommit(book.write)
    await commit.add([])
    assert book.batches == []
    assert commit.batches == 0
