"""A minimal PDF writer: pages of placed JPEG images and one-colour stamps, nothing more.

Why by hand rather than Pillow's PDF writer: Pillow makes one raster per page whose size
follows from its pixel count and a resolution, so a card's size on paper would be rounded to
whole pixels of the page. Here the page is exactly A4 (595.276 × 841.890 pt) and every image
is placed by a transformation matrix in millimetres, so a card is 85.6 × 54 mm whatever the
pixel size its scan came in at. The watermark is a stencil mask (``/ImageMask``): a 1-bit
image whose set samples are painted in one colour and whose others leave what is under them
untouched, a PDF 1.0 feature every interpreter (Ghostscript in CUPS, poppler, printers)
renders the same, with no transparency group to flatten.

JPEG bytes are embedded as they are (``/DCTDecode``): no re-encoding, so no loss beyond the
capture's own. An image or stamp used on several pages is stored once, so a copy's extra
copies cost a page object each, not another image.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass, field

#: PDF points per millimetre (1 pt = 1/72 inch).
PT_PER_MM = 72.0 / 25.4


@dataclass(frozen=True)
class Draw:
    """One image or stamp on a page, in millimetres from the page's top-left corner.

    Attributes:
        name: the resource, as returned by :meth:`PdfDocument.add_jpeg` or
            :meth:`PdfDocument.add_stencil`.
        x_mm: left edge.
        y_mm: top edge.
        width_mm: width on paper.
        height_mm: height on paper.
        rgb: the paint colour of a stencil (0–1 each); None for an image.
    """

    name: str
    x_mm: float
    y_mm: float
    width_mm: float
    height_mm: float
    rgb: tuple[float, float, float] | None = None


@dataclass(frozen=True)
class Text:
    """A line of invisible text over a page drawn as an image, as a scanner's OCR layer is:
    it is what search, copy and ``pdftotext`` find, while the image is what is seen.

    The font is Adobe's standard ``STSong-Light`` (Adobe-GB1), not embedded: a reader never
    draws invisible text, so it never needs the glyphs, only the Unicode the encoding
    (``UniGB-UCS2-H``) gives.

    Attributes:
        text: the line.
        x_mm: left edge.
        y_mm: baseline, from the page's top.
        size_pt: font size.
    """

    text: str
    x_mm: float
    y_mm: float
    size_pt: float = 10.0


_CJK_FONT = (
    "<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H"
    " /DescendantFonts [<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light"
    " /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >>"
    # Latin letters and digits are half as wide as 汉字 (CIDs 1–95 proportional, 814–939
    # half-width), so a reader's text layout keeps each line's words where they are drawn.
    " /DW 1000 /W [1 95 500 814 939 500]"
    " /FontDescriptor << /Type /FontDescriptor /FontName /STSong-Light /Flags 6"
    " /FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120"
    " /CapHeight 880 /StemV 93 >> >>] >>"
)


@dataclass
class PdfDocument:
    """A PDF being assembled: resources first, then pages that place them.

    Args:
        width_mm: the page width (every page has the same size).
        height_mm: the page height.
        title: the document's ``/Title`` (a document name, never the citizen's).
    """

    width_mm: float
    height_mm: float
    title: str = ""
    _resources: dict[str, bytes] = field(default_factory=dict)
    _pages: list[list[Draw | Text]] = field(default_factory=list)

    def add_jpeg(self, jpeg: bytes) -> str:
        """Register a baseline RGB JPEG; returns its resource name.

        Raises:
            ValueError: not a three-component JPEG.
        """
        from PIL import Image

        with Image.open(io.BytesIO(jpeg)) as image:
            if image.format != "JPEG" or image.mode != "RGB":
                raise ValueError(f"an RGB JPEG is wanted, got {image.format} {image.mode}")
            width, height = image.size
        head = (
            f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height}"
            f" /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode"
            f" /Length {len(jpeg)} >>"
        )
        return self._add(head, jpeg)

    def add_stencil(self, bits: bytes, width: int, height: int) -> str:
        """Register a stencil mask: rows of ``width`` 1-bit samples, each row padded to a
        byte, a 0 bit is painted (Pillow's mode ``"1"`` ``tobytes()``, black = ink)."""
        if len(bits) != (width + 7) // 8 * height:
            raise ValueError("stencil bits do not match its size")
        data = zlib.compress(bits, 9)
        head = (
            f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height}"
            f" /ImageMask true /BitsPerComponent 1 /Filter /FlateDecode /Length {len(data)} >>"
        )
        return self._add(head, data)

    def add_page(self, draws: list[Draw | Text]) -> None:
        """A page placing ``draws`` in order (later ones over earlier ones).

        Raises:
            KeyError: a draw names a resource not added.
        """
        for draw in draws:
            if isinstance(draw, Draw) and draw.name not in self._resources:
                raise KeyError(draw.name)
        self._pages.append(list(draws))

    @property
    def page_count(self) -> int:
        return len(self._pages)

    def to_bytes(self) -> bytes:
        """The finished file."""
        names = list(self._resources)
        first_resource = 3
        first_page = first_resource + len(names)
        objects: list[bytes] = []
        kids = " ".join(f"{first_page + 2 * i} 0 R" for i in range(len(self._pages)))
        objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
        objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(self._pages)} >>".encode())
        objects.extend(self._resources[name] for name in names)
        xobjects = " ".join(f"/{name} {first_resource + i} 0 R" for i, name in enumerate(names))
        fonts = f" /Font << /F1 {_CJK_FONT} >>" if self._has_text() else ""
        box = f"[0 0 {self.width_mm * PT_PER_MM:.3f} {self.height_mm * PT_PER_MM:.3f}]"
        for i, draws in enumerate(self._pages):
            content = zlib.compress(self._content(draws), 9)
            objects.append(
                f"<< /Type /Page /Parent 2 0 R /MediaBox {box} /Resources << /XObject"
                f" << {xobjects} >>{fonts} >> /Contents {first_page + 2 * i + 1} 0 R >>".encode()
            )
            objects.append(
                f"<< /Filter /FlateDecode /Length {len(content)} >>\nstream\n".encode()
                + content + b"\nendstream"
            )  # fmt: skip
        info = len(objects) + 1
        objects.append(f"<< /Title {_text(self.title)} /Producer (Hall Edge) >>".encode())
        out = io.BytesIO()
        out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for number, body in enumerate(objects, start=1):
            offsets.append(out.tell())
            out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
        xref = out.tell()
        out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
        for offset in offsets:
            out.write(f"{offset:010d} 00000 n \n".encode())
        out.write(
            f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {info} 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n".encode()
        )
        return out.getvalue()

    # --- internals ----------------------------------------------------------------------

    def _add(self, head: str, data: bytes) -> str:
        name = f"R{len(self._resources) + 1}"
        self._resources[name] = head.encode() + b"\nstream\n" + data + b"\nendstream"
        return name

    def _has_text(self) -> bool:
        return any(isinstance(d, Text) for page in self._pages for d in page)

    def _content(self, draws: list[Draw | Text]) -> bytes:
        ops = []
        for d in draws:
            if isinstance(d, Text):
                x, y = d.x_mm * PT_PER_MM, (self.height_mm - d.y_mm) * PT_PER_MM
                run = d.text.encode("utf-16-be").hex().upper()
                # Render mode 3: neither filled nor stroked, the OCR layer's invisibility.
                ops.append(f"BT 3 Tr /F1 {d.size_pt:.2f} Tf {x:.4f} {y:.4f} Td <{run}> Tj ET")
                continue
            # PDF's origin is the bottom-left corner; ours is the top-left, as on paper.
            x = d.x_mm * PT_PER_MM
            y = (self.height_mm - d.y_mm - d.height_mm) * PT_PER_MM
            w, h = d.width_mm * PT_PER_MM, d.height_mm * PT_PER_MM
            paint = "" if d.rgb is None else "{:.4f} {:.4f} {:.4f} rg ".format(*d.rgb)
            ops.append(f"q {paint}{w:.4f} 0 0 {h:.4f} {x:.4f} {y:.4f} cm /{d.name} Do Q")
        return "\n".join(ops).encode()


def _text(value: str) -> str:
    """A PDF text string: UTF-16BE with its byte order mark, as hex (any script, no escapes)."""
    return "<FEFF" + value.encode("utf-16-be").hex().upper() + ">"
