"""Inbox page render time with 100,000 open exceptions in a SQLite store (prints figures, asserts nothing).

    .venv/bin/python -m benchmarks.inbox [--exceptions 100000] [--requests 20] [--keep DIR]

Fills a fresh store directly (items, documents, exceptions spread over 60 days, five partners, eight
codes), serves create_app on a loopback port with uvicorn, signs in, and times whole HTTP requests for
the first page, a filtered page, a search, a deep keyset page and a detail page: median of N each.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.cookiejar
import re
import shutil
import socket
import statistics
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from sqlalchemy import insert

from gateway.config import load_config
from gateway.service import Gateway
from gateway.store.models import DocumentRecord, ExceptionRecord, ReceivedItem

ROOT = Path(__file__).resolve().parents[1]
PARTNERS = ["acme", "globex", "initech", "umbrella", "hooli"]
CODES = ["X12_INVALID_CODE", "X12_MISSING_ELEMENT", "UNSUPPORTED_FORMAT", "PARTNER_UNKNOWN", "PRICE_VARIANCE",
         "QTY_VARIANCE", "DUPLICATE_PO", "ACK_OVERDUE"]
CHANNELS = ["folder", "sftp", "smtp"]
KINDS = ["order", "ship_notice", "invoice"]
RAW = (ROOT / "samples" / "x12" / "acme_850_004010.edi").read_bytes()


def fill(gw: Gateway, count: int, batch: int = 5000) -> None:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=60)
    step = dt.timedelta(days=60) / count
    with gw.engine.begin() as conn:
        for lo in range(0, count, batch):
            items, docs, excs = [], [], []
            for n in range(lo, min(lo + batch, count)):
                at = start + step * n
                partner = PARTNERS[n % len(PARTNERS)]
                item_id, doc_id = f"itm_{n:032d}", f"doc_{n:032d}"
                items.append({"id": item_id, "partner_id": partner, "channel": CHANNELS[n % 3], "source_name": "in.edi",
                              "sha256": f"{n:064x}", "size": len(RAW), "raw": RAW, "received_at": at,
                              "state": "exception", "format": "x12", "direction": "in", "archived": True,
                              "summary": ""})
                has_doc = n % 4 != 0
                if has_doc:
                    docs.append({"id": doc_id, "item_id": item_id, "position": 1, "kind": KINDS[n % 3],
                                 "number": f"PO-{n:07d}", "po_number": f"PO-{n:07d}", "partner_id": partner,
                                 "state": "exception", "test": False, "content": "{}", "created_at": at})
                excs.append({"id": f"exc_{n:032d}", "item_id": item_id, "document_id": doc_id if has_doc else None,
                             "partner_id": partner, "stage": "validate", "code": CODES[(n // 7) % len(CODES)],
                             "message": "PO103 (unit or basis for measurement code, element 355) is 'XX', which is "
                                        "not a valid code. Correct the code.",
                             "status": "open", "assignee": "sam" if n % 10 == 0 else None, "created_at": at})
            conn.execute(insert(ReceivedItem), items)
            if docs:
                conn.execute(insert(DocumentRecord), docs)
            conn.execute(insert(ExceptionRecord), excs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exceptions", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="use (and keep) this folder instead of a temporary one")
    args = parser.parse_args()
    import os

    import uvicorn

    from gateway.web.api import create_app
    from gateway.web.auth import create_user

    os.environ["EDIGW_COOKIE_SECURE"] = "0"
    folder = args.keep or Path(tempfile.mkdtemp(prefix="edigw-inbox-bench-"))
    config = load_config(ROOT / "config" / "gateway.toml")
    config.gateway.data_dir = folder / "var"
    config.gateway.database_url = f"sqlite:///{folder / 'store.sqlite'}"
    config.erp.path = folder / "erp"
    gw = Gateway(config)
    t = time.perf_counter()
    fill(gw, args.exceptions)
    print(f"filled {args.exceptions:,} exceptions in {time.perf_counter() - t:.1f} s ({folder})")
    create_user(gw.engine, "bench", "operator", "benchmark-password")

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(create_app(gw), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(path: str) -> str:
        req = urllib.request.Request(base + path, headers={"Accept": "text/html"})
        with opener.open(req, timeout=60) as resp:
            return str(resp.read().decode())

    login = get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login)
    assert token
    data = urllib.parse.urlencode({"username": "bench", "password": "benchmark-password", "next": "/",
                                   "csrf_token": token.group(1)}).encode()
    opener.open(urllib.request.Request(base + "/login", data=data, headers={"Accept": "text/html"}), timeout=60)

    first = get("/")
    deep = re.search(r'href="(/\?after=[^"]+)" rel="next"', first)
    middle = args.exceptions // 2 + 1 if args.exceptions // 2 % 4 else args.exceptions // 2 + 2
    pages = {
        "first page (oldest first)": "/",
        "newest first": "/?order=newest",
        "filtered: partner + code": "/?partner=globex&code=PRICE_VARIANCE",
        "filtered: channel + kind + age": "/?channel=sftp&kind=ship_notice&age=old",
        "filtered: assignee": "/?assignee=sam",
        f"search: PO number PO-{middle:07d}": f"/?q=PO-{middle:07d}",
        "next page (keyset)": deep.group(1).replace("&amp;", "&") if deep else "/",
        "detail page": f"/items/itm_{middle:032d}",
    }
    print(f"median of {args.requests} requests over HTTP (whole request: query + render), "
          f"{args.exceptions:,} open exceptions:")
    for label, path in pages.items():
        get(path)  # warm
        times = []
        for _ in range(args.requests):
            t = time.perf_counter()
            body = get(path)
            times.append(time.perf_counter() - t)
        rows = body.count('<tr id="row-')
        print(f"  {label:<36} {statistics.median(times) * 1000:8.1f} ms   (p max {max(times) * 1000:6.1f} ms, "
              f"{rows} rows)")
    server.should_exit = True
    thread.join(10)
    gw.stop()
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
