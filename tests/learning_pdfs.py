"""Small purchase-order PDFs (fpdf2) whose PO number carries a label no built-in vocabulary knows.

Why: learning from corrections is only proven by a wording the extractor cannot read on its own
("Procurement ticket:"), read right once ops corrected it, and not read again once the hint is removed.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from email.message import EmailMessage

from fpdf import FPDF

ODD_LABEL = "Procurement ticket:"
LINES = (("AB-100", "Hex bolt M8", 10, Decimal("0.25")), ("CD-200", "Washer 8mm", 100, Decimal("1.50")))


def po_pdf(number: str, *, label: str = ODD_LABEL, y_shift: float = 0.0,
           lines: tuple[tuple[str, str, int, Decimal], ...] = LINES, amount_typo: bool = False) -> bytes:
    """A one-page order: odd PO-number label in a right-hand header block, a line table and a total.

    `y_shift` moves the header block down (a later PDF of the same customer); `amount_typo` prints the
    first line's amount wrong, so the arithmetic check fails.
    """
    pdf = FPDF(unit="pt", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_creation_date(dt.datetime(2024, 3, 5, tzinfo=dt.UTC))  # same input, same bytes
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.text(40, 50, "PURCHASE ORDER")
    pdf.set_font("Helvetica", "", 10)
    pdf.text(40, 80, "Northwind Traders Ltd")
    pdf.text(40, 93, "12 Harbour Road, Portsmouth")
    for dy, (name, value) in enumerate(((label, number), ("Order Date:", "2024-03-05"), ("Currency:", "USD"))):
        pdf.text(330, 110 + y_shift + 15 * dy, name)
        pdf.text(450, 110 + y_shift + 15 * dy, value)
    y = 220.0
    pdf.set_font("Helvetica", "B", 10)
    for x, h in ((40, "Line"), (80, "Item"), (160, "Description"), (340, "Qty"), (400, "Unit Price"),
                 (490, "Amount")):
        pdf.text(x, y, h)
    pdf.set_font("Helvetica", "", 10)
    total = Decimal(0)
    for n, (item, desc, q, p) in enumerate(lines, 1):
        y += 16
        amount = q * p
        total += amount
        printed = amount + (1 if amount_typo and n == 1 else 0)
        for x, t in ((40, str(n)), (80, item), (160, desc), (340, str(q)), (400, f"{p:,.2f}"),
                     (490, f"{printed:,.2f}")):
            pdf.text(x, y, t)
    y += 30
    pdf.text(400, y, "Total")
    pdf.text(490, y, f"{total:,.2f}")
    return bytes(pdf.output())


def po_email(pdf: bytes, *, sender: str = "buyer@fabrikam.example", subject: str = "PO attached") -> bytes:
    """An email carrying the PDF, as a customer's buyer sends it."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "orders@edigw.local"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{abs(hash((sender, subject, len(pdf))))}@fabrikam.example>"
    msg.set_content("Hello,\n\nplease find our purchase order attached.\n\nRegards, Fabrikam purchasing\n")
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename="po.pdf")
    return msg.as_bytes()
