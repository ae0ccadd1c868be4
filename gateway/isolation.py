"""Reading untrusted files in a child process with a time limit and a memory cap.

A hostile or merely broken PDF can make a parser spin or allocate without end; in the gateway's own
process that would stall every other item. Here each extraction runs in a process forked from a
small, clean server process (multiprocessing's forkserver, parsers preloaded so a fork is cheap),
under RLIMIT_AS, and is killed when its time is up. The caller gets the result or a reason.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import resource
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# The console script re-imports gateway.cli in every child (multiprocessing prepares __main__): preloaded,
# that costs nothing.
_PRELOAD = ["gateway.cli", "gateway.pdf_documents", "parsers.pdf.extract", "mappings.pdf.map_pdf"]
_lock = threading.Lock()
_context: Any = None


class IsolationError(Exception):
    """The child did not give a result; `code` says why (timeout, memory, crash)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Limits:
    seconds: float = 120.0
    memory_bytes: int = 1536 * 1024 * 1024


def _ctx() -> Any:
    global _context
    with _lock:
        if _context is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(_PRELOAD)
            _context = ctx
        return _context


def _child(conn: multiprocessing.connection.Connection, memory_bytes: int, fn: Callable[..., Any],
           args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    try:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        result = fn(*args, **kwargs)
        conn.send(("ok", result))
    except MemoryError:
        conn.send(("memory", "the file needed more memory than the limit allows"))
    except BaseException as exc:  # the parent turns any failure into a reason for a person
        conn.send(("crash", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"))
    finally:
        conn.close()


def run_isolated(fn: Callable[..., Any], *args: Any, limits: Limits = Limits(), **kwargs: Any) -> Any:
    """`fn(*args, **kwargs)` in a child process; its result, or IsolationError. `fn` must be importable."""
    ctx = _ctx()
    parent_conn, child_conn = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(child_conn, limits.memory_bytes, fn, args, kwargs), daemon=True)
    process.start()
    child_conn.close()
    try:
        if not parent_conn.poll(limits.seconds):
            raise IsolationError("EXTRACTION_TIMEOUT",
                                 f"reading the file took longer than {limits.seconds:.0f} s and was stopped")
        try:
            status, payload = parent_conn.recv()
        except EOFError:
            process.join(5)
            code = process.exitcode
            raise IsolationError("EXTRACTION_CRASHED",
                                 f"the reader stopped without a result (exit code {code}); the file is probably "
                                 "corrupt or too large to read") from None
    finally:
        parent_conn.close()
        if process.is_alive():
            process.kill()
        process.join(5)
    if status == "ok":
        return payload
    if status == "memory":
        raise IsolationError("EXTRACTION_MEMORY", str(payload))
    raise IsolationError("EXTRACTION_CRASHED", str(payload))
