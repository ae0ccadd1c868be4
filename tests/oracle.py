"""pyx12 as an independent oracle for the acknowledgements we write.

pyx12's 997 (004010) and 999 (005010X231A1) maps are HIPAA-flavoured: AK101/AK201, ISA05/ISA07 and
GS08 only allow health-care codes. At test time the installed map folder is copied into a temporary
directory and only those code lists are widened (and maps.xml learns the extra GS08 values); nothing
of pyx12 is committed. Findings come from x12n_document's return value and from the errors pyx12
logs, because element-level ISA errors never reach its JSON error report.
"""

from __future__ import annotations

import io
import logging
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pyx12
import pyx12.params
import pyx12.x12n_document

from parsers.x12.reader import FUNCTIONAL_IDS

PYX12_MAPS = Path(pyx12.__file__).parent / "map"

EXTRA_QUALIFIERS = ["01", "02", "08", "09", "12", "13", "14", "16", "20", "ZZ", "AM", "NR", "SA", "SN"]
EXTRA_FUNCTIONAL_IDS = sorted(set(FUNCTIONAL_IDS.values()) | {"SC"})
EXTRA_SET_IDS = sorted(FUNCTIONAL_IDS)
# GS08 values our tests and the corpus produce for 997s (the 997's GS08 mirrors the inbound group's).
EXTRA_4010_VERSIONS = ["004010", "004010VICS", "004010X348", "004010X357", "004010X358", "002001", "003010",
                       "003050", "004060", "004060VICS"]

_WIDEN_4010 = {"ISA05": EXTRA_QUALIFIERS, "ISA07": EXTRA_QUALIFIERS, "AK101": EXTRA_FUNCTIONAL_IDS,
               "AK201": EXTRA_SET_IDS, "GS08": EXTRA_4010_VERSIONS}
_WIDEN_5010 = {"ISA05": EXTRA_QUALIFIERS, "ISA07": EXTRA_QUALIFIERS, "AK101": EXTRA_FUNCTIONAL_IDS,
               "AK201": EXTRA_SET_IDS}


def _widen(path: Path, lists: dict[str, list[str]]) -> None:
    tree = ET.parse(path)
    for element in tree.iter("element"):
        extra = lists.get(element.get("xid", ""))
        if extra is None:
            continue
        codes = element.find("valid_codes")
        if codes is None:  # not restricted in this map (e.g. ISA05 in the 999 map)
            continue
        have = {c.text for c in codes.iter("code")}
        for code in extra:
            if code not in have:
                ET.SubElement(codes, "code").text = code
    tree.write(path, encoding="utf-8", xml_declaration=True)


def make_widened_maps(dest: Path) -> Path:
    """Copy pyx12's maps to `dest` with the HIPAA-only code lists widened; return the map path."""
    target = dest / "pyx12map"
    shutil.copytree(PYX12_MAPS, target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    for name in ("997.4010.xml", "x12.control.00401.xml"):
        _widen(target / name, _WIDEN_4010)
    for name in ("999.5010X231.A1.xml", "x12.control.00501.xml"):
        _widen(target / name, _WIDEN_5010)
    index = ET.parse(target / "maps.xml")
    for version in index.iter("version"):
        if version.get("icvn") == "00401":
            known = {m.get("vriic") for m in version.iter("map") if m.get("fic") == "FA"}
            for vriic in EXTRA_4010_VERSIONS:
                if vriic not in known:
                    entry = ET.SubElement(version, "map", {"vriic": vriic, "fic": "FA", "abbr": "997"})
                    entry.text = "997.4010.xml"
    index.write(target / "maps.xml", encoding="utf-8", xml_declaration=True)
    return target


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def isa_version(data: bytes) -> str:
    """ISA12 of a fixed-width ISA (which every interchange we write has)."""
    return data[84:89].decode("latin-1")


def oracle_readable(data: bytes) -> bool:
    """pyx12 reads only ISA12 00401 and 00501, has no 997 map under 00501, and needs a group."""
    sep = data[3:4]
    has_group = b"GS" + sep + b"FA" + sep in data
    if isa_version(data) == "00401":
        return has_group
    return isa_version(data) == "00501" and has_group and b"ST" + sep + b"999" + sep in data


def normalize_version(data: bytes) -> bytes:
    """An older-version ack (ISA12 00200..00400) with ISA11 'U' and ISA12 00401, so pyx12 reads it.

    The 997 body is the same in those versions; only the ISA version field changes.
    """
    return data[:82] + b"U" + data[83:84] + b"00401" + data[89:]


def oracle_errors(data: bytes, map_path: Path) -> list[str]:
    """Everything pyx12 finds wrong with `data` ([] = valid)."""
    handler = _Collect()
    logger = logging.getLogger("pyx12")
    logger.addHandler(handler)
    try:
        ok = pyx12.x12n_document.x12n_document(
            pyx12.params.params(), io.StringIO(data.decode("latin-1")), None, None, None, io.StringIO(),
            map_path=str(map_path))
    except Exception as exc:  # an oracle crash is a finding too, not a pass
        return [f"pyx12 crashed: {exc!r}"]
    finally:
        logger.removeHandler(handler)
    errors = list(handler.messages)
    if not ok and not errors:
        errors.append("pyx12 reports the document invalid")
    return errors
