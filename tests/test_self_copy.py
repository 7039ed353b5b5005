"""自助复印 as a citizen lives it: the card or the pages are captured from a real MJPEG camera
stream (hardware_sim/mjpeg_camera.py, read by the real OpenCV driver) and cropped by docscan,
the copy prints through a real private CUPS (hardware_sim/cups_server.py), and what is checked
is what came out: the PDF the cups-pdf queue wrote, rendered at 300 dpi by poppler, or the
job the state printer received. Nothing is measured on an intermediate image."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from core.events import Kind
from devices.document_camera import DocumentCamera
from devices.document_printer import DocumentPrinter
from devices.open import open_document_camera
from drivers.cups_printer import JOB_CANCELED
from flows.copy_layout import (
    BACK_Y_MM,
    CARD_X_MM,
    FRONT_Y_MM,
    ID_CARD_MM,
    WATERMARK_RGB,
    Label,
    render_label,
)
from flows.kiosk_functions import KioskContext, KioskHome, built_in
from flows.screens import Screen
from flows.self_copy import SelfCopyFlow
from hallstore import journal
from hardware_sim.cups_server import CupsServer, StatePrinter
from hardware_sim.document_scenes import make_scene
from hardware_sim.mjpeg_camera import Fault, MjpegCameraSim
from tests.conftest import HallDb
from tests.printing import pdf_pages

DPI = 300
PX_PER_MM = DPI / 25.4
#: The hall day of the demo hall's SimClock (tests/conftest.py), printed in the watermark.
SELF_COPY = built_in("self_copy")


def _frame(seed: int, card: bool) -> bytes:
    scene = make_scene(seed, frame=(960, 1280), card=card, jpeg_quality=90, desk="wood")
    assert scene.jpeg is not None
    return scene.jpeg


FRONT, BACK = _frame(1, card=True), _frame(2, card=True)
PAGES = [_frame(1, card=False), _frame(2, card=False)]


# --- fixtures: a real camera stream (the real CUPS: tests/printing.py) -----------------------


@pytest.fixture
def desk() -> Iterator[MjpegCameraSim]:
    """The 高拍仪's stream; a test lays a card or a page on the desk by setting ``frames``."""
    sim = MjpegCameraSim(frames=[FRONT], fps=15.0)
    sim.start()
    yield sim
    sim.close()


@pytest.fixture
def camera(desk: MjpegCameraSim) -> Iterator[DocumentCamera]:
    cam = open_document_camera(desk.url, "kiosk-1-camera")
    yield cam
    cam.close()


def _flow(hall_db: HallDb, printer: DocumentPrinter, camera: DocumentCamera,
          tmp_path: Path) -> SelfCopyFlow:
    return SelfCopyFlow(_context(hall_db, printer, camera, tmp_path))


def _context(hall_db: HallDb, printer: DocumentPrinter, camera: DocumentCamera,
             tmp_path: Path) -> KioskContext:
    return KioskContext(queue=hall_db.queue, device_id="kiosk-1", clock=hall_db.clock,
                        document_printer=printer, document_camera=camera,
                        data_dir=tmp_path / "kiosk-1")


def _lay(desk: MjpegCameraSim, frame: bytes) -> None:
    """Put a card or page on the desk: from now on the camera sees it."""
    desk.frames = [frame]


def _capture_id_card(flow: SelfCopyFlow, desk: MjpegCameraSim, copies: int = 1) -> Screen:
    flow.start()
    flow.choose_kind("id_card")
    placed = flow.choose_purpose("social_security")
    assert (placed.name, placed.data["side"]) == ("place", "front")
    _lay(desk, FRONT)
    placed = flow.capture()
    assert (placed.name, placed.data["side"], placed.error_key) == ("place", "back", None)
    _lay(desk, BACK)
    confirm = flow.capture()
    assert confirm.name == "confirm", confirm.error_key
    return flow.set_copies(copies)


def _new_pdf(cups: CupsServer, before: set[Path]) -> Path:
    new = [p for p in cups.pdfs() if p not in before]
    assert len(new) == 1
    return new[0]


def _render(pdf: Path, out: Path, page: int = 1) -> np.ndarray:
    """The page as poppler draws it at 300 dpi, RGB."""
    subprocess.run(["pdftoppm", "-r", str(DPI), "-png", "-f", str(page), "-l", str(page),
                    "-singlefile", str(pdf), str(out)], check=True)  # fmt: skip
    return np.asarray(Image.open(out.with_suffix(".png")).convert("RGB")).astype(np.int16)


def _printed(hall_db: HallDb) -> list[dict]:
    events = [p.event for p in journal.pending(hall_db.conn, 10_000)]
    return [e.data for e in events if e.kind == Kind.DOCUMENT_PRINTED]


