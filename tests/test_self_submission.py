"""自助申报 as a citizen lives it, through the flow with every part real: the ID card on the
reader simulator, the form filled on a phone (headless Chromium on the platform simulator's
mobile page), three materials laid under the 高拍仪 (the MJPEG camera simulator, read by
OpenCV, continuous capture deciding when to shoot), the case filed once on the platform
simulator, the receipt printed through a private CUPS. Then each fault: the camera unplugged
mid-capture, the phone form never submitted, the platform refusing, a disk too full, a lost
answer, and a citizen who walks away.

Screenshots of the phone: ``test-artifacts/self_submission/``.
"""

from __future__ import annotations

import re
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.clock import hall_time
from core.events import Kind
from core.strings_zh import error_text
from devices.document_camera import DocumentCamera
from devices.document_printer import DocumentPrinter
from devices.health import HealthState
from devices.id_card_reader import IdCardReader
from devices.open import open_document_camera
from flows.kiosk_functions import KioskContext, KioskHome, built_in
from flows.screens import Screen
from flows.self_submission import SelfSubmissionFlow
from govplatform.http import PlatformHttp
from hallstore import journal
from hardware_sim import simulator_of
from hardware_sim.cups_server import CupsServer
from hardware_sim.document_scenes import make_scene
from hardware_sim.mjpeg_camera import Fault, MjpegCameraSim
from tests.conftest import HallDb
from tests.kiosk_citizens import card_of, remembers
from tests.phone_browser import Phone
from tests.tcp_proxy import TcpProxy
from upstream_sim.catalog import ItemCatalogSim
from upstream_sim.people import People, Person, make_people
from upstream_sim.server import UpstreamServer
from upstream_sim.submissions import SubmissionDesk

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "self_submission"
FRAME = (960, 1280)
ITEM = "最低生活保障审核确认"
SITUATION = "01"  # 一般困难家庭: ID card, household register, authorisation; the 申请书 is the form
PHONE_VALUES = {"phone": "13912345678", "address": "昆仑路12号3单元201", "household_size": "3",
                "monthly_income": "1800", "reason": "因病致贫"}  # fmt: skip


def jpeg(image: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


#: Three pages a citizen lays down, one per material, and a hand moving over the desk.
PAGES = {seed: make_scene(seed, FRAME, card=False, jpeg_quality=90).jpeg for seed in (33, 42, 44)}
MOVING = [make_scene(seed, FRAME, card=False, jpeg_quality=90).jpeg for seed in (30, 31, 32)]


@dataclass
class Platform:
    server: UpstreamServer
    desk: SubmissionDesk
    people: People
    today: date

    def http(self, url: str | None = None, read_timeout_s: float = 4.0) -> PlatformHttp:
        return PlatformHttp(url or self.server.url, "kiosk-1", connect_timeout_s=0.5,
                            read_timeout_s=read_timeout_s)  # fmt: skip

    def item_code(self) -> str:
        return next(c for c, i in self.desk.items.items() if i["name"] == ITEM)

    def person(self) -> Person:
        return next(p for p in self.people.all if p.age_on(self.today) >= 18)


@pytest.fixture
def platform(hall_db: HallDb) -> Iterator[Platform]:
    today = hall_time(hall_db.clock.now()).date()
    people = People(make_people(60, seed=20261207, today=today))
    desk = SubmissionDesk(people, lambda: today)
    server = UpstreamServer("政务服务平台 (test)", ItemCatalogSim().routes() + desk.routes()).start()
    try:
        yield Platform(server, desk, people, today)
    finally:
        server.stop()


@pytest.fixture
def desk_camera() -> Iterator[tuple[MjpegCameraSim, DocumentCamera]]:
    """The 高拍仪: an MJPEG stream of an empty hand-less desk until a test lays pages."""
    sim = MjpegCameraSim([PAGES[33]], fps=15.0)
    sim.start()
    camera = open_document_camera(sim.url, "camera-1")
    camera.profile = replace(camera.profile, frame_timeout_s=2.0, reopen_s=0.3)
    try:
        yield sim, camera
    finally:
        camera.close()
        sim.close()


def context(hall_db: HallDb, http: PlatformHttp, reader: IdCardReader, data_dir: Path,
            printer: DocumentPrinter | None = None) -> KioskContext:  # fmt: skip
    return KioskContext(queue=hall_db.queue, device_id="kiosk-1", clock=hall_db.clock,
                        platform=http, id_reader=reader, document_printer=printer,
                        data_dir=data_dir)  # fmt: skip


def events(hall_db: HallDb, kind: str) -> list[dict]:
    return [p.event.data for p in journal.pending(hall_db.conn, 10_000) if p.event.kind == kind]


def memory(flow: SelfSubmissionFlow) -> dict:
    """What the flow keeps of its own: everything but the kiosk's camera (a device, like
    the reader and the platform client :func:`tests.kiosk_citizens.remembers` skips)."""
    return {k: v for k, v in vars(flow).items() if k not in ("camera", "watcher")}


def scans(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "scans").rglob("*") if p.is_file()]


