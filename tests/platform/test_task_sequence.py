"""Task sequence numbers against a real (embedded) database: unique also when a counter's first
increments race, as the first imports of a fresh server do (ten uploads at once once answered a 500)."""

from __future__ import annotations

import threading
import uuid

import pytest

from pulp_platform.models.task import next_sequence


def _race(name: str, callers: int) -> tuple[list[int], list[BaseException]]:
    """``callers`` threads take the next value of counter ``name`` at once."""
    values: list[int] = []
    failures: list[BaseException] = []
    start = threading.Barrier(callers)

    def increment() -> None:
        start.wait()
        try:
            values.append(next_sequence(name))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            failures.append(exc)

    threads = [threading.Thread(target=increment) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return values, failures


@pytest.mark.parametrize("attempt", range(5))
def test_concurrent_first_increments_of_a_counter_are_all_answered_and_unique(database: None, attempt: int) -> None:
    name = f"test-{attempt}-{uuid.uuid4().hex}"
    values, failures = _race(name, 10)
    assert failures == []
    assert len(set(values)) == 10
    assert next_sequence(name) > max(values)