def _eventually(check: Callable[[], bool], timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


# --- measuring a printed page ----------------------------------------------------------------


def _rose(page: np.ndarray, strict: bool = True) -> np.ndarray:
    """Pixels of the watermark's colour (and, not strict, its anti-aliased edges)."""
    r, g, b = page[..., 0], page[..., 1], page[..., 2]
    if strict:
        want = np.array(WATERMARK_RGB) * 255
        return (np.abs(page - want).max(axis=2) < 45)
    return (r - g > 25) & (b - g > 12)


def _card_bands(page: np.ndarray) -> list[tuple[int, int, int, int]]:
    """(left, top, right, bottom) of each card-sized block of content on the page, in pixels.

    Content is what is neither white paper nor the watermark; a row belongs to a card when
    more than half a card's width of it is content, and the card's columns likewise."""
    content = (page.min(axis=2) < 235) & ~_rose(page, strict=False)
    card_w, card_h = (round(mm * PX_PER_MM) for mm in ID_CARD_MM)
    rows = content.sum(axis=1) > card_w / 2
    bands, start = [], None
    for y, on in enumerate([*rows, False]):
        if on and start is None:
            start = y
        elif not on and start is not None:
            if y - start > card_h / 2:
                bands.append((start, y))
            start = None
    boxes = []
    for top, bottom in bands:
        cols = np.nonzero(content[top:bottom].sum(axis=0) > (bottom - top) / 2)[0]
        boxes.append((int(cols.min()), top, int(cols.max()) + 1, bottom))
    return boxes


def _label_template(label: Label) -> np.ndarray:
    """The label's ink at 300 dpi, from the same stencil the copy carries."""
    stamp = render_label(label)
    size = (round(stamp.width_mm * PX_PER_MM), round(stamp.height_mm * PX_PER_MM))
    ink = Image.eval(stamp.image.convert("L"), lambda v: 255 - v)  # type: ignore[attr-defined]
    return (np.asarray(ink.resize(size, Image.Resampling.BOX)) > 100).astype(np.float32)


def _label_mismatch(region: np.ndarray, template: np.ndarray) -> float:
    """How far the best-matching place wholly inside ``region`` is from holding this label
    intact: the share of the label's strokes missing there (within a pixel) plus the share of
    watermark ink there that is no stroke of it. 0.0 is the label, whole; a label cut by the
    region's edge, or another label (one digit of the kiosk id differs), scores 0.01 or more."""
    raw = _rose(region).astype(np.uint8)
    if raw.shape[0] < template.shape[0] or raw.shape[1] < template.shape[1]:
        return 1.0
    # A stroke is found where the page has the label's hue, anti-aliased edges included
    # (how an edge blends depends on where it falls between two pixels); ink that is not
    # the label's is counted only where it is the label's full colour.
    loose = _rose(region, strict=False).astype(np.uint8)
    found = cv2.dilate(loose, np.ones((3, 3), np.uint8)).astype(np.float32)
    near = cv2.dilate(template.astype(np.uint8), np.ones((3, 3), np.uint8))
    ink = float(template.sum())
    missing = 1.0 - cv2.matchTemplate(found, template, cv2.TM_CCORR) / ink
    spill = cv2.matchTemplate(raw.astype(np.float32), (1 - near).astype(np.float32),
                              cv2.TM_CCORR) / ink  # fmt: skip
    return float((missing + spill).min())


#: Most mismatch allowed for a label to count as present and intact.
INTACT = 0.005


def _quarters(page: np.ndarray) -> list[np.ndarray]:
    h, w = page.shape[:2]
    return [page[y:y + h // 2, x:x + w // 2] for y in (0, h - h // 2) for x in (0, w - w // 2)]


# --- tests -----------------------------------------------------------------------------------


def test_an_id_card_copy_is_true_size_on_the_page_cups_printed(
    hall_db: HallDb, cups_pdf: DocumentPrinter, cups: CupsServer, camera: DocumentCamera,
    desk: MjpegCameraSim, tmp_path: Path,
) -> None:
    flow = _flow(hall_db, cups_pdf, camera, tmp_path)
    before = set(cups.pdfs())
    _capture_id_card(flow, desk)

    printed = flow.print_copy()

    assert printed.name == "printed"
    page = _render(_new_pdf(cups, before), tmp_path / "copy")
    height_mm, width_mm = (n / PX_PER_MM for n in page.shape[:2])
    assert abs(width_mm - 210) <= 1.0 and abs(height_mm - 297) <= 1.0  # A4 (Ghostscript: 842 pt)
    boxes = _card_bands(page)
    assert len(boxes) == 2  # front above back
    for (left, top, right, bottom), top_mm in zip(boxes, (FRONT_Y_MM, BACK_Y_MM)):
        width_mm, height_mm = (right - left) / PX_PER_MM, (bottom - top) / PX_PER_MM
        assert abs(width_mm - 85.6) <= 1.0 and abs(height_mm - 54.0) <= 1.0, (width_mm, height_mm)
        assert abs(left / PX_PER_MM - CARD_X_MM) <= 1.0
        assert abs(top / PX_PER_MM - top_mm) <= 1.0
    assert _printed(hall_db)[-1] == {"function": "self_copy", "item": "social_security",
                                     "pages": 1, "copies": 1, "outcome": "done"}


def test_every_quarter_of_the_printed_copy_holds_a_whole_label_of_this_copy(
    hall_db: HallDb, cups_pdf: DocumentPrinter, cups: CupsServer, camera: DocumentCamera,
    desk: MjpegCameraSim, tmp_path: Path,
) -> None:
    flow = _flow(hall_db, cups_pdf, camera, tmp_path)
    before = set(cups.pdfs())
    _capture_id_card(flow, desk)
    flow.print_copy()
    page = _render(_new_pdf(cups, before), tmp_path / "copy")
    ours = _label_template(Label("社保", "2026-11-23", "kiosk-1"))

    mismatches = [_label_mismatch(quarter, ours) for quarter in _quarters(page)]

    assert max(mismatches) <= INTACT, mismatches
    # The check can fail: a label of another purpose, day or kiosk is not found, and neither
    # is ours in a quarter where every label was cut (a white 1 mm line every 20 mm).
    for other in (Label("医保", "2026-11-23", "kiosk-1"), Label("社保", "2026-11-24", "kiosk-1"),
                  Label("社保", "2026-11-23", "kiosk-2")):
        assert _label_mismatch(page, _label_template(other)) > 2 * INTACT, other
    cut = _quarters(page)[0].copy()
    for x in range(0, cut.shape[1], round(20 * PX_PER_MM)):
        cut[:, x:x + round(PX_PER_MM)] = 255
    assert _label_mismatch(cut, ours) > 2 * INTACT


def test_the_citizen_chooses_the_copies_and_that_many_come_out(
    hall_db: HallDb, cups_pdf: DocumentPrinter, cups: CupsServer, camera: DocumentCamera,
    desk: MjpegCameraSim, tmp_path: Path,
) -> None:
    flow = _flow(hall_db, cups_pdf, camera, tmp_path)
    before = set(cups.pdfs())
    confirm = _capture_id_card(flow, desk, copies=3)
    assert confirm.data["copies"] == 3
    assert flow.set_copies(99).data["copies"] == 10  # at most ten

    flow.set_copies(3)
    assert flow.print_copy().name == "printed"
    assert flow.print_copy().name == "printed"  # a second tap prints nothing more

    assert pdf_pages(_new_pdf(cups, before)) == 3
    assert _printed(hall_db)[-1]["copies"] == 3 and len(_printed(hall_db)) == 1


def test_a_two_page_document_is_copied_page_by_page_full_size(
    hall_db: HallDb, cups_pdf: DocumentPrinter, cups: CupsServer, camera: DocumentCamera,
    desk: MjpegCameraSim, tmp_path: Path,
) -> None:
    flow = _flow(hall_db, cups_pdf, camera, tmp_path)
    flow.start()
    flow.choose_kind("document")
    flow.choose_purpose("real_estate")
    for n, frame in enumerate(PAGES, start=1):
        _lay(desk, frame)
        placed = flow.capture()
        assert (placed.name, placed.data["captured"], placed.error_key) == ("place", n, None)
    confirm = flow.finish_pages()
    assert (confirm.name, confirm.data["pages"]) == ("confirm", 2)
    flow.set_copies(2)
    before = set(cups.pdfs())

    assert flow.print_copy().name == "printed"

    pdf = _new_pdf(cups, before)
    assert pdf_pages(pdf) == 4  # two pages, two copies, collated
    page = _render(pdf, tmp_path / "page")
    content = (page.min(axis=2) < 200) & ~_rose(page, strict=False)
    ys, xs = np.nonzero(content)
    # The page scan fills the sheet: its content reaches across most of the A4 page.
    assert (xs.max() - xs.min()) / PX_PER_MM > 150 and (ys.max() - ys.min()) / PX_PER_MM > 200
    label = _label_template(Label("不动产登记", "2026-11-23", "kiosk-1"))
    mismatches = [_label_mismatch(quarter, label) for quarter in _quarters(page)]
    assert max(mismatches) <= INTACT, mismatches
    assert _printed(hall_db)[-1] == {"function": "self_copy", "item": "real_estate",
                                     "pages": 2, "copies": 2, "outcome": "done"}


def test_paper_out_mid_print_pauses_and_continue_prints_the_same_job_once(
    hall_db: HallDb, a4: DocumentPrinter, state: StatePrinter, camera: DocumentCamera,
    desk: MjpegCameraSim, tmp_path: Path,
) -> None:
    flow = _flow(hall_db, a4, camera, tmp_path)
    _capture_id_card(flow, desk, copies=2)
    printed = len(state.printed())
    state.set("media-empty-error")

    paused = flow.print_copy()

    assert (paused.name, paused.error_text) == ("paused", "打印机缺纸，请联系工作人员")
    assert len(state.printed()) == printed
    assert flow.resume().name == "paused"  # 继续打印 before staff refilled: still waiting
    state.set()  # staff put paper in
    assert flow.resume().name == "printed"
    assert len(state.printed()) == printed + 1
    time.sleep(1.5)
    assert len(state.printed()) == printed + 1  # one job, not a second one
    assert _printed(hall_db) == [{"function": "self_copy", "item": "social_security", "pages": 1,
                                  "copies": 2, "outcome": "done", "fault_code": 310}]


def test_cover_open_mid_print_then_cancel_prints_nothing_even_after_the_fix(
    hall_db: HallDb, a4: DocumentPrinter, state: StatePrinter, camera: DocumentCamera,
    desk: MjpegCameraSim, tmp_path: Path,
) -> None:
    flow = _flow(hall_db, a4, camera, tmp_path)
    _capture_id_card(flow, desk)
    printed = len(state.printed())
    state.set("cover-open-error")
    paused = flow.print_copy()
    assert (paused.name, paused.error_text) == ("paused", "打印机仓盖未关闭，请联系工作人员")
    job = flow.job.job_id if flow.job else None

    assert flow.cancel_print().name == "cancelled"

    state.set()  # the cover is closed: the cancelled copy must not come out now
    time.sleep(2.0)
    assert len(state.printed()) == printed
    assert job is not None and a4.driver.job(job).state == JOB_CANCELED
    assert _printed(hall_db) == [{"function": "self_copy", "item": "social_security", "pages": 1,
                                  "copies": 1, "outcome": "cancelled", "fault_code": 311}]


def test_the_camera_unplugged_mid_capture_says_so_and_keeps_the_front(
    hall_db: HallDb, cups_pdf: DocumentPrinter, camera: DocumentCamera, desk: MjpegCameraSim,
    tmp_path: Path,
) -> None:
    flow = _flow(hall_db, cups_pdf, camera, tmp_path)
    flow.start()
    flow.choose_kind("id_card")
    flow.choose_purpose("household")
    _lay(desk, FRONT)
    assert flow.capture().data["side"] == "back"

    desk.inject(Fault.UNPLUG)
    first = flow.capture()  # the stream is gone while the back is being captured
    assert (first.name, first.data["side"]) == ("place", "back")
    assert first.error_key in ("camera_unplugged", "camera_no_frames")
    assert _eventually(lambda: flow.capture().error_text == "高拍仪已断开，请联系工作人员")
    health = [p.event.data for p in journal.pending(hall_db.conn, 10_000)
              if p.event.kind == Kind.DEVICE_HEALTH]  # fmt: skip
    assert health[-1]["device"] == "kiosk-1-camera" and health[-1]["state"] == "offline"

    desk.plug()
    _lay(desk, BACK)
    assert _eventually(lambda: flow.capture().name == "confirm")  # the front was kept
    assert len(flow.scans) == 2


def test_a_citizen_who_walks_away_leaves_nothing_and_their_paused_copy_never_prints(
    hall_db: HallDb, a4: DocumentPrinter, state: StatePrinter, camera: DocumentCamera,
    desk: MjpegCameraSim, tmp_path: Path,
) -> None:
    context = _context(hall_db, a4, camera, tmp_path)
    home = KioskHome(context, [SELF_COPY])
    home.open("self_copy")
    flow = home.flows["self_copy"]
    assert isinstance(flow, SelfCopyFlow)
    _capture_id_card(flow, desk)
    scans = list(flow.scans)
    printed = len(state.printed())
    state.set("media-empty-error")
    assert home.step("self_copy", lambda f: f.print_copy()).name == "paused"
    session = context.data_dir / "self-copy"  # type: ignore[operator]
    assert session.is_dir()

    hall_db.clock.advance(61)  # the citizen has gone; the kiosk goes idle
    assert home.tick().name == "home"

    assert flow.scans == [] and all(not any(scan) for scan in scans)  # wiped, not just dropped
    assert not any(p.is_file() for p in session.rglob("*"))
    assert list(session.iterdir()) == []
    assert _printed(hall_db)[-1]["outcome"] == "cancelled"
    state.set()
    time.sleep(2.0)
    assert len(state.printed()) == printed
