"""Every built-in kiosk function's main path, by touch, in one real kiosk window under Xvfb.

One kiosk process (``python -m tests.kiosk_tour``, the UI driver with an ID card to lay on
the reader) is started against the simulated government platform (every domain), the three
payment gateways, a private CUPS (cups-pdf queue), the 高拍仪 (an MJPEG camera simulator) and
the simulated ticket printer and ID card reader, and a citizen after citizen goes through each
function from the home screen and back: 取号, 预约取号, 办事指南, 办件查询 (the ID number and then
a case number typed on the on-screen keyboard), 生活缴费 (the account typed; the simulated buyer
scans and pays), 证明打印 (the certificate comes out of CUPS as a PDF), 便民查询, 高龄认证 (typed on
the on-screen keyboard), 自助申报 (the form filled on a phone, headless Chromium, from the QR
code read off the kiosk's screenshot; three materials laid under the camera), 自助填表 (typed,
printed), 自助复印 (an ID card's two sides, two copies), 服务评价. Each test below asserts what
its citizen saw and what happened upstream.

The test process plays the citizen's hands between the kiosk's steps: the script touches a cue
file (``touch_file``), the test pays, fills the phone form or lays a page on the camera's desk,
and touches ``<cue>.done``, which the script waits for (``wait_file``).

The tour runs once for the module (a kiosk start-up is the slow part); a function the tour did
not reach fails with the step that stopped it. Screenshots, one per function and a few more:
``test-artifacts/ui/test_kiosk_functions_ui/``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import pytest

from core.events import Kind
from flows.kiosk_functions import BUILT_IN
from hallstore import journal
from tests.kiosk_tour import BANK_CARD, ELECTRICITY_ACCOUNT, KioskRig, card_step, keys, start_rig
from tests.phone_browser import Phone
from tests.test_self_copy import BACK, FRONT
from tests.test_self_submission import ITEM, MOVING, PAGES, PHONE_VALUES, SITUATION
from tests.ui.fixtures import ARTIFACTS, RUN_TIMEOUT_S, UiLauncher, xvfb  # noqa: F401

pytestmark = pytest.mark.ui

SHOTS = ARTIFACTS / "test_kiosk_functions_ui"
PHONE = "13912345678"
#: The whole tour's ceiling: twelve functions, each a few seconds on an idle machine.
TOUR_TIMEOUT_S = 4 * RUN_TIMEOUT_S
#: The form 自助填表 prints (its fields: phone, address, contribution).
PENSION_FORM = "城乡居民养老保险参保登记"
#: The three materials 自助申报 asks for, in order, and the page laid for each.
MATERIALS = [("M01", "申请人居民身份证"), ("M02", "居民户口簿"), ("M04", "家庭经济状况核对授权书")]
LAID = list(PAGES.values())


class TourLauncher(UiLauncher):
    """Runs the kiosk under ``python -m tests.kiosk_tour``."""

    @property
    def driver(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("tests.kiosk_tour",)


@dataclass
class Tour:
    """The tour's outcome: what the driver saw, and the rig it ran against."""

    rig: KioskRig
    result: dict[str, Any]
    citizens: dict[str, Any]
    script: list[dict[str, Any]] = field(default_factory=list)
    pdfs: list[Path] = field(default_factory=list)
    paid_order: str | None = None
    phone_url: str | None = None
    phone_state: str | None = None
    phone_status: str | None = None
    log: str = ""
    problems: list[str] = field(default_factory=list)

    def shown(self, name: str) -> dict[str, str]:
        """The ui_id texts of snapshot ``name``; fails with where the tour stopped."""
        snaps = self.result.get("snapshots", {})
        if name not in snaps:
            raise AssertionError(
                f"the tour did not reach snapshot {name!r}: {self.result.get('error')}\n"
                f"on screen: {snaps.get('at_failure')}\n{self.problems}\n{self.log}"
            )
        return dict(snaps[name])

    def inputs(self, name: str) -> dict[str, Any]:
        """What could bring up another keyboard at ``name`` (``inputs`` op)."""
        found = self.result.get("inputs", {})
        if name not in found:
            raise AssertionError(f"the tour did not reach {name!r}: {self.result.get('error')}")
        return dict(found[name])


def _home(next_tile: str) -> list[dict[str, Any]]:
    """返回首页, and the home screen is back."""
    return [{"op": "tap", "id": "home_button"}, {"op": "wait_on_screen", "id": next_tile}]


def _identify(person: Any) -> list[dict[str, Any]]:
    """请刷身份证 on screen: the card on the reader, 读取证件."""
    return [{"op": "wait", "id": "identify_read"}, card_step(person),
            {"op": "tap", "id": "identify_read"}]  # fmt: skip


def _cue(work: Path, name: str, timeout: float = 60) -> list[dict[str, Any]]:
    """The test process's turn: the script touches ``name`` and waits for ``name.done``."""
    done = str(work / f"{name}.done")
    return [{"op": "touch_file", "path": str(work / name)},
            {"op": "wait_file", "path": done, "timeout": timeout}]  # fmt: skip


