"""PDF extraction accuracy and speed, per layout, typed and scanned (issue 5's bar).

    .venv/bin/python -m benchmarks.pdf_accuracy [--docs 5] [--scanned-docs 3] [--scanned/--no-scanned]
                                                [--layouts a,b] [--seed 1] [--verbose] [--json FILE] [--strict]

For every layout in tests.pdf_factory it generates documents (typed, and scanned at 300 dpi), runs
`parsers.pdf.extract.extract_pdf` + `mappings.pdf.map_pdf.to_document` on the PDF bytes, and
compares the result with the expected canonical document field by field.

Fields (what `score` counts):
  header: kind, number, po_number, date, currency, totals.amount, totals.tax, totals.freight, and the
          name of each party with role buyer, seller, ship_to or bill_to (first party of the role)
  lines:  for each line: line_number, quantity, unit_price, uom, description and every item id
          (`item_ids.<kind>`: the kind must match too -- a vendor part number read as buyer_part is wrong)
  Not scored: addresses, dates other than the document date, line po_number, totals.line_count.
Comparison: text with whitespace collapsed, case-insensitive; line numbers without leading zeros;
numbers by Decimal equality (10 == 10.000); dates by value.
Counting: equal -> true positive; expected but different -> a false positive (the wrong value) AND a
false negative (the missing right one); expected but absent -> false negative; present but not
expected -> false positive. Lines pair up by line number where both sides have it, the rest by
position; an extraction that fails (None) makes every expected field a false negative.
Precision = TP/(TP+FP), recall = TP/(TP+FN), F1 their harmonic mean; figures are micro-averaged over
all fields of all documents of a layout (and of all layouts for "overall").

Timing: wall time of extract + map per document divided by its page count (generation and scanning
are not timed; one untimed warm-up run per mode first). Targets: typed F1 >= 0.98, scanned F1 >=
0.95, typed page < 0.2 s, scanned page < 3 s. Median and max seconds per page are reported; the
verdict uses the max (every page must be under the limit, not just a typical one).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from mappings.canonical import Document, Line

TARGET_F1 = {"typed": 0.98, "scanned": 0.95}
TARGET_PAGE_S = {"typed": 0.2, "scanned": 3.0}
SCORED_ROLES = ("buyer", "seller", "ship_to", "bill_to")

# --------------------------------------------------------------------------------------------------
# Scoring


@dataclass
class Counts:
    """True/false positives and false negatives, in total and per field family ("line.quantity", ...)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    by_field: dict[str, list[int]] = field(default_factory=dict)  # family -> [tp, fp, fn]
    mismatches: list[str] = field(default_factory=list)  # "line[3].quantity: expected 2.5, got 25"

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, family: str, tp: int = 0, fp: int = 0, fn: int = 0) -> None:
        self.tp += tp
        self.fp += fp
        self.fn += fn
        row = self.by_field.setdefault(family, [0, 0, 0])
        row[0] += tp
        row[1] += fp
        row[2] += fn

    def __iadd__(self, other: Counts) -> Counts:
        for family, (tp, fp, fn) in other.by_field.items():
            self.add(family, tp, fp, fn)
        self.mismatches.extend(other.mismatches)
        return self

    @staticmethod
    def of(family_row: Sequence[int]) -> Counts:
        return Counts(tp=family_row[0], fp=family_row[1], fn=family_row[2])


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    s = " ".join(value.split()).casefold()
    return s or None


def _line_no(value: str | None) -> str | None:
    s = _text(value)
    if s is not None and s.isdigit():
        s = s.lstrip("0") or "0"
    return s


