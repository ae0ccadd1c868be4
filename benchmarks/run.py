"""`make bench`: tokenizer, full X12 path, streaming memory and end-to-end throughput on this machine."""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.x12_factory import interchange, po_850

ROOT = Path(__file__).resolve().parents[1]


def make_file(path: Path, target_bytes: int, lines: int = 40, sets_per_group: int = 500) -> int:
    """Write ~target_bytes of 850 interchanges; returns the segment count."""
    segments = 0
    control = 0
    with open(path, "wb") as fh:
        while fh.tell() < target_bytes:
            control += 1
            sets = [po_850(f"PO{control:06d}{n:04d}", lines, st_control=f"{n + 1:04d}") for n in range(sets_per_group)]
            raw = interchange(sets, control=control, group_control=control)
            segments += sum(len(s) for s in sets) + 4
            fh.write(raw)
    return segments


def plain_split(raw: bytes) -> int:
    count = 0
    for seg in raw.decode("latin-1").split("~"):
        seg = seg.strip()
        if seg:
            seg.split("*")
            count += 1
    return count


def bench_tokenizer(path: Path, segments: int) -> dict[str, float]:
    from parsers.x12.reader import X12Reader

    raw = path.read_bytes()
    t = time.perf_counter()
    n = plain_split(raw)
    split_s = time.perf_counter() - t
    t = time.perf_counter()
    reader = X12Reader(raw)
    for _ in reader.events():
        pass
    reader_s = time.perf_counter() - t
    assert reader.segment_count == n, (reader.segment_count, n)
    return {"segments": n, "str_split_seg_per_s": n / split_s, "reader_seg_per_s": n / reader_s}


def bench_full(path: Path) -> dict[str, float]:
    from mappings.x12.process import SetOutcome, process_x12

    raw = path.read_bytes()
    t = time.perf_counter()
    segs = docs = errors = 0
    for outcome in process_x12(raw):
        if isinstance(outcome, SetOutcome):
            segs += outcome.segment_count
            docs += outcome.document is not None
            errors += not outcome.accepted
    elapsed = time.perf_counter() - t
    return {"set_segments": segs, "documents": docs, "rejected": errors, "full_seg_per_s": segs / elapsed,
            "full_docs_per_s": docs / elapsed}


def replicate_sample(sample: Path, copies: int) -> tuple[bytes, int]:
    """One interchange holding `copies` of a sample's first transaction set (fresh ST02s)."""
    from parsers.x12.reader import SetRead, read_x12

    first = next(ev.transaction_set for ev in read_x12(sample.read_bytes()) if isinstance(ev, SetRead))
    body = [seg.elements for seg in first.body]
    fid = first.group.functional_id
    sets: list[list[str]] = []
    for n in range(copies):
        st02 = f"{n + 1:04d}"
        sets.append(["*".join(["ST", first.set_id, st02])] + ["*".join(e).replace(">", ":") for e in body]
                    + ["*".join(["SE", str(len(body) + 2), st02])])
    raw = interchange(sets, control=1, group_control=1, gs08=first.group.version, component=":")
    raw = raw.replace(b"GS*PO*", f"GS*{fid}*".encode(), 1)
    return raw, copies * (len(body) + 2)


def bench_sets() -> list[tuple[str, float, int]]:
    """Full-path speed for every sample kind: (sample, segments/s, rejected sets)."""
    from mappings.x12.process import SetOutcome, process_x12

    out = []
    for sample in sorted((ROOT / "samples" / "x12").glob("*_8[15]*_004010*.edi")):
        raw, _ = replicate_sample(sample, 2000)
        t = time.perf_counter()
        segs = rejected = 0
        for outcome in process_x12(raw):
            if isinstance(outcome, SetOutcome):
                segs += outcome.segment_count
                rejected += not outcome.accepted
        out.append((sample.name, segs / (time.perf_counter() - t), rejected))
    return out


def stream_child(path: str) -> None:
    """Child process body: stream a file through the full path, report peak RSS."""
    from mappings.x12.process import SetOutcome, process_x12

    t = time.perf_counter()
    docs = 0
    with open(path, "rb") as fh:
        for outcome in process_x12(fh):
            if isinstance(outcome, SetOutcome):
                docs += 1
    print(json.dumps({"documents": docs, "peak_rss_mb": peak_rss_mb(), "seconds": time.perf_counter() - t}))