def _shot(name: str) -> list[dict[str, Any]]:
    """A screenshot once the frame has caught up: a label's new text is drawn on the next frame
    after the widget took it, and a screenshot taken at once would miss it."""
    return [{"op": "pause", "seconds": 0.3}, {"op": "screenshot", "name": name}]


def _typed(field: str, text: str, first_key: str) -> list[dict[str, Any]]:
    """The keyboard on screen, ``text`` tapped on it, and the field showing it."""
    return [{"op": "wait_on_screen", "id": f"{field}_key_{first_key}"}, *keys(field, text),
            {"op": "wait_text", "id": field, "match": f"^{text}$"}]  # fmt: skip


def _address(field: str) -> list[dict[str, Any]]:
    """昆仑路12号 on a pinyin keyboard with its digit layout."""
    return [
        {"op": "wait_on_screen", "id": f"{field}_key_k"},
        *keys(field, "kunlun"),
        {"op": "wait_text", "id": f"{field}_candidate_0", "match": "^昆仑$"},
        {"op": "tap", "id": f"{field}_candidate_0"},
        *keys(field, "lu"),
        {"op": "wait_text", "id": f"{field}_candidate_0", "match": "^路$"},
        {"op": "tap", "id": f"{field}_candidate_0"},
        {"op": "tap", "id": f"{field}_key_layout_digits"},
        {"op": "wait_on_screen", "id": f"{field}_key_1"},
        *keys(field, "12"),
        {"op": "tap", "id": f"{field}_key_layout_pinyin"},
        {"op": "wait_on_screen", "id": f"{field}_key_h"},
        *keys(field, "hao"),
        {"op": "wait_text", "id": f"{field}_candidate_1", "match": "^号$"},
        {"op": "tap", "id": f"{field}_candidate_1"},
        {"op": "wait_text", "id": field, "match": "^昆仑路12号$"},
    ]


def _capture(work: Path, n: int) -> list[dict[str, Any]]:
    """One material under the 高拍仪: the hand over the desk is seen, the page is laid and shot
    by itself, then the hand takes it away and 下一份材料 (完成拍摄 for the last) is tapped."""
    first = n == 1
    return [
        {"op": "wait_text", "id": "self_submission_instruction", "match": "^请将手移出拍摄区域$"},
        *(_shot("09c-self_submission-hand") if first else []),
        *_cue(work, f"lay-{n}"),
        {"op": "wait", "id": "self_submission_page_image"},
        {"op": "snapshot", "name": f"self_submission_page_{n}"},
        *(_shot("09d-self_submission-page") if first else []),
        *_cue(work, f"lift-{n}"),
        {"op": "tap", "id": "self_submission_next"},
    ]


