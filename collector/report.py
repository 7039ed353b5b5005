"""The day's KPIs for managers: a CSV to put in a spreadsheet and a PDF to print or forward.

Both come from one KPI body (:func:`collector.kpis.day_kpis`). The PDF is three A4 pages drawn
with Pillow in Noto Sans CJK (no chart library: matplotlib is not in the lock, and three kinds
of chart are a page of code): the summary and the services; the charts of waits and arrivals
against the weekly baseline and the 好差评 distribution; windows, staff, kiosk items and
devices. The CSV is long (one figure a row: 类别, 对象, 指标, 数值, 单位) in UTF-8 with a BOM,
so Excel on a manager's PC opens the Chinese right and every figure can be filtered.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from collector.kpis import PLATFORM_MISSING
from core.clock import hall_time
from core.fonts import CJK_BOLD, cjk_font, require_font

#: A4 at 150 dpi.
PAGE_W, PAGE_H = 1240, 1754
MARGIN = 80
INK, MUTED, LINE = (27, 27, 27), (100, 110, 120), (210, 215, 220)
TODAY, PEAK, BASELINE = (30, 136, 229), (244, 81, 30), (120, 130, 140)
YELLOW, RED = (249, 168, 37), (198, 40, 40)
LEVEL_TEXT = {"1": "非常不满意", "2": "不满意", "3": "基本满意", "4": "满意", "5": "非常满意"}
CSV_HEADER = ("类别", "对象", "指标", "数值", "单位")


def write_report(kpis: dict[str, Any], out_dir: Path | str) -> tuple[Path, Path]:
    """Write ``<hall>-<day>.pdf`` and ``<hall>-<day>.csv`` into ``out_dir``; returns both."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{kpis['hall']}-{kpis['day']}"
    csv_path = out / f"{stem}.csv"
    csv_path.write_text(csv_text(kpis), encoding="utf-8-sig")
    pdf_path = out / f"{stem}.pdf"
    pages = pdf_pages(kpis)
    pages[0].save(pdf_path, "PDF", resolution=150.0, save_all=True, append_images=pages[1:],
                  title=f"{kpis['name']} {kpis['day']} 运行日报")  # fmt: skip
    return pdf_path, csv_path


# --- figures, once for both outputs ------------------------------------------------------


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}"


def _min(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 60:.1f}"


