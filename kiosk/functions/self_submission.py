"""自助申报's screens (:class:`flows.self_submission.SelfSubmissionFlow`): the item, its
situation, the materials it needs, the applicant's card, the form (on screen or by phone),
each material under the 高拍仪 (the capture screen polls the flow, which watches the desk),
the page shot with 重拍 / 添加一页 / 下一份, the review, and the receipt.
"""

from __future__ import annotations

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.image import Image
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from flows.screens import Screen
from kiosk.form_screens import error_line, note, title
from kiosk.functions import FunctionScreens, FunctionUi
from kiosk.functions.form_fill import FORM_SOURCE_SCREENS, button, items, poll_while_shown
from kiosk.widgets import GREEN, GREY, INK, MUTED, RED, Text, TouchButton, button_grid

_SUBMITTING = "正在提交申报，请稍候…"
#: Pause between two watch steps (each watches the desk for a couple of seconds itself).
WATCH_POLL_S = 0.1


def situations(screen: Screen, ui: FunctionUi) -> list[Widget]:
    d = screen.data
    buttons: list[Widget] = []
    for s in d["situations"]:
        b = TouchButton(text=s["name"], ui_id=f"self_submission_situation_{s['code']}", font_size=32)
        b.bind(on_release=lambda _b, c=s["code"]: ui.step(lambda f: f.choose_situation(c)))
        buttons.append(b)
    return [title("请选择办理情形"), note(d["item"]["name"], "self_submission_item"),
            *error_line(screen), button_grid(buttons, 1, 100)]  # fmt: skip


def materials(screen: Screen, ui: FunctionUi) -> list[Widget]:
    d = screen.data
    rows = [
        Text(text=f"{n}. {m['name']}（{m['form']}）" + ("  在线填写，无需拍摄" if m["by_form"] else ""),
             ui_id=f"self_submission_material_{m['id']}", font_size=28,
             color=MUTED if m["by_form"] else INK, halign="left", size_hint_y=None, height=52)
        for n, m in enumerate(d["materials"], start=1)
    ]  # fmt: skip
    head = d["item"]["name"] + (f"（{d['situation']}）" if d["situation"] else "")
    return [
        title("所需材料"),
        note(head, "self_submission_item"),
        *rows,
        note(f"请准备以上材料原件，共{d['to_capture']}份需在高拍仪上拍摄", "self_submission_bring"),
        Widget(),
        button("开始申报", "self_submission_begin", ui, lambda f: f.confirm_materials()),
    ]  # fmt: skip