def _script(rig: KioskRig, citizens: dict[str, Any], work: Path) -> list[dict[str, Any]]:
    cases = citizens["cases"]
    first_case, second_case = cases[0]["case_no"], cases[1]["case_no"]
    typed_id = citizens["cases_of"].id_number
    return [
        # 取号
        {"op": "wait_on_screen", "id": "take_button"},
        {"op": "screenshot", "name": "00-home"},
        {"op": "tap", "id": "take_button"},
        {"op": "tap", "id": "service_social"},
        {"op": "wait_text", "id": "ticket_no", "match": r"^A\d{3}$"},
        {"op": "snapshot", "name": "ticket"},
        {"op": "screenshot", "name": "01-ticket"},
        *_home("function_appointments"),
        # 预约取号: 我要预约, a service, the first free slot, the card, 确认预约
        {"op": "tap", "id": "function_appointments"},
        {"op": "tap", "id": "appointments_book"},
        {"op": "tap", "id": "appointments_service_social"},
        # Not today's: a slot can end while the citizen looks at it.
        {"op": "tap_first", "prefix": "appointments_slot_", "exclude": rig.today.isoformat(),
         "as": "slot"},
        *_identify(citizens["booker"]),
        {"op": "wait", "id": "appointments_confirm"},
        {"op": "snapshot", "name": "appointments_confirm"},
        {"op": "tap", "id": "appointments_confirm"},
        {"op": "wait_text", "id": "appointments_booking_no", "match": r"\S"},
        {"op": "snapshot", "name": "appointments"},
        {"op": "screenshot", "name": "02-appointments"},
        {"op": "lift_card"},
        *_home("function_service_guide"),
        # 办事指南: s f z on the pinyin keyboard lists 身份证 items as the letters are typed;
        # picking 身份证 searches the word; the first item's guide
        {"op": "tap", "id": "function_service_guide"},
        {"op": "tap", "id": "service_guide_text_fold"},
        {"op": "tap", "id": "service_guide_text_key_s"},
        {"op": "wait_text", "id": "service_guide_text_preedit", "match": "^s$"},
        {"op": "tap", "id": "service_guide_text_key_f"},
        {"op": "wait_text", "id": "service_guide_text_preedit", "match": "^sf$"},
        {"op": "tap", "id": "service_guide_text_key_z"},
        {"op": "wait_text", "id": "service_guide_text_preedit", "match": "^sfz$"},
        {"op": "wait", "id": "service_guide_text_candidate_0"},
        {"op": "snapshot", "name": "service_guide_letters"},
        {"op": "inputs", "name": "service_guide_text"},
        {"op": "tap", "id": "service_guide_text_candidate_0"},
        {"op": "wait_text", "id": "service_guide_text", "match": "^身份证$"},
        {"op": "pause", "seconds": 0.5},
        {"op": "snapshot", "name": "service_guide_search"},
        {"op": "tap_first", "prefix": "service_guide_item_", "as": "guide_item"},
        {"op": "wait", "id": "service_guide_materials_title"},
        {"op": "snapshot", "name": "service_guide"},
        {"op": "screenshot", "name": "03-service_guide"},
        *_home("function_case_progress"),
        # 办件查询: no card with her, the ID number typed (X is refused before the 18th place),
        # her cases, the first one's steps; then a case by its number on the code keyboard
        {"op": "tap", "id": "function_case_progress"},
        {"op": "tap", "id": "case_progress_by_card"},
        {"op": "tap", "id": "identify_type"},
        {"op": "wait_on_screen", "id": "identify_number_key_x"},
        {"op": "tap", "id": "identify_number_key_x"},
        *_typed("identify_number", typed_id, "1"),
        {"op": "inputs", "name": "identify_number"},
        *_shot("04a-case_progress-id_number"),
        {"op": "tap", "id": "identify_submit"},
        {"op": "wait", "id": f"case_progress_case_{first_case}"},
        {"op": "snapshot", "name": "case_progress_list"},
        {"op": "tap", "id": f"case_progress_case_{first_case}"},
        {"op": "wait", "id": "case_progress_status"},
        {"op": "snapshot", "name": "case_progress"},
        {"op": "screenshot", "name": "04-case_progress"},
        *_home("function_case_progress"),
        {"op": "tap", "id": "function_case_progress"},
        {"op": "tap", "id": "case_progress_by_case_no"},
        *_typed("case_progress_case_no", second_case, "b"),
        {"op": "inputs", "name": "case_progress_case_no"},
        *_shot("04b-case_progress-case_no"),
        {"op": "tap", "id": "case_progress_submit"},
        {"op": "wait_text", "id": "case_progress_case_no_shown", "match": f"：{second_case}$"},
        {"op": "snapshot", "name": "case_progress_by_number"},
        *_home("function_bill_payment"),
        # 生活缴费: electricity, the account on the digit keys, 支付宝; the buyer scans; 缴费成功
        # and a receipt
        {"op": "tap", "id": "function_bill_payment"},
        {"op": "tap", "id": "bill_payment_type_electricity"},
        *_typed("bill_payment_account", ELECTRICITY_ACCOUNT, "0"),
        {"op": "inputs", "name": "bill_payment_account"},
        *_shot("05a-bill_payment-account"),
        {"op": "tap", "id": "bill_payment_lookup"},
        {"op": "wait", "id": "bill_payment_pay_alipay"},
        {"op": "snapshot", "name": "bill_payment_bill"},
        {"op": "tap", "id": "bill_payment_pay_alipay"},
        {"op": "wait", "id": "bill_payment_qr"},
        {"op": "snapshot", "name": "bill_payment_qr"},
        {"op": "screenshot", "name": "05b-bill_payment-qr"},
        *_cue(work, "pay"),
        {"op": "wait", "id": "bill_payment_done", "timeout": 90},
        {"op": "snapshot", "name": "bill_payment"},
        {"op": "screenshot", "name": "05-bill_payment"},
        *_home("function_certificates"),
        # 证明打印: the pension payment certificate, previewed, printed
        {"op": "tap", "id": "function_certificates"},
        {"op": "tap", "id": "certificates_pension_payment"},
        *_identify(citizens["pension"]),
        {"op": "wait", "id": "certificates_print"},
        {"op": "snapshot", "name": "certificates_preview"},
        {"op": "tap", "id": "certificates_print"},
        {"op": "wait", "id": "certificates_printed", "timeout": 90},
        {"op": "snapshot", "name": "certificates"},
        {"op": "screenshot", "name": "06-certificates"},
        {"op": "lift_card"},
        *_home("function_convenience_queries"),
        # 便民查询: 公积金个人信息查询 by card
        {"op": "tap", "id": "function_convenience_queries"},
        {"op": "scroll_to", "id": "convenience_queries_housing_fund_account"},
        {"op": "tap", "id": "convenience_queries_housing_fund_account"},
        *_identify(citizens["fund"]),
        {"op": "wait", "id": "convenience_queries_field_0"},
        {"op": "snapshot", "name": "convenience_queries"},
        {"op": "screenshot", "name": "07-convenience_queries"},
        {"op": "lift_card"},
        *_home("function_elderly_subsidy"),
        # 高龄认证: the elder's card, the form typed on the on-screen keyboard, 确认提交
        {"op": "tap", "id": "function_elderly_subsidy"},
        {"op": "tap", "id": "elderly_subsidy_begin"},
        *_identify(citizens["elder"]),
        {"op": "wait", "id": "form_row_phone"},
        {"op": "snapshot", "name": "elderly_subsidy_form"},
        {"op": "tap", "id": "form_row_phone"},
        {"op": "wait_on_screen", "id": "form_field_key_1"},
        *keys("form_field", PHONE),
        {"op": "wait_text", "id": "form_field", "match": f"^{PHONE}$"},
        {"op": "tap", "id": "form_ok"},
        {"op": "tap", "id": "form_row_address"},
        *_address("form_field"),
        *_shot("08a-elderly_subsidy-keyboard"),
        {"op": "tap", "id": "form_ok"},
        {"op": "tap", "id": "form_row_bank_name"},
        {"op": "tap", "id": "form_option_5"},
        {"op": "tap", "id": "form_row_bank_card_no"},
        {"op": "wait_on_screen", "id": "form_field_key_1"},
        *keys("form_field", BANK_CARD),
        {"op": "wait_text", "id": "form_field", "match": f"^{BANK_CARD}$"},
        {"op": "tap", "id": "form_ok"},
        {"op": "tap", "id": "elderly_subsidy_review"},
        {"op": "wait", "id": "elderly_subsidy_submit"},
        {"op": "snapshot", "name": "elderly_subsidy_confirm"},
        {"op": "tap", "id": "elderly_subsidy_submit"},
        {"op": "wait", "id": "elderly_subsidy_done"},
        {"op": "snapshot", "name": "elderly_subsidy"},
        {"op": "screenshot", "name": "08-elderly_subsidy"},
        {"op": "lift_card"},
        *_home("function_self_submission"),
        # 自助申报: the item and its situation, the card, the form on the phone (the test's
        # Chromium reads the QR code off the screenshot), three materials, review, submit
        {"op": "tap", "id": "function_self_submission"},
        {"op": "tap", "id": f"self_submission_item_{citizens['submission_item'][-12:]}"},
        {"op": "tap", "id": f"self_submission_situation_{SITUATION}"},
        {"op": "wait", "id": "self_submission_begin"},
        {"op": "snapshot", "name": "self_submission_materials"},
        {"op": "tap", "id": "self_submission_begin"},
        *_identify(citizens["applicant"]),
        {"op": "tap", "id": "form_by_phone"},
        {"op": "wait_on_screen", "id": "form_phone_qr"},
        *_shot("09a-self_submission-phone_qr"),
        *_cue(work, "phone", timeout=240),
        {"op": "wait", "id": "form_from_phone"},
        {"op": "snapshot", "name": "self_submission_form"},
        *_shot("09b-self_submission-form"),
        {"op": "tap", "id": "form_next"},
        *_capture(work, 1),
        *_capture(work, 2),
        *_capture(work, 3),
        {"op": "wait", "id": "self_submission_submit"},
        # Every material is there to see and tap again, not only the form's rows.
        *[{"op": "wait_on_screen", "id": f"self_submission_redo_{m}"} for m, _ in MATERIALS],
        {"op": "snapshot", "name": "self_submission_review"},
        *_shot("09e-self_submission-review"),
        {"op": "tap", "id": "self_submission_submit"},
        {"op": "wait", "id": "self_submission_done", "timeout": 90},
        {"op": "snapshot", "name": "self_submission"},
        *_shot("09-self_submission"),
        {"op": "lift_card"},
        *_home("function_form_fill"),
        # 自助填表: the pension form, the card, filled on screen, previewed, printed
        {"op": "tap", "id": "function_form_fill"},
        {"op": "tap", "id": f"form_fill_item_{citizens['form_item'][-12:]}"},
        *_identify(citizens["form_filler"]),
        {"op": "tap", "id": "form_on_screen"},
        {"op": "tap", "id": "form_row_phone"},
        *_typed("form_field", PHONE, "1"),
        {"op": "tap", "id": "form_ok"},
        {"op": "tap", "id": "form_row_address"},
        *_address("form_field"),
        {"op": "tap", "id": "form_ok"},
        {"op": "tap", "id": "form_row_contribution"},
        {"op": "tap", "id": "form_option_2"},
        {"op": "wait_text", "id": "form_row_contribution", "match": "500元"},
        {"op": "tap", "id": "form_next"},
        {"op": "wait", "id": "form_fill_print"},
        {"op": "snapshot", "name": "form_fill_preview"},
        *_shot("10a-form_fill-preview"),
        {"op": "tap", "id": "form_fill_print"},
        {"op": "wait", "id": "form_fill_done", "timeout": 90},
        {"op": "snapshot", "name": "form_fill"},
        *_shot("10-form_fill"),
        {"op": "lift_card"},
        *_home("function_self_copy"),
        # 自助复印: an ID card for 社保, its front then its back shot, two copies, printed
        {"op": "tap", "id": "function_self_copy"},
        {"op": "tap", "id": "self_copy_id_card"},
        {"op": "tap", "id": "self_copy_purpose_social_security"},
        {"op": "wait", "id": "self_copy_capture"},
        *_cue(work, "card-front"),
        {"op": "tap", "id": "self_copy_capture"},
        {"op": "wait_text", "id": "self_copy_place", "match": "国徽面"},
        {"op": "wait", "id": "self_copy_last"},
        *_shot("11a-self_copy-front"),
        *_cue(work, "card-back"),
        {"op": "tap", "id": "self_copy_capture"},
        {"op": "wait", "id": "self_copy_print"},
        {"op": "tap", "id": "self_copy_more"},
        {"op": "wait_text", "id": "self_copy_copies", "match": "^2 份$"},
        {"op": "snapshot", "name": "self_copy_confirm"},
        *_shot("11b-self_copy-confirm"),
        {"op": "tap", "id": "self_copy_print"},
        {"op": "wait", "id": "self_copy_printed", "timeout": 90},
        {"op": "snapshot", "name": "self_copy"},
        *_shot("11-self_copy"),
        *_home("function_rating"),
        # 服务评价: 非常满意
        {"op": "tap", "id": "function_rating"},
        {"op": "tap", "id": "rating_level_5"},
        {"op": "wait", "id": "rating_thanks"},
        {"op": "snapshot", "name": "rating"},
        {"op": "screenshot", "name": "12-rating"},
        *_home("take_button"),
    ]