def to_form(flow: SelfSubmissionFlow, platform: Platform, reader: IdCardReader,
            person: Person) -> Screen:  # fmt: skip
    """Item → situation → materials → ID card: the form's mode screen."""
    items = flow.start()
    assert items.name == "choose_item"
    assert ITEM in [i["name"] for i in items.data["items"]]
    situations = flow.choose_item(platform.item_code())
    assert [s["name"] for s in situations.data["situations"]] == ["一般困难家庭", "因病因残致贫家庭"]
    materials = flow.choose_situation(SITUATION)
    assert materials.name == "materials"
    assert materials.data["to_capture"] == 3
    assert [m["name"] for m in materials.data["materials"] if m["by_form"]] == ["最低生活保障申请书"]
    assert flow.confirm_materials().name == "identify_card"
    simulator_of(reader).place(card_of(person))
    mode = flow.identified(flow.identify.read_card())
    assert mode.name == "form_mode"
    return mode


def fill_on_screen(flow: SelfSubmissionFlow) -> Screen:
    for key, value in PHONE_VALUES.items():
        screen = flow.set_field(key, value)
        assert screen.name == "form", screen.error_key
    return flow.form_done()


def lay(sim: MjpegCameraSim, flow: SelfSubmissionFlow, page: bytes, tries: int = 12) -> Screen:
    """The citizen's hand moves over the desk, then the page lies still: the page shot."""
    sim.frames = MOVING
    moving = flow.watch()
    assert (moving.name, moving.error_key) == ("capture", "hand_in_frame")
    assert moving.error_text == "请将手移出拍摄区域"
    sim.frames = [page]
    for _ in range(tries):
        screen = flow.watch()
        if screen.name == "page":
            return screen
    raise AssertionError(f"no page shot: {screen.name} {screen.error_key}")


def capture_all(sim: MjpegCameraSim, flow: SelfSubmissionFlow) -> Screen:
    seeds = list(PAGES)
    screen = Screen("", "result", {})
    for n, seed in enumerate(seeds):
        screen = lay(sim, flow, PAGES[seed])
        assert screen.data["index"] == n + 1
        screen = flow.next_material()
    return screen


# --- the main path ------------------------------------------------------------------------


