"""The X12 code lists every set's mapping starts from (X12 code -> canonical name), and their inverses.

They were first written for the 850; the 855, 856 and 810 mappings extend them (`{**PARTY_ROLES, ...}`)
rather than copy them, so one name means one thing in every document, and the builders turn them
around with `codes_by_name` so that what they write reads back to the same names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# BEG01 / BAK01 / BSN01 / BIG08 transaction set purpose codes (353) -> canonical purpose.
PURPOSES: dict[str, str] = {
    "00": "original",
    "01": "cancel",
    "04": "change",
    "05": "replace",
    "06": "confirmation",
    "07": "duplicate",
    "18": "reissue",
    "22": "information_copy",
}

# N101 entity identifier codes (98) -> canonical party role.
PARTY_ROLES: dict[str, str] = {
    "BY": "buyer",
    "ST": "ship_to",
    "BT": "bill_to",
    "SE": "seller",
    "VN": "seller",
    "SF": "ship_from",
    "RE": "remit_to",
}

# N103 identification code qualifiers (66) -> key in Party.ids.
PARTY_ID_QUALIFIERS: dict[str, str] = {
    "1": "duns",
    "9": "duns4",
    "91": "assigned_by_seller",
    "92": "assigned_by_buyer",
    "UL": "gln",
}

# REF01 / PO1 reference qualifiers (128) with a well-known meaning -> key in references.
REFERENCE_NAMES: dict[str, str] = {
    "DP": "department",
    "IA": "vendor_number",
    "PD": "promotion",
    "VR": "vendor_id",
    "CT": "contract",
}

# DTM01 date/time qualifiers (374) -> key in Document.dates.
DATE_NAMES: dict[str, str] = {
    "002": "delivery_requested",
    "010": "ship_requested",
    "037": "ship_not_before",
    "038": "ship_no_later",
    "063": "do_not_deliver_after",
    "064": "do_not_deliver_before",
}

# PO1 / IT1 / LIN product/service ID qualifiers (235) -> key in Line.item_ids.
ITEM_ID_QUALIFIERS: dict[str, str] = {
    "BP": "buyer_part",
    "VP": "vendor_part",
    "VN": "vendor_part",
    "UP": "upc",
    "UK": "gtin",
    "EN": "ean",
    "IN": "buyer_item",
    "SK": "sku",
    "CB": "buyer_catalog",
    "MG": "manufacturer_part",
    "PI": "purchaser_item",
}


def codes_by_name(table: Mapping[str, str], preferred: Iterable[str] = ()) -> dict[str, str]:
    """Canonical name -> X12 code for a code list: the first code for each name, unless `preferred`
    names the code to write for it (where several codes read as one name, e.g. SE and VN as seller)."""
    out: dict[str, str] = {}
    for code, name in table.items():
        out.setdefault(name, code)
    for code in preferred:
        out[table[code]] = code
    return out
