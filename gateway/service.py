"""The running gateway: store, pipeline and channels wired together from one configuration."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from gateway.channels.folder import FolderChannel
from gateway.channels.smtp import SmtpChannel
from gateway.config import Config
from gateway.erp import make_adapter
from gateway.intake import Received, mark_archived, receive
from gateway.outbound import check_overdue
from gateway.pipeline import Pipeline
from gateway.store.db import make_engine, migrate

log = logging.getLogger("edigw")


class Gateway:
    def __init__(self, config: Config) -> None:
        self.config = config
        config.gateway.data_dir.mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(config.database_url)
        migrate(self.engine)
        self.adapter = make_adapter(config)
        self.pipeline = Pipeline(config, self.engine, self.adapter)
        self.folder: FolderChannel | None = None
        self.smtp: SmtpChannel | None = None
        self._stopping = threading.Event()
        self._overdue: threading.Thread | None = None

    def start(self, *, channels: bool = True) -> None:
        self.pipeline.start()
        if channels:
            self._overdue = threading.Thread(target=self._watch_overdue, name="edigw-overdue", daemon=True)
            self._overdue.start()
            self.folder = FolderChannel(self.config, self._on_file)
            self.folder.start()
            log.info("watching %s", ", ".join(str(i.path) for i in self.folder.inboxes))
            self._start_smtp()

    def stop(self) -> None:
        self._stopping.set()
        if self.smtp is not None:
            self.smtp.stop()
        if self.folder is not None:
            self.folder.stop()
        self.pipeline.stop()
        self.engine.dispose()

    def ingest(self, raw: bytes, *, channel: str, partner_id: str | None = None, source_name: str = "",
               resumable: bool = False) -> Received:
        """Store first, then hand to the pipeline (a duplicate is stored and stops there)."""
        received = receive(self.engine, raw, channel=channel, partner_id=partner_id, source_name=source_name,
                           resumable=resumable)
        if received.needs_processing:
            self.pipeline.submit(received.item_id)
        return received

    def submit(self, raw: bytes, *, partner_id: str, channel: str = "api", source_name: str = "") -> Received:
        """Canonical documents from the ERP, to be written as the partner's X12 and sent to it."""
        received = receive(self.engine, raw, channel=channel, partner_id=partner_id, source_name=source_name,
                           direction="out")
        if received.needs_processing:
            self.pipeline.submit(received.item_id)
        return received

    def _watch_overdue(self) -> None:
        interval = self.config.gateway.overdue_check_seconds
        while not self._stopping.wait(interval):
            try:
                for message_id in check_overdue(self.engine):
                    log.warning("acknowledgement overdue for outbound %s", message_id)
            except Exception:
                log.exception("overdue check failed; retrying at the next interval")

    # --- SMTP channel (issue 5) --------------------------------------------------------------------------
    def _start_smtp(self) -> None:
        """A port in use keeps the other channels running: logged as an error, mail waits in senders' queues."""
        if not self.config.smtp.enabled:
            return
        channel = SmtpChannel(self.config, self.engine, self._on_mail)
        try:
            channel.start()
        except OSError as exc:
            channel.stop()
            log.error("%s", exc)
            return
        self.smtp = channel

    def _on_mail(self, received: Received) -> None:
        if received.needs_processing:
            self.pipeline.submit(received.item_id)

    def _on_file(self, path: Path, raw: bytes, partner_id: str | None) -> None:
        received = self.ingest(raw, channel="folder", partner_id=partner_id, source_name=path.name, resumable=True)
        assert self.folder is not None
        where = self.folder.archive(path, received.item_id, partner_id)
        mark_archived(self.engine, received.item_id, str(where))