def test_a_citizen_submits_with_the_phone_form_and_three_materials_and_gets_a_receipt(
    hall_db: HallDb, platform: Platform, reader: IdCardReader,
    desk_camera: tuple[MjpegCameraSim, DocumentCamera], cups_pdf: DocumentPrinter,
    cups: CupsServer, tmp_path: Path,
) -> None:  # fmt: skip
    sim, camera = desk_camera
    printed_before = len(cups.pdfs())
    data_dir = tmp_path / "kiosk"
    http = platform.http()
    flow = SelfSubmissionFlow(context(hall_db, http, reader, data_dir, cups_pdf), camera,
                              phone_wait_s=1.0)  # fmt: skip
    person = platform.person()
    to_form(flow, platform, reader, person)

    # The form, on the phone: the kiosk shows the mobile page's address as a QR code.
    qr = flow.fill_by_phone()
    assert qr.name == "phone_qr" and "/m/f/" in qr.data["url"]
    assert flow.poll_phone().name == "phone_qr"  # nothing yet
    phone = Phone(tmp_path / "phone")
    try:
        phone.open(qr.data["url"])
        assert phone.state() == "ready"
        phone.fill({**PHONE_VALUES, "phone": "1391234"})
        assert phone.submit() == "invalid"
        assert phone.text("status") == "联系电话须为11位手机号码"
        phone.screenshot(ARTIFACTS / "phone_form_invalid.png")
        phone.fill({"phone": PHONE_VALUES["phone"]})
        assert phone.submit() == "submitted"
        assert phone.text("status") == "提交成功，请回到自助终端继续办理"
        phone.screenshot(ARTIFACTS / "phone_form_submitted.png")
    finally:
        phone.close()
    form = flow.poll_phone()
    assert (form.name, form.data["complete"], form.data["from_phone"]) == ("form", True, True)
    assert {f["key"]: f["value"] for f in form.data["fields"]} == PHONE_VALUES
    # The platform dropped the values once the kiosk had them.
    assert [(s.status, s.values) for s in platform.desk.sessions()] == [("closed", None)]

    # Three materials under the 高拍仪; the first retaken, the second with two pages.
    first = flow.form_done()
    assert (first.name, first.data["index"], first.data["total"]) == ("capture", 1, 3)
    assert first.data["material"]["name"] == "申请人居民身份证"
    shot = lay(sim, flow, PAGES[33])
    image = cv2.imread(shot.data["image"])
    assert image is not None and image.shape[0] > image.shape[1]  # the cropped, upright page
    assert flow.retake().name == "capture"
    assert not Path(shot.data["image"]).exists()
    lay(sim, flow, PAGES[33])
    second = flow.next_material()
    assert second.data["material"]["name"] == "居民户口簿"
    lay(sim, flow, PAGES[42])
    assert flow.add_page().data["pages"] == 1
    assert lay(sim, flow, PAGES[44]).data["page_no"] == 2
    flow.next_material()
    last = lay(sim, flow, PAGES[33])
    assert last.data["last"] is True
    review = flow.next_material()
    assert review.name == "review"
    assert [(m["name"], m["pages"]) for m in review.data["materials"]] == [
        ("申请人居民身份证", 1), ("居民户口簿", 2), ("家庭经济状况核对授权书", 1)
    ]
    assert len(scans(data_dir)) == 4

    done = flow.submit()
    assert (done.name, done.data["printed"], done.error_key) == ("done", True, None)
    case_no = done.data["case_no"]
    assert platform.desk.cases == [(case_no, platform.item_code(), SITUATION,
                                    {"M01": 1, "M02": 2, "M04": 1})]  # fmt: skip
    assert flow.submit().data["case_no"] == case_no  # a second tap files nothing more
    assert len(platform.desk.cases) == 1
    assert len(cups.pdfs()) == printed_before + 1
    receipt = cups.pdfs()[-1].read_bytes()
    assert re.findall(rb"/MediaBox \[ ?0 0 (\d+)\S* (\d+)\S* ?\]", receipt) == [(b"595", b"842")]
    assert [(e["function"], e["item"], e["outcome"], e["ref"])
            for e in events(hall_db, Kind.KIOSK_TRANSACTION)] == [
        ("self_submission", platform.item_code(), "done", case_no)
    ]  # fmt: skip
    assert [(e["function"], e["outcome"]) for e in events(hall_db, Kind.DOCUMENT_PRINTED)] == [
        ("self_submission", "done")
    ]
    assert scans(data_dir) == []  # uploaded: nothing of the documents stays on the kiosk
    flow.leave()
    assert not remembers(memory(flow), person.id_number)
    assert not remembers(memory(flow), PHONE_VALUES["phone"])
    http.close()


def test_each_bad_placement_gets_its_own_instruction(
    hall_db: HallDb, platform: Platform, reader: IdCardReader,
    desk_camera: tuple[MjpegCameraSim, DocumentCamera], tmp_path: Path,
) -> None:  # fmt: skip
    sim, camera = desk_camera
    http = platform.http()
    flow = SelfSubmissionFlow(context(hall_db, http, reader, tmp_path / "kiosk"), camera)
    to_form(flow, platform, reader, platform.person())
    assert fill_on_screen(flow).name == "capture"
    page = make_scene(33, FRAME, card=False).image
    bad = {
        "frame_blurry": jpeg(cv2.GaussianBlur(page, (0, 0), 2.5)),
        "frame_glare": make_scene(1, FRAME, card=False, cover="glare_corner", jpeg_quality=90).jpeg,
        "two_pages_found": make_scene(6, FRAME, layout="two", card=False, jpeg_quality=90).jpeg,
        "page_out_of_frame": make_scene(1, FRAME, layout="off_edge", card=False,
                                        jpeg_quality=90).jpeg,
    }  # fmt: skip
    told = {}
    for key, frame in bad.items():
        sim.frames = MOVING
        flow.watch()
        sim.frames = [frame]
        screen = flow.watch()
        assert (screen.name, screen.error_key) == ("capture", key)
        told[key] = screen.error_text
    assert len(set(told.values())) == 4  # four different sentences
    assert told["page_out_of_frame"] == "材料超出拍摄区域，请将材料移到拍摄区域中央"
    assert scans(tmp_path / "kiosk") == []
    http.close()


