"""Contract tests for the `edigw` command line (DESIGN.md, "Contracts").

parse/ack/schema run in-process through typer's CliRunner on `gateway.cli.app` (fast); a handful of
hostile inputs go through the real console script and `python -m gateway` to prove that path is
traceback-free too; ingest always runs in a subprocess (DBOS is a process singleton).

Corpus files are read where they lie (tests.conftest.CORPUS / "x12"), never copied.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from gateway.cli import app
from mappings.x12.ack import ParsedAck, parse_ack
from parsers.x12.reader import SetRead, read_x12
from parsers.x12.segments import Segment
from parsers.x12.tokenizer import tokenize
from tests.conftest import CORPUS, SAMPLES
from tests.oracle import isa_version, make_widened_maps, normalize_version, oracle_errors, oracle_readable
from tests.x12_factory import order_file

X12_CORPUS = CORPUS / "x12"
SAMPLE_FILES = sorted((SAMPLES / "x12").glob("*.edi"))
ENV_VARS = ("EDIGW_CONFIG", "EDIGW_DATABASE_URL", "EDIGW_SYSTEM_DATABASE_URL")
RUNNER = CliRunner()
# a located X12 issue: "segment 29 (SE) at byte 870, SE01"
ELEMENT_LOCATION = re.compile(r"^segment \d+ \([A-Z][A-Z0-9]{1,2}\) at byte \d+, [A-Z][A-Z0-9]{1,2}\d{2}")
PDF_HEAD = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"


# --- running the command ---------------------------------------------------------------------------------


def cli(*args: str | Path) -> Result:
    """`edigw ARGS` in-process; an exception escaping the app fails the test (catch_exceptions=False)."""
    result = RUNNER.invoke(app, [str(a) for a in args], env=dict.fromkeys(ENV_VARS), catch_exceptions=False)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    return result


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ENV_VARS}


def run_process(argv: list[str], cwd: Path, timeout: float = 120) -> Ran:
    proc = subprocess.run(argv, cwd=cwd, env=clean_env(), capture_output=True, timeout=timeout, check=False)
    return Ran(proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8", "replace"))


def console_script() -> list[str]:
    script = Path(sys.executable).with_name("edigw")
    if not script.is_file():
        pytest.skip(f"no console script next to {sys.executable}")
    return [str(script)]


def one_line_error(stderr: str) -> None:
    assert "Traceback" not in stderr
    lines = stderr.strip("\n").splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("edigw: ") and len(lines[0]) > len("edigw: ")


def parse_output(result: Result | Ran) -> dict[str, Any]:
    """The parse contract: one JSON object {documents, issues}; exit 1 iff an error-severity issue."""
    code = result.exit_code if isinstance(result, Result) else result.code
    assert "Traceback" not in result.stderr
    out = json.loads(result.stdout)  # exactly one JSON value: trailing data would raise
    assert isinstance(out, dict) and set(out) == {"documents", "issues"}
    assert isinstance(out["documents"], list) and isinstance(out["issues"], list)
    for issue in out["issues"]:
        assert set(issue) == {"severity", "code", "message", "location"}, issue
        assert issue["severity"] in ("error", "warning") and issue["code"] and issue["message"]
        assert isinstance(issue["location"], str)
    json.dumps(out, ensure_ascii=False).encode("utf-8")  # no lone surrogates: strict JSON readers accept it
    has_error = any(i["severity"] == "error" for i in out["issues"])
    assert code == (1 if has_error else 0), (code, out["issues"])
    return out


def errors(out: dict[str, Any]) -> list[dict[str, str]]:
    return [i for i in out["issues"] if i["severity"] == "error"]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


# --- 1. parse: corpus and samples ------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    exit_code: int
    documents: list[tuple[str, list[str]]]  # (number, line quantities) per document
    error_locations: tuple[str, ...] = ()  # exact locations that must be among the errors


FAT_ORDER = ("08292233294", ["120", "220", "126", "76", "72", "696"])
CORPUS_850 = {
    "aaronhuggins__node-x12__850.edi": Expected(0, [FAT_ORDER]),
    "aaronhuggins__node-x12__850_2.edi": Expected(0, [FAT_ORDER]),
    "aaronhuggins__node-x12__850_3.edi": Expected(0, [("----------", ["1"])]),
    # two byte-identical interchanges (ISA13 000003438 reused): the repeat is flagged on its ISA13
    "aaronhuggins__node-x12__850_fat.edi": Expected(1, [FAT_ORDER, FAT_ORDER],
                                                    ("segment 38 (ISA) at byte 1115, ISA13",)),
    # SE01 says 28, the set has 27 segments
    "kputnam__stupidedi__003010_PO850_fail_1.edi": Expected(1, [("PR12345678", ["3", "9"])],
                                                            ("segment 29 (SE) at byte 870, SE01",)),
    # ISA wrapped across two lines (inside ISA08)
    "kputnam__stupidedi__003050_PO850_fail_1.edi": Expected(1, [("NP00001234", ["3"])],
                                                            ("segment 1 (ISA) at byte 0, ISA08",)),
    "kputnam__stupidedi__004010_PO850_pass_1.edi": Expected(0, [("PO12345", ["1"])]),
    "kputnam__stupidedi__004010_X357_SC850_pass_basic-po.edi": Expected(0, [("508517", ["48"])]),
    "kputnam__stupidedi__004010_X357_SC850_pass_taxexempt-po.edi": Expected(0, [("XX-1234", ["25"])]),
}
VALID_CORPUS_850 = sorted(name for name, e in CORPUS_850.items() if e.exit_code == 0)


def corpus_file(name: str) -> Path:
    path = X12_CORPUS / name
    if not X12_CORPUS.is_dir():
        pytest.skip(f"shared corpus not present at {X12_CORPUS}")
    assert path.is_file(), f"{name} disappeared from the corpus"
    return path


def test_every_corpus_850_has_expectations() -> None:
    if not X12_CORPUS.is_dir():
        pytest.skip(f"shared corpus not present at {X12_CORPUS}")
    present = {p.name for p in X12_CORPUS.glob("*.edi") if "850" in p.name}
    assert present == set(CORPUS_850)


@pytest.mark.parametrize("name", sorted(CORPUS_850))
def test_parse_corpus_850(name: str) -> None:
    expected = CORPUS_850[name]
    result = cli("parse", corpus_file(name))
    out = parse_output(result)
    assert result.exit_code == expected.exit_code, errors(out)
    got = [(d["number"], [line["quantity"] for line in d["lines"]]) for d in out["documents"]]
    assert got == expected.documents
    assert all(d["kind"] == "order" and d["source"]["set"] == "850" for d in out["documents"])
    if expected.exit_code == 1:
        located = [e["location"] for e in errors(out) if ELEMENT_LOCATION.match(e["location"])]
        assert located, errors(out)
        for location in expected.error_locations:
            assert location in located, located
    else:
        assert errors(out) == []


def test_sample_files_exist() -> None:
    assert len(SAMPLE_FILES) >= 5 and all(p.with_suffix(".json").is_file() for p in SAMPLE_FILES)


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_parse_sample_gives_its_canonical_json(path: Path) -> None:
    result = cli("parse", path)
    out = parse_output(result)
    assert result.exit_code == 0
    assert out["documents"] == json.loads(path.with_suffix(".json").read_text())


def test_parse_option_order_and_explicit_format_and_partner() -> None:
    sample = SAMPLES / "x12" / "acme_850_004010.edi"
    expected = json.loads(sample.with_suffix(".json").read_text())
    out = parse_output(cli("parse", "--format", "x12", "--partner", "acme", sample))
    assert out["documents"] == expected


# --- 2. unusable invocations: exit 2, one line on stderr ----------------------------------------------------


@pytest.fixture(scope="module")
def bad_configs(work: Path) -> dict[str, Path]:
    folder = work / "configs"
    folder.mkdir()
    return {
        "missing": folder / "nope.toml",
        "invalid_toml": write(folder, "broken.toml", b"[gateway\ndata_dir = 'var'\n"),
        "wrong_shape": write(folder, "shape.toml", b'partners = "acme"\n'),
        "not_utf8": write(folder, "latin.toml", b"\xff\xfe[gateway]\n"),
        "directory": folder,
    }


@pytest.mark.parametrize("command", ["parse", "ack"])
@pytest.mark.parametrize("case", ["missing_file", "directory", "unknown_partner", "config_missing",
                                  "config_invalid_toml", "config_wrong_shape", "config_not_utf8",
                                  "config_is_directory"])
def test_unusable_invocation_exits_2_with_one_line(command: str, case: str, work: Path,
                                                   bad_configs: dict[str, Path]) -> None:
    sample = SAMPLES / "x12" / "acme_850_004010.edi"
    cases: dict[str, list[str | Path]] = {
        "missing_file": [work / "does-not-exist.edi"],
        "directory": [work],
        "unknown_partner": [sample, "--partner", "nobody"],
        "config_missing": [sample, "--config", bad_configs["missing"]],
        "config_invalid_toml": [sample, "--config", bad_configs["invalid_toml"]],
        "config_wrong_shape": [sample, "--config", bad_configs["wrong_shape"]],
        "config_not_utf8": [sample, "--config", bad_configs["not_utf8"]],
        "config_is_directory": [sample, "--config", bad_configs["directory"]],
    }
    args = cases[case]
    result = cli(command, *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    one_line_error(result.stderr)
    if case == "unknown_partner":
        assert "nobody" in result.stderr
    if case == "missing_file":
        assert "does-not-exist.edi" in result.stderr


def test_invalid_format_exits_2() -> None:
    result = cli("parse", SAMPLES / "x12" / "acme_850_004010.edi", "--format", "docx")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "--format" in result.stderr and "Traceback" not in result.stderr


def test_invalid_format_message_is_one_line(work: Path) -> None:
    ran = run_process([*console_script(), "parse", str(SAMPLES / "x12" / "acme_850_004010.edi"),
                       "--format", "docx"], cwd=work)
    assert ran.code == 2 and ran.stdout == ""
    one_line_error(ran.stderr)


# --- 3. hostile inputs ------------------------------------------------------------------------------------


def interchange_boundaries(data: bytes) -> set[int]:
    """Offsets at which a prefix of `data` holds only complete interchanges (after IEA, trailing space)."""
    out: set[int] = set()
    for token in tokenize(data):
        if isinstance(token, Segment) and token.tag == "IEA":
            end = token.offset + len(token.text().encode("latin-1")) + len(token.delimiters.segment)
            out.add(end)
            while end < len(data) and data[end:end + 1] in (b" ", b"\r", b"\n", b"\t"):
                end += 1
                out.add(end)
    return out


def check_ack_output(result: Result) -> list[ParsedAck]:
    """ack: exit 0 with acknowledgement interchange(s) on stdout, or exit 1 with one line and nothing else."""
    assert result.exit_code in (0, 1), (result.exit_code, result.stderr)
    if result.exit_code == 1:
        assert result.stdout_bytes == b""
        one_line_error(result.stderr)
        return []
    parsed = parse_ack(result.stdout_bytes)
    assert parsed and result.stdout_bytes.startswith(b"ISA")
    return parsed


@pytest.mark.parametrize("name", ["empty", "whitespace", "pdf", "garbage_5mb", "isa_then_garbage_5mb"])
def test_hostile_file_gives_json_with_an_error(name: str, work: Path) -> None:
    rng = random.Random(name)
    data = {
        "empty": b"",
        "whitespace": b"  \r\n\t\n   \n",
        "pdf": PDF_HEAD + bytes(rng.randrange(256) for _ in range(2000)),
        "garbage_5mb": rng.randbytes(5 * 1024 * 1024),
        "isa_then_garbage_5mb": b"ISA*" + rng.randbytes(5 * 1024 * 1024),
    }[name]
    path = write(work, f"hostile_{name}", data)
    result = cli("parse", path)
    out = parse_output(result)
    assert result.exit_code == 1 and out["documents"] == [] and errors(out)
    if name == "pdf":
        assert errors(out)[0]["code"] == "PDF_CORRUPT"
    check_ack_output(cli("ack", path))


def test_isa_without_gs(work: Path) -> None:
    full = order_file("PO-NOGS", 31, lines=2)
    segments = full.split(b"~\n")
    no_gs = b"~\n".join(s for s in segments if not s.startswith((b"GS*", b"GE*")))
    result = cli("parse", write(work, "no_gs.edi", no_gs))
    out = parse_output(result)
    assert result.exit_code == 1
    assert any(e["location"].startswith("segment ") for e in errors(out)), errors(out)
    parsed = check_ack_output(cli("ack", work / "no_gs.edi"))
    assert [(t.control_number, t.note) for a in parsed for t in a.ta1] == [("000000031", "022")]

    isa_iea = b"~\n".join(s for s in segments if s.startswith((b"ISA*", b"IEA*"))) + b"~\n"
    out = parse_output(cli("parse", write(work, "isa_iea.edi", isa_iea)))
    assert out["documents"] == [] and errors(out)
    parsed = check_ack_output(cli("ack", work / "isa_iea.edi"))
    assert [t.control_number for a in parsed for t in a.ta1] == ["000000031"]


@pytest.mark.parametrize("path", [*SAMPLE_FILES, X12_CORPUS / "aaronhuggins__node-x12__850_fat.edi"],
                         ids=lambda p: p.name)
def test_truncated_at_every_37th_byte(path: Path, work: Path) -> None:
    if not path.is_file():
        pytest.skip(f"{path} not present")
    data = path.read_bytes()
    complete = interchange_boundaries(data)
    target = work / f"cut_{path.name}"
    for offset in range(0, len(data), 37):
        target.write_bytes(data[:offset])
        result = cli("parse", target)
        out = parse_output(result)
        if offset not in complete:
            assert result.exit_code == 1 and errors(out), (offset, out["issues"])
        check_ack_output(cli("ack", target))


# mutations of a valid interchange: somewhere in it, some bytes replaced by arbitrary bytes
VALID = (SAMPLES / "x12" / "acme_850_two_sets.edi").read_bytes()
mutated = st.builds(lambda at, cut, junk: VALID[:at] + junk + VALID[at + cut:],
                    st.integers(0, len(VALID)), st.integers(0, 40), st.binary(max_size=40))
hostile_bytes = st.one_of(st.binary(max_size=2000), st.binary(max_size=600).map(lambda b: VALID[:106] + b),
                          mutated)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=hostile_bytes)
def test_arbitrary_bytes_never_break_parse_or_ack(data: bytes, work: Path) -> None:
    path = write(work, "hypothesis.bin", data)
    out = parse_output(cli("parse", path))
    if not data.strip():
        assert errors(out)
    check_ack_output(cli("ack", path))


@pytest.mark.parametrize(("how", "case"), [("console", "empty"), ("module", "empty"), ("console", "binary"),
                                           ("module", "pdf"), ("console", "truncated"), ("module", "truncated")])
def test_hostile_inputs_through_a_real_process(how: str, case: str, work: Path) -> None:
    data = {"empty": b"", "binary": bytes(range(256)) * 8, "pdf": PDF_HEAD,
            "truncated": VALID[: len(VALID) // 2]}[case]
    path = write(work, f"proc_{case}", data)
    argv = console_script() if how == "console" else [sys.executable, "-m", "gateway"]
    ran = run_process([*argv, "parse", str(path)], cwd=work)
    out = parse_output(ran)
    assert ran.code == 1 and errors(out)
    if case == "pdf":
        assert errors(out)[0]["code"] == "PDF_CORRUPT"


@pytest.mark.parametrize("how", ["console", "module"])
def test_unusable_invocation_through_a_real_process(how: str, work: Path) -> None:
    argv = console_script() if how == "console" else [sys.executable, "-m", "gateway"]
    target = work / "missing.edi" if how == "console" else work
    ran = run_process([*argv, "parse", str(target)], cwd=work)
    assert ran.code == 2 and ran.stdout == ""
    one_line_error(ran.stderr)


# --- 4. ack -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def maps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_widened_maps(tmp_path_factory.mktemp("pyx12"))


def split_interchanges(data: bytes) -> list[bytes]:
    starts = [t.offset for t in tokenize(data) if isinstance(t, Segment) and t.tag == "ISA"]
    return [data[a:b] for a, b in zip(starts, [*starts[1:], len(data)], strict=True)]


def inbound_parties(data: bytes) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    return [((t.get(5).strip(), t.get(6).strip()), (t.get(7).strip(), t.get(8).strip()))
            for t in tokenize(data) if isinstance(t, Segment) and t.tag == "ISA"]


PYX12_4010_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!\"&'()*+,-./:;?= abcdefghijklmnopqrstuvwxyz"
                             "%~@[]_{}\\|<>#$")


def oracle_checked(chunk: bytes, maps: Path) -> tuple[ParsedAck, bool]:
    """One acknowledgement interchange: fixed-width ISA, read back, and pyx12 on its 997 where it can."""
    segments = [t for t in tokenize(chunk) if isinstance(t, Segment)]
    term = segments[0].delimiters.segment.encode("latin-1")
    assert chunk[105:106] == term, "the ISA is not fixed at 106 characters"
    assert segments[-1].tag == "IEA"
    parsed = parse_ack(chunk)
    assert len(parsed) == 1
    if not parsed[0].groups:
        return parsed[0], False  # TA1 only: pyx12 crashes on those
    kept = [s for s in segments if s.tag != "TA1"]
    if segments[0].delimiters.component not in PYX12_4010_CHARS:
        # pyx12 checks ISA16 against the 004010 character set, which lacks e.g. '^' (a partner's choice
        # that the ack mirrors); show it the same 997 with '>' as the component separator
        comp = segments[0].delimiters.component
        kept = [Segment([*s.elements[:16], ">"] if s.tag == "ISA" else [e.replace(comp, ">") for e in s.elements],
                        s.number, s.offset, s.delimiters) for s in kept]
    body = b"".join(s.text().encode("latin-1") + term for s in kept)
    if isa_version(body) not in ("00401", "00501"):
        body = normalize_version(body)
    if not oracle_readable(body):
        return parsed[0], False
    assert oracle_errors(body, maps) == []
    return parsed[0], True


def ack_interchanges(path: Path, maps: Path) -> list[tuple[ParsedAck, bool]]:
    result = cli("ack", path)
    assert result.exit_code == 0, result.stderr
    return [oracle_checked(chunk, maps) for chunk in split_interchanges(result.stdout_bytes)]


def valid_inputs() -> Iterator[Path]:
    yield from SAMPLE_FILES
    yield from (X12_CORPUS / name for name in VALID_CORPUS_850)


@pytest.mark.parametrize("path", list(valid_inputs()), ids=lambda p: p.name)
def test_ack_for_a_valid_input_accepts_everything(path: Path, maps: Path) -> None:
    if not path.is_file():
        pytest.skip(f"{path} not present")
    data = path.read_bytes()
    acks = ack_interchanges(path, maps)
    parties = inbound_parties(data)
    assert len(acks) == len(parties)
    for (parsed, oracle), (sender, receiver) in zip(acks, parties, strict=True):
        assert (parsed.sender, parsed.receiver) == (receiver, sender)
        assert parsed.ta1 == [] or all(t.code == "A" for t in parsed.ta1)
        assert len(parsed.groups) == 1 and parsed.groups[0].code == "A"
        assert all(s.code == "A" and s.segments == [] for s in parsed.groups[0].sets)
        assert oracle or isa_version(data) == "00501", "pyx12 should have checked this 997"
    # every set is accounted for in the AK9s, and the AK2s say A where they are written
    sets = sum(1 for ev in read_x12(data) if isinstance(ev, SetRead))
    assert sum(p.groups[0].accepted or 0 for p, _ in acks) == sets


def test_ack_names_the_element_in_error(work: Path, maps: Path) -> None:
    good = order_file("PO-ERR", 5)
    bad = good.replace(b"PO1*1*11*EA*", b"PO1*1*11*XX*", 1)
    assert bad != good
    path = write(work, "po103.edi", bad)
    out = parse_output(cli("parse", path))
    assert [e["location"] for e in errors(out)] == ["segment 10 (PO1) at byte 321, PO103"]
    [(parsed, oracle)] = ack_interchanges(path, maps)
    assert oracle
    assert (parsed.sender, parsed.receiver) == (("ZZ", "EDIGW"), ("ZZ", "ACMEBUYER"))
    [group] = parsed.groups
    assert (group.group_control_number, group.code) == ("5", "R")
    [acked] = group.sets
    assert (acked.set_id, acked.control_number, acked.code) == ("850", "0001", "R")
    [segment] = acked.segments
    assert (segment.segment_id, segment.position) == ("PO1", 8)  # ST=1 BEG REF DTM N1 N3 N4, PO1=8
    [element] = segment.elements
    assert (element.position, element.element_ref, element.code, element.value) == ("3", "355", "7", "XX")


def test_ack_for_the_fat_file_rejects_the_repeated_interchange(maps: Path) -> None:
    path = corpus_file("aaronhuggins__node-x12__850_fat.edi")
    acks = ack_interchanges(path, maps)
    assert len(acks) == 2
    (first, oracle), (second, _) = acks
    assert oracle and first.ta1 == [] and [g.code for g in first.groups] == ["A"]
    assert [(t.control_number, t.code, t.note) for t in second.ta1] == [("000003438", "R", "025")]
    assert second.groups == []
    for parsed in (first, second):
        assert (parsed.sender, parsed.receiver) == (("01", "999999999"), ("12", "4405197800"))


def test_ack_for_the_rejected_corpus_850s(maps: Path) -> None:
    [(parsed, oracle)] = ack_interchanges(corpus_file("kputnam__stupidedi__003010_PO850_fail_1.edi"), maps)
    assert oracle
    assert [(t.control_number, t.code) for t in parsed.ta1] == [("000000001", "A")]  # ISA14=1 asks for it
    [group] = parsed.groups
    assert group.code == "R" and (group.received, group.accepted) == (1, 0)
    [acked] = group.sets
    assert acked.code == "R" and "4" in acked.error_codes  # SE01 count
    # 003010 writes dates as YYMMDD, so BEG05 '940705' is fine; the ITD02 code is not
    assert [(s.segment_id, s.position) for s in acked.segments][:1] == [("ITD", 5)]
    assert "BEG" not in [s.segment_id for s in acked.segments]
    # the ISA split across two lines: the interchange cannot be trusted, a TA1 R is all that goes back
    [(parsed, _)] = ack_interchanges(corpus_file("kputnam__stupidedi__003050_PO850_fail_1.edi"), maps)
    assert [(t.control_number, t.code, t.note) for t in parsed.ta1] == [("000000003", "R", "024")]
    assert parsed.groups == []


@pytest.mark.parametrize("name", ["empty", "text", "pdf"])
def test_ack_without_an_interchange_exits_1(name: str, work: Path) -> None:
    data = {"empty": b"", "text": b"hello, this is not EDI\n", "pdf": PDF_HEAD}[name]
    result = cli("ack", write(work, f"noic_{name}", data))
    assert result.exit_code == 1 and result.stdout_bytes == b""
    one_line_error(result.stderr)


# --- 5. schema --------------------------------------------------------------------------------------------

CONTRACT_FIELDS = {"kind", "number", "date", "po_number", "purpose", "currency", "sender", "receiver", "parties",
                   "lines", "totals", "source"}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    result = cli("schema")
    assert result.exit_code == 0 and result.stderr == ""
    out = json.loads(result.stdout)
    assert isinstance(out, dict)
    return out


def test_schema_is_a_json_schema_of_the_canonical_document(schema: dict[str, Any]) -> None:
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["type"] == "object"
    assert set(schema["properties"]) >= CONTRACT_FIELDS
    for path in SAMPLE_FILES:  # without a validator: keys known to the schema, required keys present
        for doc in json.loads(path.with_suffix(".json").read_text()):
            assert set(doc) <= set(schema["properties"]), path.name
            assert set(schema.get("required", [])) <= set(doc), path.name


def test_samples_validate_against_the_schema(schema: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(schema)
    validator.check_schema(schema)
    for path in SAMPLE_FILES:
        for doc in json.loads(path.with_suffix(".json").read_text()):
            assert list(validator.iter_errors(doc)) == [], path.name


# --- 6. ingest, items, show (subprocess) --------------------------------------------------------------------

INGEST_CONFIG = """
[gateway]
data_dir = "{data}"
database_url = "sqlite:///{data}/store.sqlite"
identities = [{{ qualifier = "ZZ", id = "EDIGW" }}]

