"""Outbound X12: canonical -> interchange -> canonical is lossless, the envelope is right, bad data raises.

Every 850 sample's canonical JSON is sent on three differently configured partner profiles, read back
with the inbound path (reader, guide, map_850) and compared field by field (source aside). Builders
written in parallel (855/856/810) get the same round trip when both the builder and samples exist.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import types
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.canonical import Document, Identity, Party
from mappings.x12 import outbound
from mappings.x12.ack import AckNumbers, AckSettings, build_ack, parse_ack
from mappings.x12.build_850 import _chunks, build_850, describe_field
from mappings.x12.outbound import (
    KIND_TO_SET,
    OutboundInvalid,
    OutboundNumbers,
    OutboundProfile,
    OutboundResult,
    build_outbound,
    x12_decimal,
)
from mappings.x12.process import analyse_x12
from parsers.issues import Issue
from parsers.x12.reader import FileIssue, GroupEnd, InterchangeEnd, SetRead, read_x12

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "x12"
CORPUS = ROOT.parent / "shared" / "corpus" / "x12"
NOW = datetime(2025, 6, 2, 14, 5, tzinfo=UTC)
NUMBERS = OutboundNumbers(interchange=4711, group=90)
US = ("ZZ", "EDIGW")

PROFILES: dict[str, OutboundProfile] = {
    "acme": OutboundProfile(sender=US, receiver=("ZZ", "ACMEBUYER"), version="004010", element="*",
                            component=">", terminator="~", line_ending="\r\n"),
    "globex": OutboundProfile(sender=US, receiver=("01", "123456789"), version="004010VICS", element="|",
                              component="^", terminator="\n", application_sender="EDIGWAPP",
                              application_receiver="GLOBEXAPP", usage="T", ack_requested=True),
    "third": OutboundProfile(sender=US, receiver=("12", "5145550172"), version="005010", element="*",
                             component=":", terminator="~", repetition="^"),
}


def _load(path: Path) -> list[Document]:
    return [Document.from_json_dict(d) for d in json.loads(path.read_text())]


def _sample_files(set_id: str) -> list[Path]:
    return sorted(p for p in SAMPLES.glob(f"*{set_id}*.json") if p.with_suffix(".edi").is_file())


def _sample_documents(edi: Path) -> list[Document]:
    """A sample's canonical documents: its .json when written, else what the inbound mapping reads."""
    if edi.with_suffix(".json").is_file():
        return _load(edi.with_suffix(".json"))
    docs, issues = _read_back(edi.read_bytes())
    assert [i for i in issues if i.is_error] == [], edi.name
    return docs


def _canonical(doc: Document) -> dict[str, Any]:
    return doc.model_dump(mode="json", exclude={"source"})


def _batches(docs: list[Document], profile: OutboundProfile) -> list[tuple[OutboundProfile, list[Document]]]:
    """Documents grouped by the identities they carry, each with the profile speaking as their sender.

    A sample is an order a buyer sent; sending it again from the buyer's identity is the round trip.
    """
    out: dict[tuple[str, str, str, str], list[Document]] = {}
    for doc in docs:
        assert doc.sender is not None and doc.receiver is not None
        out.setdefault((doc.sender.qualifier, doc.sender.id, doc.receiver.qualifier, doc.receiver.id), []).append(doc)
    return [(dataclasses.replace(profile, sender=(k[0], k[1]), receiver=(k[2], k[3])), v) for k, v in out.items()]


def _read_back(data: bytes) -> tuple[list[Document], list[Issue]]:
    analysis = analyse_x12(data)
    docs = [s.document for s in analysis.sets if s.document is not None]
    assert len(docs) == len(analysis.sets)
    return docs, analysis.issues