# --- faults -------------------------------------------------------------------------------


def test_the_camera_unplugged_mid_capture_says_so_and_capture_goes_on_once_it_is_back(
    hall_db: HallDb, platform: Platform, reader: IdCardReader,
    desk_camera: tuple[MjpegCameraSim, DocumentCamera], tmp_path: Path,
) -> None:  # fmt: skip
    sim, camera = desk_camera
    http = platform.http()
    flow = SelfSubmissionFlow(context(hall_db, http, reader, tmp_path / "kiosk"), camera)
    to_form(flow, platform, reader, platform.person())
    fill_on_screen(flow)
    lay(sim, flow, PAGES[33])
    flow.next_material()
    sim.inject(Fault.UNPLUG)
    deadline = time.monotonic() + 60
    while (screen := flow.watch()).error_key != "camera_unplugged":
        assert time.monotonic() < deadline, screen.error_key
    assert screen.data["camera_fault"] is True and screen.data["index"] == 2
    assert screen.error_text == "高拍仪已断开，请联系工作人员"
    assert len(scans(tmp_path / "kiosk")) == 1  # the first material's page is kept
    sim.plug()
    deadline = time.monotonic() + 60
    while camera.health().state is not HealthState.OK:  # the camera reopens the stream
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert lay(sim, flow, PAGES[42]).data["index"] == 2
    http.close()


def test_a_phone_form_never_submitted_expires_and_the_citizen_fills_on_screen(
    hall_db: HallDb, platform: Platform, reader: IdCardReader, tmp_path: Path,
) -> None:  # fmt: skip
    http = platform.http()
    flow = SelfSubmissionFlow(context(hall_db, http, reader, tmp_path / "kiosk"),
                              phone_wait_s=0.2)  # fmt: skip
    to_form(flow, platform, reader, platform.person())
    qr = flow.fill_by_phone()
    assert flow.poll_phone().name == "phone_qr"
    (session,) = platform.desk.sessions()
    platform.desk.expire(session.session_id)
    expired = flow.poll_phone()
    assert (expired.name, expired.error_key) == ("form", "phone_form_expired")
    assert expired.error_text == "手机填表已超时，请重新扫码或在本机填写"
    with pytest.raises(urllib.error.HTTPError) as gone:
        urllib.request.urlopen(qr.data["url"], timeout=10)
    assert gone.value.code == 410
    assert fill_on_screen(flow).name == "capture"  # no camera here: it says so
    http.close()


def test_the_platform_refusing_shows_why_and_a_corrected_submission_files_one_case(
    hall_db: HallDb, platform: Platform, reader: IdCardReader,
    desk_camera: tuple[MjpegCameraSim, DocumentCamera], tmp_path: Path,
) -> None:  # fmt: skip
    sim, camera = desk_camera
    http = platform.http()
    flow = SelfSubmissionFlow(context(hall_db, http, reader, tmp_path / "kiosk"), camera)
    to_form(flow, platform, reader, platform.person())
    fill_on_screen(flow)
    assert capture_all(sim, flow).name == "review"
    platform.desk.refuse_next("MATERIAL_UNREADABLE", "材料图像无法辨认")
    refused = flow.submit()
    assert (refused.name, refused.error_key) == ("review", "submission_refused")
    assert refused.data["upstream_code"] == "MATERIAL_UNREADABLE"
    assert platform.desk.cases == []
    retaken = flow.recapture("M02")
    assert retaken.data["material"]["id"] == "M02"
    lay(sim, flow, PAGES[42])
    assert flow.next_material().name == "review"
    done = flow.submit()  # no printer on this kiosk: filed, and the receipt says why not
    assert (done.name, done.data["printed"], done.error_key) == ("done", False, "device_not_found")
    assert len(platform.desk.cases) == 1
    assert [(e["outcome"], e.get("error_code")) for e in events(hall_db, Kind.KIOSK_TRANSACTION)] == [
        ("failed", 821), ("done", None)
    ]
    http.close()


