"""Preflight on hostile PDFs and images: every refusal has its own code, a message a person can act on,
and arrives in bounded time."""

from __future__ import annotations

import io
import struct
import time
import zlib
from collections.abc import Callable

import pypdf
import pytest
from PIL import Image

from parsers.pdf.safety import (
    IMAGE_CORRUPT,
    IMAGE_TOO_LARGE,
    IMAGE_TOO_MANY_PAGES,
    MIB,
    PDF_CORRUPT,
    PDF_DECOMPRESSION_BOMB,
    PDF_EMPTY,
    PDF_ENCRYPTED,
    PDF_IMAGE_TOO_LARGE,
    PDF_JAVASCRIPT,
    PDF_TOO_LARGE,
    PDF_TOO_MANY_PAGES,
    PdfLimits,
    StreamTooLarge,
    decode_bounded,
    preflight,
    preflight_image,
)

LIMITS = PdfLimits()
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>"
CONTENT = b"BT /F1 12 Tf 72 720 Td (Purchase Order 4711) Tj ET"


def stream(body: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n%s\nendstream" % (len(body), extra, body)


def build_pdf(objects: dict[int, bytes], trailer: bytes = b"/Root 1 0 R") -> bytes:
    """A classic PDF (xref table) from numbered object bodies: the hostile files are written by hand."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for num in sorted(objects):
        offsets[num] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (num, objects[num])
    size = max(objects) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for num in range(1, size):
        out += b"%010d 00000 n \n" % offsets[num] if num in offsets else b"0000000000 65535 f \n"
    out += b"trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n" % (size, trailer, xref)
    return bytes(out)


def simple_pdf(page: bytes = PAGE, catalog: bytes = b"<< /Type /Catalog /Pages 2 0 R >>",
               extra: dict[int, bytes] | None = None) -> bytes:
    objects = {1: catalog, 2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", 3: page, 4: stream(CONTENT)}
    objects.update(extra or {})
    return build_pdf(objects)


def objstm_pdf(page: bytes) -> bytes:
    """Catalogue, page tree and page inside a compressed object stream, found through an xref stream."""
    bodies = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page]
    header, offset = b"", 0
    for num, body in enumerate(bodies, 1):
        header += b"%d %d " % (num, offset)
        offset += len(body) + 1
    packed = header + b"".join(b + b"\n" for b in bodies)
    out = bytearray(b"%PDF-1.7\n")
    off4 = len(out)
    out += b"4 0 obj\n" + stream(zlib.compress(packed), b"/Type /ObjStm /N 3 /First %d /Filter /FlateDecode"
                                 % len(header)) + b"\nendobj\n"
    off5 = len(out)
    rows = [b"\x00" + struct.pack(">IH", 0, 65535)]
    rows += [b"\x02" + struct.pack(">IH", 4, i) for i in range(3)]
    rows += [b"\x01" + struct.pack(">IH", off4, 0), b"\x01" + struct.pack(">IH", off5, 0)]
    out += b"5 0 obj\n" + stream(b"".join(rows), b"/Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R") + b"\nendobj\n"
    out += b"startxref\n%d\n%%%%EOF\n" % off5
    return bytes(out)


def many_pages(n: int) -> bytes:
    kids = b" ".join(b"%d 0 R" % (10 + i) for i in range(n))
    objects = {1: b"<< /Type /Catalog /Pages 2 0 R >>", 2: b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n),
               4: stream(CONTENT)}
    for i in range(n):
        objects[10 + i] = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>"
    return build_pdf(objects)


def codes(data: bytes, limits: PdfLimits = LIMITS, budget: float = 5.0) -> list[str]:
    started = time.perf_counter()
    issues = preflight(data, limits)
    assert time.perf_counter() - started < budget
    for issue in issues:
        assert len(issue.message) > 40 and issue.location
    return [i.code for i in issues if i.is_error]


def test_a_plain_pdf_passes() -> None:
    assert codes(simple_pdf()) == []
    assert codes(objstm_pdf(PAGE)) == []


def test_fpdf_output_passes() -> None:
    from fpdf import FPDF

    pdf = FPDF()
    for _ in range(3):
        pdf.add_page()
        pdf.set_font("Helvetica", size=12)
        pdf.cell(0, 10, "Bestellung 4711")
    assert codes(bytes(pdf.output())) == []


def _encrypted(user: str) -> bytes:
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(simple_pdf()))
    writer.encrypt(user_password=user, owner_password="owner-secret", algorithm="RC4-128")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def test_password_protected() -> None:
    issues = preflight(_encrypted("secret"), LIMITS)
    assert [i.code for i in issues] == [PDF_ENCRYPTED]
    assert "without a password" in issues[0].message


def test_encrypted_with_empty_user_password_is_said_so() -> None:
    issues = preflight(_encrypted(""), LIMITS)
    assert [i.code for i in issues] == [PDF_ENCRYPTED]
    assert "empty user password" in issues[0].message


JS_ACTION = b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"


@pytest.mark.parametrize("make", [
    lambda: simple_pdf(catalog=b"<< /Type /Catalog /Pages 2 0 R /OpenAction " + JS_ACTION + b" >>"),
    lambda: simple_pdf(catalog=b"<< /Type /Catalog /Pages 2 0 R /Names << /JavaScript 9 0 R >> >>",
                       extra={9: b"<< /Names [(a) 10 0 R] >>", 10: JS_ACTION}),
    lambda: simple_pdf(page=PAGE[:-2] + b"/AA << /O << /S /Launch /F (calc.exe) >> >> >>"),
    lambda: simple_pdf(catalog=b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /J#61vaScript /J#53 (x) >> >>"),
    lambda: objstm_pdf(PAGE[:-2] + b"/AA << /O " + JS_ACTION + b" >> >>"),
], ids=["openaction", "names-tree", "page-aa-launch", "hex-escaped-names", "inside-object-stream"])
def test_active_content(make: Callable[[], bytes]) -> None:
    assert PDF_JAVASCRIPT in codes(make())


def test_an_openaction_to_a_page_is_fine() -> None:
    assert codes(simple_pdf(catalog=b"<< /Type /Catalog /Pages 2 0 R /OpenAction [3 0 R /Fit] >>")) == []


def test_too_many_pages() -> None:
    data = many_pages(10_000)
    assert codes(data) == [PDF_TOO_MANY_PAGES]
    assert codes(many_pages(5)) == []


def test_too_many_pages_even_when_count_lies() -> None:
    data = many_pages(300).replace(b"/Count 300", b"/Count 1")
    assert codes(data) == [PDF_TOO_MANY_PAGES]


def test_too_large() -> None:
    assert codes(simple_pdf(), PdfLimits(max_bytes=100)) == [PDF_TOO_LARGE]


@pytest.fixture(scope="module")
def gigabyte_of_zeros() -> bytes:
    """1 GiB of zeros deflated, about 1 MB on disk: one full-flushed block of 64 MiB repeated 16 times
    (a full flush resets the compressor, so every block is the same bytes), then the zlib trailer."""
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = raw.compress(bytes(64 * MIB)) + raw.flush(zlib.Z_FULL_FLUSH)
    n = 1024 * MIB
    adler = ((n % 65521) << 16) | 1  # Adler-32 of n zero bytes
    return b"\x78\xda" + block * 16 + b"\x03\x00" + struct.pack(">I", adler)


def test_decompression_bomb(gigabyte_of_zeros: bytes) -> None:
    assert len(gigabyte_of_zeros) < 2 * MIB
    data = simple_pdf(extra={4: stream(gigabyte_of_zeros, b"/Filter /FlateDecode")})
    assert codes(data, budget=5.0) == [PDF_DECOMPRESSION_BOMB]


def test_bomb_by_ratio_below_the_total() -> None:
    zeros = zlib.compress(bytes(80 * MIB), 9)
    data = simple_pdf(extra={4: stream(zeros, b"/Filter /FlateDecode")})
    assert codes(data) == [PDF_DECOMPRESSION_BOMB]


def test_double_deflate_bomb_is_streamed() -> None:
    inner = zlib.compress(bytes(64 * MIB), 9)
    data = simple_pdf(extra={4: stream(zlib.compress(inner, 9), b"/Filter [/FlateDecode /FlateDecode]")})
    assert codes(data, PdfLimits(max_decompressed_bytes=32 * MIB)) == [PDF_DECOMPRESSION_BOMB]


def test_many_streams_add_up() -> None:
    body = zlib.compress(bytes(MIB), 9)
    extra = {20 + i: stream(body, b"/Filter /FlateDecode") for i in range(40)}
    assert codes(simple_pdf(extra=extra), PdfLimits(max_decompressed_bytes=30 * MIB)) == [PDF_DECOMPRESSION_BOMB]


def test_lzw_bomb() -> None:
    from pypdf._codecs._codecs import LzwCodec

    packed = LzwCodec().encode(bytes(MIB))
    data = simple_pdf(extra={4: stream(packed, b"/Filter /LZWDecode")})
    assert codes(data, PdfLimits(max_decompressed_bytes=MIB // 2)) == [PDF_DECOMPRESSION_BOMB]
    assert codes(data) == []


def test_decode_bounded_never_holds_more() -> None:
    with pytest.raises(StreamTooLarge):
        decode_bounded(zlib.compress(bytes(10 * MIB)), ["FlateDecode"], MIB)
    assert decode_bounded(zlib.compress(b"abc"), ["FlateDecode"], MIB) == b"abc"


def test_image_too_large() -> None:
    image = stream(zlib.compress(b"\xff" * 100), b"/Type /XObject /Subtype /Image /Width 100000 /Height 100000 "
                   b"/ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode")
    data = simple_pdf(extra={9: image})
    assert codes(data) == [PDF_IMAGE_TOO_LARGE]


def test_image_size_by_reference() -> None:
    image = stream(b"\xff", b"/Subtype /Image /Width 11 0 R /Height 12 0 R /BitsPerComponent 8")
    data = simple_pdf(extra={9: image, 11: b"90000", 12: b"90000"})
    assert codes(data) == [PDF_IMAGE_TOO_LARGE]


@pytest.mark.parametrize("data", [
    b"GIF89a not a pdf at all",
    b"",
    simple_pdf()[:300],
    b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n",
], ids=["not-pdf", "empty-file", "truncated", "garbage"])
def test_corrupt(data: bytes) -> None:
    assert codes(data) == [PDF_CORRUPT]


def test_empty() -> None:
    data = build_pdf({1: b"<< /Type /Catalog /Pages 2 0 R >>", 2: b"<< /Type /Pages /Kids [] /Count 0 >>"})
    assert codes(data) == [PDF_EMPTY]


def test_deep_nesting_is_bounded() -> None:
    deep = b"[" * 200_000 + b"]" * 200_000
    data = simple_pdf(catalog=b"<< /Type /Catalog /Pages 2 0 R /Deep 9 0 R >>", extra={9: deep})
    codes(data)  # whatever it says, it says it quickly and without crashing
    deep_dict = b"<< /A " * 50_000 + b"1" + b" >>" * 50_000
    codes(simple_pdf(catalog=b"<< /Type /Catalog /Pages 9 0 R >>", extra={9: deep_dict}))


def test_circular_page_tree_is_bounded() -> None:
    data = build_pdf({1: b"<< /Type /Catalog /Pages 2 0 R >>",
                      2: b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
                      3: b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R 3 0 R] /Count 5 >>"})
    assert codes(data)  # refused (empty, corrupt or too many pages), not hung


# --- images -------------------------------------------------------------------------------------------

def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_claiming(width: int, height: int) -> bytes:
    """A PNG header that declares a huge grey image over a few bytes of data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\0" * 1000))
            + _png_chunk(b"IEND", b""))


