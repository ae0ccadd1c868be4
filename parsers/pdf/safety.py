"""Preflight: decide whether an emailed PDF or image is safe to extract, before any extractor touches it.

Customers' PDFs arrive from the open internet. Everything here works in bounded time and memory on
hostile input: the raw bytes are scanned linearly (no object graph is walked, so circular references
and deep nesting cost nothing), streams are inflated incrementally with a cap (a 1 GB zip bomb is
stopped at the limit, never held in memory), and the parsers (pypdf, PDFium) are only asked for the
document catalogue and the page count. Nothing in the file is ever executed.

An error issue means "do not extract"; each message says what was found and what would fix it, so the
reply to the customer and the inbox item can quote it.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import warnings
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from parsers.issues import Issue, error, warning

MIB = 1024 * 1024

PDF_ENCRYPTED = "PDF_ENCRYPTED"
PDF_JAVASCRIPT = "PDF_JAVASCRIPT"
PDF_TOO_MANY_PAGES = "PDF_TOO_MANY_PAGES"
PDF_TOO_LARGE = "PDF_TOO_LARGE"
PDF_DECOMPRESSION_BOMB = "PDF_DECOMPRESSION_BOMB"
PDF_IMAGE_TOO_LARGE = "PDF_IMAGE_TOO_LARGE"
PDF_CORRUPT = "PDF_CORRUPT"
PDF_EMPTY = "PDF_EMPTY"
IMAGE_TOO_LARGE = "IMAGE_TOO_LARGE"  # pixels (or file bytes) beyond the limit
IMAGE_CORRUPT = "IMAGE_CORRUPT"
IMAGE_UNSUPPORTED = "IMAGE_UNSUPPORTED"
IMAGE_TOO_MANY_PAGES = "IMAGE_TOO_MANY_PAGES"


@dataclass(frozen=True)
class PdfLimits:
    """What one emailed document may cost. The defaults are sized for purchase orders:

    - max_bytes 25 MiB: the usual mail-server attachment cap; a scanned 20-page PO at 300 dpi is 2-8 MiB.
    - max_pages 200: a long PO is 30 pages; catalogue-sized files are not orders.
    - max_ocr_pages 20: OCR costs ~1-2 s a page on one core; 20 pages keep one document under a minute.
    - max_image_pixels 60 M: an A3 page at 400 dpi is 31 M pixels, A4 at 600 dpi 35 M; 60 M grey pixels
      is 60 MB of RAM per page, the most we let one render or embedded image take.
    - max_decompressed_bytes 200 MiB: the sum of all decoded streams; a 25 MiB PDF of flate-compressed
      scans decodes to well under that, a zip bomb does not.
    - ocr_seconds_per_page 20: Tesseract takes 1-3 s on a dense page; 20 s means it is stuck.
    - dpi 300: Tesseract's accuracy is best at 300 dpi for 8-12 pt print; more costs time, not accuracy.
    """

    max_bytes: int = 25 * MIB
    max_pages: int = 200
    max_ocr_pages: int = 20
    max_image_pixels: int = 60_000_000
    max_decompressed_bytes: int = 200 * MIB
    ocr_seconds_per_page: float = 20.0
    dpi: int = 300
    max_image_frames: int = 50  # TIFF pages in one image attachment


# A stream is a bomb on its ratio alone only when both are extreme: deflate's ceiling is ~1032:1 (only
# long runs of one byte get there) and a white 300-dpi RGB scan page legitimately reaches a few hundred
# to one at 26 MB, so "over 1000:1 and over 64 MiB" is never a page of an order.
BOMB_RATIO = 1000
BOMB_RATIO_MIN_BYTES = 64 * MIB

_CHUNK = 1 * MIB
_DELIM = rb"\s/<>\[\]()%{}"
_STREAM_START = re.compile(rb">>[\x00\t\n\f\r ]*stream(?:\r\n|\n|\r)")
_ENDSTREAM = b"endstream"
_DANGEROUS = re.compile(rb"/(JS|JavaScript|AA|OpenAction|Launch|Encrypt)(?=[" + _DELIM + rb"]|$)")
_HEX_NAME = re.compile(rb"/([^" + _DELIM + rb"#]*#[0-9A-Fa-f]{2}[^" + _DELIM + rb"]*)")
_NAME = re.compile(rb"/([^" + _DELIM + rb"]+)")
_INT_OR_REF = rb"\s*(\d+)(?:\s+(\d+)\s+R)?"
_WIDTH = re.compile(rb"/(?:Width|W)" + _INT_OR_REF + rb"(?=[" + _DELIM + rb"]|$)")
_HEIGHT = re.compile(rb"/(?:Height|H)" + _INT_OR_REF + rb"(?=[" + _DELIM + rb"]|$)")
_LENGTH = re.compile(rb"/Length\s+(\d+)(?!\s+\d+\s+R)")
_FILTER = re.compile(rb"/Filter\s*(\[[^\]]*\]|/[^" + _DELIM + rb"]+)")
_OBJ_TAIL = re.compile(rb"(\d+)\s+(\d+)\s+\Z")
_TYPE_PAGE = re.compile(rb"/Type\s*/Page(?=[" + _DELIM + rb"]|$)")


def _decode_name(raw: bytes) -> bytes:
    """A PDF name with #xx escapes decoded (/J#61vaScript is /JavaScript)."""
    return re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)