def summary_rows(k: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """Every figure of the report as (类别, 对象, 指标, 数值, 单位)."""
    hall = k["name"]
    rows: list[tuple[str, str, str, str, str]] = []
    for scope, q in [(hall, k["totals"])] + [(s["name"], s) for s in k["services"]]:
        cat = "大厅" if scope == hall else "业务"
        rows += [
            (cat, scope, "取号数", str(q["issued"]), "张"),
            (cat, scope, "办结数", str(q["served"]), "件"),
            (cat, scope, "过号数", str(q["skipped"]), "件"),
            (cat, scope, "日终未办理数", str(q["expired"]), "件"),
            (cat, scope, "平均等候时长", _min(q["wait"]["avg_s"]), "分钟"),
            (cat, scope, "等候时长P90", _min(q["wait"]["p90_s"]), "分钟"),
            (cat, scope, "最长等候时长", _min(q["wait"]["max_s"]), "分钟"),
            (cat, scope, "承诺时限内叫号比例", _pct(q["wait"]["within_promise"]), "%"),
            (cat, scope, "平均办事耗时", _min(q["time_in_hall"]["avg_s"]), "分钟"),
            (cat, scope, "承诺时限内办结比例", _pct(q["time_in_hall"]["within_promise"]), "%"),
            (cat, scope, "平均办理时长", _min(q["handling_avg_s"]), "分钟"),
        ]
    r = k["ratings"]
    for level in "54321":
        rows.append(("好差评", hall, LEVEL_TEXT[level], str(r["counts"][level]), "次"))
    rows += [
        ("好差评", hall, "好评率（满意及以上）", _pct(r["satisfied_share"]), "%"),
        ("好差评", hall, "差评数", str(r["bad"]["count"]), "件"),
        ("好差评", hall, "差评跟进率", _pct(r["bad"]["follow_up_rate"]), "%"),
        ("好差评", hall, "差评办结率", _pct(r["bad"]["closed_rate"]), "%"),
    ]
    kiosk = k["kiosk"]
    rate = _pct(kiosk["rate"]) if kiosk["platform"] == "connected" else kiosk["platform_text"]
    rows += [
        ("自助机", hall, "自助机办件量", str(kiosk["kiosk_done"]), "件"),
        ("自助机", hall, "自助机办件率", rate, "%" if kiosk["platform"] == "connected" else ""),
    ]
    for item in kiosk["items"]:
        value = _pct(item["rate"]) if item["rate"] is not None else item["note"]
        total = "" if item["platform_total"] is None else str(item["platform_total"])
        rows += [
            ("自助机", item["item"], "自助机办件量", str(item["kiosk_done"]), "件"),
            ("自助机", item["item"], "同一事项总办件量", total or PLATFORM_MISSING, "件"),
            ("自助机", item["item"], "自助机办件率", value, "%" if item["rate"] is not None else ""),
        ]
    rows.append(("设备", hall, "设备可用率", _pct(k.get("availability")), "%"))
    for d in k["devices"]:
        rows.append(("设备", d["device"], "可用率", _pct(d["availability"]), "%"))
    for w in k["windows"]:
        rows += [("窗口", f"{w['window']}号窗口", "办结数", str(w["served"]), "件"),
                 ("窗口", f"{w['window']}号窗口", "平均办理时长", _min(w["handling_avg_s"]), "分钟")]
    for s in k["staff"]:
        rows += [("人员", s["staff_id"], "办结数", str(s["served"]), "件"),
                 ("人员", s["staff_id"], "平均办理时长", _min(s["handling_avg_s"]), "分钟")]
    for slot in k["trend"]["slots"]:
        for key, name, unit, scale in (
            ("arrivals", "到达人数", "人", None), ("arrivals_baseline", "到达人数（周基线）", "人", None),
            ("wait_s", "等候时长（平均读数）", "分钟", 60), ("wait_baseline_p80_s", "等候时长（周基线P80）", "分钟", 60),
        ):  # fmt: skip
            value = slot[key]
            if value is None:
                continue
            text = f"{value / scale:.1f}" if scale else (f"{value:g}")
            rows.append(("趋势", slot["label"], name, text, unit))
    return rows



def csv_text(kpis: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(summary_rows(kpis))
    return buffer.getvalue()


# --- drawing ------------------------------------------------------------------------------


class _Fonts:
    def __init__(self) -> None:
        regular = str(cjk_font())
        bold = str(require_font(CJK_BOLD))
        self.cache: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}
        self.paths = {"r": regular, "b": bold}

    def __call__(self, size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
        key = ("b" if bold else "r", size)
        if key not in self.cache:
            self.cache[key] = ImageFont.truetype(self.paths[key[0]], size)
        return self.cache[key]


def _page() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", (PAGE_W, PAGE_H), "white")
    return image, ImageDraw.Draw(image)


def _header(draw: ImageDraw.ImageDraw, font: _Fonts, k: dict[str, Any], title: str, page: int
            ) -> int:  # fmt: skip
    draw.text((MARGIN, 60), f"{k['name']} · {k['day']} 运行日报", fill=INK, font=font(40, True))
    until = hall_time(k["until"]).strftime("%H:%M") if k.get("until") else "—"
    draw.text((MARGIN, 118), f"{title}　　数据截至 {until}　　第 {page} 页", fill=MUTED,
              font=font(22))  # fmt: skip
    draw.line((MARGIN, 160, PAGE_W - MARGIN, 160), fill=LINE, width=3)
    return 190


def _table(draw: ImageDraw.ImageDraw, font: _Fonts, top: int, head: Sequence[str],
           rows: Sequence[Sequence[str]], widths: Sequence[int], size: int = 22
           ) -> int:  # fmt: skip
    """A ruled table; the first column left-aligned, the others right. Returns its bottom."""
    step = int(size * 1.9)
    y = top
    for i, row in enumerate([head, *rows]):
        x = MARGIN
        f = font(size, i == 0)
        if i == 0:
            draw.rectangle((MARGIN, y, PAGE_W - MARGIN, y + step), fill=(238, 241, 245))
        for j, (cell, width) in enumerate(zip(row, widths)):
            text = str(cell)
            if j == 0:
                draw.text((x + 8, y + step * 0.2), text, fill=INK, font=f)
            else:
                w = draw.textlength(text, font=f)
                draw.text((x + width - w - 8, y + step * 0.2), text, fill=INK, font=f)
            x += width
        y += step
        draw.line((MARGIN, y, PAGE_W - MARGIN, y), fill=LINE, width=1)
    return y


def _section(draw: ImageDraw.ImageDraw, font: _Fonts, y: int, text: str) -> int:
    draw.text((MARGIN, y), text, fill=INK, font=font(28, True))
    return y + 50


Scale = Callable[[int, float], tuple[float, float]]


def _chart_frame(draw: ImageDraw.ImageDraw, font: _Fonts, box: tuple[int, int, int, int],
                 labels: list[str], top: float, unit: str) -> Scale:  # fmt: skip
    """Axes in ``box`` (left, top, right, bottom); returns (slot index, value) → pixel."""
    left, upper, right, lower = box
    for i in range(5):
        y = lower - (lower - upper) * i / 4
        draw.line((left, y, right, y), fill=LINE, width=1)
        draw.text((left - 10, y - 12), f"{top * i / 4:g}", fill=MUTED, font=font(18), anchor="ra")
    draw.text((left - 10, upper - 40), unit, fill=MUTED, font=font(18), anchor="ra")
    step = (right - left) / max(len(labels), 1)
    for i, label in enumerate(labels):
        if label.endswith(":00"):
            draw.text((left + step * i, lower + 10), label, fill=MUTED, font=font(18), anchor="ma")

    def at(i: int, value: float) -> tuple[float, float]:
        return left + step * (i + 0.5), lower - (lower - upper) * min(value, top) / top

    return at


def _nice_top(value: float) -> float:
    raw = max(value, 1.0) / 4
    power = 10 ** len(str(int(raw))) / 10
    for m in (1, 2, 2.5, 5, 10):
        if m * power >= raw:
            return m * power * 4
    return raw * 4


def _polyline(draw: ImageDraw.ImageDraw, points: list[tuple[float, float]], color: tuple[int, ...],
              width: int, dashed: bool = False) -> None:  # fmt: skip
    if dashed:
        for a, b in zip(points, points[1:]):
            for t in range(0, 10, 2):  # five dashes between two slots
                p = (a[0] + (b[0] - a[0]) * t / 10, a[1] + (b[1] - a[1]) * t / 10)
                q = (a[0] + (b[0] - a[0]) * (t + 1) / 10, a[1] + (b[1] - a[1]) * (t + 1) / 10)
                draw.line((p, q), fill=color, width=width)
    elif len(points) > 1:
        draw.line(points, fill=color, width=width, joint="curve")
    for x, y in points if len(points) == 1 else []:
        draw.ellipse((x - width, y - width, x + width, y + width), fill=color)


def _legend(draw: ImageDraw.ImageDraw, font: _Fonts, x: int, y: int,
            entries: list[tuple[str, tuple[int, ...]]]) -> None:  # fmt: skip
    for text, color in entries:
        draw.rectangle((x, y + 8, x + 30, y + 18), fill=color)
        draw.text((x + 40, y), text, fill=INK, font=font(20))
        x += 70 + int(draw.textlength(text, font=font(20)))


def wait_chart(draw: ImageDraw.ImageDraw, font: _Fonts, k: dict[str, Any], top: int) -> int:
    trend = k["trend"]
    slots = trend["slots"]
    y = _section(draw, font, top, "等候时长：今日与周基线（每30分钟，分钟）")
    if not slots:
        draw.text((MARGIN, y), "当日无数据", fill=MUTED, font=font(22))
        return y + 60
    _legend(draw, font, MARGIN, y, [("今日平均读数", TODAY), ("今日最长", PEAK),
                                    ("周基线P80", BASELINE), ("承诺黄线", YELLOW),
                                    ("承诺红线", RED)])  # fmt: skip
    values = [v / 60 for s in slots for key in ("wait_s", "wait_peak_s", "wait_baseline_p80_s")
              if (v := s[key]) is not None]  # fmt: skip
    promise = trend["promise_wait_s"]
    ceiling = _nice_top(max(values + [promise["red"] / 60 * 1.1]))
    box = (MARGIN + 70, y + 80, PAGE_W - MARGIN, y + 480)
    at = _chart_frame(draw, font, box, [s["label"] for s in slots], ceiling, "分钟")
    for level, color in (("yellow", YELLOW), ("red", RED)):
        _, py = at(0, promise[level] / 60)
        _polyline(draw, [(box[0], py), (box[2], py)], color, 3, dashed=True)
    lines = (("wait_baseline_p80_s", BASELINE, 5, True), ("wait_s", TODAY, 6, False),
             ("wait_peak_s", PEAK, 3, False))
    for key, color, width, dashed in lines:
        points = [at(i, s[key] / 60) for i, s in enumerate(slots) if s[key] is not None]
        _polyline(draw, points, color, width, dashed)
    return box[3] + 60


def arrival_chart(draw: ImageDraw.ImageDraw, font: _Fonts, k: dict[str, Any], top: int) -> int:
    slots = k["trend"]["slots"]
    y = _section(draw, font, top, "到达人数：今日与周基线（每30分钟，人）")
    if not slots:
        draw.text((MARGIN, y), "当日无数据", fill=MUTED, font=font(22))
        return y + 60
    _legend(draw, font, MARGIN, y, [("今日到达", TODAY), ("周基线（同星期均值）", BASELINE)])
    values = [float(v) for s in slots for key in ("arrivals", "arrivals_baseline")
              if (v := s[key]) is not None]  # fmt: skip
    ceiling = _nice_top(max(values + [5.0]) * 1.1)
    box = (MARGIN + 70, y + 80, PAGE_W - MARGIN, y + 480)
    at = _chart_frame(draw, font, box, [s["label"] for s in slots], ceiling, "人")
    half = (box[2] - box[0]) / max(len(slots), 1) * 0.35
    for i, s in enumerate(slots):
        if s["arrivals"]:
            x, py = at(i, s["arrivals"])
            draw.rectangle((x - half, py, x + half, box[3]), fill=TODAY)
    points = [at(i, s["arrivals_baseline"]) for i, s in enumerate(slots)
              if s["arrivals_baseline"] is not None]  # fmt: skip
    _polyline(draw, points, BASELINE, 5, dashed=True)
    return box[3] + 60


def rating_chart(draw: ImageDraw.ImageDraw, font: _Fonts, k: dict[str, Any], top: int) -> int:
    r = k["ratings"]
    y = _section(draw, font, top, f"好差评分布（共 {r['total']} 次，好评率 {_pct(r['satisfied_share'])}%）")
    most = max([*r["counts"].values(), 1])
    colors = {"5": (46, 125, 50), "4": (104, 159, 56), "3": (158, 158, 158), "2": (239, 108, 0),
              "1": RED}  # fmt: skip
    for i, level in enumerate("54321"):
        row_y = y + i * 52
        draw.text((MARGIN, row_y), LEVEL_TEXT[level], fill=INK, font=font(22))
        width = (PAGE_W - 2 * MARGIN - 320) * r["counts"][level] / most
        draw.rectangle((MARGIN + 180, row_y + 4, MARGIN + 180 + width, row_y + 36),
                       fill=colors[level])  # fmt: skip
        draw.text((MARGIN + 190 + width, row_y), str(r["counts"][level]), fill=INK, font=font(22))
    bad = r["bad"]
    note = (f"差评 {bad['count']} 件：已跟进 {bad['followed']} 件（{_pct(bad['follow_up_rate'])}%），"
            f"已办结 {bad['closed']} 件（{_pct(bad['closed_rate'])}%）") if bad["count"] else "当日无差评"
    draw.text((MARGIN, y + 5 * 52 + 10), note, fill=INK, font=font(22))
    return y + 6 * 52 + 40


def pdf_pages(k: dict[str, Any]) -> list[Image.Image]:
    """The report's three pages."""
    font = _Fonts()
    pages = []
    # 1: summary and services
    image, draw = _page()
    y = _header(draw, font, k, "概览", 1)
    t = k["totals"]
    kiosk = k["kiosk"]
    kiosk_rate = (f"{_pct(kiosk['rate'])}%" if kiosk["platform"] == "connected"
                  else kiosk["platform_text"])  # fmt: skip
    facts = [
        ("取号 / 办结 / 过号 / 日终未办理",
         f"{t['issued']} / {t['served']} / {t['skipped']} / {t['expired']}"),
        ("平均等候（承诺 {:.0f} 分钟内比例）".format(k["promise"]["wait_s"] / 60),
         f"{_min(t['wait']['avg_s'])} 分钟（{_pct(t['wait']['within_promise'])}%）"),
        ("平均办事耗时（承诺 {:.0f} 分钟内比例）".format(k["promise"]["time_in_hall_s"] / 60),
         f"{_min(t['time_in_hall']['avg_s'])} 分钟（{_pct(t['time_in_hall']['within_promise'])}%）"),
        ("最长等候", f"{_min(t['wait']['max_s'])} 分钟"),
        ("平均办理时长", f"{_min(t['handling_avg_s'])} 分钟"),
        ("好评率 / 差评跟进率", f"{_pct(k['ratings']['satisfied_share'])}% / "
                             f"{_pct(k['ratings']['bad']['follow_up_rate'])}%"),
        ("自助机办件量 / 自助机办件率", f"{kiosk['kiosk_done']} 件 / {kiosk_rate}"),
        ("设备可用率", f"{_pct(k.get('availability'))}%"),
    ]  # fmt: skip
    for label, value in facts:
        draw.text((MARGIN, y), label, fill=MUTED, font=font(24))
        draw.text((MARGIN + 560, y), value, fill=INK, font=font(28, True))
        y += 58
    y = _section(draw, font, y + 30, "分业务")
    head = ["业务", "取号", "办结", "平均等候", "承诺内叫号", "平均耗时", "承诺内办结", "办理时长"]
    rows = [[s["name"], str(s["issued"]), str(s["served"]), _min(s["wait"]["avg_s"]),
             f"{_pct(s['wait']['within_promise'])}%", _min(s["time_in_hall"]["avg_s"]),
             f"{_pct(s['time_in_hall']['within_promise'])}%", _min(s["handling_avg_s"])]
            for s in k["services"]]  # fmt: skip
    y = _table(draw, font, y, head, rows, [200, 100, 100, 140, 150, 140, 150, 100])
    draw.text((MARGIN, y + 20), "时长单位：分钟。承诺时限取本厅服务承诺（[thresholds] 黄色线）。",
              fill=MUTED, font=font(20))  # fmt: skip
    pages.append(image)
    # 2: charts
    image, draw = _page()
    y = _header(draw, font, k, "趋势与评价", 2)
    y = wait_chart(draw, font, k, y)
    y = arrival_chart(draw, font, k, y)
    rating_chart(draw, font, k, y)
    pages.append(image)
    # 3: windows, staff, kiosks, devices
    image, draw = _page()
    y = _header(draw, font, k, "窗口、人员、自助机与设备", 3)
    y = _section(draw, font, y, "窗口办理时长")
    y = _table(draw, font, y, ["窗口", "办结", "平均办理（分钟）", "最长（分钟）"],
               [[f"{w['window']}号窗口", str(w["served"]), _min(w["handling_avg_s"]),
                 _min(w["handling_max_s"])] for w in k["windows"]],
               [380, 200, 250, 250])  # fmt: skip
    y = _section(draw, font, y + 30, "人员办理时长")
    y = _table(draw, font, y, ["人员", "窗口", "办结", "平均办理（分钟）"],
               [[s["staff_id"], "、".join(f"{n}号" for n in s["windows"]), str(s["served"]),
                 _min(s["handling_avg_s"])] for s in k["staff"]], [380, 200, 200, 300])  # fmt: skip
    y = _section(draw, font, y + 30, f"自助机办件率（{kiosk['platform_text']}）")
    y = _table(draw, font, y, ["事项", "自助机办件量", "同一事项总办件量", "办件率"],
               [[i["item"], str(i["kiosk_done"]),
                 "—" if i["platform_total"] is None else str(i["platform_total"]),
                 f"{_pct(i['rate'])}%" if i["rate"] is not None else i["note"]]
                for i in kiosk["items"]], [300, 220, 260, 300])  # fmt: skip
    y = _section(draw, font, y + 30, "设备可用率")
    _table(draw, font, y, ["设备", "当前状态", "不可用（分钟）", "可用率"],
           [[d["device"], d["state"], _min(d["down_s"]), f"{_pct(d['availability'])}%"]
            for d in k["devices"][:12]], [380, 200, 250, 250])  # fmt: skip
    pages.append(image)
    return pages