def _envelope_issues(data: bytes) -> list[Issue]:
    issues: list[Issue] = []
    for event in read_x12(data):
        if isinstance(event, SetRead):
            issues += event.transaction_set.issues
        elif isinstance(event, GroupEnd):
            issues += event.group.issues
        elif isinstance(event, InterchangeEnd):
            issues += event.interchange.issues
        elif isinstance(event, FileIssue):
            issues.append(event.issue)
    return issues


def _invalid(docs: Sequence[Document], profile: OutboundProfile = PROFILES["acme"]) -> list[Issue]:
    with pytest.raises(OutboundInvalid) as caught:
        build_outbound(list(docs), profile, NUMBERS, NOW)
    errors = [i for i in caught.value.issues if i.is_error]
    assert errors, caught.value.issues
    assert str(caught.value).startswith("outbound X12 not sent")
    return errors


def _acme_order(profile: OutboundProfile = PROFILES["acme"]) -> Document:
    """The ACME sample order, addressed as `profile` sends (us to the profile's partner)."""
    doc = _load(SAMPLES / "acme_850_004010.json")[0]
    doc.sender = Identity(qualifier=profile.sender[0], id=profile.sender[1])
    doc.receiver = Identity(qualifier=profile.receiver[0], id=profile.receiver[1])
    return doc


# --- round trips -------------------------------------------------------------------------------------


def test_there_are_850_samples() -> None:
    assert len(_sample_files("850")) >= 6


@pytest.mark.parametrize("profile_name", sorted(PROFILES))
@pytest.mark.parametrize("path", _sample_files("850"), ids=lambda p: p.stem)
def test_850_sample_round_trip_is_lossless(path: Path, profile_name: str) -> None:
    docs = _load(path)
    for profile, batch in _batches(docs, PROFILES[profile_name]):
        result = build_outbound(batch, profile, NUMBERS, NOW)
        assert result.warnings == ()
        back, issues = _read_back(result.data)
        assert [i for i in issues if i.is_error] == []
        assert [_canonical(d) for d in back] == [_canonical(d) for d in batch]
        for doc, sent in zip(back, result.sets, strict=True):
            assert doc.source.version == profile.version and doc.source.set == "850"
            assert doc.source.control_numbers == sent.control_numbers


@pytest.mark.parametrize("profile_name", sorted(PROFILES))
def test_profile_output_passes_guide_and_envelope_and_is_deterministic(profile_name: str) -> None:
    profile = PROFILES[profile_name]
    docs = [_acme_order(profile), _acme_order(profile)]
    docs[1].number = docs[1].po_number = "ACME-4501878"
    for line in docs[1].lines:
        line.po_number = docs[1].number
    first = build_outbound(docs, profile, NUMBERS, NOW)
    assert build_outbound(docs, profile, NUMBERS, NOW).data == first.data
    analysis = analyse_x12(first.data)
    assert [i for i in analysis.issues if i.is_error] == []
    assert [i for i in _envelope_issues(first.data) if i.code != "X12_LINE_BREAKS"] == []
    # the profile's settings are what went out
    text = first.data.decode("ascii")
    d = profile.delimiters
    assert text.startswith("ISA" + profile.element) and len(text.split(d.segment)[0]) == 105
    isa = text.split(d.segment)[0].split(profile.element)
    assert (isa[5], isa[6].strip(), isa[7], isa[8].strip()) == (*profile.sender, *profile.receiver)
    assert isa[11] == (profile.repetition if profile.version.startswith("005") else "U")
    assert isa[12] == profile.version[:5] and isa[13] == "000004711"
    assert isa[14] == ("1" if profile.ack_requested else "0") and isa[15] == profile.usage
    assert isa[16] == profile.component
    segments = [s.strip("\r\n") for s in text.split(d.segment) if s.strip("\r\n")]
    gs = segments[1].split(profile.element)
    assert gs[1:4] == ["PO", profile.application_sender or profile.sender[1],
                       profile.application_receiver or profile.receiver[1]]
    assert gs[4:9] == ["20250602", "1405", "90", "X", profile.version]
    assert profile.line_ending == "" or all(
        chunk.startswith("\r\n") or chunk.startswith("\n") for chunk in text.split(d.segment)[1:])
    assert not profile.line_ending or text.endswith(d.segment + profile.line_ending)


