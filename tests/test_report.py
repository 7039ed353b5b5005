"""`python main.py report --hall H --day D`: the day's KPIs as a PDF with charts and a CSV a
manager opens in a spreadsheet, from what the collector stored."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from PIL import Image

import main
from collector.baseline_store import BaselineStore
from collector.platform_totals import PlatformTotals
from collector.rating_followup import BadRatingDesk
from collector.store import EventStore
from tests.busy_morning import DAY, busy_morning, usual_monday

HALL = "hall-demo"


@pytest.fixture
def collector_db(tmp_path):
    """The collector's database after the busy morning, with the baseline it warned with."""
    db = tmp_path / "collector" / "events.db"
    db.parent.mkdir()
    store, desk = EventStore(db), BadRatingDesk(db)

    def feed(events):
        store.add(events)
        desk.record(events)

    hall = busy_morning(tmp_path / "hall.db", feed)
    hall.close_db()
    store.close()
    desk.close()
    baselines = BaselineStore(db)
    baselines.save(usual_monday())
    baselines.close()
    return db


def report(db: Path, out: Path, capsys) -> tuple[str, list[dict[str, str]], bytes]:
    status = main.main(["report", "--hall", HALL, "--day", DAY, "--store", str(db),
                        "--out", str(out)])  # fmt: skip
    assert status == 0
    printed = capsys.readouterr().out
    raw = (out / f"{HALL}-{DAY}.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel opens the Chinese right
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    return printed, rows, (out / f"{HALL}-{DAY}.pdf").read_bytes()


def value(rows: list[dict[str, str]], category: str, scope: str, name: str) -> str:
    found = [r["数值"] for r in rows if (r["类别"], r["对象"], r["指标"]) == (category, scope, name)]
    assert len(found) == 1, (category, scope, name, found)
    return found[0]


def page_images(pdf: bytes) -> list[Image.Image]:
    """The pages' pictures: Pillow writes each page as one JPEG stream."""
    return [Image.open(io.BytesIO(m.group(0)))
            for m in re.finditer(rb"\xff\xd8\xff.*?\xff\xd9(?=\s*endstream)", pdf, re.S)]  # fmt: skip


def share_of(image: Image.Image, colour: tuple[int, int, int], box: tuple[int, ...]) -> float:
    part = image.convert("RGB").crop(box).resize((300, 300))
    pixels = list(part.get_flattened_data())
    near = sum(1 for p in pixels if all(abs(a - b) < 40 for a, b in zip(p, colour)))
    return near / len(pixels)


def test_the_csv_has_the_days_figures_in_one_row_each(collector_db, tmp_path, capsys):
    printed, rows, _ = report(collector_db, tmp_path / "out", capsys)

    assert list(rows[0]) == ["类别", "对象", "指标", "数值", "单位"]
    hall = "示范区政务服务中心"
    assert value(rows, "大厅", hall, "取号数") == "110"
    assert value(rows, "大厅", hall, "办结数") == "40"
    assert value(rows, "业务", "社保医保", "承诺时限内叫号比例") != "—"
    assert value(rows, "好差评", hall, "非常不满意") == "1"
    assert value(rows, "好差评", hall, "差评跟进率") == "0.0"
    assert value(rows, "自助机", hall, "自助机办件率") == "平台总量未接入"
    assert value(rows, "自助机", "JG-000101", "自助机办件量") == "8"
    assert value(rows, "人员", "王芳", "办结数") == "14"
    assert value(rows, "窗口", "3号窗口", "平均办理时长") == "10.0"
    assert value(rows, "设备", "printer-1", "可用率") != "100.0"  # the paper ran out
    assert value(rows, "趋势", "08:30", "到达人数") == "22"
    assert value(rows, "趋势", "08:30", "到达人数（周基线）") == "12"
    assert "取号 110 张" in printed and "PDF:" in printed


def test_the_rate_appears_once_the_platform_sent_its_totals(collector_db, tmp_path, capsys):
    PlatformTotals.beside(collector_db).save(HALL, DAY, {"items": {"JG-000101": 40}})
    printed, rows, _ = report(collector_db, tmp_path / "out", capsys)
    assert value(rows, "自助机", "JG-000101", "自助机办件率") == "20.0"  # 8 of 40
    assert value(rows, "自助机", "JG-000101", "同一事项总办件量") == "40"
    assert "自助机办件率 20.0%" in printed


def test_the_pdf_has_three_pages_with_the_charts(collector_db, tmp_path, capsys):
    _, _, pdf = report(collector_db, tmp_path / "out", capsys)
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 3
    pages = page_images(pdf)
    assert len(pages) == 3 and pages[0].size == (1240, 1754)
    charts = pages[1]
    # The wait chart: today's line (blue) and the red promise line; the arrivals chart below:
    # today's bars; the 好差评 bars at the bottom (green for 非常满意).
    assert share_of(charts, (30, 136, 229), (150, 250, 1160, 700)) > 0.005
    assert share_of(charts, (198, 40, 40), (150, 250, 1160, 700)) > 0.001
    assert share_of(charts, (30, 136, 229), (150, 800, 1160, 1250)) > 0.05
    assert share_of(charts, (46, 125, 50), (200, 1300, 1160, 1700)) > 0.01
    artifacts = Path(__file__).resolve().parent.parent / "test-artifacts" / "report"
    artifacts.mkdir(parents=True, exist_ok=True)
    for i, page in enumerate(pages, 1):
        page.save(artifacts / f"report-page-{i}.png")


def test_a_bad_day_or_an_unknown_database_is_refused(tmp_path, capsys):
    assert main.main(["report", "--hall", HALL, "--day", "23.11.2026",
                      "--store", str(tmp_path / "x.db")]) == 2  # fmt: skip
    assert "YYYY-MM-DD" in capsys.readouterr().err
    assert main.main(["report", "--hall", HALL, "--day", DAY,
                      "--store", str(tmp_path / "x.db")]) == 2  # fmt: skip