def header_fields(doc: Document) -> dict[str, object]:
    """The scored header fields of a document, normalised; absent values are left out."""
    out: dict[str, object] = {}
    for attr in ("kind", "number", "po_number", "currency"):
        text = _text(getattr(doc, attr))
        if text is not None:
            out[attr] = text
    if doc.date is not None:
        out["date"] = doc.date
    for name in ("amount", "tax", "freight"):
        amount = getattr(doc.totals, name)
        if amount is not None:
            out[f"totals.{name}"] = Decimal(amount)
    for party in doc.parties:
        party_name = _text(party.name)
        if party.role in SCORED_ROLES and party_name is not None:
            out.setdefault(f"party.{party.role}.name", party_name)
    return out


def line_fields(line: Line) -> dict[str, object]:
    """The scored fields of one line, normalised; absent values are left out."""
    out: dict[str, object] = {}
    for name, value in (("line_number", _line_no(line.line_number)), ("uom", _text(line.uom)),
                        ("description", _text(line.description))):
        if value is not None:
            out[name] = value
    for name in ("quantity", "unit_price"):
        number = getattr(line, name)
        if number is not None:
            out[name] = Decimal(number)
    for kind, value in line.item_ids.items():
        v = _text(value)
        if v is not None:
            out[f"item_ids.{kind}"] = v
    return out


def _compare(expected: dict[str, object], got: dict[str, object], counts: Counts, prefix: str, family: str) -> None:
    for key in expected.keys() | got.keys():
        fam = family + key if not key.startswith("item_ids.") else family + "item_id"
        want, have = expected.get(key), got.get(key)
        if want is not None and have is not None and want == have:
            counts.add(fam, tp=1)
            continue
        if have is not None:
            counts.add(fam, fp=1)
        if want is not None:
            counts.add(fam, fn=1)
        counts.mismatches.append(f"{prefix}{key}: expected {want!s}, got {have!s}")


