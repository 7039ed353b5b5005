"""Certificates (证明打印) on the government platform, and the documents the platform issues.

The platform issues a document as metadata first (its id, title, page count, verification
code, and where the PDF and each page's PNG preview are); :func:`fetch_document` then brings
the PDF, for the printer, and the previews, for the screen: a kiosk has no PDF renderer of its
own. The convenience queries' printouts are documents of the same form
(:mod:`govplatform.queries`).

Issuing is a lookup (:meth:`govplatform.http.PlatformHttp.lookup`: a POST with the ID number
in its body, never in a URL): it changes nothing the citizen would care about if it were
repeated (a second copy of the same certificate), so it is retried. Fetching the PDF and the
previews is a GET of the paths the platform answered, which name the copy, not the citizen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import HasRegisteredProperty, PlatformBadResponse, PlatformRefused
from govplatform.http import PlatformHttp

#: Certificate type → the platform's path.
CERTIFICATE_PATHS = {
    "pension_payment": "/certificates/pension-payment",
    "no_house": "/certificates/no-house",
}


@dataclass(frozen=True)
class DocumentRef:
    """An issued document as the platform describes it (no personal data).

    Attributes:
        doc_id: the platform's id of this copy.
        title: 无房证明 ….
        pages: how many A4 pages.
        verify_code: what anyone checks the paper against on the platform (验证码).
        pdf_url: the platform path of the PDF.
        page_urls: the platform path of each page's PNG preview, in order.
    """

    doc_id: str
    title: str
    pages: int
    verify_code: str
    pdf_url: str
    page_urls: tuple[str, ...]


@dataclass(frozen=True, repr=False)
class Document:
    """A document fetched: the PDF to print, a PNG per page to show.

    Holds personal data: the flow that fetched it drops it when the citizen leaves.
    """

    ref: DocumentRef
    pdf: bytes
    previews: tuple[bytes, ...]

    def __repr__(self) -> str:
        return f"Document({self.ref.title!r}, pages={self.ref.pages}, {len(self.pdf)} bytes)"


def document_ref(data: Any, path: str) -> DocumentRef:
    """Read the metadata of an issued document.

    Raises:
        PlatformBadResponse (804): a field missing or of the wrong type.
    """
    try:
        ref = DocumentRef(
            doc_id=str(data["doc_id"]),
            title=str(data["title"]),
            pages=int(data["pages"]),
            verify_code=str(data["verify_code"]),
            pdf_url=str(data["pdf_url"]),
            page_urls=tuple(str(u) for u in data["page_urls"]),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise PlatformBadResponse(f"{path}: document metadata {err!r}", path=path) from err
    if ref.pages < 1 or len(ref.page_urls) != ref.pages or not ref.pdf_url.startswith("/"):
        raise PlatformBadResponse(f"{path}: document metadata inconsistent", path=path)
    return ref


def fetch_document(http: PlatformHttp, ref: DocumentRef) -> Document:
    """The PDF and every page preview of an issued document.

    Raises:
        PlatformError (801–806); PlatformBadResponse (804) when the PDF is not a PDF or a
        preview not a PNG (a kiosk never sends an unknown file to its printer).
    """
    pdf, pdf_type = http.get_bytes(ref.pdf_url)
    if not pdf.startswith(b"%PDF-"):
        raise PlatformBadResponse(f"{ref.pdf_url}: not a PDF ({pdf_type})", path=ref.pdf_url)
    previews = []
    for url in ref.page_urls:
        png, _ = http.get_bytes(url)
        if not png.startswith(b"\x89PNG\r\n\x1a\n"):
            raise PlatformBadResponse(f"{url}: not a PNG", path=url)
        previews.append(png)
    return Document(ref, pdf, tuple(previews))


class CertificatesClient:
    """The certificates API over :class:`PlatformHttp`."""

    def __init__(self, http: PlatformHttp) -> None:
        self.http = http

    def issue(self, certificate: str, id_number: str) -> DocumentRef:
        """Have the platform issue a certificate for a citizen.

        Args:
            certificate: a key of :data:`CERTIFICATE_PATHS`.
            id_number: the citizen's.

        Raises:
            ValueError: an unknown certificate type (a programming error).
            HasRegisteredProperty (268): 无房证明 refused, the citizen owns property.
            PlatformNotFound (806): nothing on record (no pension contributions).
            PlatformError (801–806): otherwise.
        """
        path = CERTIFICATE_PATHS.get(certificate)
        if path is None:
            raise ValueError(f"unknown certificate {certificate!r}")
        try:
            data = self.http.lookup(path, {"id_number": id_number})
        except PlatformRefused as err:
            if err.details.get("upstream_code") == "HAS_PROPERTY":
                raise HasRegisteredProperty(str(err), **err.details) from err
            raise
        return document_ref(data, path)

    def fetch(self, ref: DocumentRef) -> Document:
        """See :func:`fetch_document`."""
        return fetch_document(self.http, ref)