def _read_qr(png: Path) -> str:
    """What a phone's camera reads from the QR code in a screenshot of the kiosk."""
    image = cv2.imread(str(png))
    assert image is not None, png
    text, _points, _code = cv2.QRCodeDetector().detectAndDecode(image)
    return str(text)


def _fill_on_phone(tour: Tour, work: Path) -> None:
    """The citizen scans the kiosk's QR code, fills the form on the phone and submits it."""
    tour.phone_url = _read_qr(SHOTS / "09a-self_submission-phone_qr.png")
    assert tour.phone_url.startswith(f"{tour.rig.platform.url}/m/f/"), tour.phone_url
    phone = Phone(work / "phone-browser")
    try:
        phone.open(tour.phone_url)
        phone.fill(PHONE_VALUES)
        phone.screenshot(SHOTS / "09a-self_submission-phone_filled.png")
        tour.phone_state = phone.submit()
        tour.phone_status = phone.text("status")
        phone.screenshot(SHOTS / "09a-self_submission-phone_submitted.png")
    finally:
        phone.close()


def _cues(tour: Tour, work: Path) -> list[tuple[str, Callable[[], None]]]:
    """What the test process does at each cue of the script, in the script's order."""
    camera = tour.rig.camera

    def lay(frames: list[bytes]) -> Callable[[], None]:
        return lambda: setattr(camera, "frames", frames)

    def pay() -> None:
        tour.paid_order = tour.rig.pay_when_asked()

    captures: list[tuple[str, Callable[[], None]]] = []
    for n, page in enumerate(LAID, start=1):
        captures += [(f"lay-{n}", lay([page])), (f"lift-{n}", lay(MOVING))]
    return [("pay", pay), ("phone", lambda: _fill_on_phone(tour, work)), *captures,
            ("card-front", lay([FRONT])), ("card-back", lay([BACK]))]  # fmt: skip


