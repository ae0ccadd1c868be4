"""The web app on a real uvicorn server on a loopback port, for tests that speak HTTP to it."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from gateway.service import Gateway
from gateway.web.api import create_app


class LiveServer:
    """create_app(gateway) served on 127.0.0.1 at a free port until `close`."""

    def __init__(self, gw: Gateway) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.base = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(create_app(gw), log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        for _ in range(250):
            if self.server.started:
                break
            time.sleep(0.02)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
