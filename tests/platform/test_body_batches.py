"""``body_batches.batches``: a body cut into fixed batches from chunks of any size, in two buffers in turn."""

from __future__ import annotations

import asyncio
import os

import pytest

from pulp_platform.webapi.body_batches import batches


async def _chunks(parts: list[bytes]):
    for part in parts:
        yield part


def _gather(parts: list[bytes], size: int) -> list[bytes]:
    async def run() -> list[bytes]:
        return [bytes(batch) async for batch in batches(_chunks(parts), size)]
    return asyncio.run(run())


@pytest.mark.parametrize("sizes", [[], [0], [10], [16], [16, 16], [3, 5, 40, 1, 16, 7], [100], [15, 1, 17]])
def test_the_batches_are_the_body_cut_every_size_bytes(sizes: list[int]) -> None:
    parts = [os.urandom(n) for n in sizes]
    body = b"".join(parts)
    got = _gather(parts, 16)
    assert b"".join(got) == body
    assert all(len(batch) == 16 for batch in got[:-1]) and all(0 < len(batch) <= 16 for batch in got)


def test_a_batch_is_intact_while_the_next_is_gathered_and_the_buffers_take_turns() -> None:
    parts = [os.urandom(10) for _ in range(10)]
    body = b"".join(parts)

    async def run() -> None:
        previous: memoryview | None = None
        seen: list[int] = []
        offset = 0
        async for batch in batches(_chunks(parts), 16):
            if previous is not None:  # still what it was when it came: the other buffer took the next
                assert bytes(previous) == body[offset - len(previous):offset]
            seen.append(id(batch.obj))
            offset += len(batch)
            assert bytes(batch) == body[offset - len(batch):offset]
            previous = batch
        assert len(set(seen)) == 2 and seen[0::2] == [seen[0]] * len(seen[0::2])

    asyncio.run(run())