@pytest.fixture(scope="module")
def tour(xvfb: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tour]:  # noqa: F811
    work = tmp_path_factory.mktemp("kiosk-tour")
    shutil.rmtree(SHOTS, ignore_errors=True)
    rig = start_rig(work)
    launcher = TourLauncher(xvfb, work, SHOTS)
    try:
        booker = rig.people.all[0]
        cases_of, cases = rig.with_cases(check_x=True)
        fund, fund_answer = rig.answered("housing-fund-account")
        citizens = {
            "booker": booker, "cases_of": cases_of, "cases": cases,
            "pension": rig.pension_payer(), "fund": fund, "fund_answer": fund_answer,
            "elder": rig.elder(),
        }  # fmt: skip
        applicant = rig.applicant([booker, cases_of])
        citizens.update(
            applicant=applicant, form_filler=rig.applicant([booker, cases_of, applicant]),
            submission_item=rig.item_code(ITEM), form_item=rig.item_code(PENSION_FORM),
        )  # fmt: skip
        # Before the tour, a hand moves over the 高拍仪's desk.
        rig.camera.frames = MOVING
        script = _script(rig, citizens, work)
        run = launcher.start(rig.argv(), script, "tour")
        tour = Tour(rig, {}, citizens, script)
        for cue, act in _cues(tour, work):
            try:
                run.wait_for_file(work / cue, timeout=TOUR_TIMEOUT_S)
                act()
            except Exception as err:  # noqa: BLE001  (reported by every test of the module)
                # The tour stopped before the cue, or the test's part failed (the script then
                # stops at its wait for the cue's answer); the result says where.
                tour.problems.append(f"{cue}: {err!r}")
                break
            (work / f"{cue}.done").touch()
        try:
            run.proc.wait(timeout=TOUR_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            run.stop()
            tour.problems.append(f"the tour did not finish in {TOUR_TIMEOUT_S}s")
        tour.pdfs = rig.cups.pdfs()
        if run.out.exists():
            tour.result = json.loads(run.out.read_text(encoding="utf-8"))
        tour.log = run.tail(30)
        yield tour
    finally:
        for started in launcher.runs:
            started.stop()
        rig.stop()


def _events(db: Path, kind: str) -> list[dict[str, Any]]:
    conn = journal.connect(db)
    try:
        return [p.event.data for p in journal.pending(conn, 10_000) if p.event.kind == kind]
    finally:
        conn.close()


def _job_title(pdf: Path) -> str:
    """The print job's title as cups-pdf wrote it into the file name (bytes beyond ASCII as
    ``ooo_`` octal triples, e.g. ``344_274_201_`` for 企)."""
    name = pdf.name.rsplit("-job_", 1)[0]
    raw = re.sub(r"([0-3][0-7]{2})_", lambda m: chr(int(m.group(1), 8)), name)
    return raw.encode("latin-1", errors="replace").decode("utf-8", errors="replace")


def _printed(tour: Tour, named: Callable[[str], bool]) -> list[Path]:
    """The PDFs CUPS wrote for jobs whose title ``named`` accepts."""
    return [pdf for pdf in tour.pdfs if named(_job_title(pdf))]


def _pdf_pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    return int(next(li for li in info.stdout.splitlines() if li.startswith("Pages:")).split()[1])


def test_the_tour_covers_every_built_in_function_and_ends_home(tour: Tour) -> None:
    tiles = {step["id"] for step in tour.script if step["op"] == "tap"}
    covered = {f.id for f in BUILT_IN if f"function_{f.id}" in tiles}
    covered |= {"ticket"} if "take_button" in tiles else set()
    missing = {f.id for f in BUILT_IN} - covered
    assert not missing, f"built-in kiosk functions the tour does not drive: {sorted(missing)}"
    assert tour.result.get("ok"), (
        f"{tour.result.get('error')}\n{tour.result.get('snapshots', {}).get('at_failure')}\n"
        f"{tour.problems}\n{tour.log}"
    )
    shots = sorted(p.name for p in SHOTS.glob("*.png"))
    # The home screen and one per function.
    assert len([s for s in shots if re.match(r"^\d\d-", s)]) == 1 + len(BUILT_IN), shots


@pytest.mark.parametrize("field", ["service_guide_text", "identify_number",
                                   "case_progress_case_no", "bill_payment_account"])  # fmt: skip
def test_typed_fields_use_the_kiosks_keyboard_and_never_call_up_another(
    tour: Tour, field: str
) -> None:
    # A focused text input would ask for the system keyboard (on a touch screen, the OS's own
    # pops up over the kiosk) or Kivy's VKeyboard; the kiosk's own keys are all it needs.
    assert tour.inputs(field) == {"text_inputs": [], "system_keyboard": False, "vkeyboards": 0}


def test_ticket_the_number_shown_is_the_one_printed(tour: Tour) -> None:
    shown = tour.shown("ticket")
    assert shown["ticket_no"] == "A001"
    assert shown["ticket_service"] == "社保医保"
    printed = [json.loads(li) for li in tour.rig.tickets.read_text(encoding="utf-8").splitlines()]
    assert len(printed) == 1 and "A001" in printed[0]["lines"]


def test_appointments_a_booked_slot_shows_its_booking_number(tour: Tour) -> None:
    confirm, booked = tour.shown("appointments_confirm"), tour.shown("appointments")
    booker = tour.citizens["booker"]
    assert booked["screen_title"] == "预约成功"
    number = booked["appointments_booking_no"]
    assert booked["appointments_service"] == "业务：社保医保"
    assert booked["appointments_time"] == confirm["appointments_time"]
    # What the platform holds: one booking, this number, for the card's holder.
    held = tour.rig.lookup("/bookings/search", id_number=booker.id_number)
    assert [b["booking_no"] for b in held["bookings"]] == [number], held
    # The confirm screen masked the citizen's name and number.
    assert booker.name not in confirm["appointments_citizen"]
    assert booker.id_number not in confirm["appointments_citizen"]
    slot = tour.result["tapped"]["slot"].removeprefix("appointments_slot_")
    assert held["bookings"][0]["start"].replace(":", "") == slot.split("T")[1]


def test_service_guide_sfz_finds_an_id_card_item_and_its_guide_lists_the_materials(
    tour: Tour,
) -> None:
    search, guide = tour.shown("service_guide_search"), tour.shown("service_guide")
    code = tour.result["tapped"]["guide_item"].removeprefix("service_guide_item_")
    item = tour.rig.get(f"/catalog/items/{code}")
    assert item is not None, code
    assert "身份证" in item["name"]
    assert re.match(r"^共找到[1-9]\d*项$", search["service_guide_total"])
    # The word picked on the pinyin keyboard is the search: every row holds it.
    assert tour.shown("service_guide_letters")["service_guide_text_preedit"] == "sfz"
    assert search["service_guide_text"] == "身份证"
    rows = [v for k, v in search.items() if k.startswith("service_guide_item_")]
    assert rows and all("身份证" in row for row in rows), rows
    assert guide["service_guide_name"] == item["name"]
    materials = {k: v for k, v in guide.items() if k.startswith("service_guide_material_")}
    assert guide["service_guide_materials_title"] == f"申请材料（{len(materials)}项）"
    assert materials and all(any(m["name"] in line for m in item["materials"])
                             for line in materials.values())  # fmt: skip


def test_case_progress_the_typed_id_number_lists_the_cases_and_a_case_shows_its_dated_steps(
    tour: Tour,
) -> None:
    listed, detail = tour.shown("case_progress_list"), tour.shown("case_progress")
    # Typed on the ID-number keyboard: its check character X, refused before the 18th place.
    assert tour.citizens["cases_of"].id_number.endswith("X")
    expected = tour.citizens["cases"]
    for case in expected:
        assert case["case_no"] in listed[f"case_progress_case_{case['case_no']}"]
    case = expected[0]
    assert detail["screen_title"] == case["item_name"]
    assert detail["case_progress_status"] == f"当前状态：{case['status']}"
    assert detail["case_progress_case_no_shown"] == f"办件编号：{case['case_no']}"
    for i, step in enumerate(case["steps"]):
        line = detail[f"case_progress_step_{i}"]
        assert step["name"] in line and (step["date"] or "待办理") in line
    assert tour.citizens["cases_of"].name not in str(detail)  # the applicant is masked


def test_case_progress_a_case_number_typed_on_the_code_keyboard_shows_that_case(
    tour: Tour,
) -> None:
    case = tour.citizens["cases"][1]
    assert re.fullmatch(r"[A-Z]+\d+", case["case_no"])  # letters and digits both typed
    shown = tour.shown("case_progress_by_number")
    assert shown["case_progress_case_no_shown"] == f"办件编号：{case['case_no']}"
    assert shown["screen_title"] == case["item_name"]
    assert shown["case_progress_status"] == f"当前状态：{case['status']}"


def test_bill_payment_the_buyer_pays_and_the_kiosk_says_paid_and_prints_a_receipt(
    tour: Tour,
) -> None:
    bill, paid = tour.shown("bill_payment_bill"), tour.shown("bill_payment")
    assert bill["bill_payment_amount"] == "应缴金额：¥158.73"
    assert tour.shown("bill_payment_qr")["screen_title"] == "请使用支付宝扫码支付"
    assert paid["bill_payment_done"] == "缴费成功"
    assert paid["bill_payment_order"] == f"订单号：{tour.paid_order}"
    assert "bill_payment_take_receipt" in paid and "error_line" not in paid
    assert tour.rig.charges() == [tour.paid_order]
    # One receipt came out of CUPS (cups-pdf names its file after the job).
    receipts = [pdf for pdf in tour.pdfs if _job_title(pdf).startswith("receipt-")]
    assert len(receipts) == 1 and _pdf_pages(receipts[0]) == 1, tour.pdfs
    done = [e for e in _events(tour.rig.db, Kind.KIOSK_TRANSACTION)
            if e["function"] == "bill_payment" and e["outcome"] == "done"]  # fmt: skip
    assert [(e["ref"], e["amount_fen"]) for e in done] == [(tour.paid_order, 15873)]


def test_certificates_the_pension_certificate_is_printed_as_a_pdf_by_cups(tour: Tour) -> None:
    preview, printed = tour.shown("certificates_preview"), tour.shown("certificates")
    assert preview["screen_title"] == "企业职工基本养老保险缴费凭证"
    assert printed["certificates_printed"] == "已打印，请在打印机出纸口取走"
    titles = {pdf: _job_title(pdf) for pdf in tour.pdfs}
    [certificate] = [pdf for pdf, title in titles.items() if title.startswith("企业职工")] or [titles]
    pages = re.search(r"共(\d+)页", preview.get("certificates_page", "共1页"))
    assert pages is not None and _pdf_pages(certificate) == int(pages.group(1))


def test_convenience_queries_the_housing_fund_answer_is_shown(tour: Tour) -> None:
    shown = tour.shown("convenience_queries")
    answer = tour.citizens["fund_answer"]
    assert shown["screen_title"] == "公积金个人信息查询"
    values = " ".join(v for k, v in shown.items() if k.startswith("convenience_queries_field_"))
    assert answer["employer"] in values and answer["account_state"] in values
    assert f"{answer['balance_fen'] / 100:,.2f}元" in values


def test_elderly_subsidy_the_typed_form_is_submitted_and_registered(tour: Tour) -> None:
    confirm, done = tour.shown("elderly_subsidy_confirm"), tour.shown("elderly_subsidy")
    rows = " ".join(v for k, v in confirm.items() if k.startswith("elderly_subsidy_row_"))
    assert "昆仑路12号" in rows and "青海银行" in rows
    assert BANK_CARD not in rows  # the bank card is shown masked
    assert done["elderly_subsidy_done"] == "认证已提交"
    assert re.search(r"登记编号：\S+", done["elderly_subsidy_registration_no"])
    elder = tour.citizens["elder"]
    state = tour.rig.lookup("/subsidy/elderly/eligibility", id_number=elder.id_number)
    assert state["certified_this_year"] is True


def test_rating_a_good_rating_is_thanked_and_journaled(tour: Tour) -> None:
    shown = tour.shown("rating")
    assert shown["rating_thanks"] == "感谢您的评价"
    assert shown["rating_result"] == "您的评价：非常满意"
    rated = _events(tour.rig.db, Kind.KIOSK_RATED)
    assert [(e["function"], e["level"]) for e in rated] == [("rating", 5)], rated


def test_self_submission_phone_form_three_materials_submitted_once_with_a_receipt(
    tour: Tour,
) -> None:
    desk, applicant = tour.rig.desk, tour.citizens["applicant"]
    materials = tour.shown("self_submission_materials")
    assert materials["self_submission_item"] == f"{ITEM}（一般困难家庭）"
    assert materials["self_submission_bring"] == "请准备以上材料原件，共3份需在高拍仪上拍摄"
    # The QR code on the kiosk's screen opened the platform's mobile form on the phone.
    assert tour.phone_url and "/m/f/" in tour.phone_url
    assert (tour.phone_state, tour.phone_status) == ("submitted", "提交成功，请回到自助终端继续办理")
    form = tour.shown("self_submission_form")
    assert form["form_from_phone"] == "已收到手机填写的内容，请核对"
    for key, value in PHONE_VALUES.items():
        assert form[f"form_row_{key}"].endswith(f"：{value}"), (key, form[f"form_row_{key}"])
    for n, (_id, name) in enumerate(MATERIALS, start=1):
        assert tour.shown(f"self_submission_page_{n}")["screen_title"] == f"{name} 第1页"
    assert tour.shown("self_submission_page_3")["self_submission_next"] == "完成拍摄"
    review = tour.shown("self_submission_review")
    assert review["self_submission_row_0"] == f"事项：{ITEM}（一般困难家庭）"
    assert review["self_submission_row_1"].startswith("申请人：")
    assert applicant.name not in str(review) and applicant.id_number not in str(review)
    for material_id, name in MATERIALS:
        assert review[f"self_submission_redo_{material_id}"] == f"{name}  1页  重新拍摄"
    done = tour.shown("self_submission")
    # Filed once, with a page per material, and the case number shown is the platform's.
    assert desk.cases == [(desk.cases[0][0], tour.citizens["submission_item"], SITUATION,
                           {m: 1 for m, _ in MATERIALS})]  # fmt: skip
    assert done["self_submission_done"] == "申报已提交"
    assert done["self_submission_case_no"] == f"办件编号：{desk.cases[0][0]}"
    assert done["self_submission_status"] == "已提交，待受理，共提交3页材料"
    assert done["self_submission_take_receipt"] == "请取走回执，凭办件编号查询办理进度"
    filed = [(e["outcome"], e["ref"]) for e in _events(tour.rig.db, Kind.KIOSK_TRANSACTION)
             if e["function"] == "self_submission"]  # fmt: skip
    assert filed == [("done", desk.cases[0][0])]
    printed = [e for e in _events(tour.rig.db, Kind.DOCUMENT_PRINTED)
               if e["function"] == "self_submission"]  # fmt: skip
    assert [e["outcome"] for e in printed] == ["done"]
    # The job 网上申报回执 (cups-pdf keeps the first few characters of a title in its file name).
    assert len(_printed(tour, lambda title: title.startswith("网上申报"))) == 1
    # The session's scans went with the submission.
    scans = tour.rig.data_dir / "scans"
    assert not scans.exists() or not [f for f in scans.rglob("*") if f.is_file()]


def test_form_fill_the_form_typed_on_screen_is_printed(tour: Tour) -> None:
    preview, printed = tour.shown("form_fill_preview"), tour.shown("form_fill")
    rows = [v for k, v in preview.items() if k.startswith("form_fill_row_")]
    for value in (PHONE, "昆仑路12号", "500元"):
        assert any(row.endswith(f"：{value}") for row in rows), (value, rows)
    assert tour.citizens["form_filler"].id_number not in str(preview)
    assert printed["form_fill_done"] == "打印完成"
    done = [e for e in _events(tour.rig.db, Kind.DOCUMENT_PRINTED) if e["function"] == "form_fill"]
    assert [(e["item"], e["outcome"]) for e in done] == [(tour.citizens["form_item"], "done")]
    [form] = _printed(tour, lambda title: title.startswith("城乡居民"))  # the form's name
    assert _pdf_pages(form) == 1


def test_self_copy_both_sides_of_the_card_are_copied_twice(tour: Tour) -> None:
    confirm, printed = tour.shown("self_copy_confirm"), tour.shown("self_copy")
    assert confirm["screen_title"] == "身份证复印"
    assert confirm["self_copy_purpose"] == "复印件加注水印：仅供办理社保业务使用"
    assert confirm["self_copy_copies"] == "2 份"
    assert printed["self_copy_printed"] == "已复印 2 份，请在打印机出纸口取走"
    done = [e for e in _events(tour.rig.db, Kind.DOCUMENT_PRINTED) if e["function"] == "self_copy"]
    assert [(e["item"], e["copies"], e["outcome"]) for e in done] == [
        ("social_security", 2, "done")
    ]
    [copy] = _printed(tour, lambda title: title.startswith("self_copy-kiosk-1-"))
    assert _pdf_pages(copy) == 2  # one page with both sides, twice


def test_every_print_of_the_tour_came_out_of_cups_once(tour: Tour) -> None:
    # 生活缴费's receipt, the certificate, 自助申报's receipt, the form, the copy: nothing twice.
    assert len(tour.pdfs) == 5, [_job_title(p) for p in tour.pdfs]