def test_a_lost_answer_is_settled_with_the_same_key_and_files_the_case_once(
    hall_db: HallDb, platform: Platform, reader: IdCardReader,
    desk_camera: tuple[MjpegCameraSim, DocumentCamera], tmp_path: Path,
) -> None:  # fmt: skip
    sim, camera = desk_camera
    with TcpProxy(("127.0.0.1", platform.server.port)) as proxy:
        http = platform.http(f"http://{proxy.address[0]}:{proxy.address[1]}", read_timeout_s=2.0)
        data_dir = tmp_path / "kiosk"
        flow = SelfSubmissionFlow(context(hall_db, http, reader, data_dir), camera)
        to_form(flow, platform, reader, platform.person())
        fill_on_screen(flow)
        capture_all(sim, flow)
        proxy.cut_after_request(b"POST /submissions/cases")
        lost = flow.submit()
        assert (lost.name, lost.error_key) == ("unknown", "outcome_unknown")
        assert len(platform.desk.cases) == 1  # filed: only the answer was lost
        key = flow.key
        assert key is not None and flow.ledger.entry(key)["state"] == "sending"
        assert flow.submit().name == "unknown"  # a second tap while cut: still unknown
        proxy.restore()
        done = flow.settle()
        assert done.name == "done" and len(platform.desk.cases) == 1
        assert done.data["case_no"] == platform.desk.cases[0][0]
        assert flow.ledger.entry(key) == {"item": platform.item_code(), "state": "done",
                                          "case_no": done.data["case_no"]}  # fmt: skip
        assert [(e["outcome"], e["ref"]) for e in events(hall_db, Kind.KIOSK_TRANSACTION)] == [
            ("unknown", key), ("done", done.data["case_no"])
        ]
        http.close()


def test_a_disk_too_full_for_the_scans_is_refused_before_the_camera_starts(
    hall_db: HallDb, platform: Platform, reader: IdCardReader,
    desk_camera: tuple[MjpegCameraSim, DocumentCamera], tmp_path: Path,
) -> None:  # fmt: skip
    sim, camera = desk_camera
    http = platform.http()
    data_dir = tmp_path / "kiosk"
    data_dir.mkdir()
    # A reserve just above what is free: the disk is "full" for this kiosk.
    reserve = shutil.disk_usage(data_dir).free
    flow = SelfSubmissionFlow(context(hall_db, http, reader, data_dir), camera,
                              reserve_bytes=reserve)  # fmt: skip
    to_form(flow, platform, reader, platform.person())
    full = fill_on_screen(flow)
    assert (full.name, full.error_key) == ("storage_full", "scan_storage_full")
    assert error_text(full.error_key) == "本机存储空间不足，暂时无法拍摄材料，请联系工作人员"
    assert flow.watcher is None and scans(data_dir) == []
    http.close()


def test_a_citizen_who_walks_away_leaves_no_scan_and_no_form_behind(
    hall_db: HallDb, platform: Platform, reader: IdCardReader,
    desk_camera: tuple[MjpegCameraSim, DocumentCamera], tmp_path: Path,
) -> None:  # fmt: skip
    sim, camera = desk_camera
    http = platform.http()
    data_dir = tmp_path / "kiosk"
    ctx = context(hall_db, http, reader, data_dir)
    row = built_in("self_submission")
    home = KioskHome(ctx, [row])
    flow = home.flows[row.id]
    assert isinstance(flow, SelfSubmissionFlow)
    flow.camera = camera
    home.open(row.id)
    person = platform.person()
    home.step(row.id, lambda f: to_form(f, platform, reader, person))
    home.step(row.id, lambda f: fill_on_screen(f))
    home.step(row.id, lambda f: lay(sim, f, PAGES[33]))
    assert len(scans(data_dir)) == 1
    hall_db.clock.advance(ctx.idle_timeout_s + 1)
    assert home.tick().name == "home"  # walked away: the kiosk went home by itself
    assert scans(data_dir) == [] and list((data_dir / "scans").iterdir()) == []
    assert not remembers(memory(flow), person.id_number)
    assert not remembers(memory(flow), PHONE_VALUES["address"])
    assert platform.desk.cases == []
    http.close()
