"""Folder channel: per-partner inbound folders (and a shared one) watched with watchdog.

A file is picked up only once it is complete: its name is not a temporary one (dot-files, *.tmp,
*.part, *.filepart, *.partial) and its size and modification time have not changed for the settle
time. Picked-up files are stored first, handed to the pipeline, then moved to the partner's archive.
A periodic re-scan catches anything the file-system events missed, including files left from before
a restart.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from gateway.config import Config

log = logging.getLogger("edigw.folder")
TEMP_SUFFIXES = (".tmp", ".part", ".filepart", ".partial", ".crdownload", "~")


def is_temporary(name: str) -> bool:
    return name.startswith(".") or name.lower().endswith(TEMP_SUFFIXES)


@dataclass(frozen=True)
class Inbox:
    path: Path
    partner_id: str | None  # None: the partner is recognised from the content
    archive: Path


@dataclass
class _Pending:
    size: int
    mtime_ns: int
    stable_since: float


Handler = Callable[[Path, bytes, str | None], None]


class FolderChannel:
    def __init__(self, config: Config, handle: Handler) -> None:
        self.config = config
        self.handle = handle
        self.inboxes: list[Inbox] = []
        for partner in config.partners:
            if "folder" in partner.channels:
                base = config.partner_dir(partner.id)
                self.inboxes.append(Inbox(base / "inbound", partner.id, base / "archive"))
        shared = config.shared_inbound
        self.inboxes.append(Inbox(shared, None, config.gateway.data_dir / "archive"))
        self._pending: dict[Path, _Pending] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._observer: Observer | None = None  # type: ignore[valid-type]
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        for inbox in self.inboxes:
            inbox.path.mkdir(parents=True, exist_ok=True)
            inbox.archive.mkdir(parents=True, exist_ok=True)
        observer = Observer()
        handler = _EventHandler(self)
        for inbox in self.inboxes:
            observer.schedule(handler, str(inbox.path), recursive=False)
        observer.start()
        self._observer = observer
        self._thread = threading.Thread(target=self._run, name="edigw-folder", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=10)

    # --- discovery ----------------------------------------------------------------------------------
    def notice(self, path: Path) -> None:
        if is_temporary(path.name) or path.parent not in {i.path for i in self.inboxes}:
            return
        with self._lock:
            self._pending.setdefault(path, _Pending(-1, -1, time.monotonic()))
        self._wake.set()

    def scan(self) -> None:
        for inbox in self.inboxes:
            try:
                entries = list(os.scandir(inbox.path))
            except FileNotFoundError:
                continue
            for entry in entries:
                if entry.is_file(follow_symlinks=False):
                    self.notice(Path(entry.path))

    # --- the worker ---------------------------------------------------------------------------------
    def _run(self) -> None:
        settle = self.config.gateway.folder_settle_seconds
        poll = self.config.gateway.folder_poll_seconds
        next_scan = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_scan:
                self.scan()
                next_scan = now + poll
            ready = self._ready(settle)
            for path in ready:
                if self._stop.is_set():
                    break
                self._pick_up(path)
            with self._lock:
                waiting = bool(self._pending)
            self._wake.wait(timeout=min(settle / 2 if waiting else poll, poll))
            self._wake.clear()

    def _ready(self, settle: float) -> list[Path]:
        ready: list[Path] = []
        now = time.monotonic()
        with self._lock:
            for path, state in list(self._pending.items()):
                try:
                    st = path.stat()
                except FileNotFoundError:
                    del self._pending[path]
                    continue
                if (st.st_size, st.st_mtime_ns) != (state.size, state.mtime_ns):
                    state.size, state.mtime_ns, state.stable_since = st.st_size, st.st_mtime_ns, now
                    continue
                if now - state.stable_since >= settle and time.time() - st.st_mtime >= settle:
                    ready.append(path)
                    del self._pending[path]
        return sorted(ready, key=lambda p: p.name)

    def _pick_up(self, path: Path) -> None:
        inbox = next(i for i in self.inboxes if i.path == path.parent)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("cannot read %s yet (%s); will retry", path, exc)
            return
        try:
            self.handle(path, raw, inbox.partner_id)
        except Exception:
            log.exception("intake of %s failed; the file stays in place and is retried", path)
            return

    def archive(self, path: Path, item_id: str, partner_id: str | None) -> Path:
        """Move a stored file out of the inbound folder into the archive, named by its item."""
        inbox = next((i for i in self.inboxes if i.path == path.parent), None)
        base = inbox.archive if inbox else self.config.gateway.data_dir / "archive"
        day = dt.datetime.now(dt.UTC).strftime("%Y%m%d")
        target = base / day / f"{item_id}__{path.name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            # Link + unlink rather than rename: an inotify rename out of a watched folder is held back
            # by watchdog for half a second waiting for its pair, and with it every later event.
            os.link(path, target)
            os.unlink(path)
        except FileExistsError:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError:  # another file system, or links not allowed: a plain move
            with contextlib.suppress(FileNotFoundError):
                shutil.move(str(path), str(target))
        return target


class _EventHandler(FileSystemEventHandler):
    def __init__(self, channel: FolderChannel) -> None:
        self.channel = channel

    def on_created(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self.channel.notice(Path(os.fsdecode(event.src_path)))

    def on_modified(self, event: FileSystemEvent) -> None:
        self.on_created(event)

    def on_closed(self, event: FileSystemEvent) -> None:
        self.on_created(event)

    def on_moved(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self.channel.notice(Path(os.fsdecode(event.dest_path)))