def image_bytes(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def image_codes(data: bytes, limits: PdfLimits = LIMITS) -> list[str]:
    started = time.perf_counter()
    issues = preflight_image(data, limits)
    assert time.perf_counter() - started < 3
    return [i.code for i in issues]


def test_images_pass() -> None:
    page = Image.new("L", (850, 1100), 255)
    assert image_codes(image_bytes(page, "PNG")) == []
    assert image_codes(image_bytes(page, "JPEG")) == []
    assert image_codes(image_bytes(page, "TIFF", save_all=True, append_images=[page])) == []


def test_image_bombs() -> None:
    assert image_codes(png_claiming(100_000, 100_000)) == [IMAGE_TOO_LARGE]  # Pillow's own bomb check
    assert image_codes(png_claiming(9000, 9000)) == [IMAGE_TOO_LARGE]  # ours: 81 M pixels > 60 M


def test_corrupt_image() -> None:
    data = image_bytes(Image.new("L", (400, 400), 128), "PNG")
    assert image_codes(data[: len(data) // 2]) == [IMAGE_CORRUPT]


def test_too_many_tiff_frames() -> None:
    frame = Image.new("L", (20, 20), 255)
    data = image_bytes(frame, "TIFF", save_all=True, append_images=[frame] * 60)
    assert image_codes(data) == [IMAGE_TOO_MANY_PAGES]