[erp]
path = "{erp}"

[[partners]]
id = "acme"
identities = [{{ qualifier = "ZZ", id = "ACMEBUYER" }}]
"""
INGEST_SAMPLE = SAMPLES / "x12" / "acme_850_two_sets.edi"


@dataclass
class Site:
    root: Path
    config: Path
    erp: Path

    @classmethod
    def make(cls, root: Path) -> Site:
        root.mkdir()
        config = root / "gateway.toml"
        config.write_text(INGEST_CONFIG.format(data=root / "var", erp=root / "erp"))
        return cls(root, config, root / "erp")

    def argv(self, *args: str | Path) -> list[str]:
        return [sys.executable, "-m", "gateway", *map(str, args), "--config", str(self.config)]

    def run(self, *args: str | Path) -> Ran:
        return run_process(self.argv(*args), cwd=self.root)


@dataclass
class Ingested:
    site: Site
    first: Ran  # the sample, first time
    again: Ran  # the same path again, no --partner
    with_partner: Ran  # a renamed copy, then the same path, both with --partner acme
    items: Ran
    show: Ran | None
    twice_in_one_file: Ran  # one interchange written twice into one file (another site)
    documents: Ran | None = None  # `documents --number` for the sample's first order


def json_lines(ran: Ran) -> list[dict[str, Any]]:
    assert "Traceback" not in ran.stderr, ran.stderr[-3000:]
    return [json.loads(line) for line in ran.stdout.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Ingested:
    base = tmp_path_factory.mktemp("ingest")
    site, other = Site.make(base / "main"), Site.make(base / "other")
    twice = write(other.root, "twice.edi", order_file("PO-TWICE", 7) * 2)
    background = subprocess.Popen(other.argv("ingest", twice), cwd=other.root, env=clean_env(),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        sample = write(site.root, INGEST_SAMPLE.name, INGEST_SAMPLE.read_bytes())
        copy = write(site.root, "renamed.edi", INGEST_SAMPLE.read_bytes())
        first = site.run("ingest", sample)
        again = site.run("ingest", sample)
        with_partner = site.run("ingest", copy, sample, "--partner", "acme")
        items = site.run("items")
        listed = json_lines(items)
        original = [i for i in listed if i["source"] == INGEST_SAMPLE.name and i["state"] == "acknowledged"]
        show = site.run("show", original[-1]["id"]) if original else None
        first_number = json.loads(INGEST_SAMPLE.with_suffix(".json").read_text())[0]["number"]
        documents = site.run("documents", "--number", first_number)
        out, err = background.communicate(timeout=120)
    finally:
        if background.poll() is None:
            background.kill()
            background.wait()
    twice_in_one_file = Ran(background.returncode, out.decode(), err.decode("utf-8", "replace"))
    return Ingested(site, first, again, with_partner, items, show, twice_in_one_file, documents)


def test_ingest_prints_one_line_per_document(ingested: Ingested) -> None:
    assert ingested.first.code == 0, ingested.first.stderr[-3000:]
    lines = json_lines(ingested.first)
    expected = json.loads(INGEST_SAMPLE.with_suffix(".json").read_text())
    assert [set(line) for line in lines] == [{"id", "kind", "number", "state"}] * len(expected)
    assert [(line["kind"], line["number"]) for line in lines] == [(d["kind"], d["number"]) for d in expected]
    assert all(line["state"] in ("delivered", "acknowledged") for line in lines)
    assert len({line["id"] for line in lines}) == len(lines)


def test_ingest_delivers_the_canonical_json_to_the_erp_folder(ingested: Ingested) -> None:
    expected = json.loads(INGEST_SAMPLE.with_suffix(".json").read_text())
    delivered = [json.loads(p.read_text()) for p in sorted(ingested.site.erp.glob("*.json"))]
    assert len(delivered) == len(expected)
    by_number = {d["number"]: d for d in delivered}
    for doc in expected:
        got = by_number[doc["number"]]
        assert {k: v for k, v in got.items() if k != "source"} == {k: v for k, v in doc.items() if k != "source"}
        assert got["source"]["control_numbers"] == doc["source"]["control_numbers"]


def test_ingest_of_the_same_bytes_under_another_name_is_a_duplicate(ingested: Ingested) -> None:
    lines = json_lines(ingested.with_partner)
    assert set(lines[0]) == {"id", "kind", "number", "state"}
    assert lines[0]["state"] == "duplicate"


def test_second_ingest_of_the_same_file_is_a_duplicate(ingested: Ingested) -> None:
    lines = json_lines(ingested.again)
    assert lines and all(line["state"] == "duplicate" for line in lines), lines


def test_second_ingest_of_the_same_path_with_partner_is_a_duplicate(ingested: Ingested) -> None:
    lines = json_lines(ingested.with_partner)
    assert len(lines) == 2 and lines[1]["state"] == "duplicate", lines


def test_items_lists_the_ingested_item(ingested: Ingested) -> None:
    assert ingested.items.code == 0, ingested.items.stderr
    listed = json_lines(ingested.items)
    original = [i for i in listed if i["source"] == INGEST_SAMPLE.name and i["state"] == "acknowledged"]
    assert len(original) == 1
    assert original[0]["partner"] == "acme" and original[0]["channel"] == "cli"
    assert {i["source"] for i in listed} == {INGEST_SAMPLE.name, "renamed.edi"}
    received = [datetime.fromisoformat(i["received_at"]) for i in listed]
    assert received == sorted(received, reverse=True)  # newest first


def test_items_timestamps_carry_their_timezone(ingested: Ingested) -> None:
    for item in json_lines(ingested.items):
        assert datetime.fromisoformat(item["received_at"]).utcoffset() is not None, item["received_at"]


def test_show_gives_documents_and_history(ingested: Ingested) -> None:
    assert ingested.show is not None and ingested.show.code == 0, ingested.items.stdout
    shown = json.loads(ingested.show.stdout)
    assert shown["state"] == "acknowledged" and shown["source"] == INGEST_SAMPLE.name
    assert shown["size"] == len(INGEST_SAMPLE.read_bytes())
    printed = json_lines(ingested.first)
    assert sorted(d["id"] for d in shown["documents"]) == sorted(line["id"] for line in printed)
    for doc in shown["documents"]:
        assert doc["state"] == "delivered"
        assert Path(doc["delivered_to"]).parent == ingested.site.erp and Path(doc["delivered_to"]).is_file()
    history = shown["history"]
    assert history[0]["action"] == "received" and history[0]["to"] == "received"
    reached = [h["to"] for h in history if h["action"] == "state"]
    assert reached[0] == "parsed" and reached[-1] == "acknowledged"
    assert any(h["action"] == "ack_sent" for h in history)
    assert shown["exceptions"] == []


def test_documents_finds_an_order_by_number(ingested: Ingested) -> None:
    assert ingested.documents is not None and ingested.documents.code == 0, ingested.documents.stderr
    expected = json.loads(INGEST_SAMPLE.with_suffix(".json").read_text())[0]
    found = json_lines(ingested.documents)
    assert [(d["kind"], d["number"], d["partner"], d["state"]) for d in found] == [
        ("order", expected["number"], "acme", "delivered")]
    assert Path(found[0]["delivered_to"]).is_file()


def test_show_of_an_unknown_item_exits_2(ingested: Ingested) -> None:
    ran = ingested.site.run("show", "itm_doesnotexist")
    assert ran.code == 2 and ran.stdout == ""
    one_line_error(ran.stderr)


def test_ingest_of_a_file_repeating_its_interchange(ingested: Ingested) -> None:
    ran = ingested.twice_in_one_file
    assert "Traceback" not in ran.stderr and ran.code in (0, 1), (ran.code, ran.stderr[-2000:])
    lines = json_lines(ran)
    assert lines and all(line["state"] not in ("received", "parsed") for line in lines), lines


# --- every corpus file: what parse flags, the acknowledgement says -------------------------------------


# Errors about one element's value: each must show up as AK3/AK4 (IK3/IK4) detail in the acknowledgement.
ELEMENT_ERROR_CODES = {
    "X12_INVALID_CODE", "X12_ELEMENT_TOO_SHORT", "X12_ELEMENT_TOO_LONG", "X12_MANDATORY_ELEMENT_MISSING",
    "X12_INVALID_CHARACTER", "X12_INVALID_DATE", "X12_INVALID_TIME", "X12_INVALID_NUMBER", "X12_SYNTAX_PAIRED",
    "X12_SYNTAX_REQUIRED", "X12_SYNTAX_CONDITIONAL", "X12_SYNTAX_EXCLUSION", "X12_SYNTAX_LIST_CONDITIONAL",
    "X12_GTIN_CHECK_DIGIT", "X12_SSCC_CHECK_DIGIT",
}


def corpus_x12_files() -> list[Path]:
    return sorted(X12_CORPUS.glob("*.edi")) if X12_CORPUS.is_dir() else []


@pytest.mark.parametrize("path", corpus_x12_files(), ids=lambda p: p.name)
def test_every_corpus_file_is_acknowledged_with_what_is_wrong(path: Path, maps: Path) -> None:
    parsed_out = cli("parse", path)
    out = json.loads(parsed_out.stdout)
    errors = [i for i in out["issues"] if i["severity"] == "error"]
    assert parsed_out.exit_code == (1 if errors else 0)
    if all(s.set_id in ("997", "999") for s in sets_in(path.read_bytes())):
        result = cli("ack", path)
        assert result.exit_code == 0 and result.stdout_bytes == b""  # never acknowledge an acknowledgement
        return
    acks = ack_interchanges(path, maps)
    assert acks, "every interchange of business documents gets an acknowledgement"
    for parsed, oracle in acks:
        assert oracle or isa_version(parsed_bytes(path)) in ("00501", "00200") or parsed.groups == [], \
            "pyx12 should have accepted this acknowledgement"
    verdicts = [t.code for p, _ in acks for t in p.ta1] + [g.code for p, _ in acks for g in p.groups]
    if errors:
        assert any(v in ("R", "E", "P") for v in verdicts), (errors[:3], verdicts)
        detail = {s.segment_id for p, _ in acks for g in p.groups for a in g.sets for s in a.segments}
        element_level = {i["location"].split("(")[1].split(")")[0] for i in errors
                         if i["code"] in ELEMENT_ERROR_CODES and i["location"].startswith("segment")}
        if element_level and any(p.groups for p, _ in acks):
            assert element_level <= detail, (element_level, detail)
    else:
        assert set(verdicts) <= {"A"}, verdicts


def sets_in(data: bytes) -> list[Any]:
    return [ev.transaction_set for ev in read_x12(data) if isinstance(ev, SetRead)]


def parsed_bytes(path: Path) -> bytes:
    return path.read_bytes()