# --- bounded stream decoding --------------------------------------------------------------------------

class StreamTooLarge(Exception):
    """A stream decoded beyond the byte budget it was given."""


_FILTER_ALIASES = {"Fl": "FlateDecode", "AHx": "ASCIIHexDecode", "A85": "ASCII85Decode",
                   "RL": "RunLengthDecode", "LZW": "LZWDecode"}


def parse_filters(value: bytes | Iterable[str] | str | None) -> list[str]:
    """/Filter as a list of filter names without the slash, abbreviations expanded."""
    if value is None:
        return []
    if isinstance(value, bytes):
        names = [_decode_name(n).decode("latin-1") for n in _NAME.findall(value)]
    elif isinstance(value, str):
        names = [value]
    else:
        names = [str(v) for v in value]
    names = [n.lstrip("/") for n in names]
    return [_FILTER_ALIASES.get(n, n) for n in names]


def _inflate(chunks: Iterator[bytes]) -> Iterator[bytes]:
    d = zlib.decompressobj()
    for chunk in chunks:
        buf = chunk
        while True:
            out = d.decompress(buf, _CHUNK)
            if out:
                yield out
            buf = d.unconsumed_tail
            if d.eof or (not buf and len(out) < _CHUNK):
                break
        if d.eof:
            return


def _run_length(chunks: Iterator[bytes]) -> Iterator[bytes]:
    data = b"".join(chunks)  # input is already bounded; output is produced in chunks
    out = bytearray()
    i = 0
    while i < len(data):
        n = data[i]
        if n == 128:
            break
        if n < 128:
            out += data[i + 1:i + 2 + n]
            i += n + 2
        else:
            out += data[i + 1:i + 2] * (257 - n)
            i += 2
        if len(out) >= _CHUNK:
            yield bytes(out)
            out.clear()
    if out:
        yield bytes(out)


def _ascii_hex(chunks: Iterator[bytes]) -> Iterator[bytes]:
    text = re.sub(rb"\s", b"", b"".join(chunks)).split(b">")[0]
    if len(text) % 2:
        text += b"0"
    yield binascii.unhexlify(text)


def _ascii85(chunks: Iterator[bytes]) -> Iterator[bytes]:
    text = re.sub(rb"\s", b"", b"".join(chunks))
    text = text.removeprefix(b"<~").split(b"~>")[0]
    yield base64.a85decode(text)