def capture(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """Which material to lay down and what to do now; polls the flow's watch step."""
    d = screen.data
    instruction = Text(
        text=screen.error_text or "请将材料平放在高拍仪拍摄区域，放好后将手移开",
        ui_id="self_submission_instruction", font_size=34, bold=True,
        color=RED if screen.error_key else INK, size_hint_y=None, height=110,
    )  # fmt: skip
    widgets: list[Widget] = [
        title(f"拍摄材料（{d['index']}/{d['total']}）"),
        Text(text=d["material"]["name"], ui_id="self_submission_material", font_size=40,
             bold=True, size_hint_y=None, height=80),
        note(f"已拍摄{d['pages']}页" if d["pages"] else "材料正面朝上，一次放一页", "self_submission_pages"),
        instruction,
        Widget(),
    ]  # fmt: skip
    if d["camera_fault"]:
        widgets.append(button("重试", "self_submission_retry_camera", ui, lambda f: f.watch()))
    else:
        poll_while_shown(instruction, ui, lambda f: f.watch(), WATCH_POLL_S)
    return widgets


def page(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """The corrected, cropped page, and what next."""
    d = screen.data
    shot = Image(source=d["image"], nocache=True, fit_mode="contain", size_hint_y=1)
    shot.ui_id = "self_submission_page_image"  # type: ignore[attr-defined]
    last = "完成拍摄" if d["last"] else "下一份材料"
    actions = [
        button("重拍", "self_submission_retake", ui, lambda f: f.retake()),
        button("添加一页", "self_submission_add_page", ui, lambda f: f.add_page()),
        button(last, "self_submission_next", ui, lambda f: f.next_material()),
    ]
    grid = button_grid(actions, 3, 100)
    # The buttons keep their row; the page takes the rest of the screen (an unsized grid
    # split the room with it, and the page showed at half the size it could).
    grid.size_hint_y, grid.height = None, 116
    return [title(f"{d['material']['name']} 第{d['page_no']}页"), shot, *error_line(screen), grid]


def review(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """What will be filed, then each material with 重新拍摄, in one list that scrolls: with a
    long form the materials were squeezed below the rows to a sliver nobody could tap."""
    d = screen.data
    lines = [f"事项：{d['item']['name']}" + (f"（{d['situation']}）" if d["situation"] else ""),
             f"申请人：{d['applicant']['name']}  {d['applicant']['id_number']}"]  # fmt: skip
    lines += [f"{r['label']}：{r['value']}" for r in d["form"]]
    body = GridLayout(cols=1, spacing=6, size_hint_y=None)
    body.bind(minimum_height=body.setter("height"))
    for n, line in enumerate(lines):
        body.add_widget(Text(text=line, ui_id=f"self_submission_row_{n}", font_size=26, color=INK,
                             halign="left", size_hint_y=None, height=40))  # fmt: skip
    for m in d["materials"]:
        b = TouchButton(text=f"{m['name']}  {m['pages']}页  重新拍摄", font_size=26, height=56,
                        ui_id=f"self_submission_redo_{m['id']}", size_hint_y=None)  # fmt: skip
        b.bind(on_release=lambda _b, i=m["id"]: ui.step(lambda f: f.recapture(i)))
        body.add_widget(b)
    scroll = ScrollView(do_scroll_x=False, bar_width=12)
    scroll.add_widget(body)
    # Side by side, so that the list keeps the room for a five-field form and three materials.
    actions = BoxLayout(spacing=12, size_hint_y=None, height=96)
    actions.add_widget(button("修改申请表", "self_submission_edit_form", ui, lambda f: f.show_form(),
                              fill=GREY))  # fmt: skip
    actions.add_widget(button("确认提交", "self_submission_submit", ui, lambda f: f.submit(),
                              busy=_SUBMITTING))  # fmt: skip
    return [title("请核对申报信息"), scroll, *error_line(screen), actions]


def unknown(screen: Screen, ui: FunctionUi) -> list[Widget]:
    return [title("结果确认中"), *error_line(screen), Widget(),
            button("查询结果", "self_submission_settle", ui, lambda f: f.settle(),
                   busy="正在确认办理结果…")]  # fmt: skip


def done(screen: Screen, ui: FunctionUi) -> list[Widget]:
    d = screen.data
    widgets: list[Widget] = [
        Text(text="申报已提交", ui_id="self_submission_done", font_size=52, bold=True, color=GREEN,
             size_hint_y=None, height=100),
        Text(text=f"办件编号：{d['case_no']}", ui_id="self_submission_case_no", font_size=36,
             bold=True, size_hint_y=None, height=70),
        note(f"{d['status']}，共提交{d['pages']}页材料", "self_submission_status"),
    ]  # fmt: skip
    if d["printed"]:
        widgets.append(note("请取走回执，凭办件编号查询办理进度", "self_submission_take_receipt"))
        return [*widgets, Widget()]
    return [*widgets, *error_line(screen),
            note("申报已成功，回执未打印，请记下办件编号", "self_submission_no_receipt"), Widget(),
            button("重新打印", "self_submission_reprint", ui, lambda f: f.reprint(),
                   busy="正在打印回执…")]  # fmt: skip


def storage_full(screen: Screen, ui: FunctionUi) -> list[Widget]:
    return [title("暂时无法拍摄材料"), *error_line(screen), Widget()]


SCREENS = FunctionScreens({
    **FORM_SOURCE_SCREENS,
    "choose_item": items("self_submission"),
    "choose_situation": situations,
    "materials": materials,
    "capture": capture,
    "page": page,
    "review": review,
    "unknown": unknown,
    "done": done,
    "storage_full": storage_full,
})  # fmt: skip