def align_lines(expected: Sequence[Line], got: Sequence[Line]) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Pairs (expected index, got index): by line number where it matches, the rest in order; then the
    expected lines left unpaired and the got lines left unpaired."""
    by_number: dict[str, int] = {}
    for i, line in enumerate(expected):
        key = _line_no(line.line_number)
        if key is not None:
            by_number.setdefault(key, i)
    pairs: dict[int, int] = {}
    loose_got: list[int] = []
    for j, line in enumerate(got):
        hit = by_number.get(_line_no(line.line_number) or "")
        if hit is not None and hit not in pairs:
            pairs[hit] = j
        else:
            loose_got.append(j)
    loose_exp = [i for i in range(len(expected)) if i not in pairs]
    for k, m in zip(loose_exp, loose_got, strict=False):
        pairs[k] = m
    n = min(len(loose_exp), len(loose_got))
    return sorted(pairs.items()), loose_exp[n:], loose_got[n:]


def score(expected: Document, got: Document | None) -> Counts:
    """Field-level counts of `got` against `expected` (see the module docstring for the rules)."""
    counts = Counts()
    got_header = header_fields(got) if got is not None else {}
    _compare(header_fields(expected), got_header, counts, "", "")
    got_lines = got.lines if got is not None else []
    pairs, missing, extra = align_lines(expected.lines, got_lines)
    for i, j in pairs:
        _compare(line_fields(expected.lines[i]), line_fields(got_lines[j]), counts, f"line[{i + 1}].", "line.")
    for i in missing:
        _compare(line_fields(expected.lines[i]), {}, counts, f"line[{i + 1}].", "line.")
    for j in extra:
        _compare({}, line_fields(got_lines[j]), counts, f"extra line[{j + 1}].", "line.")
    return counts


# --------------------------------------------------------------------------------------------------
# Running


@dataclass
class Result:
    layout: str
    mode: str  # typed | scanned
    counts: Counts = field(default_factory=Counts)
    docs: int = 0
    pages: int = 0
    page_seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


Extractor = Callable[[bytes], tuple[Document | None, int]]


def load_extractor() -> Extractor:
    """extract + map as one call returning (document, page count); ImportError when not there yet."""
    from mappings.pdf.map_pdf import to_document
    from parsers.pdf.extract import extract_pdf

    def run(data: bytes) -> tuple[Document | None, int]:
        extraction = extract_pdf(data)
        doc, _issues = to_document(extraction, kind_default="order", confidence_threshold=0.0)
        return doc, extraction.page_count

    return run


def _page_count(pdf: bytes) -> int:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        return len(document)
    finally:
        document.close()


def run_layout(layout: str, mode: str, seeds: Iterable[int], extractor: Extractor, verbose: bool = False) -> Result:
    from tests.pdf_factory import make_case

    result = Result(layout, mode)
    for seed in seeds:
        case = make_case(layout, seed, scanned=mode == "scanned")
        pages = _page_count(case.pdf)
        started = time.perf_counter()
        try:
            got, _ = extractor(case.pdf)
        except Exception as exc:  # a crash on one document is a result, not the end of the benchmark
            got = None
            result.errors.append(f"{layout} seed {seed}: {type(exc).__name__}: {exc}")
        elapsed = time.perf_counter() - started
        counts = score(case.expected, got)
        if verbose and counts.mismatches:
            print(f"  {layout} {mode} seed {seed}: " + "; ".join(counts.mismatches[:12])
                  + (f" (+{len(counts.mismatches) - 12} more)" if len(counts.mismatches) > 12 else ""))
        result.counts += counts
        result.docs += 1
        result.pages += pages
        result.page_seconds.append(elapsed / max(pages, 1))
    return result


def _warm_up(extractor: Extractor, modes: Sequence[str]) -> None:
    from tests.pdf_factory import make_case

    for mode in modes:
        with contextlib.suppress(Exception):  # a failure is counted when it happens in the real run
            extractor(make_case("en_classic_ruled", 999, scanned=mode == "scanned").pdf)


def _fmt_s(values: Sequence[float]) -> str:
    return f"{statistics.median(values):6.3f} {max(values):6.3f}" if values else "     -      -"


def report(results: Sequence[Result], modes: Sequence[str], out: Any = sys.stdout) -> bool:
    """Prints the tables and the verdicts; True when every target is met."""
    w = out.write
    w(f"{'layout':20} {'mode':8} {'docs':>4} {'pages':>5} {'fields':>6} {'P':>6} {'R':>6} {'F1':>6} "
      f"{'s/page med':>10} {'max':>6}\n")
    for r in results:
        c = r.counts
        flag = "" if c.f1 >= TARGET_F1[r.mode] else "  < target"
        w(f"{r.layout:20} {r.mode:8} {r.docs:4d} {r.pages:5d} {c.tp + c.fn:6d} {c.precision:6.3f} {c.recall:6.3f} "
          f"{c.f1:6.3f} {_fmt_s(r.page_seconds):>17}{flag}\n")
    ok = True
    overall: dict[str, Counts] = {}
    w("\n")
    for mode in modes:
        rs = [r for r in results if r.mode == mode]
        total = Counts()
        for r in rs:
            total += r.counts
        overall[mode] = total
        times = [s for r in rs for s in r.page_seconds]
        pages = sum(r.pages for r in rs)
        w(f"{'overall':20} {mode:8} {sum(r.docs for r in rs):4d} {pages:5d} {total.tp + total.fn:6d} "
          f"{total.precision:6.3f} {total.recall:6.3f} {total.f1:6.3f} {_fmt_s(times):>17}\n")
    families = sorted({fam for c in overall.values() for fam in c.by_field})
    if families:
        w(f"\n{'field':24}" + "".join(f" {m + ' F1':>11} {'n':>5}" for m in modes) + "\n")
        for fam in families:
            cells = ""
            for m in modes:
                row = overall[m].by_field.get(fam)
                cells += f" {Counts.of(row).f1:11.3f} {row[0] + row[2]:5d}" if row else f" {'-':>11} {'-':>5}"
            w(f"{fam:24}{cells}\n")
    w("\n")
    for mode in modes:
        rs = [r for r in results if r.mode == mode]
        times = [s for r in rs for s in r.page_seconds]
        f1 = overall[mode].f1
        f1_ok = f1 >= TARGET_F1[mode]
        t_ok = bool(times) and max(times) < TARGET_PAGE_S[mode]
        ok = ok and f1_ok and t_ok
        slow = f"max {max(times):.3f} s" if times else "no pages"
        w(f"{'PASS' if f1_ok else 'FAIL'}  {mode} F1 {f1:.3f} (target >= {TARGET_F1[mode]})\n")
        w(f"{'PASS' if t_ok else 'FAIL'}  {mode} seconds per page: median "
          f"{statistics.median(times) if times else 0:.3f}, {slow} (target < {TARGET_PAGE_S[mode]} s)\n")
    errors = [e for r in results for e in r.errors]
    if errors:
        w(f"\n{len(errors)} document(s) raised:\n" + "".join(f"  {e}\n" for e in errors[:20]))
    return ok


def to_json(results: Sequence[Result]) -> dict[str, Any]:
    return {"results": [
        {"layout": r.layout, "mode": r.mode, "docs": r.docs, "pages": r.pages, "tp": r.counts.tp, "fp": r.counts.fp,
         "fn": r.counts.fn, "precision": round(r.counts.precision, 4), "recall": round(r.counts.recall, 4),
         "f1": round(r.counts.f1, 4), "page_seconds_median": round(statistics.median(r.page_seconds), 4)
         if r.page_seconds else None, "page_seconds_max": round(max(r.page_seconds), 4) if r.page_seconds else None,
         "errors": r.errors}
        for r in results]}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.pdf_accuracy", description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=5, help="typed documents per layout (default 5)")
    ap.add_argument("--scanned-docs", type=int, default=3, help="scanned documents per layout (default 3)")
    ap.add_argument("--scanned", action=argparse.BooleanOptionalAction, default=True, help="run the scanned half")
    ap.add_argument("--typed", action=argparse.BooleanOptionalAction, default=True, help="run the typed half")
    ap.add_argument("--layouts", help="comma-separated layout names (default: all)")
    ap.add_argument("--seed", type=int, default=1, help="first document seed")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every mismatch")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args(argv)

    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # DESIGN.md: Tesseract single-threaded per process
    from tests.pdf_factory import LAYOUTS

    layouts = args.layouts.split(",") if args.layouts else list(LAYOUTS)
    unknown = [name for name in layouts if name not in LAYOUTS]
    if unknown:
        print(f"pdf_accuracy: unknown layout(s) {', '.join(unknown)}; known: {', '.join(LAYOUTS)}", file=sys.stderr)
        return 2
    try:
        extractor = load_extractor()
    except Exception as exc:  # not written yet, or broken on import: one line, no traceback
        print(f"pdf_accuracy: PDF extractor not available (parsers.pdf.extract.extract_pdf, "
              f"mappings.pdf.map_pdf.to_document): {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    modes = [m for m, on in (("typed", args.typed), ("scanned", args.scanned)) if on]
    counts = {"typed": args.docs, "scanned": args.scanned_docs}
    started = time.perf_counter()
    _warm_up(extractor, modes)
    results = []
    for mode in modes:
        for name in layouts:
            seeds = range(args.seed, args.seed + counts[mode])
            if mode == "scanned":
                seeds = range(args.seed + 100, args.seed + 100 + counts[mode])
            results.append(run_layout(name, mode, seeds, extractor, args.verbose))
    print(f"PDF extraction accuracy: {len(layouts)} layouts, {counts['typed'] if args.typed else 0} typed + "
          f"{counts['scanned'] if args.scanned else 0} scanned (300 dpi) documents each, seeds from {args.seed}\n")
    ok = report(results, modes)
    print(f"\n(run took {time.perf_counter() - started:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(to_json(results), indent=2) + "\n", encoding="utf-8")
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    raise SystemExit(main())
