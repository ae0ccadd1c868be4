"""The running gateway as a separate process: folder in, ERP file and 997 out, and SIGKILL mid-batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.x12_factory import order_file

CONFIG = """
[gateway]
data_dir = "{data}"
database_url = "{db}"
identities = [{{ qualifier = "ZZ", id = "EDIGW" }}]
folder_poll_seconds = 0.5
folder_settle_seconds = 0.1
workers = 8
http_port = 0

[erp]
path = "{erp}"

[[partners]]
id = "acme"
identities = [{{ qualifier = "ZZ", id = "ACMEBUYER" }}]
"""


class Served:
    def __init__(self, tmp: Path, database_url: str) -> None:
        self.data = tmp / "var"
        self.erp = tmp / "erp"
        self.config = tmp / "gateway.toml"
        self.config.write_text(CONFIG.format(data=self.data, db=database_url, erp=self.erp))
        self.inbound = self.data / "partners" / "acme" / "inbound"
        self.outbound = self.data / "partners" / "acme" / "outbound"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = tmp / "serve.log"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("EDIGW_DATABASE_URL", "EDIGW_CONFIG")}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "gateway", "serve", "--config", str(self.config)],
                                         cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.inbound.is_dir(), 60, "the gateway to create its inbound folder")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def drop(self, name: str, raw: bytes) -> None:
        tmp = self.inbound / f".{name}.tmp"
        tmp.write_bytes(raw)
        tmp.rename(self.inbound / name)

    def delivered(self) -> list[Path]:
        return list(self.erp.glob("*.json")) if self.erp.exists() else []

    def acks(self) -> list[Path]:
        return list(self.outbound.glob("*.x12")) if self.outbound.exists() else []


def wait_for(cond: Callable[[], bool], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[Served]:
    s = Served(tmp_path, database_url)
    yield s
    s.stop()


def test_a_dropped_850_reaches_the_erp_and_a_997_comes_back(served: Served) -> None:
    served.start()
    served.drop("order.edi", order_file("PO-E2E", 1))
    wait_for(lambda: len(served.delivered()) == 1 and len(served.acks()) == 1, 30, "delivery and 997")
    assert b"PO-E2E" in served.delivered()[0].read_bytes()
    assert b"ST*997*" in served.acks()[0].read_bytes()
    assert not any(served.inbound.iterdir())  # archived


@pytest.mark.slow
def test_sigkill_mid_batch_finishes_every_item_exactly_once(served: Served) -> None:
    total = 200
    served.start()
    for n in range(total):
        served.drop(f"po{n:03d}.edi", order_file(f"PO-K{n:03d}", 1000 + n, lines=2))
    wait_for(lambda: len(served.delivered()) >= 20, 120, "some deliveries before the kill")
    served.kill()
    in_flight = total - len(served.delivered())
    assert in_flight > 0, "the kill came too late to test anything"
    served.start()
    wait_for(lambda: len(served.delivered()) >= total and len(served.acks()) >= total, 240,
             "all orders and 997s after the restart")
    time.sleep(1.5)  # anything extra would show up now
    delivered = served.delivered()
    assert len(delivered) == total
    assert len(served.acks()) == total
    numbers = sorted(p.read_text().split('"number": "')[1].split('"')[0] for p in delivered)
    assert numbers == [f"PO-K{n:03d}" for n in range(total)]
    assert not [p for p in served.inbound.iterdir() if not p.name.startswith(".")]


def test_bad_inputs_end_visible_and_the_gateway_keeps_serving(served: Served, tmp_path: Path,
                                                              database_url: str) -> None:
    from sqlmodel import select

    from gateway.store.db import make_engine, session_scope
    from gateway.store.models import ExceptionRecord, ReceivedItem

    served.start()
    shared = served.data / "inbound"
    served.drop("empty.edi", b"")
    served.drop("garbage.bin", bytes((n * 7919) % 251 for n in range(50 * 1024 * 1024)))
    served.drop("first.edi", order_file("PO-OK1", 301))
    (shared / "stranger.edi").write_bytes(order_file("PO-X", 302, sender="STRANGER"))
    wait_for(lambda: len(served.delivered()) == 1, 60, "the first valid order")
    served.drop("again.edi", order_file("PO-OK1", 301))  # identical bytes
    served.drop("reused.edi", order_file("PO-OK2", 301))  # new content, reused ISA13
    served.drop("last.edi", order_file("PO-OK3", 303))
    wait_for(lambda: len(served.delivered()) == 2, 60, "the order after the bad inputs")
    assert served.proc is not None and served.proc.poll() is None, "the gateway died"

    engine = make_engine(database_url)
    expected = {"empty.edi": ("exception", "UNSUPPORTED_FORMAT"), "garbage.bin": ("exception", "UNSUPPORTED_FORMAT"),
                "stranger.edi": ("exception", "UNKNOWN_PARTNER"), "again.edi": ("duplicate", None),
                "reused.edi": ("exception", "X12_DUPLICATE_INTERCHANGE"), "first.edi": ("acknowledged", None),
                "last.edi": ("acknowledged", None)}

    def settled() -> bool:
        with session_scope(engine) as s:
            states = {i.source_name: i.state for i in s.exec(select(ReceivedItem)).all()}
        return all(states.get(name) == state for name, (state, _) in expected.items())

    wait_for(settled, 60, "every item to settle")
    with session_scope(engine) as s:
        for it in s.exec(select(ReceivedItem)).all():
            state, code = expected[it.source_name]
            codes = [e.code for e in s.exec(select(ExceptionRecord).where(ExceptionRecord.item_id == it.id)).all()]
            assert (it.state, code in codes if code else codes == []) == (state, True), (it.source_name, codes)
            if state == "duplicate":
                assert "Identical to item" in it.summary
            if code:
                message = s.exec(select(ExceptionRecord.message).where(ExceptionRecord.item_id == it.id)).first()
                assert message and len(message) > 30  # a sentence a person can act on
    engine.dispose()
    assert not [p for p in served.inbound.iterdir() if not p.name.startswith(".")]


def test_a_file_still_being_written_is_not_picked_up_early(served: Served) -> None:
    served.start()
    raw = order_file("PO-SLOW", 401, lines=30)
    path = served.inbound / "slow.edi"
    with open(path, "wb") as fh:  # written in pieces, each pause shorter than the settle time
        for i in range(0, len(raw), 200):
            fh.write(raw[i : i + 200])
            fh.flush()
            time.sleep(0.03)
    wait_for(lambda: len(served.delivered()) == 1, 30, "the slowly written order")
    assert b"PO-SLOW" in served.delivered()[0].read_bytes()
    assert b'"line_count": 30' in served.delivered()[0].read_bytes()


def test_a_temporary_name_is_ignored_until_the_rename(served: Served) -> None:
    served.start()
    part = served.inbound / "big.edi.part"
    part.write_bytes(order_file("PO-PART", 402)[:200])
    time.sleep(1.5)  # well past the settle time and a re-scan: a .part file must still be left alone
    assert part.exists() and served.delivered() == []
    part.write_bytes(order_file("PO-PART", 402))
    part.rename(served.inbound / "big.edi")
    wait_for(lambda: len(served.delivered()) == 1 and len(served.acks()) == 1, 30, "the renamed order")
