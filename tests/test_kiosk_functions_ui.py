"""Every built-in kiosk function's main path, by touch, in one real kiosk window under Xvfb.

One kiosk process (``python -m tests.kiosk_tour``, the UI driver with an ID card to lay on
the reader) is started against the simulated government platform (every domain), the three
payment gateways, a private CUPS (cups-pdf queue) and the simulated ticket printer and ID card
reader, and a citizen after citizen goes through each function from the home screen and back:
取号, 预约取号, 办事指南, 办件查询, 生活缴费 (the simulated buyer scans and pays), 证明打印 (the
certificate comes out of CUPS as a PDF), 便民查询, 高龄认证 (typed on the on-screen keyboard),
服务评价. Each test below asserts what its citizen saw at the end and what happened upstream.

The tour runs once for the module (a kiosk start-up is the slow part); a function the tour did
not reach fails with the step that stopped it. Screenshots, one per function and a few more:
``test-artifacts/ui/test_kiosk_functions_ui/``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from core.events import Kind
from flows.kiosk_functions import BUILT_IN
from hallstore import journal
from tests.kiosk_tour import BANK_CARD, ELECTRICITY_ACCOUNT, KioskRig, card_step, keys, start_rig
from tests.ui.fixtures import ARTIFACTS, RUN_TIMEOUT_S, UiLauncher, xvfb  # noqa: F401

pytestmark = pytest.mark.ui

SHOTS = ARTIFACTS / "test_kiosk_functions_ui"
PHONE = "13912345678"
#: The whole tour's ceiling: nine functions, each a few seconds on an idle machine.
TOUR_TIMEOUT_S = 4 * RUN_TIMEOUT_S


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
    pdfs: list[Path] = field(default_factory=list)
    paid_order: str | None = None
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


def _home(next_tile: str) -> list[dict[str, Any]]:
    """返回首页, and the home screen is back."""
    return [{"op": "tap", "id": "home_button"}, {"op": "wait_on_screen", "id": next_tile}]


def _identify(person: Any) -> list[dict[str, Any]]:
    """请刷身份证 on screen: the card on the reader, 读取证件."""
    return [{"op": "wait", "id": "identify_read"}, card_step(person),
            {"op": "tap", "id": "identify_read"}]  # fmt: skip


def _script(rig: KioskRig, citizens: dict[str, Any], qr_file: Path) -> list[dict[str, Any]]:
    cases = citizens["cases"]
    first_case = cases[0]["case_no"]
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
        # 办事指南: S F Z on the letter keys finds 身份证 items; the first one's guide
        {"op": "tap", "id": "function_service_guide"},
        {"op": "tap", "id": "service_guide_key_S"},
        {"op": "wait_text", "id": "service_guide_text", "match": "(?i)^s$"},
        {"op": "tap", "id": "service_guide_key_F"},
        {"op": "wait_text", "id": "service_guide_text", "match": "(?i)^sf$"},
        {"op": "tap", "id": "service_guide_key_Z"},
        {"op": "wait_text", "id": "service_guide_text", "match": "(?i)^sfz$"},
        {"op": "snapshot", "name": "service_guide_search"},
        {"op": "tap_first", "prefix": "service_guide_item_", "as": "guide_item"},
        {"op": "wait", "id": "service_guide_materials_title"},
        {"op": "snapshot", "name": "service_guide"},
        {"op": "screenshot", "name": "03-service_guide"},
        *_home("function_case_progress"),
        # 办件查询: by card, the citizen's cases, the first one's steps
        {"op": "tap", "id": "function_case_progress"},
        {"op": "tap", "id": "case_progress_by_card"},
        *_identify(citizens["cases_of"]),
        {"op": "wait", "id": f"case_progress_case_{first_case}"},
        {"op": "snapshot", "name": "case_progress_list"},
        {"op": "tap", "id": f"case_progress_case_{first_case}"},
        {"op": "wait", "id": "case_progress_status"},
        {"op": "snapshot", "name": "case_progress"},
        {"op": "screenshot", "name": "04-case_progress"},
        {"op": "lift_card"},
        *_home("function_bill_payment"),
        # 生活缴费: electricity, the account, 支付宝; the buyer scans; 缴费成功 and a receipt
        {"op": "tap", "id": "function_bill_payment"},
        {"op": "tap", "id": "bill_payment_type_electricity"},
        {"op": "type", "id": "bill_payment_account", "text": ELECTRICITY_ACCOUNT},
        {"op": "tap", "id": "bill_payment_lookup"},
        {"op": "wait", "id": "bill_payment_pay_alipay"},
        {"op": "snapshot", "name": "bill_payment_bill"},
        {"op": "tap", "id": "bill_payment_pay_alipay"},
        {"op": "wait", "id": "bill_payment_qr"},
        {"op": "snapshot", "name": "bill_payment_qr"},
        {"op": "screenshot", "name": "05a-bill_payment-qr"},
        {"op": "touch_file", "path": str(qr_file)},
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
        {"op": "wait_on_screen", "id": "form_field_key_k"},
        *keys("form_field", "kunlun"),
        {"op": "wait_text", "id": "form_field_candidate_0", "match": "^昆仑$"},
        {"op": "tap", "id": "form_field_candidate_0"},
        *keys("form_field", "lu"),
        {"op": "wait_text", "id": "form_field_candidate_0", "match": "^路$"},
        {"op": "tap", "id": "form_field_candidate_0"},
        {"op": "tap", "id": "form_field_key_layout_digits"},
        {"op": "wait_on_screen", "id": "form_field_key_1"},
        *keys("form_field", "12"),
        {"op": "tap", "id": "form_field_key_layout_pinyin"},
        {"op": "wait_on_screen", "id": "form_field_key_h"},
        *keys("form_field", "hao"),
        {"op": "wait_text", "id": "form_field_candidate_1", "match": "^号$"},
        {"op": "tap", "id": "form_field_candidate_1"},
        {"op": "wait_text", "id": "form_field", "match": "^昆仑路12号$"},
        {"op": "screenshot", "name": "08a-elderly_subsidy-keyboard"},
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
        *_home("function_rating"),
        # 服务评价: 非常满意
        {"op": "tap", "id": "function_rating"},
        {"op": "tap", "id": "rating_level_5"},
        {"op": "wait", "id": "rating_thanks"},
        {"op": "snapshot", "name": "rating"},
        {"op": "screenshot", "name": "09-rating"},
        *_home("take_button"),
    ]


@pytest.fixture(scope="module")
def tour(xvfb: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tour]:  # noqa: F811
    work = tmp_path_factory.mktemp("kiosk-tour")
    shutil.rmtree(SHOTS, ignore_errors=True)
    rig = start_rig(work)
    launcher = TourLauncher(xvfb, work, SHOTS)
    try:
        booker = rig.people.all[0]
        cases_of, cases = rig.with_cases()
        fund, fund_answer = rig.answered("housing-fund-account")
        citizens = {
            "booker": booker, "cases_of": cases_of, "cases": cases,
            "pension": rig.pension_payer(), "fund": fund, "fund_answer": fund_answer,
            "elder": rig.elder(),
        }  # fmt: skip
        qr_file = work / "qr-shown"
        run = launcher.start(rig.argv(), _script(rig, citizens, qr_file), "tour")
        tour = Tour(rig, {}, citizens)
        try:
            run.wait_for_file(qr_file, timeout=TOUR_TIMEOUT_S)
            tour.paid_order = rig.pay_when_asked()
        except AssertionError as err:  # the tour stopped before paying; its result says where
            tour.problems.append(str(err))
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


def _pdf_pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    return int(next(li for li in info.stdout.splitlines() if li.startswith("Pages:")).split()[1])


def test_the_tour_covers_every_built_in_function_and_ends_home(tour: Tour) -> None:
    covered = {"ticket", "appointments", "service_guide", "case_progress", "bill_payment",
               "certificates", "convenience_queries", "elderly_subsidy", "rating"}  # fmt: skip
    # Kiosk materials (issue #13) need the document camera in the tour's rig; their flows are
    # driven end to end in tests/test_self_submission.py, test_form_fill.py, test_self_copy.py.
    not_yet_in_the_window = {"self_submission", "form_fill", "self_copy"}
    missing = {f.id for f in BUILT_IN} - covered - not_yet_in_the_window
    assert not missing, f"built-in kiosk functions the tour does not drive yet: {sorted(missing)}"
    assert tour.result.get("ok"), (
        f"{tour.result.get('error')}\n{tour.result.get('snapshots', {}).get('at_failure')}\n"
        f"{tour.problems}\n{tour.log}"
    )
    shots = sorted(p.name for p in SHOTS.glob("0*.png"))
    assert len([s for s in shots if re.match(r"^0\d-", s)]) == 10, shots  # home + nine


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
    held = tour.rig.get("/bookings", id_number=booker.id_number)
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
    assert guide["service_guide_name"] == item["name"]
    materials = {k: v for k, v in guide.items() if k.startswith("service_guide_material_")}
    assert guide["service_guide_materials_title"] == f"申请材料（{len(materials)}项）"
    assert materials and all(any(m["name"] in line for m in item["materials"])
                             for line in materials.values())  # fmt: skip


def test_case_progress_the_card_lists_the_cases_and_a_case_shows_its_dated_steps(
    tour: Tour,
) -> None:
    listed, detail = tour.shown("case_progress_list"), tour.shown("case_progress")
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
    assert len(tour.pdfs) == 2  # this and 生活缴费's receipt: printed once each


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
    state = tour.rig.get("/subsidy/elderly/eligibility", id_number=elder.id_number)
    assert state["certified_this_year"] is True


def test_rating_a_good_rating_is_thanked_and_journaled(tour: Tour) -> None:
    shown = tour.shown("rating")
    assert shown["rating_thanks"] == "感谢您的评价"
    assert shown["rating_result"] == "您的评价：非常满意"
    rated = _events(tour.rig.db, Kind.KIOSK_RATED)
    assert [(e["function"], e["level"]) for e in rated] == [("rating", 5)], rated