def _lzw(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """LZWDecode (EarlyChange 1, the default), output in chunks: LZW reaches ~2700:1, so it is a bomb too."""
    data = b"".join(chunks)
    table: list[bytes] = [bytes([i]) for i in range(256)] + [b"", b""]
    code_len, bitbuf, bits = 9, 0, 0
    prev: bytes | None = None
    out = bytearray()
    for byte in data:
        bitbuf = (bitbuf << 8) | byte
        bits += 8
        while bits >= code_len:
            bits -= code_len
            code = (bitbuf >> bits) & ((1 << code_len) - 1)
            bitbuf &= (1 << bits) - 1
            if code == 256:
                del table[258:]
                code_len, prev = 9, None
                continue
            if code == 257:
                yield bytes(out)
                return
            if code < len(table):
                entry = table[code]
                if prev is not None and len(table) < 4096:
                    table.append(prev + entry[:1])
            elif code == len(table) and prev is not None:
                entry = prev + prev[:1]
                table.append(entry)
            else:
                raise ValueError("bad LZW code")
            out += entry
            prev = entry
            if len(table) + 1 >= (1 << code_len) and code_len < 12:
                code_len += 1
            if len(out) >= _CHUNK:
                yield bytes(out)
                out.clear()
    yield bytes(out)


_DECODERS = {"FlateDecode": _inflate, "RunLengthDecode": _run_length, "LZWDecode": _lzw,
             "ASCIIHexDecode": _ascii_hex, "ASCII85Decode": _ascii85}


def iter_decoded(raw: bytes, filters: list[str]) -> Iterator[bytes]:
    """The stream's decoded bytes, chunk by chunk, through every filter we can undo in bounded memory.

    Decoding stops at the first image codec (DCT, JPX, JBIG2, CCITT) or filter we do not handle (Crypt):
    images are measured by their declared size instead.
    """
    chunks: Iterator[bytes] = iter((raw,))
    for name in filters:
        decoder = _DECODERS.get(name)
        if decoder is None:
            break
        chunks = decoder(chunks)
    return chunks


def decode_bounded(raw: bytes, filters: list[str], max_bytes: int) -> bytes:
    """The stream decoded, or StreamTooLarge once it passes `max_bytes` (never more is held)."""
    out = bytearray()
    for chunk in iter_decoded(raw, filters):
        out += chunk
        if len(out) > max_bytes:
            raise StreamTooLarge(f"decodes to more than {max_bytes} bytes")
    return bytes(out)


# --- the raw scan -------------------------------------------------------------------------------------

@dataclass
class _Scan:
    dangerous: set[str]
    bomb: str | None = None
    big_image: str | None = None
    decoded_total: int = 0
    page_objects: int = 0
    undecodable: int = 0


def _stream_dict(data: bytes, dict_end: int) -> tuple[bytes, str]:
    """The dictionary in front of a stream keyword, and the object number it belongs to ("" if unknown).

    Searched backwards with rfind (bounded window), so ten thousand streams cost ten thousand short looks.
    """
    start = max(0, dict_end - 64 * 1024)
    end = dict_end
    for _ in range(16):
        idx = data.rfind(b"obj", start, end)
        if idx < 0:
            break
        if data[idx - 3:idx] == b"end":  # the previous object's end: ours has no header in reach
            return data[idx + 3:dict_end], ""
        header = _OBJ_TAIL.search(data, max(0, idx - 40), idx)
        if header and header.end() == idx:
            return data[idx + 3:dict_end], f"{int(header.group(1))} {int(header.group(2))}"
        end = idx
    return data[max(start, dict_end - 4096):dict_end], ""


def _resolve_int(data: bytes, num: bytes, gen: bytes | None) -> int | None:
    """A direct integer, or an indirect one ("12 0 R") looked up by its object header."""
    if gen is None:
        return int(num)
    m = re.search(rb"(?<!\d)" + num + rb"\s+" + gen + rb"\s+obj\s*(\d+)\s*endobj", data)
    return int(m.group(1)) if m else None


def _scan_names(chunk: bytes, found: set[str]) -> None:
    for m in _DANGEROUS.finditer(chunk):
        found.add(m.group(1).decode())
    for m in _HEX_NAME.finditer(chunk):
        name = _decode_name(m.group(1))
        if _DANGEROUS.fullmatch(b"/" + name):
            found.add(name.decode("latin-1") + " (hidden as " + m.group(1).decode("latin-1") + ")")


def _scan(data: bytes, limits: PdfLimits) -> _Scan:
    """One linear pass: names outside streams, object streams' contents, stream sizes, image sizes."""
    scan = _Scan(dangerous=set())
    pos = 0
    while True:
        m = _STREAM_START.search(data, pos)
        outside_end = m.start() + 2 if m else len(data)
        _scan_names(data[pos:outside_end], scan.dangerous)
        scan.page_objects += len(_TYPE_PAGE.findall(data, pos, outside_end))
        if m is None:
            break
        body_start = m.end()
        dictionary, obj = _stream_dict(data, m.start() + 2)
        length = _LENGTH.search(dictionary)
        body_end = -1
        if length:
            end = body_start + int(length.group(1))
            if end <= len(data) and data[end:end + 32].lstrip().startswith(_ENDSTREAM):
                body_end = end
        if body_end < 0:
            found = data.find(_ENDSTREAM, body_start)
            body_end = found if found >= 0 else len(data)
        _check_stream(data, dictionary, obj, data[body_start:body_end], scan, limits)
        if scan.bomb:
            return scan  # the rest is not worth inflating
        pos = body_end + len(_ENDSTREAM)
    return scan


def _check_stream(data: bytes, dictionary: bytes, obj: str, raw: bytes, scan: _Scan, limits: PdfLimits) -> None:
    where = f"object {obj}" if obj else "a stream"
    if re.search(rb"/Subtype\s*/Image\b", dictionary):
        w, h = _WIDTH.search(dictionary), _HEIGHT.search(dictionary)
        width = _resolve_int(data, w.group(1), w.group(2)) if w else None
        height = _resolve_int(data, h.group(1), h.group(2)) if h else None
        if width and height and width * height > limits.max_image_pixels and not scan.big_image:
            scan.big_image = (f"an image in {where} declares {width} x {height} pixels "
                              f"({width * height / 1e6:.0f} million; the limit is "
                              f"{limits.max_image_pixels / 1e6:.0f} million)")
    filt = _FILTER.search(dictionary)
    filters = parse_filters(filt.group(1) if filt else None)
    if not filters or filters[0] not in _DECODERS:
        return
    is_objstm = re.search(rb"/Type\s*/ObjStm\b", dictionary) is not None
    size = 0
    tail = b""
    budget = limits.max_decompressed_bytes - scan.decoded_total
    try:
        for chunk in iter_decoded(raw, filters):
            size += len(chunk)
            if is_objstm:
                window = tail + chunk
                _scan_names(window, scan.dangerous)
                scan.page_objects += len(_TYPE_PAGE.findall(chunk))
                tail = window[-64:]
            if size > budget:
                scan.bomb = (f"{where} inflates to more than {budget // MIB} MiB from {len(raw):,} bytes on disk, "
                             f"past the {limits.max_decompressed_bytes // MIB} MiB all streams together may take")
                return
            if size > BOMB_RATIO_MIN_BYTES and size > BOMB_RATIO * max(len(raw), 1):
                scan.bomb = f"{where} inflates more than {BOMB_RATIO}:1 ({len(raw):,} bytes to over {size:,})"
                return
    except (zlib.error, ValueError, binascii.Error):
        scan.undecodable += 1  # a damaged stream: PDFium shows what it can; not a reason to refuse
    scan.decoded_total += size


# --- preflight ----------------------------------------------------------------------------------------

_RESEND = "ask the customer to send the order again"


def preflight(data: bytes, limits: PdfLimits) -> list[Issue]:
    """Everything that makes a PDF unsafe or pointless to extract. Error issues mean "do not extract"."""
    size = len(data)
    if size > limits.max_bytes:
        return [error(PDF_TOO_LARGE, f"The PDF is {size / MIB:.1f} MiB; the gateway reads PDFs up to "
                      f"{limits.max_bytes / MIB:.0f} MiB. Ask the customer to send a smaller file (fewer pages, "
                      "or scanned at 300 dpi in black and white), or raise max_bytes.", "file")]
    head = data[:1024]
    if b"%PDF-" not in head:
        return [error(PDF_CORRUPT, "The file is not a PDF (it does not start with %PDF-). "
                      f"{_RESEND.capitalize()} as a PDF.", "file")]
    if b"%%EOF" not in data[-2048:]:
        return [error(PDF_CORRUPT, "The PDF is cut off (its end marker %%EOF is missing), so pages or lines may "
                      f"be lost. It was probably truncated in transit; {_RESEND}.", "end of file")]
    issues: list[Issue] = []
    scan = _scan(data, limits)
    if "Encrypt" in scan.dangerous:
        issues.append(_encryption_issue(data))
    scripts = sorted(n for n in scan.dangerous if n.split(" ")[0] in {"JS", "JavaScript", "AA", "Launch"})
    if scripts:
        opens = "OpenAction" in scan.dangerous
        issues.append(error(PDF_JAVASCRIPT, "The PDF contains active content (" + ", ".join("/" + n for n in scripts)
                            + (", run when the file is opened" if opens else "")
                            + "). The gateway never runs it and does not read such files. Ask the customer to "
                            "send a plain PDF (print to PDF or export without scripts or form actions).",
                            "document actions"))
    if scan.bomb:
        issues.append(error(PDF_DECOMPRESSION_BOMB, f"The PDF is a decompression bomb: {scan.bomb}. "
                            "It was not read further. If it is a genuine order, ask the customer to send it "
                            "again from their system or as a scan.", "streams"))
    if scan.big_image:
        issues.append(error(PDF_IMAGE_TOO_LARGE, f"The PDF is not safe to render: {scan.big_image}. Ask the customer "
                            "to scan at 300 dpi instead, or raise max_image_pixels.", "images"))
    if any(i.code in (PDF_ENCRYPTED, PDF_DECOMPRESSION_BOMB) for i in issues):
        # Without the password the parsers can not see the catalogue; and PDFium inflates a page's
        # content when it loads the page, so a bomb must never reach it.
        return issues
    issues += _structure(data, limits, scan)
    return issues


def _encryption_issue(data: bytes) -> Issue:
    """Encrypted: say whether it opens without a password (owner restrictions only) or needs one."""
    import pypdfium2 as pdfium

    needs_password = True
    try:
        pdf = pdfium.PdfDocument(data)
        pdf.close()
        needs_password = False
    except pdfium.PdfiumError:
        pass
    if needs_password:
        return error(PDF_ENCRYPTED, "The PDF is protected with a password, so it can not be read. Ask the "
                     "customer to send the PDF without a password.", "document security")
    return error(PDF_ENCRYPTED, "The PDF is encrypted with an empty user password: it opens without asking, but "
                 "its content is encrypted and may forbid copying text. The gateway does not read encrypted "
                 "files. Ask the customer to send the PDF without security settings (no password, no "
                 "restrictions).", "document security")


def _structure(data: bytes, limits: PdfLimits, scan: _Scan) -> list[Issue]:
    """Open with pypdf (catalogue) and PDFium (page count); a parser that gives up means corrupt."""
    import pypdf
    import pypdfium2 as pdfium

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
            root = cast(Any, reader.trailer["/Root"].get_object())
            pages = root["/Pages"].get_object()
            declared = pages.get("/Count", 0)
            declared = int(declared.get_object() if hasattr(declared, "get_object") else declared)
    except RecursionError:
        return [error(PDF_CORRUPT, "The PDF's objects are nested too deeply to read safely. "
                      f"{_RESEND.capitalize()}, exported again from their system.", "document structure")]
    except Exception as exc:
        return [error(PDF_CORRUPT, f"The PDF can not be read: {_reason(exc)}. {_RESEND.capitalize()}; if it "
                      "opens on their side, ask them to print it to a new PDF.", "document structure")]
    empty = error(PDF_EMPTY, "The PDF has no pages. Ask the customer to check the attachment and send the "
                  "order again.", "document")
    if declared <= 0 and scan.page_objects == 0:
        return [empty]
    try:
        pdf = pdfium.PdfDocument(data)
        try:
            count = len(pdf)
            if count:
                pdf[0].close()  # a page tree that leads nowhere (or in circles) fails here
        finally:
            pdf.close()
    except pdfium.PdfiumError as exc:
        return [error(PDF_CORRUPT, f"The PDF can not be rendered: {_reason(exc)}. {_RESEND.capitalize()}.",
                      "document structure")]
    if count == 0:
        return [empty]
    pages_found = max(count, declared, scan.page_objects)
    if pages_found > limits.max_pages:
        return [error(PDF_TOO_MANY_PAGES, f"The PDF has {pages_found:,} pages; the gateway reads orders of up to "
                      f"{limits.max_pages} pages. Ask the customer to send the order on its own (not a catalogue "
                      "or a batch of documents), or raise max_pages.", "document")]
    if scan.undecodable:
        return [warning("PDF_DAMAGED_STREAMS", f"{scan.undecodable} stream(s) in the PDF are damaged; what they "
                        "held may be missing from the page.", "streams")]
    return []


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().rstrip(".") or type(exc).__name__
    return text[:200]


# --- images -------------------------------------------------------------------------------------------

def preflight_image(data: bytes, limits: PdfLimits) -> list[Issue]:
    """PNG, JPEG or TIFF scans: size, pixel count (decompression bombs), frames, readability."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > limits.max_bytes:
        return [error(IMAGE_TOO_LARGE, f"The image is {len(data) / MIB:.1f} MiB; the gateway reads files up to "
                      f"{limits.max_bytes / MIB:.0f} MiB. Ask the customer to scan at 300 dpi.", "file")]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        return [error(IMAGE_TOO_LARGE, f"The image is too large to open safely ({_reason(exc)}). Ask the customer "
                      "to scan at 300 dpi.", "image")]
    except UnidentifiedImageError:
        return [error(IMAGE_UNSUPPORTED, "The file is not an image the gateway can read. Ask the customer to send "
                      "the order as a PDF, or as a PNG, JPEG or TIFF scan.", "file")]
    except Exception as exc:
        return [error(IMAGE_CORRUPT, f"The image can not be read: {_reason(exc)}. Ask the customer to scan it "
                      "again.", "file")]
    with img:
        if img.format not in {"PNG", "JPEG", "TIFF", "MPO"}:
            return [error(IMAGE_UNSUPPORTED, f"{img.format} images are not read; ask the customer for a PDF, or a "
                          "PNG, JPEG or TIFF scan.", "file")]
        frame = 0
        try:
            while True:
                w, h = img.size
                if w * h > limits.max_image_pixels:
                    return [error(IMAGE_TOO_LARGE, f"Page {frame + 1} of the image is {w} x {h} pixels "
                                  f"({w * h / 1e6:.0f} million; the limit is {limits.max_image_pixels / 1e6:.0f} "
                                  "million). Ask the customer to scan at 300 dpi.", f"page {frame + 1}")]
                frame += 1
                if frame > limits.max_image_frames:
                    return [error(IMAGE_TOO_MANY_PAGES, f"The image has more than {limits.max_image_frames} pages. "
                                  "Ask the customer to send the order on its own.", "file")]
                try:
                    img.seek(frame)
                except EOFError:
                    break
            img.seek(0)
            img.load()  # decodes the first page: truncated or corrupt data shows here
        except Exception as exc:
            return [error(IMAGE_CORRUPT, f"The image is damaged ({_reason(exc)}). Ask the customer to scan it "
                          "again.", f"page {frame + 1}")]
    return []