def test_envelope_counts_and_control_numbers() -> None:
    docs = _load(SAMPLES / "acme_850_two_sets.json")
    profile = dataclasses.replace(PROFILES["acme"], sender=("ZZ", "ACMEBUYER"), receiver=("ZZ", "EDIGW"),
                                  line_ending="")
    result = build_outbound(docs, profile, OutboundNumbers(7, 123456), NOW)
    segments = result.data.decode().split("~")[:-1]
    tags = [s.split("*")[0] for s in segments]
    assert tags.count("ST") == tags.count("SE") == 2 and tags.count("GS") == tags.count("GE") == 1
    assert result.isa13 == "000000007" and result.gs06 == {"PO": "123456"}
    assert [(s.document_index, s.kind, s.number, s.set_id, s.functional_id, s.gs06, s.st02) for s in result.sets] \
        == [(0, "order", "ACME-4502301", "850", "PO", "123456", "0001"),
            (1, "order", "ACME-4501790", "850", "PO", "123456", "0002")]
    assert result.groups[0].st02s == ("0001", "0002") and result.groups[0].version == "004010"
    starts = [i for i, t in enumerate(tags) if t == "ST"]
    ends = [i for i, t in enumerate(tags) if t == "SE"]
    for s, e, st02 in zip(starts, ends, ("0001", "0002"), strict=True):
        assert segments[s] == f"ST*850*{st02}"
        assert segments[e] == f"SE*{e - s + 1}*{st02}"
    assert segments[-2] == "GE*2*123456" and segments[-1] == "IEA*1*000000007"
    assert result.next_numbers == OutboundNumbers(8, 123457)


def test_control_numbers_wrap() -> None:
    profile = PROFILES["acme"]
    result = build_outbound([_acme_order()], profile, OutboundNumbers(999_999_999, 999_999_999), NOW)
    assert result.isa13 == "999999999" and result.next_numbers == OutboundNumbers(1, 1)
    with pytest.raises(OutboundInvalid, match="outside 1-999999999"):
        build_outbound([_acme_order()], profile, OutboundNumbers(0, 1), NOW)


def test_a_997_for_what_we_sent_reconciles_with_the_result() -> None:
    """The partner's 997 names our GS06 (AK102) and ST02s (AK202): exactly what the result recorded."""
    result = build_outbound([_acme_order(PROFILES["third"])], PROFILES["third"], NUMBERS, NOW)
    analysis = analyse_x12(result.data)
    ack = build_ack(analysis.interchanges[0].interchange, analysis.interchanges[0].groups, AckNumbers(1, 1),
                    AckSettings(), NOW)
    assert ack is not None
    (parsed,) = parse_ack(ack)
    (group,) = parsed.groups
    assert group.group_control_number == result.gs06["PO"] and group.code == "A"
    assert [(s.set_id, s.control_number) for s in group.sets] == [(s.set_id, s.st02) for s in result.sets]