def peak_rss_mb() -> float:
    """This process's own high-water mark (VmHWM); ru_maxrss can carry the parent's peak over an exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_memory(path: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-m", "benchmarks.run", "--stream-child", str(path)], cwd=ROOT,
                         check=True, capture_output=True, text=True).stdout
    baseline = subprocess.run([sys.executable, "-c", "import mappings.x12.process, benchmarks.run as b;"
                               "print(b.peak_rss_mb())"],
                              cwd=ROOT, check=True, capture_output=True, text=True).stdout
    result = json.loads(out)
    result["baseline_rss_mb"] = float(baseline)
    result["file_mb"] = path.stat().st_size / 1e6
    return result


def bench_end_to_end(count: int) -> dict[str, float]:
    import logging

    from gateway.service import Gateway
    from tests.conftest import make_config
    from tests.x12_factory import order_file

    logging.getLogger("dbos").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        config = make_config(Path(tmp))
        gw = Gateway(config)
        gw.start(channels=False)
        try:
            payloads = [order_file(f"PO-B{n:05d}", 10_000 + n, lines=5) for n in range(count)]
            t = time.perf_counter()
            ids = [gw.ingest(p, channel="bench", partner_id="acme").item_id for p in payloads]
            for item_id in ids:
                gw.pipeline.wait(item_id)
            elapsed = time.perf_counter() - t
            delivered = len(list(config.erp.path.glob("*.json")))
        finally:
            gw.stop()
    return {"documents": count, "delivered": delivered, "seconds": elapsed, "docs_per_s": count / elapsed}


def bench_folder_latency(samples: int) -> dict[str, float]:
    import logging

    from gateway.service import Gateway
    from tests.conftest import make_config
    from tests.x12_factory import order_file

    logging.getLogger("dbos").setLevel(logging.WARNING)
    latencies = []
    with tempfile.TemporaryDirectory() as tmp:
        config = make_config(Path(tmp))
        gw = Gateway(config)
        gw.start()
        try:
            inbound = config.partner_dir("acme") / "inbound"
            outbound = config.partner_dir("acme") / "outbound"
            for n in range(samples):
                raw = order_file(f"PO-L{n:03d}", 20_000 + n)
                t = time.perf_counter()
                (inbound / f".po{n}.tmp").write_bytes(raw)
                (inbound / f".po{n}.tmp").rename(inbound / f"po{n}.edi")
                while len(list(outbound.glob("*.x12"))) <= n:
                    time.sleep(0.005)
                latencies.append(time.perf_counter() - t)
        finally:
            gw.stop()
    return {"samples": samples, "median_s": statistics.median(latencies), "max_s": max(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stream-child")
    parser.add_argument("--size-mb", type=float, default=20)
    parser.add_argument("--memory-mb", type=float, default=100)
    parser.add_argument("--e2e", type=int, default=300)
    args = parser.parse_args()
    if args.stream_child:
        stream_child(args.stream_child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.edi"
        segments = make_file(path, int(args.size_mb * 1e6))
        print(f"input: {path.stat().st_size / 1e6:.1f} MB, {segments} segments of 850s (40 lines each)")
        r = bench_tokenizer(path, segments)
        print(f"tokenize + envelope checks: {r['reader_seg_per_s']:,.0f} segments/s "
              f"(plain str.split: {r['str_split_seg_per_s']:,.0f} segments/s)")
        r = bench_full(path)
        print(f"parse + validate + map 850: {r['full_seg_per_s']:,.0f} segments/s, "
              f"{r['full_docs_per_s']:,.0f} documents/s ({r['documents']} documents, {r['rejected']} rejected)")
        for name, rate, rejected in bench_sets():
            print(f"parse + validate + map, 2000 copies of {name}: {rate:,.0f} segments/s"
                  + (f" ({rejected} rejected!)" if rejected else ""))
        big = Path(tmp) / "big.edi"
        make_file(big, int(args.memory_mb * 1e6))
        r = bench_memory(big)
        print(f"streaming {r['file_mb']:.0f} MB through the full path: peak RSS {r['peak_rss_mb']:.0f} MB "
              f"(interpreter + imports alone: {r['baseline_rss_mb']:.0f} MB), {r['documents']} documents "
              f"in {r['seconds']:.1f} s")
    r = bench_end_to_end(args.e2e)
    print(f"end to end (intake -> store -> DBOS workflow -> ERP file + 997), SQLite: {r['docs_per_s']:.1f} "
          f"documents/s ({r['delivered']} delivered in {r['seconds']:.1f} s)")
    r = bench_folder_latency(10)
    print(f"folder drop -> 997 written: median {r['median_s'] * 1000:.0f} ms, max {r['max_s'] * 1000:.0f} ms "
          f"over {r['samples']} files")


if __name__ == "__main__":
    main()
