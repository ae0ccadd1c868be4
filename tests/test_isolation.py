"""Untrusted files are read in a child process: a hang, a memory blow-up or a crash there is a reason
for a person, never a stalled or dead gateway."""

from __future__ import annotations

import os
import time

import pytest

from gateway.isolation import IsolationError, Limits, run_isolated


def answer(x: int) -> tuple[int, int]:
    return x * 2, os.getpid()


def hang() -> None:
    time.sleep(60)


def allocate() -> bytes:
    return bytes(2 * 1024 * 1024 * 1024)


def die() -> None:
    os._exit(3)


def fail() -> None:
    raise ValueError("broken cross-reference table")


def test_the_result_comes_back_from_another_process() -> None:
    value, pid = run_isolated(answer, 21)
    assert value == 42 and pid != os.getpid()


def test_a_hang_is_stopped_at_the_time_limit() -> None:
    start = time.monotonic()
    with pytest.raises(IsolationError) as info:
        run_isolated(hang, limits=Limits(seconds=1.0))
    assert info.value.code == "EXTRACTION_TIMEOUT" and "1 s" in str(info.value)
    assert time.monotonic() - start < 10


def test_memory_beyond_the_cap_is_refused() -> None:
    with pytest.raises(IsolationError) as info:
        run_isolated(allocate, limits=Limits(memory_bytes=512 * 1024 * 1024))
    assert info.value.code == "EXTRACTION_MEMORY"


@pytest.mark.parametrize(("fn", "words"), [(die, "exit code 3"), (fail, "broken cross-reference table")])
def test_a_crash_is_a_reason(fn: object, words: str) -> None:
    with pytest.raises(IsolationError) as info:
        run_isolated(fn)  # type: ignore[arg-type]
    assert info.value.code == "EXTRACTION_CRASHED" and words in str(info.value)
