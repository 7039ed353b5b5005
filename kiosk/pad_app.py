"""The window PAD (窗口叫号终端): renders :class:`flows.window_desk.WindowDesk` screens.

签到, then 叫号 / 重呼 / 过号 / 办结, 转移 / 暂停 / 签退; the current ticket and why it was called
before others (绿色通道, 特殊人群, 预约, 转入), the people waiting with their waits and how many
are not on screen, the citizen's 好差评 rating, and the collector's tidal-window warnings for
this window's services. 过号 asks for confirmation and can be undone (撤销过号) for a minute;
转移 and 暂停 open a choice (services and windows; reasons) in place of the buttons. Every desk step touches SQLite and devices, so it runs on the app's
:class:`kiosk.background.Background` thread; the desk's ``on_change`` (a rating arrived,
warnings came in over MQTT) only schedules a redraw on the Kivy clock.

A PAD on its own machine reaches the queue through the hall box (``docs/hall-api.md``). While
the hall box cannot be reached, a red line under the header says so (与服务器连接中断，正在重连…),
the buttons that change the queue are disabled, and the desk shows the queue as last known;
when the connection is back the line goes and the desk redraws from the hall box's state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kivy.clock import Clock
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

from core.errors import HallEdgeError
from core.strings_zh import error_text
from flows.screens import Screen
from kiosk.flow_app import FlowApp
from kiosk.keyboard import KeyboardField
from kiosk.widgets import (
    AMBER,
    BLUE,
    CARD,
    GREEN,
    GREY,
    INK,
    MUTED,
    PAGE,
    RED,
    VALLEY,
    Panel,
    Text,
    TouchButton,
    clear_into,
    find,
    header,
)

if TYPE_CHECKING:
    from flows.window_desk import WindowDesk
    from hallnet.client import HallLink

#: How often the PAD redraws on its own: the waits keep growing, kiosks keep issuing.
REFRESH_S = 2.0
#: Rows of the waiting list shown; the count above it says how many there are in all.
WAITING_ROWS = 8

LEVEL_NAMES = {"red": "红色预警", "yellow": "黄色预警", "valley": "低谷提示"}
LEVEL_COLOURS = {"red": RED, "yellow": AMBER, "valley": VALLEY}
METRIC_NAMES = {"wait_s": "最长等候", "time_in_hall_s": "办事耗时", "waiting_count": "等候人数"}
#: The buttons that change the queue: disabled while the hall box cannot be reached.
QUEUE_BUTTONS = (
    "call_button",
    "recall_button",
    "skip_button",
    "finish_button",
    "sign_in_button",
    "transfer_button",
    "pause_button",
    "sign_out_button",
    "resume_button",
    "undo_skip_button",
    "confirm_skip_button",
)
LINK_BANNER_HEIGHT = 48
_UNDO_TEXT = "可在1分钟内撤销"
#: Button heights: the call cycle's four, and the row of the rarer operations and dialogs.
BIG_BUTTON, SMALL_BUTTON = 96, 72
_LINK_ERRORS = frozenset(error_text(k) for k in ("hall_box_reconnecting", "hall_box_unreachable"))


class PadApp(FlowApp["WindowDesk"]):
    """The window PAD.

    Args:
        build_desk: makes the desk (opens the hall database, display, rating pad, MQTT), given
            the callback the desk calls when it changes on its own; runs on the worker thread.
        close_desk: releases what ``build_desk`` opened; runs on the worker thread at exit.
        window_no: shown before the desk is ready.
        staff_id: filled into the sign-in field (the staff member still taps 签到).
        link: the connection to the hall box when the PAD is a machine of its own (None on the
            hall box itself, where the queue is the local database).
    """

    title = "窗口叫号"

    def __init__(
        self,
        build_desk: Callable[[Callable[[], None]], WindowDesk],
        close_desk: Callable[[WindowDesk], None] | None = None,
        window_no: int = 0,
        staff_id: str = "",
        link: HallLink | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__("pad-worker", close_desk, **kwargs)
        self._link = link
        self.title = f"{window_no}号窗口 叫号终端"
        self._build_desk = build_desk
        self._window_no = window_no
        self._staff_id = staff_id
        self._signed_in: bool | None = None
        self._error: str | None = None

    # --- Kivy ---------------------------------------------------------------------------

    def build(self) -> Widget:
        root = Panel(orientation="vertical", bg=PAGE)
        bar = header(
            f"{self._window_no}号窗口", "window_title", right="未签到", right_id="desk_status"
        )
        self._status = find(bar, "desk_status")
        body = BoxLayout(orientation="horizontal", padding=20, spacing=20)
        self.left = BoxLayout(orientation="vertical", spacing=14, size_hint_x=0.56)
        self.right = BoxLayout(orientation="vertical", spacing=10, size_hint_x=0.44)
        clear_into(body, self.left, self.right)
        self.message = Text(ui_id="message_line", size_hint_y=None, height=60, font_size=24)
        self.banner = Panel(bg=RED, size_hint_y=None, height=0, padding=(20, 0))
        self.banner.add_widget(
            Text(ui_id="link_banner", font_size=24, bold=True, color=(1, 1, 1, 1))
        )
        clear_into(root, bar, self.banner, body, self.message)
        clear_into(self.left, Text(text="正在连接，请稍候…", ui_id="starting", font_size=30))
        on_change = lambda: Clock.schedule_once(lambda _dt: self.refresh(), 0)
        if self._link is not None:
            self._link.on_link(lambda: Clock.schedule_once(lambda _dt: self._link_changed(), 0))
        self._show_link()
        self.start_model(lambda: self._build_desk(on_change))
        Clock.schedule_interval(lambda _dt: self.refresh(), REFRESH_S)
        return root

    # --- the hall box -------------------------------------------------------------------

    @property
    def online(self) -> bool:
        """Whether the queue can be changed: always on the hall box, else while connected."""
        return self._link is None or self._link.connected

    def _link_changed(self) -> None:
        self._show_link()
        if self.online:
            if self._error in _LINK_ERRORS:
                self._error = None  # said while the hall box was away; it is back
                self._show_message(None)
            self.refresh()  # the truth from the hall box, once it answers again

    def _show_link(self) -> None:
        """The banner and the queue buttons as the connection is now."""
        label = self.banner.children[0]
        if self.online:
            label.text, self.banner.height = "", 0
        else:
            problem = self._link.problem if self._link is not None else None
            label.text = error_text(problem or "hall_box_reconnecting")
            self.banner.height = LINK_BANNER_HEIGHT
        for ui_id in QUEUE_BUTTONS:
            button = find(self.root, ui_id) if self.root is not None else None
            if button is not None:
                button.disabled = not self.online

    # --- taps ---------------------------------------------------------------------------

    def tap_sign_in(self, *_: Any) -> None:
        """签到 with the staff id in the field."""
        field = find(self.left, "staff_input")
        staff = field.text.strip() if field is not None else ""
        if not self._may_change():
            return
        if not staff:
            self._error = error_text("staff_id_required")
            self._show_message(None)
            return
        self.step(lambda d: d.sign_in(staff))

    def tap_call(self, *_: Any) -> None:
        """叫号."""
        if self._may_change():
            self.step(lambda d: d.call())

    def tap_recall(self, *_: Any) -> None:
        """重呼."""
        if self._may_change():
            self.step(lambda d: d.recall())

    def tap_skip(self, *_: Any) -> None:
        """过号: first ask to confirm."""
        if self._may_change():
            self.step(lambda d: d.ask_skip())

    def tap_confirm_skip(self, *_: Any) -> None:
        """确认过号."""
        if self._may_change():
            self.step(lambda d: d.skip())

    def tap_undo_skip(self, *_: Any) -> None:
        """撤销过号."""
        if self._may_change():
            self.step(lambda d: d.undo_skip())

    def tap_cancel(self, *_: Any) -> None:
        """取消: close the dialog."""
        self.step(lambda d: d.cancel())

    def tap_transfer(self, *_: Any) -> None:
        """转移: offer the targets."""
        if self._may_change():
            self.step(lambda d: d.ask_transfer())

    def tap_transfer_to(self, service: str | None = None, window: int | None = None) -> None:
        if self._may_change():
            self.step(lambda d: d.transfer(service=service, window=window))

    def tap_pause(self, *_: Any) -> None:
        """暂停: offer the reasons."""
        if self._may_change():
            self.step(lambda d: d.ask_pause())

    def tap_pause_reason(self, reason: str) -> None:
        if self._may_change():
            self.step(lambda d: d.pause(reason))

    def tap_resume(self, *_: Any) -> None:
        """恢复服务."""
        if self._may_change():
            self.step(lambda d: d.resume())

    def tap_sign_out(self, *_: Any) -> None:
        """签退."""
        if self._may_change():
            self.step(lambda d: d.sign_out())

    def tap_finish(self, *_: Any) -> None:
        """办结."""
        if self._may_change():
            self.step(lambda d: d.finish())

    def _may_change(self) -> bool:
        """Refuse a queue change while the hall box cannot be reached (the buttons are
        disabled then; a key or a tap racing the banner still gets the sentence)."""
        if self.online:
            return True
        self._error = error_text("hall_box_reconnecting")
        self._show_message(None)
        return False

    def refresh(self) -> None:
        """Redraw from the desk as it is now (not after a tap: the tap's answer comes first)."""
        self.poll(lambda d: d.view(), self._refreshed)

    # --- desk answers -------------------------------------------------------------------

    def stepped(self, screen: Screen) -> None:
        self._error = screen.error_text
        hint = screen.data.get("error_hint")
        if self._error and hint:
            self._error = f"{self._error}（{hint}）"
        self.render(screen)
        self._show_link()

    def _refreshed(self, screen: Screen) -> None:
        if not self.busy:
            self.render(screen)
            self._show_link()

    def failed(self, err: HallEdgeError) -> None:
        self._error = error_text(err)
        self._show_message(None)

    def model_ready(self, model: WindowDesk) -> None:
        self.refresh()

    def startup_failed(self, err: HallEdgeError) -> None:
        clear_into(
            self.left, Text(text=error_text(err), ui_id="startup_error", font_size=28, color=RED)
        )

    # --- rendering ----------------------------------------------------------------------

    def render(self, screen: Screen) -> None:
        """Draw one ``desk`` screen."""
        d = screen.data
        self._status.text = (
            f"工号 {d['staff_id']} · 已签到"
            if d["signed_in"] and d["staff_id"]
            else "已签到"
            if d["signed_in"]
            else "未签到"
        )
        if d["signed_in"]:
            clear_into(self.left, *self._serving(d))
        elif self._signed_in is not False:
            # Only drawn once: a redraw would wipe what the staff member is typing.
            clear_into(self.left, *self._sign_in_form())
        self._signed_in = bool(d["signed_in"])
        clear_into(self.right, *self._queue_side(d))
        self._show_message(d.get("notice"))

    def _show_message(self, notice: str | None) -> None:
        if self._error:
            self.message.text, self.message.color = self._error, RED
        else:
            self.message.text, self.message.color = notice or "", INK

    def _sign_in_form(self) -> list[Widget]:
        # On screen: a PAD has no keys, and a staff number may hold letters (A007).
        field = KeyboardField(layouts=("code",), text=self._staff_id, ui_id="staff_input",
                              hint="工号", max_length=20)  # fmt: skip
        button = TouchButton(
            disabled=not self.online,
            text="签到",
            ui_id="sign_in_button",
            font_size=40,
            fill=GREEN,
            size_hint_y=None,
            height=110,
        )
        button.bind(on_release=self.tap_sign_in)
        return [
            Text(
                text="请输入工号后签到",
                ui_id="sign_in_title",
                font_size=32,
                size_hint_y=None,
                height=70,
            ),
            field,
            button,
            Widget(),
        ]

    def _button(
        self, text: str, ui_id: str, fill: Any, tap: Callable[..., None], size: int = 40
    ) -> TouchButton:
        button = TouchButton(
            text=text,
            ui_id=ui_id,
            font_size=size,
            fill=fill,
            height=BIG_BUTTON if size >= 40 else SMALL_BUTTON,
            disabled=not self.online and ui_id in QUEUE_BUTTONS,
        )
        button.bind(on_release=tap)
        return button

    def _serving(self, d: dict[str, Any]) -> list[Widget]:
        current = d["current"]
        why = ""
        if d["paused"]:
            number = "暂停服务"
            detail = f"{d['pause_reason'] or ''} · 已暂停{_duration(d['paused_s'] or 0)}"
        elif current is None:
            number, detail = "—", "当前无办理中的号码，请点击“叫号”"
        else:
            number = current["ticket_no"]
            detail = (
                f"{current['service_name']} · 已呼叫{current['call_count']}次 · "
                f"等候{_duration(current['waited_s'])}"
            )
            if current["tags"]:
                why = "优先呼叫：" + "，".join(current["tags"])
        card = Panel(orientation="vertical", bg=CARD, padding=8, size_hint_y=None, height=250)
        clear_into(
            card,
            Text(text="当前号码", font_size=26, color=MUTED, size_hint_y=None, height=40),
            Text(
                text=number,
                ui_id="current_ticket",
                font_size=72 if d["paused"] else 96,
                bold=True,
                color=AMBER if d["paused"] else BLUE,
            ),
            Text(text=detail, ui_id="current_detail", font_size=24, size_hint_y=None, height=40),
            Text(
                text=why, ui_id="current_priority", font_size=24, color=RED,
                size_hint_y=None, height=34,
            ),
        )
        return [
            card,
            *self._controls(d),
            Text(
                text=_rating_text(d["rating"]),
                ui_id="rating_state",
                font_size=26,
                size_hint_y=None,
                height=50,
            ),
            Widget(),
        ]

    def _controls(self, d: dict[str, Any]) -> list[Widget]:
        """The buttons, or the open dialog in their place."""
        dialog = d.get("dialog")
        if dialog is not None:
            return self._dialog(dialog)
        if d["paused"]:
            grid = GridLayout(cols=2, spacing=14, size_hint_y=None, height=_controls_height(1))
            grid.add_widget(self._button("恢复服务", "resume_button", GREEN, self.tap_resume))
            grid.add_widget(self._button("签退", "sign_out_button", GREY, self.tap_sign_out))
            return [grid]
        main = GridLayout(cols=2, spacing=14, size_hint_y=None, height=_controls_height(2))
        for text, ui_id, fill, tap in (
            ("叫号", "call_button", GREEN, self.tap_call),
            ("重呼", "recall_button", BLUE, self.tap_recall),
            ("过号", "skip_button", AMBER, self.tap_skip),
            ("办结", "finish_button", BLUE, self.tap_finish),
        ):
            main.add_widget(self._button(text, ui_id, fill, tap))
        undo = d.get("undo")
        # 撤销过号 takes a place in the second row while it is offered: the PAD's height is
        # spent already.
        more = GridLayout(
            cols=3 if undo is None else 4,
            spacing=14,
            size_hint_y=None,
            height=_controls_height(1, False),
        )
        if undo is not None:
            more.add_widget(
                self._button(
                    f"撤销过号\n{undo['ticket_no']} {int(undo['left_s'])}秒",
                    "undo_skip_button",
                    AMBER,
                    self.tap_undo_skip,
                    24,
                )
            )
        for text, ui_id, fill, tap in (
            ("转移", "transfer_button", BLUE, self.tap_transfer),
            ("暂停", "pause_button", AMBER, self.tap_pause),
            ("签退", "sign_out_button", GREY, self.tap_sign_out),
        ):
            more.add_widget(self._button(text, ui_id, fill, tap, 30))
        return [main, more]

    def _dialog(self, dialog: dict[str, Any]) -> list[Widget]:
        kind = dialog["kind"]
        choices: list[TouchButton] = []
        if kind == "confirm_skip":
            title = f"确认 {dialog['ticket_no']} 过号？过号后{_UNDO_TEXT}"
            choices.append(
                self._button("确认过号", "confirm_skip_button", AMBER, self.tap_confirm_skip, 30)
            )
        elif kind == "transfer":
            title = f"将 {dialog['ticket_no']} 转移至（保留取号时间）："
            for s in dialog["services"]:
                choices.append(
                    self._button(
                        s["name"], f"transfer_service_{s['code']}", BLUE,
                        lambda *_a, c=s["code"]: self.tap_transfer_to(service=c), 26,
                    )
                )
            for w in dialog["windows"]:
                label = f"{w['no']}号窗口" + ("" if w["open"] else "（未签到）")
                choices.append(
                    self._button(
                        label, f"transfer_window_{w['no']}", GREEN,
                        lambda *_a, n=w["no"]: self.tap_transfer_to(window=n), 26,
                    )
                )
        else:
            title = "请选择暂停原因："
            for i, reason in enumerate(dialog["reasons"]):
                choices.append(
                    self._button(
                        reason, f"pause_reason_{i}", AMBER,
                        lambda *_a, r=reason: self.tap_pause_reason(r), 26,
                    )
                )
        choices.append(self._button("取消", "cancel_button", GREY, self.tap_cancel, 26))
        rows = (len(choices) + 2) // 3
        grid = GridLayout(cols=3, spacing=14, size_hint_y=None, height=_controls_height(rows, False))
        clear_into(grid, *choices)
        heading = Text(
            text=title, ui_id="dialog_title", font_size=26, bold=True, size_hint_y=None, height=50
        )
        return [heading, grid]

    def _queue_side(self, d: dict[str, Any]) -> list[Widget]:
        widgets: list[Widget] = [
            Text(
                text=f"等候 {d['waiting_count']} 人",
                ui_id="waiting_count",
                font_size=32,
                bold=True,
                halign="left",
                size_hint_y=None,
                height=50,
            )
        ]
        rows = Panel(orientation="vertical", bg=CARD, padding=(12, 6), spacing=2)
        hidden = len(d["waiting"]) - WAITING_ROWS
        # With more waiting than rows, the last row says how many are not on screen.
        shown = d["waiting"][: WAITING_ROWS - 1] if hidden > 0 else d["waiting"]
        for i, w in enumerate(shown):
            tags = "".join(f"【{t}】" for t in w["tags"])
            rows.add_widget(
                Text(
                    text=f"{w['ticket_no']}  {tags}{w['service_name']}    "
                    f"已等 {_duration(w['wait_s'])}",
                    ui_id=f"waiting_{i}",
                    font_size=22,
                    halign="left",
                    color=RED if w["priority"] in ("green", "special") else INK,
                )
            )
        if hidden > 0:
            rows.add_widget(
                Text(
                    text=f"…… 另有 {len(d['waiting']) - len(shown)} 人未显示",
                    ui_id="waiting_more",
                    font_size=22,
                    color=MUTED,
                )
            )
        if not d["waiting"]:
            rows.add_widget(
                Text(text="当前无人等候", ui_id="waiting_empty", font_size=22, color=MUTED)
            )
        for _ in range(WAITING_ROWS - max(1, len(shown) + (hidden > 0))):
            rows.add_widget(Widget())
        widgets.append(rows)
        widgets.append(
            Text(
                text="潮汐窗口预警",
                font_size=26,
                bold=True,
                halign="left",
                size_hint_y=None,
                height=44,
            )
        )
        warnings = Panel(
            orientation="vertical",
            bg=PAGE,
            spacing=8,
            size_hint_y=None,
            height=3 * 78,
            ui_id="warnings_panel",
        )
        for i, w in enumerate(d["warnings"][:3]):
            box = Panel(
                orientation="vertical", bg=LEVEL_COLOURS.get(w["level"], GREY), padding=(10, 4)
            )
            box.add_widget(
                Text(text=_warning_text(w), ui_id=f"warning_{i}", font_size=21, color=(1, 1, 1, 1))
            )
            warnings.add_widget(box)
        if not d["warnings"]:
            warnings.add_widget(
                Text(text="暂无预警", ui_id="warnings_none", font_size=22, color=MUTED)
            )
        widgets.append(warnings)
        return widgets


def _controls_height(rows: int, tall: bool = True) -> float:
    return 14 * (rows - 1) + rows * (BIG_BUTTON if tall else SMALL_BUTTON)


def _duration(seconds: float) -> str:
    """A wait as ``mm:ss`` under an hour, else in whole minutes."""
    s = max(0, int(seconds))
    if s < 3600:
        return f"{s // 60:02d}:{s % 60:02d}"
    return f"{s // 60}分钟"


def _rating_text(rating: dict[str, Any] | None) -> str:
    if rating is None:
        return ""
    if rating["state"] == "done":
        return f"{rating['ticket_no']} 评价结果：{rating['label']}"
    return f"{rating['ticket_no']} 等待群众评价…"


def _warning_text(w: dict[str, Any]) -> str:
    level = LEVEL_NAMES.get(w["level"], "预警")
    metric = METRIC_NAMES.get(w["metric"], "")
    value = w.get("value")
    if value is None:
        shown = ""
    elif w["metric"] == "waiting_count":
        shown = f"{int(value)}人"
    elif float(value) < 60:
        shown = f"{int(value)}秒"
    else:
        shown = f"{round(float(value) / 60)}分钟"
    advice = w.get("recommendation_text") or ""
    return f"{level} · {w['service_name']} · {metric}{shown}\n{advice}".strip()