def test_one_group_per_functional_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sets of different functional IDs get their own GS, numbered on from NUMBERS.group, ST02 from 0001."""
    def build_855(doc: Document, version: str) -> list[list[str]]:
        return [["BAK", "00", "AC", doc.number or "", "20250602"]]

    fake = types.ModuleType("mappings.x12.build_855")
    fake.build_855 = build_855  # type: ignore[attr-defined]
    real_module = outbound.builder_module
    monkeypatch.setattr(outbound, "builder_module", lambda s: fake if s == "855" else real_module(s))
    # the fake 855 is not a real one: check only its envelope, not its content
    real_guide, real_mapper = outbound.load_guide, outbound.mapper_for
    monkeypatch.setattr(outbound, "load_guide", lambda s, v: real_guide(s, v) if s == "850" else (None, []))
    monkeypatch.setattr(outbound, "mapper_for", lambda s: real_mapper(s) if s == "850" else None)
    order = _acme_order()
    response = Document(kind="order_response", number="ACK-1", source=order.source)
    result = build_outbound([order, response, order], PROFILES["acme"], NUMBERS, NOW)
    assert [(g.functional_id, g.gs06, g.st02s) for g in result.groups] == \
        [("PO", "90", ("0001", "0002")), ("PR", "91", ("0001",))]
    assert [(s.document_index, s.set_id, s.gs06, s.st02) for s in result.sets] == \
        [(0, "850", "90", "0001"), (1, "855", "91", "0001"), (2, "850", "90", "0002")]
    assert result.next_numbers == OutboundNumbers(4712, 92)
    assert [i for i in _envelope_issues(result.data) if i.code != "X12_LINE_BREAKS"] == []
    assert b"GE*2*90~\r\nGS*PR*EDIGW*ACMEBUYER*20250602*1405*91*X*004010~" in result.data
    assert result.data.endswith(b"IEA*2*000004711~\r\n")


def test_long_names_and_descriptions_are_split_without_loss() -> None:
    doc = _acme_order()
    doc.parties[0].name = "ACME INDUSTRIAL SUPPLY " * 7 + "PURCHASING"
    doc.lines[0].description = " ".join(f"WORD{n}" for n in range(60))
    result = build_outbound([doc], PROFILES["acme"], NUMBERS, NOW)
    assert result.data.count(b"N2*") == 2 and result.data.count(b"PID*") >= 7
    back, _ = _read_back(result.data)
    assert _canonical(back[0]) == _canonical(doc)


def test_utf8_partner_gets_utf8_and_transliteration_is_a_warning() -> None:
    doc = _acme_order()
    doc.parties[0].name = "MÜLLER & SÖHNE GMBH"
    utf8 = dataclasses.replace(PROFILES["acme"], charset="utf-8")
    result = build_outbound([doc], utf8, NUMBERS, NOW)
    assert "MÜLLER".encode() in result.data and result.warnings == ()
    assert _canonical(_read_back(result.data)[0][0]) == _canonical(doc)
    ascii_lenient = dataclasses.replace(PROFILES["acme"], transliterate=True)
    result = build_outbound([doc], ascii_lenient, NUMBERS, NOW)
    assert b"N1*BY*MULLER & SOHNE GMBH*92*ACME01~" in result.data and result.data.isascii()
    codes = [w.code for w in result.warnings]
    assert "X12_OUTBOUND_TRANSLITERATED" in codes and "X12_OUTBOUND_NOT_CARRIED" in codes
    assert all("'ACME-4501877'" in w.message for w in result.warnings)


def test_what_the_850_cannot_carry_is_a_warning() -> None:
    doc = _acme_order()
    doc.lines[1].package = "PALLET-1"
    doc.totals.tax = Decimal("12.50")
    result = build_outbound([doc], PROFILES["acme"], NUMBERS, NOW)
    messages = sorted(w.message for w in result.warnings if w.code == "X12_OUTBOUND_NOT_CARRIED")
    assert len(messages) == 2
    assert "lines[1].package 'PALLET-1'" in messages[0] and "totals.tax '12.50'" in messages[1]


def test_corpus_850s_round_trip() -> None:
    files = sorted(CORPUS.glob("*850*.edi"))
    if not files:
        pytest.skip("no corpus at ../shared/corpus/x12")
    sent = 0
    for path in files:
        for outcome in analyse_x12(path.read_bytes()).sets:
            doc = outcome.document
            if doc is None or outcome.set_id != "850" or doc.sender is None or doc.receiver is None:
                continue
            for profile, batch in _batches([doc], PROFILES["third"]):
                result = build_outbound(batch, profile, NUMBERS, NOW)
                assert _canonical(_read_back(result.data)[0][0]) == _canonical(doc), path.name
                sent += 1
    assert sent >= 5


# --- other sets' builders, when they exist -------------------------------------------------------------


@pytest.mark.parametrize("set_id", ["855", "856", "810"])
@pytest.mark.parametrize("profile_name", sorted(PROFILES))
def test_other_builders_round_trip(set_id: str, profile_name: str) -> None:
    if importlib.util.find_spec(f"mappings.x12.build_{set_id}") is None:
        pytest.skip(f"mappings/x12/build_{set_id}.py is not written yet")
    if outbound.builder_for(set_id) is None:
        pytest.skip(f"mappings/x12/build_{set_id}.py has no build_{set_id} yet")
    files = sorted(SAMPLES.glob(f"*{set_id}*.edi"))
    if not files:
        pytest.skip(f"no {set_id} samples yet")
    for path in files:
        docs = [d for d in _sample_documents(path) if KIND_TO_SET[d.kind] == set_id]
        for profile, batch in _batches(docs, PROFILES[profile_name]):
            result = build_outbound(batch, profile, NUMBERS, NOW)
            back, issues = _read_back(result.data)
            assert [i for i in issues if i.is_error] == [], path.name
            assert [_canonical(d) for d in back] == [_canonical(d) for d in batch], path.name


def test_all_sets_in_one_interchange() -> None:
    """An 850, 855, 856 and 810 together: four groups (PO, PR, SH, IN), each counted and numbered on."""
    missing = [s for s in ("855", "856", "810") if outbound.builder_for(s) is None]
    if missing:
        pytest.skip(f"no builder yet for {', '.join(missing)}")
    docs: list[Document] = []
    for set_id in ("810", "856", "855", "850"):
        path = next(iter(sorted(SAMPLES.glob(f"acme_{set_id}_004010*.edi"))), None)
        if path is None:
            pytest.skip(f"no ACME 004010 {set_id} sample yet")
        docs.append(_sample_documents(path)[0])
    profile = PROFILES["third"]
    for doc in docs:
        doc.sender = Identity(qualifier=profile.sender[0], id=profile.sender[1])
        doc.receiver = Identity(qualifier=profile.receiver[0], id=profile.receiver[1])
    result = build_outbound(docs, profile, NUMBERS, NOW)
    assert [(g.functional_id, g.gs06, g.st02s) for g in result.groups] == \
        [("IN", "90", ("0001",)), ("SH", "91", ("0001",)), ("PR", "92", ("0001",)), ("PO", "93", ("0001",))]
    assert _envelope_issues(result.data) == []
    back, issues = _read_back(result.data)
    assert [i for i in issues if i.is_error] == []
    assert [_canonical(d) for d in back] == [_canonical(d) for d in docs]
    assert result.data.endswith(b"IEA*4*000004711~") and result.next_numbers == OutboundNumbers(4712, 94)


# --- invalid data is an exception -----------------------------------------------------------------------


def test_missing_quantity_where_po102_is_required() -> None:
    doc = _acme_order()
    doc.lines[1].quantity = None
    for name in ("globex", "acme"):  # VICS: PO102 mandatory; 004010: required by PO103 (rule C0302)
        errors = _invalid([doc], dataclasses.replace(PROFILES[name], receiver=("ZZ", "ACMEBUYER")))
        assert all("ACME-4501877" in e.message for e in errors)
        assert any("PO102" in e.message and "lines[1].quantity" in e.message for e in errors)
        assert all(e.location.startswith("segment ") for e in errors)


def test_po_number_longer_than_22() -> None:
    doc = _acme_order()
    doc.number = doc.po_number = "ACME-" + "9" * 18
    for line in doc.lines:
        line.po_number = doc.number
    (err,) = _invalid([doc])
    assert err.code == "X12_ELEMENT_TOO_LONG"
    assert doc.number in err.message and "BEG03" in err.message and "canonical field number" in err.message


@pytest.mark.parametrize("profile_name", sorted(PROFILES))
def test_delimiters_in_values(profile_name: str) -> None:
    profile = PROFILES[profile_name]
    doc = _acme_order()
    doc.receiver = None
    doc.parties[1].name = f"DOCK {profile.element} GATE"
    doc.lines[2].description = f"DRILL {profile.component} KIT"
    if profile.repetition:
        doc.parties[1].address.lines[0] += f" {profile.repetition}"  # type: ignore[union-attr]
    errors = _invalid([doc], profile)
    assert {e.code for e in errors} == {"X12_OUTBOUND_DELIMITER_IN_VALUE"}
    assert len(errors) == (3 if profile.repetition else 2)
    assert all("order 'ACME-4501877' (document 1, 850)" in e.message for e in errors)
    assert any(f"'DOCK {profile.element} GATE'" in e.message and "element separator" in e.message
               and "parties[1].name" in e.message for e in errors)
    assert any("component separator" in e.message and "lines[2].description" in e.message for e in errors)
    assert all(e.location.startswith("850 segment ") for e in errors)


def test_terminator_and_control_characters_in_values() -> None:
    doc = _acme_order()
    doc.references["department"] = "A~B"
    doc.lines[0].description = "TWO\nLINES"
    errors = _invalid([doc])
    assert sorted(e.code for e in errors) == ["X12_OUTBOUND_CONTROL_CHARACTER", "X12_OUTBOUND_DELIMITER_IN_VALUE"]
    assert any("segment terminator" in e.message and "references.department" in e.message for e in errors)


def test_non_ascii_under_ascii_charset() -> None:
    doc = _acme_order()
    doc.lines[0].description = "SCHRAUBE FÜR HOLZ"
    (err,) = _invalid([doc])
    assert err.code == "X12_OUTBOUND_CHARSET"
    assert "'ACME-4501877'" in err.message and "PID05" in err.message and "lines[0].description" in err.message
    assert "'Ü'" in err.message and "transliteration" in err.message


def test_names_without_x12_codes_are_refused_all_at_once() -> None:
    doc = _acme_order()
    doc.purpose = "maybe"
    doc.references["colour_code"] = "RED"
    doc.dates["sometime"] = doc.date  # type: ignore[assignment]
    doc.parties.append(Party(role="friend_of_buyer", name="X"))
    doc.lines[0].item_ids["colour"] = "RED"
    errors = _invalid([doc])
    fields = sorted(e.message.split("[field ")[1].split(",")[0] for e in errors)
    assert fields == ["dates.sometime", "lines[0].item_ids.colour", "parties[3].role", "purpose",
                      "references.colour_code"]
    assert all(e.code == "X12_OUTBOUND_FIELD" and "ACME-4501877" in e.message for e in errors)


def test_document_for_another_partner_is_refused() -> None:
    doc = _acme_order()
    doc.receiver = Identity(qualifier="01", id="123456789")
    (err,) = _invalid([doc])
    assert err.code == "X12_OUTBOUND_IDENTITY" and "01/123456789" in err.message and "ACME-4501877" in err.message


@pytest.mark.parametrize("change, text", [
    ({"version": "005010", "repetition": None}, "repetition separator"),
    ({"component": "*"}, "must all differ"),
    ({"element": "A"}, "taken for data"),
    ({"terminator": "\n", "line_ending": "\n"}, "line-break segment terminator"),
    ({"receiver": ("ZZ", "X" * 16)}, "1-15 characters"),
    ({"sender": ("Z", "EDIGW")}, "ID qualifier"),
    ({"terminator": "§"}, "not ASCII"),
])
def test_unusable_profiles(change: dict[str, Any], text: str) -> None:
    profile = dataclasses.replace(PROFILES["acme"], **change)
    errors = _invalid([_acme_order().model_copy(update={"sender": None, "receiver": None})], profile)
    assert all(e.code == "X12_OUTBOUND_PROFILE" for e in errors)
    assert any(text in e.message for e in errors), [e.message for e in errors]


def test_a_set_without_builder_is_refused_gracefully(monkeypatch: pytest.MonkeyPatch) -> None:
    real_module = outbound.builder_module
    monkeypatch.setattr(outbound, "builder_module", lambda s: None if s == "810" else real_module(s))
    invoice = Document(kind="invoice", number="INV-9", source=_acme_order().source)
    (err,) = _invalid([_acme_order(), invoice])
    assert err.code == "X12_OUTBOUND_NO_BUILDER" and "invoice 'INV-9' (document 2" in err.message


def test_a_broken_builder_output_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("mappings.x12.build_850")
    fake.build_850 = lambda doc, version: [["SE", "1", "0001"]]  # type: ignore[attr-defined]
    monkeypatch.setattr(outbound, "builder_module", lambda s: fake)
    (err,) = _invalid([_acme_order()])
    assert err.code == "X12_OUTBOUND_BUILDER_OUTPUT" and "'SE'" in err.message


# --- building blocks ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value, text", [
    ("1E+2", "100"), ("2083.00", "2083.00"), ("2.500000", "2.50"), ("0.001", "0.001"), ("-0.00", "0"),
    ("18.75", "18.75"), ("-3.10", "-3.10"), ("1807.2", "1807.2"), ("0E-7", "0"), ("12.3450", "12.345"),
])
def test_x12_decimal(value: str, text: str) -> None:
    assert x12_decimal(Decimal(value)) == text


def test_x12_decimal_refuses_nan() -> None:
    with pytest.raises(ValueError, match="not a number"):
        x12_decimal(Decimal("NaN"))


@given(st.lists(st.text(alphabet="ABCDEFGHIJ0123456789-", min_size=1, max_size=30), min_size=1, max_size=20),
       st.integers(min_value=30, max_value=80))
def test_chunks_rejoin_to_the_text(words: list[str], width: int) -> None:
    text = " ".join(words)
    pieces = _chunks(text, width)
    assert " ".join(pieces) == text and all(1 <= len(p) <= width for p in pieces)


def test_build_850_segments_and_field_names() -> None:
    doc = _load(SAMPLES / "acme_850_005010.json")[0]
    body = build_850(doc, "005010")
    assert body[0] == ["BEG", "00", "RL", "ACME-BL-2025-07", "0003", "20250505", "CTR-88120"]
    assert ["CUR", "BY", "CAD"] in body and ["DTM", "064", "20250516"] in body
    assert ["N1", "BY", "ACME INDUSTRIAL CANADA", "UL", "0614141000012"] in body
    assert ["N1", "VN", "EDIGW SUPPLY CO", "1", "987654321"] in body
    assert body[-2:] == [["CTT", "3", "516"], ["AMT", "TT", "1807.20"]]
    segments = [["ST", "850", "0001"], *body]
    po1 = next(i for i, s in enumerate(segments) if s[0] == "PO1" and s[1] == "20") + 1
    assert describe_field(segments, po1, 2) == "lines[1].quantity"
    assert describe_field(segments, po1, 11) == "lines[1].item_ids.gtin"
    n4 = next(i for i, s in enumerate(segments) if s[0] == "N4") + 1
    assert describe_field(segments, n4, 3) == "parties[1].address.postal_code"
    vics = build_850(_load(SAMPLES / "globex_850_004010VICS.json")[0], "004010VICS")
    assert any(s[0] == "PO1" and "VN" in s for s in vics)


def test_result_is_plain_data() -> None:
    result = build_outbound([_acme_order()], OutboundProfile(sender=US, receiver=("ZZ", "ACMEBUYER")), NUMBERS, NOW)
    assert isinstance(result, OutboundResult) and isinstance(result.data, bytes)
    assert result.sets[0].control_numbers == {"isa13": "000004711", "gs06": "90", "st02": "0001"}
